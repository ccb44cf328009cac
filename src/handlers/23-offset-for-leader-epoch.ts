/**
 * OffsetForLeaderEpoch (key 23), versions 2-4: where a leader epoch ended in this log, so a
 * consumer (KIP-320) or a follower can detect that its position was truncated away.
 *
 * Behavior, per partition, answered by the leader from its leader-epoch cache (KIP-101,
 * replication/partition-epochs.ts has Kafka's rule):
 * - the latest epoch ends at the log end (a leader assigns its epoch at the log end when it
 *   takes over, before any batch of it is written);
 * - an earlier epoch: the largest known epoch <= it, ending where the next known one starts;
 * - an epoch older than every known one: that epoch, ending where the first known one starts;
 * - an epoch newer than every known one, or an empty cache: epoch -1, offset -1.
 * - Only the leader answers (a follower or a non-host: NOT_LEADER_OR_FOLLOWER), except for
 *   replicaId -2 (Kafka's debugging consumer), which any host answers.
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
import { epochEndOffset } from '../replication/partition-epochs.ts';
import { leaderEpochError } from './01-fetch.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { type DataServices, defineHandler, type RequestContext } from './handler.ts';

type Answer = OffsetForLeaderEpochResponse['topics'][number]['partitions'][number];
type Asked = OffsetForLeaderEpochRequest['topics'][number]['partitions'][number];

/** Kafka's debugging consumer id: served by any replica, not only the leader. */
const DEBUGGING_REPLICA_ID = -2;

function answer(partition: number, errorCode: number, leaderEpoch = -1, endOffset = -1): Answer {
  return { errorCode, partition, leaderEpoch, endOffset };
}

export function handleOffsetForLeaderEpoch(
  ctx: RequestContext,
  request: OffsetForLeaderEpochRequest,
): OffsetForLeaderEpochResponse {
  const data = dataOf(ctx);
  const response = newOffsetForLeaderEpochResponse();
  const anyReplica = request.replicaId === DEBUGGING_REPLICA_ID;
  response.topics = request.topics.map((t) => ({
    topic: t.topic,
    partitions: t.partitions.map((p) => endOffsetOf(data, t.topic, p, anyReplica)),
  }));
  return response;
}

function endOffsetOf(data: DataServices, topicName: string, p: Asked, anyReplica: boolean) {
  const topic = data.cluster.topic(topicName);
  if (!topic || p.partition < 0 || p.partition >= topic.partitions.length) {
    return answer(p.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  const hosted = data.replicas.partition(topicName, p.partition);
  if (!hosted || (hosted.role !== 'leader' && !anyReplica)) {
    return answer(p.partition, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  }
  const epochError = leaderEpochError(hosted, p.currentLeaderEpoch);
  if (epochError !== ErrorCode.NONE) return answer(p.partition, epochError);
  const log = hosted.log;
  const end = epochEndOffset(log.leaderEpochs.entries, p.leaderEpoch, log.logEndOffset);
  return answer(p.partition, ErrorCode.NONE, end.epoch, end.endOffset);
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
