/**
 * IncrementalAlterConfigs (key 44), versions 0-1 (AlterConfigs, 33-alter-configs.ts, shares
 * the resource handling).
 *
 * Behavior:
 * - TOPIC resources: the changes become ConfigRecords in the metadata log (all of a
 *   resource's changes or none); the topic's partitions apply them at once to produce-side
 *   checks (max.message.bytes, timestamps, compaction keys, min.insync.replicas); storage
 *   settings of an open log (segment size, retention) apply when the log is next opened.
 * - Incremental operations: SET (0), DELETE (1), APPEND (2) and SUBTRACT (3), the last two
 *   only for list configs (cleanup.policy), on the effective value.
 * - Per resource: unknown topic UNKNOWN_TOPIC_OR_PARTITION; unknown config name, bad value or
 *   operation INVALID_CONFIG; a config named twice INVALID_REQUEST; BROKER resources
 *   INVALID_REQUEST (no dynamic broker configs yet); other types INVALID_REQUEST.
 * - validateOnly: the same checks, nothing changed.
 *
 * Version notes: v1 flexible.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
  newIncrementalAlterConfigsResponse,
} from '../../protocol/generated/apis/44-incremental-alter-configs.ts';
import type { ConfigChange } from '../metadata/topic-commands.ts';
import { ConfigResourceType } from './32-describe-configs.ts';
import { incrementalPlan, type Planned } from './controller/topic-requests.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { type DataServices, defineHandler, type RequestContext } from './handler.ts';

interface ResourceResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

export async function alter(
  data: DataServices,
  resource: { resourceType: number; resourceName: string },
  plan: (current: ReadonlyMap<string, string>) => Planned,
  validateOnly: boolean,
): Promise<ResourceResult> {
  const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
  const fail = (errorCode: number, errorMessage: string) => ({ ...base, errorCode, errorMessage });
  if (resource.resourceType !== ConfigResourceType.topic) {
    return fail(ErrorCode.INVALID_REQUEST, 'Only topic configs can be altered on this broker.');
  }
  const topic = data.cluster.topic(resource.resourceName);
  if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Topic does not exist.');
  const changes = plan(topic.configs);
  if (!Array.isArray(changes)) {
    const refused = changes as Exclude<Planned, readonly ConfigChange[]>;
    return fail(refused.errorCode, refused.message);
  }
  const result = await data.cluster.alterTopicConfigs(topic.name, changes, validateOnly);
  return result.errorCode === 0
    ? { ...base, errorCode: 0, errorMessage: null }
    : fail(result.errorCode, 'errorMessage' in result ? result.errorMessage : '');
}

export async function handleIncrementalAlterConfigs(
  ctx: RequestContext,
  request: IncrementalAlterConfigsRequest,
): Promise<IncrementalAlterConfigsResponse> {
  const data = dataOf(ctx);
  const response = newIncrementalAlterConfigsResponse();
  for (const resource of request.resources) {
    const plan = incrementalPlan(resource.configs, ctx.services.config);
    response.responses.push(await alter(data, resource, plan, request.validateOnly));
  }
  return response;
}

export function failedAll<T extends { resourceType: number; resourceName: string }>(
  resources: readonly T[],
  errorCode: number,
): ResourceResult[] {
  return resources.map((r) => ({
    errorCode,
    errorMessage: null,
    resourceType: r.resourceType,
    resourceName: r.resourceName,
  }));
}

export const incrementalAlterConfigsHandler = defineHandler<
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse
>(
  withDataPath({
    apiKey: ApiKey.IncrementalAlterConfigs,
    minVersion: 0,
    maxVersion: 1,
    handle: handleIncrementalAlterConfigs,
    errorResponse(request, _version, errorCode) {
      const response = newIncrementalAlterConfigsResponse();
      response.responses = failedAll(request.resources, errorCode);
      return response;
    },
  }),
);
