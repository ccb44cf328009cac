/**
 * DeleteGroups (key 42), versions 0-2.
 *
 * Behavior:
 * - Deletes each named group that is Empty: its committed offsets and its metadata are
 *   tombstoned in __consumer_offsets before the answer. A group with members is
 *   NON_EMPTY_GROUP, an unknown (or already deleted) one GROUP_ID_NOT_FOUND; a group named
 *   twice is deleted and answered once (the coordinator's rules, Kafka's).
 * - Per-group errors NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS from the coordinator.
 * - No coordinator running (none wired, or no __consumer_offsets yet: FindCoordinator
 *   creates it): COORDINATOR_NOT_AVAILABLE for each group.
 *
 * Version notes:
 * - v0 (deprecated, still served): the same as v1. v2: flexible.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type DeleteGroupsRequest,
  type DeleteGroupsResponse,
  newDeleteGroupsResponse,
} from '../../protocol/generated/apis/42-delete-groups.ts';
import { defineHandler, type RequestContext } from './handler.ts';

function everyGroup(request: DeleteGroupsRequest, errorCode: number): DeleteGroupsResponse {
  const response = newDeleteGroupsResponse();
  response.results = [...new Set(request.groupsNames)].map((groupId) => ({ groupId, errorCode }));
  return response;
}

export async function handleDeleteGroups(
  ctx: RequestContext,
  request: DeleteGroupsRequest,
): Promise<DeleteGroupsResponse> {
  const coordinator = ctx.services.groups?.coordinator;
  if (coordinator === undefined) return everyGroup(request, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const response = newDeleteGroupsResponse();
  const results = await coordinator.deleteGroups(request.groupsNames);
  response.results = results.map((r) => ({ groupId: r.groupId, errorCode: r.errorCode }));
  return response;
}

export const deleteGroupsHandler = defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
  apiKey: ApiKey.DeleteGroups,
  minVersion: 0,
  maxVersion: 2,
  handle: handleDeleteGroups,
  errorResponse: (request, _version, errorCode) => everyGroup(request, errorCode),
});
