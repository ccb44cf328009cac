/**
 * LeaveGroup (key 13), versions 0-5.
 *
 * Behavior:
 * - The members leave the group (a rebalance follows for the others); each member's error is
 *   the coordinator's (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID). A group-level error
 *   (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, ...) answers the whole request.
 * - No coordinator running (none wired, or no __consumer_offsets yet: FindCoordinator
 *   creates it): COORDINATOR_NOT_AVAILABLE.
 *
 * Version notes:
 * - v0-v2: one member (memberId) and one error code: the group-level error if any, else the
 *   member's (Kafka's rule for these versions). v1: throttle.
 * - v3+: batched members (KIP-345, static members leave by instance id) with per-member
 *   errors. v4: flexible. v5: a reason per member (logged by Kafka; kept for the rebalance
 *   reason here).
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type LeaveGroupRequest,
  type LeaveGroupResponse,
  newLeaveGroupResponse,
} from '../../protocol/generated/apis/13-leave-group.ts';
import {
  type LeaveGroupMemberIdentity,
  leaveErrorForSingleMemberVersions,
} from '../coordinator/group/index.ts';
import { defineHandler, type RequestContext } from './handler.ts';

export function handleLeaveGroup(
  ctx: RequestContext,
  request: LeaveGroupRequest,
  version: number,
): LeaveGroupResponse {
  const response = newLeaveGroupResponse();
  const coordinator = ctx.services.groups?.coordinator;
  if (coordinator === undefined) {
    response.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return response;
  }
  const members: LeaveGroupMemberIdentity[] =
    version >= 3
      ? request.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          reason: version >= 5 ? m.reason : null,
        }))
      : [{ memberId: request.memberId, groupInstanceId: null }];
  const result = coordinator.leave(request.groupId, members);
  if (version < 3) {
    response.errorCode = leaveErrorForSingleMemberVersions(result);
    return response;
  }
  response.errorCode = result.errorCode;
  response.members = result.members.map((m) => ({
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
    errorCode: m.errorCode,
  }));
  return response;
}

export const leaveGroupHandler = defineHandler<LeaveGroupRequest, LeaveGroupResponse>({
  apiKey: ApiKey.LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  handle: handleLeaveGroup,
});
