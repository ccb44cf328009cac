/**
 * Vote (key 52) on the controller listener, versions 0-2.
 *
 * Behavior:
 * - The one partition `__cluster_metadata-0` goes to the quorum replica as a vote (or, at v2
 *   with PreVote set, a pre-vote) from `candidateId`; its answer is returned.
 * - Any other topic or partition list: INVALID_REQUEST at the top level.
 * - No answer from the replica in time (it may be stopping): REQUEST_TIMED_OUT.
 *
 * Version notes:
 * - v1 (KIP-853) adds VoterId and directory ids; Brook's voters carry no directory ids.
 * - v2 (KIP-996) adds PreVote; the response is unchanged, so the requester remembers which it
 *   asked.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  newVoteResponse,
  type VoteRequest,
  type VoteResponse,
} from '../../../protocol/generated/apis/52-vote.ts';
import { voteRequestFromWire, voteResponseToWire } from '../../raft/transport-codec.ts';
import { defineHandler } from '../handler.ts';
import { raftOf } from './controller-services.ts';

function voteError(errorCode: number): VoteResponse {
  return { ...newVoteResponse(), errorCode };
}

export const controllerVoteHandler = defineHandler<VoteRequest, VoteResponse>({
  apiKey: ApiKey.Vote,
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, request) {
    const message = voteRequestFromWire(request);
    if (!message) return voteError(ErrorCode.INVALID_REQUEST);
    const answer = await raftOf(ctx).call(message.candidateId, message);
    if (answer?.type !== 'vote-response') return voteError(ErrorCode.REQUEST_TIMED_OUT);
    return voteResponseToWire(answer);
  },
  errorResponse: (_request, _version, errorCode) => voteError(errorCode),
});
