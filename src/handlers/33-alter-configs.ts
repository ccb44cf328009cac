/**
 * AlterConfigs (key 33), versions 0-2: the legacy whole-set form of IncrementalAlterConfigs.
 *
 * Behavior: as 44-incremental-alter-configs.ts, except that a TOPIC resource's configs
 * replace the topic's whole set of overrides: the ones not named are removed.
 *
 * Version notes: v2 flexible.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type AlterConfigsRequest,
  type AlterConfigsResponse,
  newAlterConfigsResponse,
} from '../../protocol/generated/apis/33-alter-configs.ts';
import type { ConfigChange } from '../metadata/topic-commands.ts';
import { alter, duplicated, failedAll, type Planned } from './44-incremental-alter-configs.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { defineHandler, type RequestContext } from './handler.ts';

export async function handleAlterConfigs(
  ctx: RequestContext,
  request: AlterConfigsRequest,
): Promise<AlterConfigsResponse> {
  const data = dataOf(ctx);
  const response = newAlterConfigsResponse();
  for (const resource of request.resources) {
    const plan = (current: ReadonlyMap<string, string>): Planned => {
      const names = resource.configs.map((c) => c.name);
      const twice = duplicated(names);
      if (twice) return { errorCode: ErrorCode.INVALID_REQUEST, message: `Duplicate ${twice}` };
      const removed = [...current.keys()].filter((k) => !names.includes(k));
      return [
        ...resource.configs.map((c): ConfigChange => [c.name, c.value]),
        ...removed.map((k): ConfigChange => [k, null]),
      ];
    };
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
