/**
 * Shared pieces of the PartitionLog tests: opening a log on a MemoryFileSystem, reading a
 * result's chunks back to bytes, and an in-memory model of what the log must hold.
 */
import { RecordBatchView } from '../../../protocol/records/batch.ts';
import type { SimClock } from '../../../src/util/clock.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import type { FileRegion } from '../../../storage/io/file-region.ts';
import type { FileSystem } from '../../../storage/io/file-system.ts';
import { type LogConfig, resolveLogConfig } from '../../../storage/log/log-config.ts';
import {
  type LogReadResult,
  PartitionLog,
  type SegmentInfo,
} from '../../../storage/log/partition-log.ts';
import type { StorageEnv } from '../../../storage/log/storage-env.ts';
import { recordTimestamps } from './batch-builder.ts';

export const LOG_DIR = '/data/logs/events-0';

export async function openLog(
  env: StorageEnv,
  clock: SimClock,
  config: LogConfig,
  extra: {
    cleanShutdown?: boolean;
    recoveryPoint?: number;
    logStartOffset?: number;
    highWatermark?: number;
  } = {},
): Promise<PartitionLog> {
  return PartitionLog.open({
    ...env,
    clock,
    random: new SeededRandom(7),
    dir: LOG_DIR,
    topic: 'events',
    partition: 0,
    config,
    ...extra,
  });
}

/** A region's bytes read back through the file system (short reads resumed), then released. */
export async function regionBytes(fs: FileSystem, region: FileRegion): Promise<Buffer> {
  const buf = Buffer.alloc(region.length);
  let done = 0;
  while (done < region.length) {
    const n = await fs.read(region.fd, buf.subarray(done), region.position + done);
    if (n === 0) break;
    done += n;
  }
  region.release();
  return buf.subarray(0, done);
}

/** The bytes a read returned, regions read back through the file system and released. */
export async function materialize(
  fs: FileSystem,
  result: Pick<LogReadResult, 'chunks'>,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const chunk of result.chunks) {
    parts.push(Buffer.isBuffer(chunk) ? chunk : await regionBytes(fs, chunk as FileRegion));
  }
  return Buffer.concat(parts);
}

/** Every byte of a log from its start to its end (to compare replicas). */
export async function logBytes(log: PartitionLog, fs: FileSystem): Promise<Buffer> {
  const parts: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const read = await log.read(offset, { maxBytes: 1 << 20, maxOffset: log.logEndOffset });
    if (read.sizeBytes === 0 || read.nextOffset === offset) break;
    parts.push(await materialize(fs, read));
    offset = read.nextOffset;
  }
  return Buffer.concat(parts);
}

export interface ModelBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestampMs: number;
  /** Record i has offset baseOffset + i (batch-builder's layout) and this timestamp. */
  readonly recordTimestampsMs: readonly number[];
  readonly bytes: Buffer;
}

/** What the log must contain: its batches (as stamped) and its offsets. */
export class LogModel {
  batches: ModelBatch[] = [];
  logStartOffset = 0;
  logEndOffset = 0;
  highWatermark = 0;

  append(stamped: Buffer): void {
    const view = new RecordBatchView(stamped);
    this.batches.push({
      baseOffset: view.baseOffset,
      lastOffset: view.lastOffset,
      maxTimestampMs: view.maxTimestamp,
      recordTimestampsMs: recordTimestamps(stamped),
      bytes: Buffer.from(stamped),
    });
    this.logEndOffset = view.lastOffset + 1;
  }

  /** Expected bytes and next offset of read(fetchOffset, maxBytes, maxOffset). */
  expectedRead(
    segments: readonly SegmentInfo[],
    fetchOffset: number,
    maxBytes: number,
    maxOffset: number,
  ): { bytes: Buffer; nextOffset: number } {
    const upper = Math.min(maxOffset, this.logEndOffset);
    const start = this.batches.findIndex((b) => b.lastOffset >= fetchOffset);
    const first = this.batches[start];
    if (!first || first.lastOffset >= upper)
      return { bytes: Buffer.alloc(0), nextOffset: fetchOffset };
    const segment = segments.findLast((s) => s.baseOffset <= first.baseOffset);
    const segmentEnd = segments[segments.indexOf(segment as SegmentInfo) + 1]?.baseOffset;
    const out: Buffer[] = [];
    let total = 0;
    let next = fetchOffset;
    for (let i = start; i < this.batches.length; i++) {
      const b = this.batches[i] as ModelBatch;
      if (segmentEnd !== undefined && b.baseOffset >= segmentEnd) break;
      if (b.lastOffset >= upper) break;
      if (out.length > 0 && total + b.bytes.length > maxBytes) break;
      out.push(b.bytes);
      total += b.bytes.length;
      next = b.lastOffset + 1;
    }
    return { bytes: Buffer.concat(out), nextOffset: next };
  }

  /** The first record at or after the log start with timestamp >= target (ListOffsets). */
  expectedOffsetForTime(targetMs: number): { offset: number; timestampMs: number } | undefined {
    for (const batch of this.batches) {
      for (const [i, timestampMs] of batch.recordTimestampsMs.entries()) {
        const offset = batch.baseOffset + i;
        if (offset >= this.logStartOffset && timestampMs >= targetMs) {
          return { offset, timestampMs };
        }
      }
    }
    return undefined;
  }

  /** ListOffsets MAX_TIMESTAMP: the first record holding the largest timestamp still stored. */
  expectedMaxTimestamp(
    firstSegmentBase: number,
  ): { offset: number; timestampMs: number } | undefined {
    let best: { offset: number; timestampMs: number } | undefined;
    for (const batch of this.batches) {
      if (batch.lastOffset < firstSegmentBase) continue;
      for (const [i, timestampMs] of batch.recordTimestampsMs.entries()) {
        if (!best || timestampMs > best.timestampMs)
          best = { offset: batch.baseOffset + i, timestampMs };
      }
    }
    return best;
  }

  truncateTo(offset: number, firstSegmentBase: number): void {
    if (offset >= this.logEndOffset) return;
    if (offset <= firstSegmentBase) {
      this.batches = [];
      this.logStartOffset = offset;
      this.logEndOffset = offset;
      this.highWatermark = offset;
      return;
    }
    // Batches below the first segment were deleted with their segments (log start moved).
    this.batches = this.batches.filter(
      (b) => b.lastOffset < offset && b.lastOffset >= firstSegmentBase,
    );
    const last = this.batches.at(-1);
    this.logEndOffset = last ? last.lastOffset + 1 : firstSegmentBase;
    this.highWatermark = Math.min(this.highWatermark, this.logEndOffset);
    this.logStartOffset = Math.min(this.logStartOffset, this.logEndOffset);
  }
}

export function randomConfig(random: SeededRandom): LogConfig {
  return resolveLogConfig(undefined, {
    segmentBytes: random.int(1500, 12_000),
    indexIntervalBytes: random.pick([0, 100, 700, 4096]),
    segmentIndexBytes: random.pick([48, 120, 10 * 1024 * 1024]),
    tailCacheBytes: random.pick([0, 1500, 1024 * 1024]),
    durability: random.pick(['fsync', 'kafka'] as const),
    flushMessages: random.pick([1, 7, Number.MAX_SAFE_INTEGER]),
  });
}
