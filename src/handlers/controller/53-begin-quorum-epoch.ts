/**
 * BeginQuorumEpoch (key 53) on the controller listener, versions 0-1.
 *
 * Behavior:
 * - A new leader's announcement for `__cluster_metadata-0` goes to the quorum replica (source:
 *   the leader); its answer is returned.
 * - Any other topic or partition list: INVALID_REQUEST; no answer in time: REQUEST_TIMED_OUT.
 *
 * Version notes:
 * - v1 (KIP-853) adds VoterId, directory ids and leader endpoints; Brook sends none.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type BeginQuorumEpochRequest,
  type BeginQuorumEpochResponse,
  newBeginQuorumEpochResponse,
} from '../../../protocol/generated/apis/53-begin-quorum-epoch.ts';
import { beginQuorumEpochFromWire, quorumEpochResponseToWire } from '../../raft/transport-codec.ts';
import { defineHandler } from '../handler.ts';
import { raftOf } from './controller-services.ts';

function beginError(errorCode: number): BeginQuorumEpochResponse {
  return { ...newBeginQuorumEpochResponse(), errorCode };
}

export const controllerBeginQuorumEpochHandler = defineHandler<
  BeginQuorumEpochRequest,
  BeginQuorumEpochResponse
>({
  apiKey: ApiKey.BeginQuorumEpoch,
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, request) {
    const message = beginQuorumEpochFromWire(request);
    if (!message) return beginError(ErrorCode.INVALID_REQUEST);
    const answer = await raftOf(ctx).call(message.leaderId, message);
    if (answer?.type !== 'begin-quorum-epoch-response') {
      return beginError(ErrorCode.REQUEST_TIMED_OUT);
    }
    return quorumEpochResponseToWire(answer);
  },
  errorResponse: (_request, _version, errorCode) => beginError(errorCode),
});
