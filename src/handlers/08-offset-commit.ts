/**
 * OffsetCommit (key 8), versions 2-9 (Kafka 4 removed v0-v1: v0 stored offsets in ZooKeeper).
 *
 * Behavior:
 * - A topic the cluster does not know gets UNKNOWN_TOPIC_OR_PARTITION on each of its
 *   partitions (Kafka checks the topic, not the partition); the other partitions go to the
 *   group coordinator, which stores them in __consumer_offsets as one batch (all or nothing)
 *   and answers once it is durable.
 * - Coordinator errors: a simple commit (generation -1, no member) is accepted for a group
 *   without members; otherwise UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION / REBALANCE_IN_PROGRESS /
 *   FENCED_INSTANCE_ID; OFFSET_METADATA_TOO_LARGE over offset.metadata.max.bytes.
 * - Partitions are answered in request order, under their topic.
 * - No coordinator running (none wired, or no __consumer_offsets yet: FindCoordinator
 *   creates it): COORDINATOR_NOT_AVAILABLE on every partition.
 *
 * Version notes:
 * - v2-v4: retentionTimeMs (-1: the broker's offsets.retention.minutes). v3: throttle.
 * - v5: no retention time. v6: committedLeaderEpoch. v7: groupInstanceId. v8: flexible.
 * - v9: generationIdOrMemberEpoch may be a KIP-848 member epoch; a classic group reads it as
 *   its generation.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  newOffsetCommitResponse,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
} from '../../protocol/generated/apis/08-offset-commit.ts';
import type { TopicErrorResult } from '../coordinator/group/index.ts';
import { defineHandler, type RequestContext } from './handler.ts';

type RequestTopic = OffsetCommitRequest['topics'][number];
type ResponseTopic = OffsetCommitResponse['topics'][number];

function topicError(topic: RequestTopic, errorCode: number): ResponseTopic {
  return {
    name: topic.name,
    partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
  };
}

export async function handleOffsetCommit(
  ctx: RequestContext,
  request: OffsetCommitRequest,
  version: number,
): Promise<OffsetCommitResponse> {
  const response = newOffsetCommitResponse();
  const coordinator = ctx.services.groups?.coordinator;
  if (coordinator === undefined) {
    response.topics = request.topics.map((t) => topicError(t, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    return response;
  }
  const { metadata } = ctx.services;
  const known = request.topics.filter((t) => metadata.topic(t.name) !== undefined);
  const result =
    known.length === 0
      ? { topics: [] }
      : await coordinator.commitOffsets({
          groupId: request.groupId,
          generationIdOrMemberEpoch: request.generationIdOrMemberEpoch,
          memberId: request.memberId,
          groupInstanceId: version >= 7 ? request.groupInstanceId : null,
          ...(version <= 4 ? { retentionTimeMs: request.retentionTimeMs } : {}),
          topics: known.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partitionIndex,
              committedOffset: p.committedOffset,
              committedLeaderEpoch: version >= 6 ? p.committedLeaderEpoch : -1,
              committedMetadata: p.committedMetadata,
            })),
          })),
          apiVersion: version,
        });
  response.topics = inRequestOrder(request.topics, result.topics);
  return response;
}

/** The coordinator's answers merged with the unknown topics', in the request's order. */
function inRequestOrder(
  topics: readonly RequestTopic[],
  answered: readonly TopicErrorResult[],
): ResponseTopic[] {
  const pending = new Map<string, TopicErrorResult[]>();
  for (const t of answered) {
    const list = pending.get(t.name);
    if (list === undefined) pending.set(t.name, [t]);
    else list.push(t);
  }
  return topics.map((t) => {
    // A topic named twice is answered twice, each in its turn.
    const answer =
      pending.get(t.name)?.shift() ?? topicError(t, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    return {
      name: answer.name,
      partitions: answer.partitions.map((p) => ({ ...p })),
    };
  });
}

export const offsetCommitHandler = defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  apiKey: ApiKey.OffsetCommit,
  minVersion: 2,
  maxVersion: 9,
  handle: handleOffsetCommit,
  errorResponse(request, _version, errorCode) {
    const response = newOffsetCommitResponse();
    response.topics = request.topics.map((t) => topicError(t, errorCode));
    return response;
  },
});
