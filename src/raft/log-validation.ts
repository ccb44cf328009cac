/**
 * Kafka's fetch-position rules, as pure functions of a RaftLog: whether a follower's
 * (fetchOffset, lastFetchedEpoch) continues the leader's log, must truncate (diverging epoch),
 * or must start from a snapshot; and where a follower truncates given a diverging epoch.
 */
import type { OffsetAndEpoch } from './messages.ts';
import type { RaftLog } from './raft-log.ts';

export type FetchPosition =
  | { readonly kind: 'valid' }
  | { readonly kind: 'diverging'; readonly divergingEpoch: OffsetAndEpoch }
  | { readonly kind: 'snapshot'; readonly snapshotId: OffsetAndEpoch };

export function validateFetchPosition(log: RaftLog, offset: number, epoch: number): FetchPosition {
  if (log.startOffset() === 0 && offset === 0) return { kind: 'valid' };
  const snapshot = log.latestSnapshot();
  if (snapshot) {
    const id = snapshot.id;
    const belowStart = offset < log.startOffset();
    const atStartOtherEpoch = offset === log.startOffset() && epoch !== id.epoch;
    if (belowStart || atStartOtherEpoch || epoch < id.epoch) {
      return { kind: 'snapshot', snapshotId: id };
    }
  }
  const end = log.endOffsetForEpoch(epoch);
  if (end.epoch !== epoch || end.endOffset < offset) {
    return { kind: 'diverging', divergingEpoch: end };
  }
  return { kind: 'valid' };
}

/** The offset a follower truncates to when the leader answers with `diverging`. */
export function truncationOffset(log: RaftLog, diverging: OffsetAndEpoch): number {
  if (diverging.epoch <= 0) return Math.min(diverging.endOffset, log.endOffset());
  const local = log.endOffsetForEpoch(diverging.epoch);
  if (local.epoch === diverging.epoch) return Math.min(local.endOffset, diverging.endOffset);
  return local.endOffset;
}
