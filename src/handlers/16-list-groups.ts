/**
 * ListGroups (key 16), versions 0-5.
 *
 * Behavior:
 * - Every group this broker coordinates, with its protocol type (empty for groups that only
 *   commit offsets), state and type ("classic": Brook has no KIP-848 groups yet).
 * - statesFilter (v4+) and typesFilter (v5+) match case-insensitively; an empty filter
 *   matches every group. A types filter without "classic" lists nothing.
 * - COORDINATOR_LOAD_IN_PROGRESS while some partition of __consumer_offsets is loading,
 *   with the groups known so far (Kafka's answer).
 * - Before __consumer_offsets exists (no group yet): no groups, no error.
 * - Not wired to a coordinator: COORDINATOR_NOT_AVAILABLE.
 *
 * Version notes:
 * - v1: throttle. v3: flexible. v4: statesFilter, groupState. v5: typesFilter, groupType.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type ListGroupsRequest,
  type ListGroupsResponse,
  newListGroupsResponse,
} from '../../protocol/generated/apis/16-list-groups.ts';
import { defineHandler, type RequestContext } from './handler.ts';

export function handleListGroups(
  ctx: RequestContext,
  request: ListGroupsRequest,
  version: number,
): ListGroupsResponse {
  const response = newListGroupsResponse();
  const { groups } = ctx.services;
  if (groups === undefined) {
    response.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return response;
  }
  const coordinator = groups.coordinator;
  // No __consumer_offsets yet: no group was ever coordinated.
  if (coordinator === undefined) return response;
  const result = coordinator.listGroups(
    version >= 4 ? request.statesFilter : [],
    version >= 5 ? request.typesFilter : [],
  );
  response.errorCode = result.errorCode;
  response.groups = result.groups.map((g) => ({
    groupId: g.groupId,
    protocolType: g.protocolType,
    groupState: version >= 4 ? g.groupState : '',
    groupType: version >= 5 ? g.groupType : '',
  }));
  return response;
}

export const listGroupsHandler = defineHandler<ListGroupsRequest, ListGroupsResponse>({
  apiKey: ApiKey.ListGroups,
  minVersion: 0,
  maxVersion: 5,
  handle: handleListGroups,
});
