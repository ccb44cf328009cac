/**
 * AlterPartition (key 56) on the controller listener, versions 0-3.
 *
 * Behavior:
 * - A partition leader's ISR change (or recovery report) goes to the active controller, which
 *   checks broker epoch, leader epoch (FENCED_LEADER_EPOCH), partition epoch
 *   (INVALID_UPDATE_VERSION) and the new members (INELIGIBLE_REPLICA), writes the
 *   PartitionChangeRecord and answers with the partition's state once it commits.
 *   Elsewhere: NOT_CONTROLLER at the top level (the leader retries on the active controller).
 *
 * Version notes: v1 leaderRecoveryState; v2 topics by id (by name before); v3
 * newIsrWithEpochs (KIP-903) replaces newIsr. The answer names topics the way the request
 * did: names below v2, ids from v2.
 */
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type AlterPartitionRequest,
  type AlterPartitionResponse,
  newAlterPartitionResponse,
} from '../../../protocol/generated/apis/56-alter-partition.ts';
import { ZERO_UUID } from '../../../protocol/wire/codec-support.ts';
import { defineHandler } from '../handler.ts';
import { withController } from './controller-services.ts';

export const controllerAlterPartitionHandler = defineHandler<
  AlterPartitionRequest,
  AlterPartitionResponse
>(
  withController({
    apiKey: ApiKey.AlterPartition,
    minVersion: 0,
    maxVersion: 3,
    async handle(_ctx, request, version, { controller }) {
      const response = await controller.alterPartition(request);
      // The controller names each topic both ways; a version carries only one.
      response.topics = response.topics.map((t) =>
        version >= 2 ? { ...t, topicName: '' } : { ...t, topicId: ZERO_UUID },
      );
      return response;
    },
    errorResponse: (_request, _version, errorCode) => ({
      ...newAlterPartitionResponse(),
      errorCode,
    }),
  }),
);
