/**
 * DescribeGroups (key 15), versions 0-5.
 *
 * Behavior:
 * - Per group, in request order: its state (Kafka's names: Empty, PreparingRebalance,
 *   CompletingRebalance, Stable, Dead), protocol type, and, once Stable, the chosen protocol
 *   and every member's metadata and assignment. An unknown group is Dead with no error, as in
 *   Kafka; per-group errors (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS) come from the
 *   coordinator.
 * - Authorized operations (v3+, when asked): with no authorizer, every group operation
 *   (READ, DELETE, DESCRIBE); else Kafka's "not requested" value.
 * - No coordinator running (none wired, or no __consumer_offsets yet: FindCoordinator
 *   creates it): COORDINATOR_NOT_AVAILABLE for each group.
 *
 * Version notes:
 * - v1: throttle. v3: authorized operations. v4: groupInstanceId of members. v5: flexible.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
  newDescribeGroupsResponse,
} from '../../protocol/generated/apis/15-describe-groups.ts';
import type { DescribedGroup } from '../coordinator/group/index.ts';
import { defineHandler, type RequestContext } from './handler.ts';

/** Kafka's "not requested" value of authorizedOperations. */
const operationsNotRequested = -2147483648;
/** READ (3), DELETE (6), DESCRIBE (8): the operations that apply to a group. */
const groupOperations = (1 << 3) | (1 << 6) | (1 << 8);

function notAvailable(groupId: string): DescribedGroup {
  return {
    errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    groupId,
    groupState: '',
    protocolType: '',
    protocolData: '',
    members: [],
  };
}

export function handleDescribeGroups(
  ctx: RequestContext,
  request: DescribeGroupsRequest,
  version: number,
): DescribeGroupsResponse {
  const response = newDescribeGroupsResponse();
  const coordinator = ctx.services.groups?.coordinator;
  const described =
    coordinator === undefined
      ? request.groups.map(notAvailable)
      : coordinator.describeGroups(request.groups);
  const operations =
    version >= 3 && request.includeAuthorizedOperations ? groupOperations : operationsNotRequested;
  response.groups = described.map((g) => ({
    errorCode: g.errorCode,
    groupId: g.groupId,
    groupState: g.groupState,
    protocolType: g.protocolType,
    protocolData: g.protocolData,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: version >= 4 ? m.groupInstanceId : null,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberMetadata: m.memberMetadata,
      memberAssignment: m.memberAssignment,
    })),
    authorizedOperations: g.errorCode === ErrorCode.NONE ? operations : operationsNotRequested,
  }));
  return response;
}

export const describeGroupsHandler = defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
  apiKey: ApiKey.DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  handle: handleDescribeGroups,
  errorResponse(request, _version, errorCode) {
    const response = newDescribeGroupsResponse();
    response.groups = request.groups.map((groupId) => ({
      ...notAvailable(groupId),
      members: [],
      errorCode,
      authorizedOperations: operationsNotRequested,
    }));
    return response;
  },
});
