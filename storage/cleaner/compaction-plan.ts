/**
 * When a compacted log is worth cleaning, and which offsets a cleaning may touch (Kafka's
 * LogCleanerManager.cleanableOffsets and its dirty-ratio rule).
 *
 * - Clean part: [logStartOffset, firstDirtyOffset), where firstDirtyOffset is the cleaner
 *   checkpoint (reset to the log start when it falls outside the log).
 * - Dirty part: [firstDirtyOffset, firstUncleanableOffset). The first uncleanable offset is the
 *   lowest of: the active segment's base (never cleaned), the high watermark (what is above it
 *   may still be truncated), the first unstable offset (an undecided transaction), and the base
 *   of the first dirty segment holding a record younger than `min.compaction.lag.ms`.
 * - Dirty ratio: dirty bytes / (clean + dirty bytes), counting whole segments that overlap each
 *   part. The log is cleaned when the ratio reaches `min.cleanable.dirty.ratio`, or regardless
 *   of the ratio when the first dirty batch is older than `max.compaction.lag.ms` (it must not
 *   wait for more dirt to become compacted within that bound).
 */

import { RecordBatchView } from '../../protocol/records/batch.ts';
import type { CleanableLog, CleanableSegment } from './cleanable-log.ts';
import type { CleanerTopicConfig } from './cleaner-config.ts';

export interface CompactionPlan {
  readonly firstDirtyOffset: number;
  readonly firstUncleanableOffset: number;
  readonly cleanBytes: number;
  readonly dirtyBytes: number;
  /** dirty / (clean + dirty), 0 when both are 0. */
  readonly dirtyRatio: number;
  /** True when max.compaction.lag.ms forces a cleaning whatever the ratio. */
  readonly lagForced: boolean;
  readonly cleanable: boolean;
}

/** The offset after a segment's last offset: the next segment's base (for non-active ones). */
function segmentEnd(segments: readonly CleanableSegment[], i: number): number {
  return (segments[i + 1] as CleanableSegment | undefined)?.baseOffset ?? Number.POSITIVE_INFINITY;
}

function bytesOverlapping(segments: readonly CleanableSegment[], from: number, to: number) {
  let bytes = 0;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as CleanableSegment;
    if (segment.baseOffset < to && segmentEnd(segments, i) > from) bytes += segment.sizeBytes;
  }
  return bytes;
}

function firstDirtyOffsetOf(log: CleanableLog): number {
  const checkpoint = log.cleanerCheckpoint();
  const segments = log.segments();
  const active = segments[segments.length - 1] as CleanableSegment;
  // A checkpoint outside the log (the log was truncated or its head deleted) means
  // nothing is known to be clean.
  if (checkpoint === undefined || checkpoint < log.logStartOffset) return log.logStartOffset;
  if (checkpoint > Math.max(active.baseOffset, log.highWatermark)) return log.logStartOffset;
  return checkpoint;
}

function firstUncleanableOffsetOf(
  log: CleanableLog,
  config: CleanerTopicConfig,
  firstDirtyOffset: number,
  nowMs: number,
): number {
  const segments = log.segments();
  const active = segments[segments.length - 1] as CleanableSegment;
  let bound = Math.min(active.baseOffset, log.highWatermark);
  if (log.firstUnstableOffset !== undefined) bound = Math.min(bound, log.firstUnstableOffset);
  if (config.minCompactionLagMs > 0) {
    for (let i = 0; i < segments.length - 1; i++) {
      const segment = segments[i] as CleanableSegment;
      if (segmentEnd(segments, i) <= firstDirtyOffset) continue;
      if (segment.largestTimestampMs > nowMs - config.minCompactionLagMs) {
        bound = Math.min(bound, segment.baseOffset);
        break;
      }
    }
  }
  return Math.max(bound, firstDirtyOffset);
}

/** The maxTimestamp of the first batch at or after `offset` in the segment holding it. */
async function firstDirtyTimestampMs(log: CleanableLog, offset: number): Promise<number> {
  const segments = log.segments();
  for (let i = 0; i < segments.length - 1; i++) {
    if (segmentEnd(segments, i) <= offset) continue;
    for await (const batch of (segments[i] as CleanableSegment).readBatches()) {
      const view = new RecordBatchView(batch);
      if (view.lastOffset >= offset) return view.maxTimestamp;
    }
  }
  return Number.POSITIVE_INFINITY;
}

export async function planCompaction(
  log: CleanableLog,
  config: CleanerTopicConfig,
  nowMs: number,
): Promise<CompactionPlan> {
  const segments = log.segments();
  const firstDirtyOffset = firstDirtyOffsetOf(log);
  const firstUncleanableOffset = firstUncleanableOffsetOf(log, config, firstDirtyOffset, nowMs);
  const cleanBytes = bytesOverlapping(segments, log.logStartOffset, firstDirtyOffset);
  const dirtyBytes =
    firstUncleanableOffset > firstDirtyOffset
      ? bytesOverlapping(segments, firstDirtyOffset, firstUncleanableOffset)
      : 0;
  const total = cleanBytes + dirtyBytes;
  const dirtyRatio = total === 0 ? 0 : dirtyBytes / total;
  let lagForced = false;
  if (dirtyBytes > 0 && config.maxCompactionLagMs < Number.MAX_SAFE_INTEGER) {
    const oldestMs = await firstDirtyTimestampMs(log, firstDirtyOffset);
    lagForced = oldestMs < nowMs - config.maxCompactionLagMs;
  }
  const cleanable = dirtyBytes > 0 && (dirtyRatio >= config.minCleanableDirtyRatio || lagForced);
  return {
    firstDirtyOffset,
    firstUncleanableOffset,
    cleanBytes,
    dirtyBytes,
    dirtyRatio,
    lagForced,
    cleanable,
  };
}
