/**
 * Metadata (key 3), versions 0-12.
 *
 * Behavior:
 * - Brokers: every live broker's endpoint on the listener the request arrived on.
 * - Partitions, in cluster mode (the image holds broker registrations), as Kafka's
 *   KRaftMetadataCache answers (src/metadata/image-view.ts): a leader without an endpoint on
 *   the listener is -1 with LEADER_NOT_AVAILABLE (LISTENER_NOT_FOUND from v6 when the leader
 *   is registered without the listener); offlineReplicas are replicas on unregistered or
 *   fenced brokers or brokers without the listener; v0 lists only live replicas and ISR
 *   members (REPLICA_NOT_AVAILABLE when one was left out). On a single node, as stored.
 * - Cluster id and controller id from the MetadataView (a single node is its own controller).
 * - Topics: all of them for "all topics" (v0: an empty list; v1+: a null list), else the ones
 *   asked for, in request order. Internal topics are listed like others (isInternal set).
 * - A missing topic is auto-created when the request allows it (v4+ flag; always before v4),
 *   `auto.create.topics.enable` is on and the view can create topics; a created topic whose
 *   partitions are not visible yet is reported as LEADER_NOT_AVAILABLE (clients retry).
 *   Otherwise UNKNOWN_TOPIC_OR_PARTITION; a name Kafka would reject, INVALID_TOPIC_EXCEPTION.
 * - v12 by topic id: an unknown id is UNKNOWN_TOPIC_ID with a null name. Before v12 a null
 *   name or a topic id in the request is INVALID_REQUEST on every requested topic (Kafka).
 * - Authorized operations (v8+, when asked): with no authorizer every operation is allowed,
 *   so the bit set of every operation that applies to the resource.
 *
 * Version notes:
 * - v1: rack, controller id, isInternal; null topics = all. v2: cluster id. v3: throttle.
 * - v4: allowAutoTopicCreation. v5: offline replicas. v7: leader epoch. v8: authorized
 *   operations (cluster-level only through v10). v9: flexible. v10: topic ids.
 * - v12: topic name nullable in the response (lookups by id).
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type MetadataRequest,
  type MetadataResponse,
  newMetadataResponse,
} from '../../protocol/generated/apis/03-metadata.ts';
import { ZERO_UUID } from '../../protocol/wire/codec-support.ts';
import { clusterImageOf, liveBrokers, partitionAnswer } from '../metadata/image-view.ts';
import type { MetadataImage } from '../metadata/metadata-image.ts';
import { isValidTopicName } from '../metadata/topic-commands.ts';
import { clusterOperations, topicOperations } from './authorized-operations.ts';
import { defineHandler, type RequestContext } from './handler.ts';
import type { MetadataView, PartitionView, TopicView } from './metadata-view.ts';

type RequestTopic = NonNullable<MetadataRequest['topics']>[number];
type ResponseTopic = MetadataResponse['topics'][number];
type ResponsePartition = ResponseTopic['partitions'][number];

/** The "not requested" value of the authorized-operations fields. */
const operationsNotRequested = -2147483648;

export function handleMetadata(
  ctx: RequestContext,
  request: MetadataRequest,
  version: number,
): MetadataResponse | Promise<MetadataResponse> {
  const { metadata, config } = ctx.services;
  const response = newMetadataResponse();
  response.brokers = liveBrokers(metadata, ctx.listenerName).map((b) => ({ ...b }));
  response.clusterId = metadata.clusterId;
  response.controllerId = metadata.controllerId();
  if (version >= 8 && version <= 10 && request.includeClusterAuthorizedOperations) {
    response.clusterAuthorizedOperations = clusterOperations;
  }
  const image = clusterImageOf(metadata);
  const partition = (p: PartitionView): ResponsePartition =>
    responsePartition(image, p, ctx.listenerName, version);
  const describe = (topic: TopicView): ResponseTopic =>
    describeTopic(topic, version, request.includeTopicAuthorizedOperations, partition);
  const wanted = request.topics;
  if (wanted === null || (version === 0 && wanted.length === 0)) {
    response.topics = [...metadata.topics()].map(describe);
    return response;
  }
  if (version < 12 && wanted.some((t) => t.name === null || t.topicId !== ZERO_UUID)) {
    response.topics = wanted.map((t) => errorTopic(t.name ?? '', ErrorCode.INVALID_REQUEST));
    return response;
  }
  const mayCreate =
    (version < 4 || request.allowAutoTopicCreation) &&
    config['auto.create.topics.enable'] &&
    metadata.autoCreateTopic !== undefined;
  const answers = wanted.map((t) => lookup(metadata, t, describe, mayCreate));
  if (answers.every((a) => !(a instanceof Promise))) {
    response.topics = answers as ResponseTopic[];
    return response;
  }
  return Promise.all(answers).then((topics) => {
    response.topics = topics;
    return response;
  });
}

function lookup(
  metadata: MetadataView,
  wanted: RequestTopic,
  describe: (topic: TopicView) => ResponseTopic,
  mayCreate: boolean,
): ResponseTopic | Promise<ResponseTopic> {
  if (wanted.name === null) {
    const byId = metadata.topicById(wanted.topicId);
    if (byId) return describe(byId);
    return { ...errorTopic(null, ErrorCode.UNKNOWN_TOPIC_ID), topicId: wanted.topicId };
  }
  const name = wanted.name;
  const topic = metadata.topic(name);
  if (topic) return describe(topic);
  if (!isValidTopicName(name)) return errorTopic(name, ErrorCode.INVALID_TOPIC_EXCEPTION);
  if (!mayCreate || !metadata.autoCreateTopic) {
    return errorTopic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  return metadata.autoCreateTopic(name).then((errorCode) => {
    if (errorCode !== ErrorCode.NONE) return errorTopic(name, errorCode);
    const created = metadata.topic(name);
    return created && created.partitions.length > 0
      ? describe(created)
      : errorTopic(name, ErrorCode.LEADER_NOT_AVAILABLE);
  });
}

function describeTopic(
  topic: TopicView,
  version: number,
  withOperations: boolean,
  partition: (p: PartitionView) => ResponsePartition,
): ResponseTopic {
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.isInternal,
    partitions: topic.partitions.map(partition),
    topicAuthorizedOperations:
      version >= 8 && withOperations ? topicOperations : operationsNotRequested,
  };
}

function responsePartition(
  image: MetadataImage | undefined,
  p: PartitionView,
  listenerName: string,
  version: number,
): ResponsePartition {
  const answer = partitionAnswer(image, p, listenerName, {
    onlyLiveReplicas: version === 0,
    listenerNotFound: version >= 6,
  });
  return {
    errorCode: answer.errorCode,
    partitionIndex: p.partitionIndex,
    leaderId: answer.leaderId,
    leaderEpoch: p.leaderEpoch,
    replicaNodes: [...answer.replicaNodes],
    isrNodes: [...answer.isrNodes],
    offlineReplicas: [...answer.offlineReplicas],
  };
}

function errorTopic(name: string | null, errorCode: number): ResponseTopic {
  return {
    errorCode,
    name,
    topicId: ZERO_UUID,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: operationsNotRequested,
  };
}

export const metadataHandler = defineHandler<MetadataRequest, MetadataResponse>({
  apiKey: ApiKey.Metadata,
  minVersion: 0,
  maxVersion: 12,
  handle: handleMetadata,
  errorResponse(request, _version, errorCode) {
    const response = newMetadataResponse();
    response.topics = (request.topics ?? []).map((t) => errorTopic(t.name ?? '', errorCode));
    return response;
  },
});
