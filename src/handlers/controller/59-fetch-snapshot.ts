/**
 * FetchSnapshot (key 59) on the controller listener, versions 0-1.
 *
 * Behavior:
 * - A follower downloading the leader's snapshot of `__cluster_metadata-0` in chunks: the
 *   request goes to the quorum replica (source: the replica id), which answers with the bytes
 *   at the position, SNAPSHOT_NOT_FOUND, or POSITION_OUT_OF_RANGE.
 * - Any other topic or partition list: INVALID_REQUEST; no answer in time: REQUEST_TIMED_OUT.
 *
 * Version notes:
 * - v1 (KIP-853) adds the replica directory id and leader endpoints; Brook sends none.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type FetchSnapshotRequest,
  type FetchSnapshotResponse,
  newFetchSnapshotResponse,
} from '../../../protocol/generated/apis/59-fetch-snapshot.ts';
import {
  fetchSnapshotRequestFromWire,
  fetchSnapshotResponseToWire,
} from '../../raft/transport-codec.ts';
import { defineHandler } from '../handler.ts';
import { raftOf } from './controller-services.ts';

function snapshotError(errorCode: number): FetchSnapshotResponse {
  return { ...newFetchSnapshotResponse(), errorCode };
}

export const controllerFetchSnapshotHandler = defineHandler<
  FetchSnapshotRequest,
  FetchSnapshotResponse
>({
  apiKey: ApiKey.FetchSnapshot,
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, request) {
    const message = fetchSnapshotRequestFromWire(request);
    if (!message || message.replicaId < 0) return snapshotError(ErrorCode.INVALID_REQUEST);
    const answer = await raftOf(ctx).call(message.replicaId, message);
    if (answer?.type !== 'fetch-snapshot-response') {
      return snapshotError(ErrorCode.REQUEST_TIMED_OUT);
    }
    return fetchSnapshotResponseToWire(answer);
  },
  errorResponse: (_request, _version, errorCode) => snapshotError(errorCode),
});
