/**
 * FetchSnapshot, both ends. The leader serves byte ranges of its latest snapshot; a follower
 * whose fetch offset fell below the leader's log start assembles one chunk at a time, checking
 * every answer (position, size bound) before it keeps any byte.
 */

import type { FetchSnapshotRequest, FetchSnapshotResponse, OffsetAndEpoch } from './messages.ts';
import { RaftErrorCode } from './messages.ts';
import type { RaftLog, RaftSnapshot } from './raft-log.ts';

/** The leader's answer to one FetchSnapshot request; `errorCode` covers epoch and role checks. */
export function answerFetchSnapshot(
  log: RaftLog,
  request: FetchSnapshotRequest,
  errorCode: RaftErrorCode,
  leader: { readonly leaderId: number; readonly leaderEpoch: number },
  chunkBytesMax: number,
): FetchSnapshotResponse {
  const snapshot = log.latestSnapshot();
  const size = snapshot?.data.length ?? 0;
  const sameId =
    snapshot !== undefined &&
    snapshot.id.endOffset === request.snapshotId.endOffset &&
    snapshot.id.epoch === request.snapshotId.epoch;
  if (errorCode === RaftErrorCode.none && !sameId) errorCode = RaftErrorCode.snapshotNotFound;
  if (errorCode === RaftErrorCode.none && (request.position < 0 || request.position > size)) {
    errorCode = RaftErrorCode.positionOutOfRange;
  }
  const chunkBytes = Math.max(1, Math.min(request.maxBytes, chunkBytesMax));
  const bytes =
    errorCode === RaftErrorCode.none && snapshot
      ? snapshot.data.subarray(request.position, request.position + chunkBytes)
      : new Uint8Array(0);
  return {
    type: 'fetch-snapshot-response',
    errorCode,
    snapshotId: request.snapshotId,
    ...leader,
    size,
    position: request.position,
    unalignedRecords: bytes,
  };
}

/** A follower's snapshot download in progress. */
export class SnapshotFetch {
  readonly id: OffsetAndEpoch;
  readonly #chunks: Uint8Array[] = [];
  readonly #sizeBytesMax: number;
  position = 0;
  correlationId = 0;
  sentMs: number;

  constructor(id: OffsetAndEpoch, sizeBytesMax: number, nowMs: number) {
    this.id = id;
    this.#sizeBytesMax = sizeBytesMax;
    this.sentMs = nowMs;
  }

  /** Takes one answer: more to fetch, complete, or unusable (start over from a plain fetch). */
  accept(response: FetchSnapshotResponse): 'more' | 'complete' | 'unusable' {
    const length = response.unalignedRecords.length;
    const usable =
      response.errorCode === RaftErrorCode.none &&
      response.snapshotId.endOffset === this.id.endOffset &&
      response.snapshotId.epoch === this.id.epoch &&
      response.position === this.position &&
      response.size <= this.#sizeBytesMax &&
      response.position + length <= response.size &&
      (length > 0 || response.size === response.position);
    if (!usable) return 'unusable';
    this.#chunks.push(response.unalignedRecords);
    this.position += length;
    return this.position < response.size ? 'more' : 'complete';
  }

  assemble(): RaftSnapshot {
    const data = new Uint8Array(this.position);
    let at = 0;
    for (const chunk of this.#chunks) {
      data.set(chunk, at);
      at += chunk.length;
    }
    return { id: this.id, data };
  }
}
