/**
 * BrokerRegistration (key 62) on the controller listener, versions 0-4.
 *
 * Behavior:
 * - Only the active controller registers: the broker's RegisterBrokerRecord (fenced, epoch =
 *   its offset) is committed through Raft before the answer carries the epoch. Elsewhere:
 *   NOT_CONTROLLER (the broker retries on the active controller).
 * - Refusals are the controller's (src/controller/README.md): another live incarnation
 *   DUPLICATE_BROKER_REGISTRATION, a foreign cluster id INCONSISTENT_CLUSTER_ID, a finalized
 *   feature level outside the broker's range UNSUPPORTED_VERSION.
 *
 * Version notes: v1 isMigratingZkBroker; v2 logDirs; v3 previousBrokerEpoch; v4 no change
 * here (Kafka 4 brokers send v4).
 */
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type BrokerRegistrationRequest,
  type BrokerRegistrationResponse,
  newBrokerRegistrationResponse,
} from '../../../protocol/generated/apis/62-broker-registration.ts';
import { defineHandler } from '../handler.ts';
import { withController } from './controller-services.ts';

export const controllerBrokerRegistrationHandler = defineHandler<
  BrokerRegistrationRequest,
  BrokerRegistrationResponse
>(
  withController({
    apiKey: ApiKey.BrokerRegistration,
    minVersion: 0,
    maxVersion: 4,
    handle: (_ctx, request, _version, { controller }) => controller.registerBroker(request),
    errorResponse: (_request, _version, errorCode) => ({
      ...newBrokerRegistrationResponse(),
      errorCode,
    }),
  }),
);
