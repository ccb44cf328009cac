/**
 * BrokerHeartbeat (key 63) on the controller listener, versions 0-1.
 *
 * Behavior:
 * - Only the active controller answers: it renews the broker's session, unfences a fenced
 *   broker whose metadata offset reached its epoch, fences on `wantFence`, and runs the
 *   controlled shutdown on `wantShutDown` (src/controller/broker-lifecycle.ts). A heartbeat
 *   that changes the broker's state is answered once that record commits; one that changes
 *   nothing once what it read is committed. Elsewhere: NOT_CONTROLLER.
 * - A stale broker epoch STALE_BROKER_EPOCH; an unknown broker BROKER_ID_NOT_REGISTERED.
 *
 * Version notes: v1 offlineLogDirs (read, not acted on: one log dir per broker).
 */
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type BrokerHeartbeatRequest,
  type BrokerHeartbeatResponse,
  newBrokerHeartbeatResponse,
} from '../../../protocol/generated/apis/63-broker-heartbeat.ts';
import { defineHandler } from '../handler.ts';
import { withController } from './controller-services.ts';

export const controllerBrokerHeartbeatHandler = defineHandler<
  BrokerHeartbeatRequest,
  BrokerHeartbeatResponse
>(
  withController({
    apiKey: ApiKey.BrokerHeartbeat,
    minVersion: 0,
    maxVersion: 1,
    handle: (_ctx, request, _version, { controller }) => controller.brokerHeartbeat(request),
    errorResponse: (_request, _version, errorCode) => ({
      ...newBrokerHeartbeatResponse(),
      errorCode,
    }),
  }),
);
