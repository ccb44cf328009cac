/**
 * SyncGroup (key 14), versions 0-5.
 *
 * Behavior:
 * - The leader's assignments are stored in __consumer_offsets (durably) before any member
 *   gets its assignment; followers wait for the leader's SyncGroup. The classic group
 *   coordinator decides every error (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
 *   REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID, INCONSISTENT_GROUP_PROTOCOL).
 * - No coordinator running (none wired, or no __consumer_offsets yet: FindCoordinator
 *   creates it): COORDINATOR_NOT_AVAILABLE.
 *
 * Version notes:
 * - v1: throttle. v3: groupInstanceId. v4: flexible.
 * - v5: protocolType and protocolName in request and response; below v5 they are absent,
 *   so the coordinator skips the check that they match the group's.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  newSyncGroupResponse,
  type SyncGroupRequest,
  type SyncGroupResponse,
} from '../../protocol/generated/apis/14-sync-group.ts';
import { defineHandler, type RequestContext } from './handler.ts';

export async function handleSyncGroup(
  ctx: RequestContext,
  request: SyncGroupRequest,
  version: number,
): Promise<SyncGroupResponse> {
  const response = newSyncGroupResponse();
  const coordinator = ctx.services.groups?.coordinator;
  if (coordinator === undefined) {
    response.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return response;
  }
  const result = await coordinator.sync({
    groupId: request.groupId,
    generationId: request.generationId,
    memberId: request.memberId,
    groupInstanceId: version >= 3 ? request.groupInstanceId : null,
    protocolType: version >= 5 ? request.protocolType : null,
    protocolName: version >= 5 ? request.protocolName : null,
    assignments: request.assignments.map((a) => ({
      memberId: a.memberId,
      assignment: a.assignment,
    })),
  });
  response.errorCode = result.errorCode;
  response.assignment = result.assignment;
  if (version >= 5) {
    response.protocolType = result.protocolType;
    response.protocolName = result.protocolName;
  }
  return response;
}

export const syncGroupHandler = defineHandler<SyncGroupRequest, SyncGroupResponse>({
  apiKey: ApiKey.SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  handle: handleSyncGroup,
});
