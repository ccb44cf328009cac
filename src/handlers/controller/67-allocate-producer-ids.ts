/**
 * AllocateProducerIds (key 67) on the controller listener, version 0.
 *
 * Behavior:
 * - The active controller hands the broker the next block of producer ids
 *   (`producerIdBlockSize`, Kafka's 1000) once its ProducerIdsRecord commits, so no block is
 *   ever handed out twice, across failovers too. A broker epoch other than its registration's
 *   STALE_BROKER_EPOCH. Elsewhere: NOT_CONTROLLER.
 */
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type AllocateProducerIdsRequest,
  type AllocateProducerIdsResponse,
  newAllocateProducerIdsResponse,
} from '../../../protocol/generated/apis/67-allocate-producer-ids.ts';
import { defineHandler } from '../handler.ts';
import { withController } from './controller-services.ts';

export const controllerAllocateProducerIdsHandler = defineHandler<
  AllocateProducerIdsRequest,
  AllocateProducerIdsResponse
>(
  withController({
    apiKey: ApiKey.AllocateProducerIds,
    minVersion: 0,
    maxVersion: 0,
    handle: (_ctx, request, _version, { controller }) => controller.allocateProducerIds(request),
    errorResponse: (_request, _version, errorCode) => ({
      ...newAllocateProducerIdsResponse(),
      errorCode,
    }),
  }),
);
