/**
 * Where a leader epoch ended in a log, as Kafka's LeaderEpochFileCache.endOffsetFor answers it
 * (KIP-101 OffsetForLeaderEpoch, KIP-320 divergence in Fetch):
 * - the latest epoch (or a later one asked by a follower that is ahead): it ends at the log end
 *   when it is the latest; an epoch larger than every known one: undefined epoch and offset;
 * - an epoch between two known ones: the largest known epoch <= it, ending where the next
 *   known epoch starts;
 * - an epoch older than every known one: that epoch itself, ending where the first known epoch
 *   starts (the data before it is gone; the follower replicates from there).
 */
import type { EpochEntry } from '../../storage/log/leader-epoch-cache.ts';

export interface EpochEndOffset {
  /** -1 when undefined. */
  readonly epoch: number;
  /** -1 when undefined. */
  readonly endOffset: number;
}

export const UNDEFINED_EPOCH_END: EpochEndOffset = Object.freeze({ epoch: -1, endOffset: -1 });

export function epochEndOffset(
  entries: readonly EpochEntry[],
  requested: number,
  logEndOffset: number,
): EpochEndOffset {
  const latest = entries.at(-1);
  if (requested < 0 || latest === undefined) return UNDEFINED_EPOCH_END;
  if (latest.epoch === requested) return { epoch: requested, endOffset: logEndOffset };
  let higher: EpochEntry | undefined;
  let floor: EpochEntry | undefined;
  for (const entry of entries) {
    if (entry.epoch <= requested) floor = entry;
    else if (higher === undefined) higher = entry;
  }
  if (higher === undefined) return UNDEFINED_EPOCH_END;
  if (floor === undefined) return { epoch: requested, endOffset: higher.startOffset };
  return { epoch: floor.epoch, endOffset: higher.startOffset };
}
