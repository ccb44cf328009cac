/**
 * OffsetFetch (key 9), versions 1-9 (Kafka 4 removed v0: it read offsets from ZooKeeper).
 *
 * Behavior:
 * - The group's committed offsets for the partitions asked for; a partition without one is
 *   answered offset -1, leader epoch -1, metadata '' and no error. A null topic list (v2+)
 *   means every partition the group has an offset for. Topics are not checked against the
 *   cluster (Kafka does not either: a deleted topic's offsets are still readable).
 * - Group-level errors (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, GROUP_ID_... ) go in
 *   the group's errorCode (v2+). v1 has no such field: the error goes on every partition
 *   asked for, which is where those clients look for it.
 * - requireStable (v7+): Brook has no transactional offset commits yet, so nothing is ever
 *   pending and every offset is stable.
 * - No coordinator running (none wired, or no __consumer_offsets yet: FindCoordinator
 *   creates it): COORDINATOR_NOT_AVAILABLE for each group.
 *
 * Version notes:
 * - v2: null topics = all, top-level errorCode. v3: throttle. v5: committedLeaderEpoch.
 * - v6: flexible. v7: requireStable.
 * - v8+: many groups per request (groups[] in, groups[] out); the single-group fields are
 *   absent. v9: memberId/memberEpoch, checked only for KIP-848 groups (classic ones ignore).
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  newOffsetFetchResponse,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
} from '../../protocol/generated/apis/09-offset-fetch.ts';
import type { GroupCoordinator, OffsetFetchResult } from '../coordinator/group/index.ts';
import { defineHandler, type RequestContext } from './handler.ts';

type WantedTopics = readonly { name: string; partitionIndexes: readonly number[] }[] | null;

function fetchGroup(
  coordinator: GroupCoordinator | undefined,
  groupId: string,
  topics: WantedTopics,
  requireStable: boolean,
): OffsetFetchResult {
  if (coordinator === undefined) {
    return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
  }
  return coordinator.fetchOffsets({ groupId, topics, requireStable });
}

function toTopics(result: OffsetFetchResult) {
  return result.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({
      partitionIndex: p.partitionIndex,
      committedOffset: p.committedOffset,
      committedLeaderEpoch: p.committedLeaderEpoch,
      metadata: p.metadata,
      errorCode: p.errorCode,
    })),
  }));
}

export async function handleOffsetFetch(
  ctx: RequestContext,
  request: OffsetFetchRequest,
  version: number,
): Promise<OffsetFetchResponse> {
  const response = newOffsetFetchResponse();
  const coordinator = ctx.services.groups?.coordinator;
  // Read-your-writes on a pipelined connection: a commit sent before this fetch is answered
  // only once durable, so wait for the group's commits in flight (Kafka serialises instead).
  const groupIds = version >= 8 ? request.groups.map((g) => g.groupId) : [request.groupId];
  await Promise.all(groupIds.map((id) => coordinator?.offsetCommitsSettled(id)));
  if (version >= 8) {
    response.groups = request.groups.map((g) => {
      const result = fetchGroup(coordinator, g.groupId, g.topics, request.requireStable);
      return { groupId: g.groupId, topics: toTopics(result), errorCode: result.errorCode };
    });
    return response;
  }
  const topics = version >= 2 ? request.topics : (request.topics ?? []);
  const result = fetchGroup(coordinator, request.groupId, topics, request.requireStable);
  if (version >= 2) {
    response.errorCode = result.errorCode;
    response.topics = toTopics(result);
    return response;
  }
  response.topics =
    result.errorCode === ErrorCode.NONE
      ? toTopics(result)
      : (topics ?? []).map((t) => partitionErrors(t, result.errorCode));
  return response;
}

function partitionErrors(
  topic: { name: string; partitionIndexes: readonly number[] },
  errorCode: number,
): OffsetFetchResponse['topics'][number] {
  return {
    name: topic.name,
    partitions: topic.partitionIndexes.map((partitionIndex) => ({
      partitionIndex,
      committedOffset: -1,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode,
    })),
  };
}

export const offsetFetchHandler = defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
  apiKey: ApiKey.OffsetFetch,
  minVersion: 1,
  maxVersion: 9,
  handle: handleOffsetFetch,
  errorResponse(request, version, errorCode) {
    const response = newOffsetFetchResponse();
    if (version >= 8) {
      response.groups = request.groups.map((g) => ({ groupId: g.groupId, topics: [], errorCode }));
    } else if (version >= 2) {
      response.errorCode = errorCode;
    } else {
      response.topics = (request.topics ?? []).map((t) => partitionErrors(t, errorCode));
    }
    return response;
  },
});
