/**
 * Opening a partition directory: cleanup of files in transit, completion of interrupted
 * segment swaps, and crash recovery. Runs before the log serves anything, so it may take
 * its time; everything it does is idempotent, so a crash during loading is recovered by the
 * next load.
 *
 * Transit files (names in segment-files.ts):
 * - `.tmp` (an unfinished atomic write), `.cleaned` (an unfinished cleaner output) and
 *   `.deleted` (a segment already replaced or expired): unlinked.
 * - `.swap`: a complete cleaned segment whose installation was interrupted. Live segments
 *   whose base offset falls in the swap's offset range are deleted and the swap is renamed
 *   live (Kafka's procedure).
 * - index files without a `.log`: unlinked.
 *
 * Recovery (no clean-shutdown marker): from the segment holding the recovery point onward,
 * LogSegment.recover validates every batch and rebuilds indexes; at the first invalid batch
 * the segment is truncated and every later segment deleted.
 */
import { TMP_SUFFIX, unlinkIfExists } from '../io/atomic-file.ts';
import type { FileSystem } from '../io/file-system.ts';
import { LogSegment, type SegmentEnv, type SegmentLimits } from '../segment/log-segment.ts';
import {
  CLEANED_SUFFIX,
  DELETED_SUFFIX,
  LOG_SUFFIX,
  parseOffsetFileName,
  SNAPSHOT_SUFFIX,
  SWAP_SUFFIX,
} from '../segment/segment-files.ts';
import type { LeaderEpochCache } from './leader-epoch-cache.ts';

export interface LoadedSegments {
  readonly segments: LogSegment[];
  readonly snapshotOffsets: number[];
  readonly recoveredBytes: number;
  readonly truncatedBytes: number;
}

interface DirListing {
  readonly logBases: number[];
  readonly swapBases: number[];
  readonly snapshotOffsets: number[];
}

async function cleanDirectory(fs: FileSystem, dir: string): Promise<DirListing> {
  const names = await fs.readdir(dir);
  const logBases: number[] = [];
  const swapBases: number[] = [];
  const snapshotOffsets: number[] = [];
  const parsed = names.map((name) => ({ name, file: parseOffsetFileName(name) }));
  const logs = new Set(
    parsed
      .filter((p) => p.file?.kind === LOG_SUFFIX && p.file.transit === '')
      .map((p) => p.file?.offset),
  );
  for (const { name, file } of parsed) {
    const path = `${dir}/${name}`;
    if (name.endsWith(TMP_SUFFIX)) await unlinkIfExists(fs, path);
    if (!file) continue;
    if (file.transit === CLEANED_SUFFIX || file.transit === DELETED_SUFFIX) {
      await unlinkIfExists(fs, path);
    } else if (file.transit === SWAP_SUFFIX) {
      if (file.kind === LOG_SUFFIX) swapBases.push(file.offset);
    } else if (file.kind === LOG_SUFFIX) {
      logBases.push(file.offset);
    } else if (file.kind === SNAPSHOT_SUFFIX) {
      snapshotOffsets.push(file.offset);
    } else if (!logs.has(file.offset)) {
      await unlinkIfExists(fs, path);
    }
  }
  return { logBases, swapBases, snapshotOffsets };
}

async function completeSwaps(
  env: SegmentEnv,
  limits: SegmentLimits,
  dir: string,
  listing: DirListing,
): Promise<number[]> {
  let bases = [...listing.logBases];
  for (const swapBase of listing.swapBases.sort((a, b) => a - b)) {
    const swap = await LogSegment.open(env, limits, dir, swapBase, SWAP_SUFFIX);
    // The swap was fsynced before it was renamed to .swap, so its batches are sound.
    const recovery = await swap.recover(swapBase, () => {});
    const end = recovery.nextOffset;
    for (const base of bases.filter((b) => b >= swapBase && (b < end || b === swapBase))) {
      const old = await LogSegment.open(env, limits, dir, base);
      await old.delete();
    }
    bases = bases.filter((b) => !(b >= swapBase && (b < end || b === swapBase)));
    await swap.seal();
    await swap.renameTransit('');
    await swap.close();
    await env.fs.fsyncDir(dir);
    bases.push(swapBase);
  }
  return bases.sort((a, b) => a - b);
}

/** Segments sorted by base offset; the last one activated (an empty one created if none). */
export async function loadSegments(
  env: SegmentEnv,
  limits: SegmentLimits,
  dir: string,
  options: {
    readonly cleanShutdown: boolean;
    readonly recoveryPoint: number;
    readonly startOffset: number;
    readonly epochs: LeaderEpochCache;
  },
): Promise<LoadedSegments> {
  const listing = await cleanDirectory(env.fs, dir);
  const bases = await completeSwaps(env, limits, dir, listing);
  const segments: LogSegment[] = [];
  for (const base of bases) segments.push(await LogSegment.open(env, limits, dir, base));
  let recoveredBytes = 0;
  let truncatedBytes = 0;
  if (!options.cleanShutdown && segments.length > 0) {
    const result = await recoverFrom(env, dir, segments, options.recoveryPoint, options.epochs);
    recoveredBytes = result.recoveredBytes;
    truncatedBytes = result.truncatedBytes;
  }
  if (segments.length === 0) {
    segments.push(await LogSegment.create(env, limits, dir, options.startOffset));
    await env.fs.fsyncDir(dir);
  }
  await (segments.at(-1) as LogSegment).activate();
  return {
    segments,
    snapshotOffsets: listing.snapshotOffsets.sort((a, b) => a - b),
    recoveredBytes,
    truncatedBytes,
  };
}

async function recoverFrom(
  env: SegmentEnv,
  dir: string,
  segments: LogSegment[],
  recoveryPoint: number,
  epochs: LeaderEpochCache,
): Promise<{ recoveredBytes: number; truncatedBytes: number }> {
  let first = 0;
  for (let i = 0; i < segments.length; i++) {
    if ((segments[i] as LogSegment).baseOffset <= recoveryPoint) first = i;
  }
  let minOffset = (segments[first] as LogSegment).baseOffset;
  let dataEnd = minOffset;
  let recoveredBytes = 0;
  let truncatedBytes = 0;
  for (let i = first; i < segments.length; i++) {
    const segment = segments[i] as LogSegment;
    const result = await segment.recover(minOffset, (epoch, base) => epochs.assign(epoch, base));
    recoveredBytes += result.validBytes;
    truncatedBytes += result.truncatedBytes;
    minOffset = result.nextOffset;
    if (result.validBytes > 0) dataEnd = result.nextOffset;
    await segment.flush();
    await segment.truncateTransactions(result.nextOffset);
    const last = i === segments.length - 1;
    if (result.truncatedBytes > 0 && !last) {
      for (const later of segments.splice(i + 1)) {
        truncatedBytes += later.sizeBytes;
        await later.delete();
      }
      await env.fs.fsyncDir(dir);
    }
    if (i < segments.length - 1) await segment.seal();
  }
  // Empty trailing segments (a roll whose first batch was lost, or emptied by truncation)
  // are dropped when they start past the recovered data: the log end offset is then the end
  // of the data, not a base offset nothing was ever durably written at.
  while (segments.length > 1) {
    const tail = segments.at(-1) as LogSegment;
    if (tail.sizeBytes > 0 || tail.baseOffset <= dataEnd) break;
    segments.pop();
    await tail.delete();
    await env.fs.fsyncDir(dir);
  }
  return { recoveredBytes, truncatedBytes };
}
