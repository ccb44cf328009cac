/**
 * JoinGroup (key 11), versions 0-9 (Kafka 4 keeps the deprecated v0-v1 for old clients).
 *
 * Behavior:
 * - The classic group coordinator (src/coordinator/group) decides everything: MEMBER_ID_
 *   REQUIRED for a new dynamic member from v4 (KIP-394), the rebalance, the leader, static
 *   members (v5+). The answer may wait for the join phase to end (up to the rebalance
 *   timeout); other connections are not held meanwhile.
 * - clientId is the request header's (empty when null), clientHost the peer's address in
 *   Kafka's form ("/" + address), so DescribeGroups shows what Kafka shows.
 * - No coordinator running (none wired, or no __consumer_offsets yet: FindCoordinator
 *   creates it): COORDINATOR_NOT_AVAILABLE.
 *
 * Version notes:
 * - v0 has no rebalance timeout: the session timeout serves as both, as in Kafka.
 * - v2: throttle. v5: groupInstanceId (request and members). v6: flexible.
 * - v7: protocolType in the response, protocolName nullable; below v7 a null protocol name
 *   (an error answer) goes out as ''.
 * - v8: reason. v9: skipAssignment (always false for classic groups: no server-side
 *   assignor), absent below v9.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type JoinGroupRequest,
  type JoinGroupResponse,
  newJoinGroupResponse,
} from '../../protocol/generated/apis/11-join-group.ts';
import type { JoinGroupResult } from '../coordinator/group/index.ts';
import { defineHandler, type RequestContext } from './handler.ts';

export async function handleJoinGroup(
  ctx: RequestContext,
  request: JoinGroupRequest,
  version: number,
): Promise<JoinGroupResponse> {
  const coordinator = ctx.services.groups?.coordinator;
  if (coordinator === undefined) {
    return errorJoinResponse(request, ErrorCode.COORDINATOR_NOT_AVAILABLE, version);
  }
  const result = await coordinator.join({
    groupId: request.groupId,
    memberId: request.memberId,
    groupInstanceId: version >= 5 ? request.groupInstanceId : null,
    clientId: ctx.clientId ?? '',
    clientHost: `/${ctx.remoteAddress}`,
    rebalanceTimeoutMs: version >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
    sessionTimeoutMs: request.sessionTimeoutMs,
    protocolType: request.protocolType,
    protocols: request.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
    reason: version >= 8 ? request.reason : null,
    apiVersion: version,
  });
  return toResponse(result, version);
}

function toResponse(result: JoinGroupResult, version: number): JoinGroupResponse {
  const response = newJoinGroupResponse();
  response.errorCode = result.errorCode;
  response.generationId = result.generationId;
  response.protocolType = version >= 7 ? result.protocolType : null;
  response.protocolName = result.protocolName ?? (version >= 7 ? null : '');
  response.leader = result.leader;
  response.skipAssignment = version >= 9 ? result.skipAssignment : false;
  response.memberId = result.memberId;
  response.members = result.members.map((m) => ({
    memberId: m.memberId,
    groupInstanceId: version >= 5 ? m.groupInstanceId : null,
    metadata: m.metadata,
  }));
  return response;
}

function errorJoinResponse(
  request: JoinGroupRequest,
  errorCode: number,
  version: number,
): JoinGroupResponse {
  const response = newJoinGroupResponse();
  response.errorCode = errorCode;
  response.memberId = request.memberId;
  response.protocolName = version >= 7 ? null : '';
  return response;
}

export const joinGroupHandler = defineHandler<JoinGroupRequest, JoinGroupResponse>({
  apiKey: ApiKey.JoinGroup,
  minVersion: 0,
  maxVersion: 9,
  handle: handleJoinGroup,
  errorResponse: (request, version, errorCode) => errorJoinResponse(request, errorCode, version),
});
