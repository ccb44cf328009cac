/**
 * AlterConfigs (key 33), versions 0-2: the legacy whole-set form of IncrementalAlterConfigs.
 *
 * Behavior: as 44-incremental-alter-configs.ts, except that a TOPIC resource's configs
 * replace the topic's whole set of overrides: the ones not named are removed.
 *
 * Version notes: v2 flexible.
 */
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type AlterConfigsRequest,
  type AlterConfigsResponse,
  newAlterConfigsResponse,
} from '../../protocol/generated/apis/33-alter-configs.ts';
import { alter, failedAll } from './44-incremental-alter-configs.ts';
import { replacementPlan } from './controller/topic-requests.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { defineHandler, type RequestContext } from './handler.ts';

export async function handleAlterConfigs(
  ctx: RequestContext,
  request: AlterConfigsRequest,
): Promise<AlterConfigsResponse> {
  const data = dataOf(ctx);
  const response = newAlterConfigsResponse();
  for (const resource of request.resources) {
    const plan = replacementPlan(resource.configs);
    response.responses.push(await alter(data, resource, plan, request.validateOnly));
  }
  return response;
}

export const alterConfigsHandler = defineHandler<AlterConfigsRequest, AlterConfigsResponse>(
  withDataPath({
    apiKey: ApiKey.AlterConfigs,
    minVersion: 0,
    maxVersion: 2,
    handle: handleAlterConfigs,
    errorResponse(request, _version, errorCode) {
      const response = newAlterConfigsResponse();
      response.responses = failedAll(request.resources, errorCode);
      return response;
    },
  }),
);
