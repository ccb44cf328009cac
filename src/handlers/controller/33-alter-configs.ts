/**
 * AlterConfigs (key 33) on the controller listener, versions 0-2: the legacy whole-set form of
 * IncrementalAlterConfigs (44-incremental-alter-configs.ts).
 *
 * Behavior: as IncrementalAlterConfigs on the active controller, except that a TOPIC
 * resource's configs replace the topic's whole set of overrides: the ones not named are
 * removed (planned against the latest overrides on the controller's queue). Not the active
 * controller: NOT_CONTROLLER for every resource.
 *
 * Version notes: v2 flexible.
 */
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type AlterConfigsRequest,
  type AlterConfigsResponse,
  newAlterConfigsResponse,
} from '../../../protocol/generated/apis/33-alter-configs.ts';
import { defineHandler } from '../handler.ts';
import { alterResources, refusedResources } from './44-incremental-alter-configs.ts';
import { withController } from './controller-services.ts';
import { replacementPlan } from './topic-requests.ts';

export const controllerAlterConfigsHandler = defineHandler<
  AlterConfigsRequest,
  AlterConfigsResponse
>(
  withController({
    apiKey: ApiKey.AlterConfigs,
    minVersion: 0,
    maxVersion: 2,
    async handle(_ctx, request, _version, { controller }) {
      const plan = (r: (typeof request.resources)[number]) => replacementPlan(r.configs);
      return {
        ...newAlterConfigsResponse(),
        responses: await alterResources(controller, request.resources, plan, request.validateOnly),
      };
    },
    errorResponse: (request, _version, errorCode) => ({
      ...newAlterConfigsResponse(),
      responses: refusedResources(request.resources, errorCode),
    }),
  }),
);
