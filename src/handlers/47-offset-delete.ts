/**
 * OffsetDelete (key 47), version 0.
 *
 * Behavior:
 * - Deletes committed offsets of a group that is Empty, or of topics the group is not
 *   subscribed to (else GROUP_SUBSCRIBED_TO_TOPIC per partition); tombstones go to
 *   __consumer_offsets. A group without offsets is GROUP_ID_NOT_FOUND; a group of another
 *   protocol type (not "consumer") is NON_EMPTY_GROUP (the coordinator's rules, Kafka's).
 * - A topic the cluster does not know gets UNKNOWN_TOPIC_OR_PARTITION on its partitions and
 *   is not sent to the coordinator.
 * - Group-level errors fill the top-level errorCode with no topics.
 * - No coordinator running (none wired, or no __consumer_offsets yet: FindCoordinator
 *   creates it): COORDINATOR_NOT_AVAILABLE.
 *
 * Version notes:
 * - v0 only: not flexible; throttle after the error code.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  newOffsetDeleteResponse,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
} from '../../protocol/generated/apis/47-offset-delete.ts';
import { defineHandler, type RequestContext } from './handler.ts';

export async function handleOffsetDelete(
  ctx: RequestContext,
  request: OffsetDeleteRequest,
): Promise<OffsetDeleteResponse> {
  const response = newOffsetDeleteResponse();
  const coordinator = ctx.services.groups?.coordinator;
  if (coordinator === undefined) {
    response.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return response;
  }
  const { metadata } = ctx.services;
  const known = request.topics.filter((t) => metadata.topic(t.name) !== undefined);
  const unknown = request.topics.filter((t) => metadata.topic(t.name) === undefined);
  const result = await coordinator.deleteOffsets({
    groupId: request.groupId,
    topics: known.map((t) => ({
      name: t.name,
      partitionIndexes: t.partitions.map((p) => p.partitionIndex),
    })),
  });
  response.errorCode = result.errorCode;
  if (result.errorCode !== ErrorCode.NONE) return response;
  response.topics = [
    ...result.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ ...p })),
    })),
    ...unknown.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      })),
    })),
  ];
  return response;
}

export const offsetDeleteHandler = defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  apiKey: ApiKey.OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  handle: handleOffsetDelete,
});
