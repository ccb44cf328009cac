/**
 * Log compaction (`cleanup.policy=compact`, or `compact,delete` alongside retention).
 *
 * Definition: a record with key K at offset O is obsolete if the log holds a later record with
 * key K (at an offset above O). Compaction removes obsolete records, and tombstones (records
 * with a null value) once their delete horizon has passed (batch-filter.ts). Every surviving
 * record keeps its offset, and the order of records never changes; so a consumer reading from
 * the start sees, for every key, at least its latest value.
 *
 * One cleaning of a log:
 * 1. Plan (compaction-plan.ts): the dirty range [firstDirty, firstUncleanable) and whether the
 *    dirty ratio or max.compaction.lag.ms calls for a cleaning.
 * 2. Build the offset map (key -> latest offset) over the dirty range, in bounded memory: when
 *    the map fills, the range ends at the last offset it holds (mapEndOffset); records past it
 *    are left for the next cleaning. Control batches and aborted data put nothing in the map.
 * 3. Rewrite every non-active segment below mapEndOffset, from the log start: consecutive
 *    segments are grouped so that a group's bytes fit segment.bytes, and each group becomes one
 *    cleaned segment (base offset of its first segment) that the log swaps in atomically
 *    (the `.cleaned` -> `.swap` protocol in cleanable-log.ts). A crash before the swap leaves
 *    the old segments; after it, the cleaned one. Either is a correct log.
 * 4. Move the cleaner checkpoint to mapEndOffset.
 *
 * The active segment is never read or rewritten, nor anything at or above the high watermark
 * or the first unstable offset. Transactions plug in through TransactionFilter.
 */
import { RecordBatchView } from '../../protocol/records/batch.ts';
import type { Clock } from '../runtime-interfaces.ts';
import { type BatchFilterContext, filterBatch, recordsSection } from './batch-filter.ts';
import type { CleanableLog, CleanableSegment, CleanedSegmentWriter } from './cleanable-log.ts';
import {
  type CleanerTopicConfig,
  COMPACTION_LIMITS_DEFAULTS,
  type CompactionLimits,
} from './cleaner-config.ts';
import { type CompactionPlan, planCompaction } from './compaction-plan.ts';
import { OffsetMap } from './offset-map.ts';
import { sliceRecords } from './record-slices.ts';
import { NO_TRANSACTIONS, type TransactionFilter } from './transaction-filter.ts';

export interface CompactionResult {
  readonly plan: CompactionPlan;
  /** Records below this offset are now clean (the new cleaner checkpoint). */
  readonly mapEndOffset: number;
  readonly segmentsRead: number;
  readonly segmentsWritten: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly recordsRemoved: number;
  readonly batchesRewritten: number;
}

interface MutableStats {
  segmentsRead: number;
  segmentsWritten: number;
  bytesRead: number;
  bytesWritten: number;
  recordsRemoved: number;
  batchesRewritten: number;
}

export class CompactionCleaner {
  readonly #clock: Clock;
  readonly #limits: CompactionLimits;
  readonly #transactions: TransactionFilter;
  readonly #map: OffsetMap;

  constructor(
    clock: Clock,
    limits: Partial<CompactionLimits> = {},
    transactions: TransactionFilter = NO_TRANSACTIONS,
  ) {
    this.#clock = clock;
    this.#limits = { ...COMPACTION_LIMITS_DEFAULTS, ...limits };
    this.#transactions = transactions;
    this.#map = new OffsetMap(this.#limits.dedupeBufferBytes, this.#limits.dedupeLoadFactor);
  }

  plan(log: CleanableLog, config: CleanerTopicConfig): Promise<CompactionPlan> {
    return planCompaction(log, config, this.#clock.nowMs());
  }

  /**
   * Cleans `log` once if its plan says so (or always with `force`); resolves to what was done,
   * or undefined when there was nothing to clean.
   */
  async clean(
    log: CleanableLog,
    config: CleanerTopicConfig,
    options: { force?: boolean } = {},
  ): Promise<CompactionResult | undefined> {
    const nowMs = this.#clock.nowMs();
    const plan = await planCompaction(log, config, nowMs);
    if (plan.dirtyBytes === 0 || (!plan.cleanable && options.force !== true)) return undefined;
    const map = this.#map;
    map.clear();
    const mapEndOffset = await this.#buildOffsetMap(log, plan);
    if (mapEndOffset <= plan.firstDirtyOffset) return undefined;
    const stats: MutableStats = {
      segmentsRead: 0,
      segmentsWritten: 0,
      bytesRead: 0,
      bytesWritten: 0,
      recordsRemoved: 0,
      batchesRewritten: 0,
    };
    const context: BatchFilterContext = {
      map,
      mapEndOffset,
      nowMs,
      deleteRetentionMs: config.deleteRetentionMs,
      producerLastOffsets: await log.producerLastOffsets(),
      transactions: this.#transactions,
      maxDecompressedBytes: this.#limits.maxDecompressedBytes,
    };
    for (const group of groupSegments(log.segments(), mapEndOffset, config.segmentBytes)) {
      await this.#cleanGroup(log, group, context, stats);
    }
    await log.writeCleanerCheckpoint(mapEndOffset);
    return { plan, mapEndOffset, ...stats };
  }

  /** Fills the map from the dirty range; returns the offset where the map's knowledge ends. */
  async #buildOffsetMap(log: CleanableLog, plan: CompactionPlan): Promise<number> {
    const from = plan.firstDirtyOffset;
    const to = plan.firstUncleanableOffset;
    let end = from;
    for (const segment of overlapping(log.segments(), from, to)) {
      for await (const batch of segment.readBatches()) {
        const view = new RecordBatchView(batch);
        if (view.lastOffset < from) continue;
        if (view.baseOffset >= to) return end;
        if (!view.isControl && !this.#transactions.isAborted(view)) {
          const stoppedAt = this.#putBatch(view, from, to);
          if (stoppedAt !== undefined) return Math.max(end, stoppedAt);
        }
        end = Math.min(view.lastOffset + 1, to);
      }
    }
    return end;
  }

  /** Puts a batch's keys; returns the offset it stopped at when the map filled. */
  #putBatch(view: RecordBatchView, from: number, to: number): number | undefined {
    const records = recordsSection(view, this.#limits.maxDecompressedBytes);
    const slices = sliceRecords(records, view.recordsCount);
    for (let i = 0; i < slices.count; i++) {
      const offset = view.baseOffset + (slices.offsetDelta[i] as number);
      const keyLength = slices.keyLength[i] as number;
      if (offset < from || offset >= to || keyLength < 0) continue;
      const keyStart = slices.keyStart[i] as number;
      if (!this.#map.putRange(slices.bytes, keyStart, keyLength, offset)) return offset;
    }
    return undefined;
  }

  async #cleanGroup(
    log: CleanableLog,
    group: readonly CleanableSegment[],
    context: BatchFilterContext,
    stats: MutableStats,
  ): Promise<void> {
    const writer = await log.createCleanedSegment((group[0] as CleanableSegment).baseOffset);
    try {
      for (const segment of group) {
        stats.segmentsRead++;
        stats.bytesRead += segment.sizeBytes;
        for await (const batch of segment.readBatches()) {
          const result = filterBatch(batch, context);
          if (result.kind === 'keep') await writer.append(batch);
          else {
            stats.recordsRemoved += result.recordsRemoved;
            if (result.kind === 'rewrite') {
              stats.batchesRewritten++;
              await writer.append(result.batch);
            }
          }
        }
      }
    } catch (error) {
      await abandon(writer);
      throw error;
    }
    stats.bytesWritten += writer.sizeBytes;
    stats.segmentsWritten++;
    try {
      await log.replaceSegments(group, writer);
    } catch (error) {
      // Refused before touching a file (the segments changed under the cleaner): the cleaned
      // files are ours to drop. Any other failure may have happened mid-swap, where only the
      // log's recovery on open knows which files are the truth: leave them.
      if (refusedBeforeSwap(error)) await abandon(writer);
      throw error;
    }
  }
}

/** Codes PartitionLog.replaceSegments throws before it renames anything. */
const REFUSED_BEFORE_SWAP = new Set(['storage-segment-gone', 'storage-invalid-append']);

function refusedBeforeSwap(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && REFUSED_BEFORE_SWAP.has(code);
}

/**
 * Drops an unfinished cleaned segment. The original error says what went wrong; a failed
 * abort only leaves `.cleaned` files, which the log removes when it next opens.
 */
async function abandon(writer: CleanedSegmentWriter): Promise<void> {
  await writer.abort().catch(() => undefined);
}

function* overlapping(segments: readonly CleanableSegment[], from: number, to: number) {
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i] as CleanableSegment;
    const end = (segments[i + 1] as CleanableSegment).baseOffset;
    if (end > from && segment.baseOffset < to) yield segment;
  }
}

/** Index entries hold offsets relative to the segment base in 4 bytes. */
const RELATIVE_OFFSET_MAX = 0x7fff_ffff;

/**
 * Non-active segments with a base below `endOffset`, in runs whose summed size fits
 * `segmentBytes` (sizes before cleaning: compaction only shrinks a group, give or take the few
 * bytes a delete-horizon rewrite adds) and whose offsets fit an index's relative offsets.
 */
export function groupSegments(
  segments: readonly CleanableSegment[],
  endOffset: number,
  segmentBytes: number,
): CleanableSegment[][] {
  const groups: CleanableSegment[][] = [];
  let current: CleanableSegment[] = [];
  let currentBytes = 0;
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i] as CleanableSegment;
    if (segment.baseOffset >= endOffset) break;
    const end = (segments[i + 1] as CleanableSegment).baseOffset;
    const base = (current[0] ?? segment).baseOffset;
    const tooBig = currentBytes + segment.sizeBytes > segmentBytes;
    if (current.length > 0 && (tooBig || end - 1 - base > RELATIVE_OFFSET_MAX)) {
      groups.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(segment);
    currentBytes += segment.sizeBytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
