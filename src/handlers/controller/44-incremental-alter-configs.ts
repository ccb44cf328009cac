/**
 * IncrementalAlterConfigs (key 44) on the controller listener, versions 0-1.
 *
 * Behavior:
 * - TOPIC resources: the operations (SET, DELETE, APPEND, SUBTRACT; the last two on the
 *   effective value of a list config) are planned on the active controller's event queue
 *   against the latest overrides, checked by the topic-config catalogue as on a single node,
 *   and written as ConfigRecords, all of a resource's changes or none; the answer waits for
 *   their commit. Brokers apply them as they apply the records.
 * - Per resource: unknown topic UNKNOWN_TOPIC_OR_PARTITION; unknown config name, bad value or
 *   operation INVALID_CONFIG; a config named twice INVALID_REQUEST; BROKER and other
 *   resources INVALID_REQUEST (no dynamic broker configs yet). validateOnly: the same checks,
 *   nothing written. Not the active controller: NOT_CONTROLLER for every resource.
 *
 * Version notes: v1 flexible.
 */
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
  newIncrementalAlterConfigsResponse,
} from '../../../protocol/generated/apis/44-incremental-alter-configs.ts';
import type { ConfigAlteration, ConfigResult } from '../../controller/config-commands.ts';
import type { ControllerRuntime } from '../../controller/controller-runtime.ts';
import { defineHandler } from '../handler.ts';
import { withController } from './controller-services.ts';
import { incrementalPlan } from './topic-requests.ts';

interface Resource {
  readonly resourceType: number;
  readonly resourceName: string;
}

/** One alteration per resource, decided on the active controller (both AlterConfigs forms). */
export function alterResources<R extends Resource>(
  controller: ControllerRuntime,
  resources: readonly R[],
  planOf: (resource: R) => ConfigAlteration['plan'],
  validateOnly: boolean,
): Promise<ConfigResult[]> {
  const alterations = resources.map((r) => ({
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    plan: planOf(r),
  }));
  return controller.alterConfigs(alterations, { validateOnly });
}

/** Every resource refused `errorCode` (a handler's errorResponse). */
export function refusedResources(resources: readonly Resource[], errorCode: number) {
  return resources.map((r) => ({
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    errorCode,
    errorMessage: null,
  }));
}

export const controllerIncrementalAlterConfigsHandler = defineHandler<
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse
>(
  withController({
    apiKey: ApiKey.IncrementalAlterConfigs,
    minVersion: 0,
    maxVersion: 1,
    async handle(_ctx, request, _version, { controller, config }) {
      const plan = (r: (typeof request.resources)[number]) => incrementalPlan(r.configs, config);
      return {
        ...newIncrementalAlterConfigsResponse(),
        responses: await alterResources(controller, request.resources, plan, request.validateOnly),
      };
    },
    errorResponse: (request, _version, errorCode) => ({
      ...newIncrementalAlterConfigsResponse(),
      responses: refusedResources(request.resources, errorCode),
    }),
  }),
);
