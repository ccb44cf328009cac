/**
 * DescribeTopicPartitions (key 75), version 0: topics and partitions, paged (what Kafka 3.8+
 * admin tools use instead of Metadata to describe topics).
 *
 * Behavior:
 * - The named topics, or every topic when none is named, sorted by name, starting at the
 *   cursor (topic and partition) when one is given.
 * - At most responsePartitionLimit partitions in all (at least 1, at most 2000, Kafka's
 *   default and cap); when the limit cuts a topic short or topics remain, nextCursor names
 *   the first partition not sent.
 * - A named topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION for
 *   a name Kafka would reject) with the zero id. Authorized operations: every topic
 *   operation (no authorizer).
 * - Read from the MetadataView, as Metadata is. In cluster mode (the image holds broker
 *   registrations) a leader without an endpoint on the request's listener is -1 and
 *   offlineReplicas are the replicas on unregistered or fenced brokers or brokers without the
 *   listener (Kafka's KRaftMetadataCache; src/metadata/image-view.ts); the eligible leader
 *   replicas are the image's. Partition errors are always NONE, as in Kafka.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type DescribeTopicPartitionsRequest,
  type DescribeTopicPartitionsResponse,
  newDescribeTopicPartitionsResponse,
} from '../../protocol/generated/apis/75-describe-topic-partitions.ts';
import { ZERO_UUID } from '../../protocol/wire/codec-support.ts';
import { clusterImageOf, partitionAnswer } from '../metadata/image-view.ts';
import type { MetadataImage } from '../metadata/metadata-image.ts';
import { isValidTopicName } from '../metadata/topic-commands.ts';
import { topicOperations } from './authorized-operations.ts';
import { defineHandler, type RequestContext } from './handler.ts';
import type { PartitionView, TopicView } from './metadata-view.ts';

type TopicResult = DescribeTopicPartitionsResponse['topics'][number];
type PartitionResult = TopicResult['partitions'][number];

const PARTITION_LIMIT_MAX = 2000;

function unknownTopic(name: string): TopicResult {
  return {
    errorCode: isValidTopicName(name)
      ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      : ErrorCode.INVALID_TOPIC_EXCEPTION,
    name,
    topicId: ZERO_UUID,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: topicOperations,
  };
}

export function handleDescribeTopicPartitions(
  ctx: RequestContext,
  request: DescribeTopicPartitionsRequest,
): DescribeTopicPartitionsResponse {
  const cluster = ctx.services.metadata;
  const image = clusterImageOf(cluster);
  const partition = (topic: TopicView, p: PartitionView): PartitionResult =>
    responsePartition(image, topic.name, p, ctx.listenerName);
  const response = newDescribeTopicPartitionsResponse();
  const names =
    request.topics.length > 0
      ? [...new Set(request.topics.map((t) => t.name))].sort()
      : [...cluster.topics()].map((t) => t.name).sort();
  const cursor = request.cursor;
  let budget = Math.min(Math.max(request.responsePartitionLimit, 1), PARTITION_LIMIT_MAX);
  for (const name of names) {
    if (cursor && name < cursor.topicName) continue;
    const topic = cluster.topic(name);
    if (!topic) {
      response.topics.push(unknownTopic(name));
      continue;
    }
    const first = cursor && name === cursor.topicName ? Math.max(cursor.partitionIndex, 0) : 0;
    if (budget === 0) {
      response.nextCursor = { topicName: name, partitionIndex: first };
      break;
    }
    const taken = Math.min(budget, Math.max(topic.partitions.length - first, 0));
    response.topics.push(describe(topic, first, taken, partition));
    budget -= taken;
    if (first + taken < topic.partitions.length) {
      response.nextCursor = { topicName: name, partitionIndex: first + taken };
      break;
    }
  }
  return response;
}

function describe(
  topic: TopicView,
  first: number,
  count: number,
  partition: (topic: TopicView, p: PartitionView) => PartitionResult,
): TopicResult {
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.isInternal,
    partitions: topic.partitions.slice(first, first + count).map((p) => partition(topic, p)),
    topicAuthorizedOperations: topicOperations,
  };
}

function responsePartition(
  image: MetadataImage | undefined,
  topicName: string,
  p: PartitionView,
  listenerName: string,
): PartitionResult {
  const answer = partitionAnswer(image, p, listenerName, {
    onlyLiveReplicas: false,
    listenerNotFound: false,
  });
  const elr = image?.topic(topicName)?.partitions[p.partitionIndex];
  return {
    errorCode: ErrorCode.NONE,
    partitionIndex: p.partitionIndex,
    leaderId: answer.leaderId,
    leaderEpoch: p.leaderEpoch,
    replicaNodes: [...p.replicaNodes],
    isrNodes: [...p.isrNodes],
    eligibleLeaderReplicas: [...(elr?.eligibleLeaderReplicas ?? [])],
    lastKnownElr: [...(elr?.lastKnownElr ?? [])],
    offlineReplicas: [...answer.offlineReplicas],
  };
}

export const describeTopicPartitionsHandler = defineHandler<
  DescribeTopicPartitionsRequest,
  DescribeTopicPartitionsResponse
>({
  apiKey: ApiKey.DescribeTopicPartitions,
  minVersion: 0,
  maxVersion: 0,
  handle: handleDescribeTopicPartitions,
  errorResponse(request, _version, errorCode) {
    const response = newDescribeTopicPartitionsResponse();
    response.topics = request.topics.map((t) => ({ ...unknownTopic(t.name), errorCode }));
    return response;
  },
});
