/**
 * Heartbeat (key 12), versions 0-4.
 *
 * Behavior:
 * - Keeps the member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin. Errors are
 *   the classic group coordinator's (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
 *   FENCED_INSTANCE_ID, ...). While the group's partition is loading the heartbeat is
 *   accepted, as Kafka does: the member cannot be checked yet and must not be failed.
 * - No coordinator running (none wired, or no __consumer_offsets yet: FindCoordinator
 *   creates it): COORDINATOR_NOT_AVAILABLE.
 *
 * Version notes:
 * - v1: throttle. v3: groupInstanceId. v4: flexible.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type HeartbeatRequest,
  type HeartbeatResponse,
  newHeartbeatResponse,
} from '../../protocol/generated/apis/12-heartbeat.ts';
import { defineHandler, type RequestContext } from './handler.ts';

export function handleHeartbeat(
  ctx: RequestContext,
  request: HeartbeatRequest,
  version: number,
): HeartbeatResponse {
  const response = newHeartbeatResponse();
  const coordinator = ctx.services.groups?.coordinator;
  response.errorCode =
    coordinator === undefined
      ? ErrorCode.COORDINATOR_NOT_AVAILABLE
      : coordinator.heartbeat({
          groupId: request.groupId,
          generationId: request.generationId,
          memberId: request.memberId,
          groupInstanceId: version >= 3 ? request.groupInstanceId : null,
        });
  return response;
}

export const heartbeatHandler = defineHandler<HeartbeatRequest, HeartbeatResponse>({
  apiKey: ApiKey.Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  handle: handleHeartbeat,
});
