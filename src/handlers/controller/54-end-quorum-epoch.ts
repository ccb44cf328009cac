/**
 * EndQuorumEpoch (key 54) on the controller listener, versions 0-1.
 *
 * Behavior:
 * - A resigning leader's notice for `__cluster_metadata-0`, with its preferred successors,
 *   goes to the quorum replica (source: the leader); its answer is returned.
 * - Any other topic or partition list: INVALID_REQUEST; no answer in time: REQUEST_TIMED_OUT.
 *
 * Version notes:
 * - v0 lists successors as ids (PreferredSuccessors); v1 (KIP-853) as PreferredCandidates
 *   with directory ids, and adds leader endpoints. Both are read.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type EndQuorumEpochRequest,
  type EndQuorumEpochResponse,
  newEndQuorumEpochResponse,
} from '../../../protocol/generated/apis/54-end-quorum-epoch.ts';
import { endQuorumEpochFromWire, quorumEpochResponseToWire } from '../../raft/transport-codec.ts';
import { defineHandler } from '../handler.ts';
import { raftOf } from './controller-services.ts';

function endError(errorCode: number): EndQuorumEpochResponse {
  return { ...newEndQuorumEpochResponse(), errorCode };
}

export const controllerEndQuorumEpochHandler = defineHandler<
  EndQuorumEpochRequest,
  EndQuorumEpochResponse
>({
  apiKey: ApiKey.EndQuorumEpoch,
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, request) {
    const message = endQuorumEpochFromWire(request);
    if (!message) return endError(ErrorCode.INVALID_REQUEST);
    const answer = await raftOf(ctx).call(message.leaderId, message);
    if (answer?.type !== 'end-quorum-epoch-response') return endError(ErrorCode.REQUEST_TIMED_OUT);
    return quorumEpochResponseToWire(answer);
  },
  errorResponse: (_request, _version, errorCode) => endError(errorCode),
});
