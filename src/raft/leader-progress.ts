/**
 * What a leader knows of each replica's log, and the high-watermark rule built on it: an offset
 * is committed once a majority of voters hold it durably (the leader counts its own flushed end
 * offset, followers report theirs as the fetch offset of a validated Fetch) AND it is past the
 * start of the leader's own epoch. Counting older-epoch entries by replication alone is unsafe
 * (Raft's "figure 8"): they commit only under an entry of the current epoch.
 */
import type { DescribeQuorumReplicaState } from './messages.ts';

export interface ReplicaProgress {
  /** Durable end offset the replica reported; -1 until its first validated fetch this epoch. */
  endOffset: number;
  /** Last fetch of this epoch from the replica, valid or not (check-quorum); -1 if none. */
  lastFetchMs: number;
  /** Last time the replica's end offset reached the leader's end offset; -1 if never. */
  lastCaughtUpMs: number;
  /** The high watermark the last fetch answer told it; -1 before any answer. */
  highWatermarkSent: number;
}

export function newProgress(): ReplicaProgress {
  return { endOffset: -1, lastFetchMs: -1, lastCaughtUpMs: -1, highWatermarkSent: -1 };
}

/**
 * The offset a majority of `voterEndOffsets` has reached (the k-th largest, k = n/2 + 1), or -1
 * when unknown.
 */
export function majorityEndOffset(voterEndOffsets: readonly number[]): number {
  const sorted = [...voterEndOffsets].sort((a, b) => b - a);
  return sorted[Math.floor(sorted.length / 2)] ?? -1;
}

/** The new high watermark, or `current` when the rule does not allow an advance. */
export function nextHighWatermark(
  current: number,
  voterEndOffsets: readonly number[],
  epochStartOffset: number,
): number {
  const majority = majorityEndOffset(voterEndOffsets);
  if (majority <= epochStartOffset) return current;
  return Math.max(current, majority);
}

export function describeProgress(id: number, p: ReplicaProgress): DescribeQuorumReplicaState {
  return {
    replicaId: id,
    logEndOffset: p.endOffset,
    lastFetchTimestamp: p.lastFetchMs,
    lastCaughtUpTimestamp: p.lastCaughtUpMs,
  };
}
