/**
 * OffsetForLeaderEpoch (key 23), versions 2-4: where a leader epoch ended in this log, so a
 * consumer (KIP-320) or a follower can detect that its position was truncated away.
 *
 * Behavior, per partition:
 * - The answer is the largest epoch <= the requested one and the offset where it ended: the
 *   next epoch's start, or the log end offset for the current epoch. The partition's current
 *   leader epoch ends at the log end even before a batch of it was written (Kafka records
 *   the epoch when leadership starts). An epoch older than every one in the log: epoch -1,
 *   offset -1.
 * - Errors: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH /
 *   UNKNOWN_LEADER_EPOCH for a stale / future currentLeaderEpoch (-1 skips the check).
 *
 * Version notes: v2 currentLeaderEpoch; v3 replicaId; v4 flexible.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  newOffsetForLeaderEpochResponse,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
} from '../../protocol/generated/apis/23-offset-for-leader-epoch.ts';
import { leaderEpochError } from './01-fetch.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { type DataServices, defineHandler, type RequestContext } from './handler.ts';

type Answer = OffsetForLeaderEpochResponse['topics'][number]['partitions'][number];
type Asked = OffsetForLeaderEpochRequest['topics'][number]['partitions'][number];

function answer(partition: number, errorCode: number, leaderEpoch = -1, endOffset = -1): Answer {
  return { errorCode, partition, leaderEpoch, endOffset };
}

export function handleOffsetForLeaderEpoch(
  ctx: RequestContext,
  request: OffsetForLeaderEpochRequest,
): OffsetForLeaderEpochResponse {
  const data = dataOf(ctx);
  const response = newOffsetForLeaderEpochResponse();
  response.topics = request.topics.map((t) => ({
    topic: t.topic,
    partitions: t.partitions.map((p) => endOffsetOf(data, t.topic, p)),
  }));
  return response;
}

function endOffsetOf(data: DataServices, topicName: string, p: Asked): Answer {
  const topic = data.cluster.topic(topicName);
  if (!topic || p.partition < 0 || p.partition >= topic.partitions.length) {
    return answer(p.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  const hosted = data.replicas.partition(topicName, p.partition);
  if (!hosted) return answer(p.partition, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  const epochError = leaderEpochError(hosted, p.currentLeaderEpoch);
  if (epochError !== ErrorCode.NONE) return answer(p.partition, epochError);
  const end = hosted.log.logEndOffset;
  if (p.leaderEpoch >= hosted.leaderEpoch) {
    return answer(p.partition, ErrorCode.NONE, hosted.leaderEpoch, end);
  }
  const found = hosted.log.leaderEpochs.endOffsetFor(p.leaderEpoch, end);
  return found
    ? answer(p.partition, ErrorCode.NONE, found.epoch, found.startOffset)
    : answer(p.partition, ErrorCode.NONE);
}

export const offsetForLeaderEpochHandler = defineHandler<
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse
>(
  withDataPath({
    apiKey: ApiKey.OffsetForLeaderEpoch,
    minVersion: 2,
    maxVersion: 4,
    handle: handleOffsetForLeaderEpoch,
    errorResponse(request, _version, errorCode) {
      const response = newOffsetForLeaderEpochResponse();
      response.topics = request.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => answer(p.partition, errorCode)),
      }));
      return response;
    },
  }),
);
