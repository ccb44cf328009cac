/**
 * Fetch (key 1) on the controller listener, versions 13-17: followers and observers of the
 * quorum fetching `__cluster_metadata-0`.
 *
 * Behavior:
 * - Only a replica's fetch of exactly that one partition (replica id >= 0) is served; anything
 *   else (a consumer, other topics) is INVALID_REQUEST at the top level: consumers read
 *   metadata from brokers, not from the controller listener.
 * - The fetch goes to the quorum replica, which may park it up to the request's wait (long
 *   poll); its answer carries records, a diverging epoch, or a snapshot id. No answer in time:
 *   REQUEST_TIMED_OUT.
 *
 * Version notes:
 * - From v13 topics are named by id (the metadata topic's fixed id); v15 moves the replica id
 *   into ReplicaState. Versions below 13 are not served here: no KRaft peer sends them.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type FetchRequest,
  type FetchResponse,
  newFetchResponse,
} from '../../../protocol/generated/apis/01-fetch.ts';
import { fetchRequestFromWire, fetchResponseToWire } from '../../raft/transport-codec.ts';
import { defineHandler } from '../handler.ts';
import { raftOf } from './controller-services.ts';

function fetchError(errorCode: number): FetchResponse {
  return { ...newFetchResponse(), errorCode };
}

export const controllerFetchHandler = defineHandler<FetchRequest, FetchResponse>({
  apiKey: ApiKey.Fetch,
  minVersion: 13,
  maxVersion: 17,
  async handle(ctx, request) {
    const raft = raftOf(ctx);
    const message = fetchRequestFromWire(request, raft.fetchMaxEntries);
    if (!message || message.replicaId < 0) return fetchError(ErrorCode.INVALID_REQUEST);
    const answer = await raft.call(message.replicaId, message);
    if (answer?.type !== 'fetch-response') return fetchError(ErrorCode.REQUEST_TIMED_OUT);
    return fetchResponseToWire(answer);
  },
  errorResponse: (_request, _version, errorCode) => fetchError(errorCode),
});
