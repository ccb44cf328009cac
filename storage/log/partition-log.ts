/**
 * PartitionLog: the log of one partition, a directory of segments (log-segment.ts).
 *
 * Offsets. `logStartOffset` <= `highWatermark` <= `logEndOffset`. The log end offset (LEO) is
 * one past the last offset written to the page cache; `durableEndOffset` is one past the last
 * offset known fsynced (the recovery point). The high watermark is set by replication
 * (`setHighWatermark`); storage only stores, clamps and checkpoints it.
 *
 * Appends (serialised; batches are never decoded, only their headers read and patched):
 * - `appendAsLeader(records, { leaderEpoch })`: assigns offsets by rewriting each batch's
 *   baseOffset, stamps partitionLeaderEpoch (both outside the CRC; LogAppendTime topics also
 *   get their max timestamp set and CRC recomputed). Offsets are assigned when the call is
 *   made, so concurrent callers get offsets in call order.
 * - `appendAsFollower(records)`: keeps the leader's offsets and epochs; they must start at or
 *   after the LEO and strictly increase (gaps allowed: compacted leader logs have them).
 * The log takes ownership of `records` (its header bytes are patched, the tail cache keeps
 * it). Every batch's framing, magic, counts and CRC-32C are checked (`crcVerified: true`
 * skips the CRC when the caller checked it); failures reject with a StorageError code.
 * Appends waiting for the disk are bounded (64 MiB per log, `storage-limit` beyond).
 * Pending appends are written with one gathered write per segment they land in.
 * Durability per LogConfig.durability: `fsync` resolves after a covering fsync (group
 * commit), `kafka` after the write with flush.messages / flush.ms flushing.
 *
 * Reads: `read(fetchOffset, { maxBytes, maxOffset })` returns whole batches of one segment,
 * starting with the batch that contains `fetchOffset` (returned whole even when larger than
 * `maxBytes`), adding batches while the total stays <= `maxBytes` and each batch's last
 * offset is < `maxOffset` (pass the high watermark for consumers, the LEO for followers).
 * Chunks are FileRegions (pinned descriptors: call `release()` after writing them) or, for
 * data still in the tail cache, Buffers. Offsets outside [logStartOffset, LEO] throw
 * StorageError `storage-offset-out-of-range`.
 *
 * Producer state and transactions: `writeProducerSnapshot` / `latestProducerSnapshot`
 * (`<offset>.snapshot`, deleted past the end on truncation and recovery) and
 * `appendAbortedTransaction` / `abortedTransactions` (`.txnindex`) store what the
 * idempotence and transactions work computes.
 *
 * Replication: `truncateTo(offset)` (removes the batch holding `offset` and all after),
 * `truncateFullyAndStartAt(offset)`, `deleteRecordsBefore(offset)` (DeleteRecords; moves the
 * log start offset, never past the high watermark), `leaderEpochs` (OffsetsForLeaderEpoch).
 *
 * The cleaner seam (storage/cleaner builds on exactly this):
 * - `segments()`: ordered SegmentInfo snapshot (base/end offset, size, largest timestamp,
 *   file paths, isActive).
 * - `readSegmentBatches(baseOffset, position, bytesMax)`: whole batches of one segment.
 * - `createCleanedSegment(baseOffset)` -> CleanedSegment, written as `<base>.log.cleaned`;
 *   `append(batches)` takes batches that keep their offsets (increasing).
 * - `replaceSegments(oldBaseOffsets, cleaned)`: atomic and crash-safe: the cleaned segment
 *   is sealed (fsync), renamed `.swap`, directory fsynced; the old segments are renamed
 *   `.deleted`; the swap is renamed live; directory fsynced. A crash at any point is
 *   completed or undone by the next open (log-loader.ts). Old segments' files stay readable
 *   by pinned readers until released.
 * - `deleteOldestSegments(count)`: retention; never deletes data at or past the high
 *   watermark; rolls the active segment first when it is included.
 */
import type { RecordBatchView } from '../../protocol/records/batch.ts';
import { mkdirDurably } from '../io/atomic-file.ts';
import type { FileHandleCache } from '../io/file-handle-cache.ts';
import type { FileRegion } from '../io/file-region.ts';
import { type FileSystem, hasErrorCode } from '../io/file-system.ts';
import type { Clock, Random, TimerHandle } from '../runtime-interfaces.ts';
import type { IndexCache } from '../segment/index-cache.ts';
import {
  LogSegment,
  RELATIVE_OFFSET_MAX,
  type SegmentEnv,
  type SegmentLimits,
} from '../segment/log-segment.ts';
import {
  LOG_SUFFIX,
  OFFSET_INDEX_SUFFIX,
  TIME_INDEX_SUFFIX,
  TXN_INDEX_SUFFIX,
} from '../segment/segment-files.ts';
import type { AbortedTransaction } from '../segment/transaction-index.ts';
import { StorageError } from '../storage-error.ts';
import { checkFollowerOffsets, splitBatches, stampAsLeader } from './append-validation.ts';
import { LeaderEpochCache } from './leader-epoch-cache.ts';
import { type LogConfig, NEVER } from './log-config.ts';
import { loadSegments } from './log-loader.ts';
import {
  deleteProducerSnapshotsAbove,
  type ProducerSnapshotEntry,
  readLatestProducerSnapshot,
  writeProducerSnapshot,
} from './producer-snapshot.ts';
import { TailCache, type TailCacheBudget } from './tail-cache.ts';
import {
  findMaxTimestampRecord,
  findRecordByTimestamp,
  type TimestampAndOffset,
} from './timestamp-search.ts';

/** Special ListOffsets timestamps. */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;

/** Bytes accepted but not yet written, per log; beyond it appends are refused. */
export const PENDING_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/** One gathered write at most this big, so a burst does not hold the log for long. */
const WRITE_GROUP_BYTES_MAX = 4 * 1024 * 1024;
/** A read retries this often when a segment is deleted under it. */
const READ_ATTEMPTS_MAX = 4;

export interface PartitionLogOptions {
  readonly fs: FileSystem;
  readonly handles: FileHandleCache;
  readonly indexCache: IndexCache;
  readonly tailBudget: TailCacheBudget;
  readonly clock: Clock;
  readonly random: Random;
  readonly dir: string;
  readonly topic: string;
  readonly partition: number;
  readonly config: LogConfig;
  /** The clean-shutdown marker was present: skip recovery. */
  readonly cleanShutdown?: boolean;
  readonly recoveryPoint?: number;
  readonly logStartOffset?: number;
  readonly highWatermark?: number;
  readonly pendingBytesMax?: number;
  readonly onBackgroundError?: (error: unknown) => void;
}

export interface AppendInfo {
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly batchCount: number;
  readonly sizeBytes: number;
  /** The broker time stamped on LogAppendTime topics, else -1. */
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
}

export interface LogReadResult {
  readonly chunks: readonly (FileRegion | Buffer)[];
  readonly sizeBytes: number;
  /** One past the last offset returned (`fetchOffset` when nothing was returned). */
  readonly nextOffset: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
}

export interface SegmentInfo {
  readonly baseOffset: number;
  /** The next segment's base offset, or the LEO for the active segment. */
  readonly endOffset: number;
  readonly sizeBytes: number;
  /** -1 when the segment holds no timestamp. */
  readonly largestTimestampMs: number;
  /** Last write (file mtime, then the clock's time of each append): retention's fallback. */
  readonly modifiedMs: number;
  readonly isActive: boolean;
  readonly logPath: string;
  readonly offsetIndexPath: string;
  readonly timeIndexPath: string;
  readonly txnIndexPath: string;
}

export interface CleanedSegment {
  readonly baseOffset: number;
  readonly sizeBytes: number;
  /** Appends whole batches that keep their offsets (increasing, within the replaced run). */
  append(batches: Buffer): Promise<void>;
  /** Gives up: the `.cleaned` files are removed. */
  abandon(): Promise<void>;
}

interface PendingAppend {
  readonly batches: readonly RecordBatchView[];
  readonly sizeBytes: number;
  readonly leaderEpoch: number | undefined;
  readonly info: AppendInfo;
  readonly resolve: (info: AppendInfo) => void;
  readonly reject: (error: unknown) => void;
}

/** A batch of a gathered write and the epoch it is recorded under. */
interface RunBatch {
  readonly view: RecordBatchView;
  readonly epoch: number;
}

interface SyncWaiter {
  readonly offset: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  readonly config: LogConfig;
  readonly leaderEpochs: LeaderEpochCache;
  #fs: FileSystem;
  #env: SegmentEnv;
  #limits: SegmentLimits;
  #clock: Clock;
  #random: Random;
  #tail: TailCache;
  #segments: LogSegment[] = [];
  #rollJitterMs = 0;
  #logStartOffset = 0;
  #logEndOffset = 0;
  #nextOffset = 0;
  #durableEndOffset = 0;
  #highWatermark = 0;
  #pending: PendingAppend[] = [];
  #pendingBytes = 0;
  #pendingBytesMax: number;
  #writer: Promise<void> | undefined;
  #lock: Promise<void> = Promise.resolve();
  #syncWaiters: SyncWaiter[] = [];
  #syncing = false;
  #unflushedMessages = 0;
  #flushTimer: TimerHandle | undefined;
  #failure: Error | undefined;
  #closed = false;
  #onBackgroundError: (error: unknown) => void;
  /** Bytes validated by recovery when the log was opened (the recovery benchmark reads it). */
  recoveredBytes = 0;
  truncatedBytesOnOpen = 0;

  private constructor(options: PartitionLogOptions) {
    this.topic = options.topic;
    this.partition = options.partition;
    this.dir = options.dir;
    this.config = options.config;
    this.#fs = options.fs;
    this.#env = { fs: options.fs, handles: options.handles, indexCache: options.indexCache };
    this.#limits = {
      indexIntervalBytes: options.config.indexIntervalBytes,
      segmentIndexBytes: options.config.segmentIndexBytes,
    };
    this.#clock = options.clock;
    this.#random = options.random;
    this.#tail = new TailCache(options.config.tailCacheBytes, options.tailBudget);
    this.#pendingBytesMax = options.pendingBytesMax ?? PENDING_BYTES_MAX_DEFAULT;
    this.#onBackgroundError = options.onBackgroundError ?? (() => {});
    this.leaderEpochs = new LeaderEpochCache(options.fs, options.dir);
  }

  /** Opens (creating if needed) the log in `options.dir`, recovering it when unclean. */
  static async open(options: PartitionLogOptions): Promise<PartitionLog> {
    const log = new PartitionLog(options);
    await mkdirDurably(options.fs, options.dir);
    await log.leaderEpochs.load();
    const startHint = options.logStartOffset ?? 0;
    const loaded = await loadSegments(log.#env, log.#limits, options.dir, {
      cleanShutdown: options.cleanShutdown ?? false,
      recoveryPoint: options.recoveryPoint ?? 0,
      startOffset: startHint,
      epochs: log.leaderEpochs,
    });
    log.#segments = loaded.segments;
    log.recoveredBytes = loaded.recoveredBytes;
    log.truncatedBytesOnOpen = loaded.truncatedBytes;
    const active = log.#active;
    const end = active.nextOffset ?? active.baseOffset;
    const first = (log.#segments[0] as LogSegment).baseOffset;
    log.#logEndOffset = end;
    log.#nextOffset = end;
    log.#durableEndOffset = end;
    log.#logStartOffset = Math.min(Math.max(startHint, first), end);
    log.#highWatermark = clamp(options.highWatermark ?? 0, log.#logStartOffset, end);
    log.leaderEpochs.truncateFromEnd(end);
    log.leaderEpochs.truncateFromStart(log.#logStartOffset);
    await log.leaderEpochs.flush();
    await deleteProducerSnapshotsAbove(options.fs, options.dir, end);
    log.#newRollJitter();
    if (active.sizeBytes > 0) active.rollStartMs = options.clock.nowMs();
    return log;
  }

  get #active(): LogSegment {
    return this.#segments.at(-1) as LogSegment;
  }

  get logStartOffset(): number {
    return this.#logStartOffset;
  }
  get logEndOffset(): number {
    return this.#logEndOffset;
  }
  get durableEndOffset(): number {
    return this.#durableEndOffset;
  }
  /** The offset up to which the log is flushed (what recovery-point checkpoints store). */
  get recoveryPoint(): number {
    return this.#durableEndOffset;
  }
  get highWatermark(): number {
    return this.#highWatermark;
  }
  get sizeBytes(): number {
    let total = 0;
    for (const segment of this.#segments) total += segment.sizeBytes;
    return total;
  }
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Replication moved the high watermark; it is kept within [logStartOffset, LEO]. */
  setHighWatermark(offset: number): void {
    this.#highWatermark = clamp(offset, this.#logStartOffset, this.#logEndOffset);
  }

  #checkUsable(): void {
    if (this.#closed) throw new StorageError('storage-closed', `${this.dir} is closed`);
    if (this.#failure) {
      throw new StorageError('storage-failed', `${this.dir} failed`, { cause: this.#failure });
    }
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  // ---- appends ---------------------------------------------------------------------------

  /**
   * `crcVerified`: the caller already checked every batch's CRC-32C (the produce path may do
   * it while parsing); CRC-32C is the largest cost of appending big batches (about 1.3 GB/s
   * native on the benchmark machine), so it is not paid twice.
   */
  appendAsLeader(
    records: Buffer,
    options: { leaderEpoch: number; crcVerified?: boolean },
  ): Promise<AppendInfo> {
    try {
      return this.#appendAsLeader(records, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #appendAsLeader(
    records: Buffer,
    options: { leaderEpoch: number; crcVerified?: boolean },
  ): Promise<AppendInfo> {
    this.#checkUsable();
    const batches = splitBatches(records, this.config.maxMessageBytes, !options.crcVerified);
    const appendTimeMs =
      this.config.messageTimestampType === 'LogAppendTime' ? this.#clock.nowMs() : undefined;
    const first = this.#nextOffset;
    this.#checkPendingRoom(records.length);
    this.#nextOffset = stampAsLeader(batches, first, options.leaderEpoch, appendTimeMs);
    return this.#enqueue(batches, records.length, options.leaderEpoch, appendTimeMs ?? -1);
  }

  appendAsFollower(records: Buffer): Promise<AppendInfo> {
    try {
      return this.#appendAsFollower(records);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #appendAsFollower(records: Buffer): Promise<AppendInfo> {
    this.#checkUsable();
    // A follower trusts the leader's CRCs only as far as the leader checked them: check here
    // too, a replica must not persist a corrupt batch it could later serve as leader.
    const batches = splitBatches(records, Number.MAX_SAFE_INTEGER, true);
    checkFollowerOffsets(batches, this.#nextOffset);
    this.#checkPendingRoom(records.length);
    this.#nextOffset = (batches.at(-1) as RecordBatchView).lastOffset + 1;
    return this.#enqueue(batches, records.length, undefined, -1);
  }

  #checkPendingRoom(bytes: number): void {
    if (this.#pendingBytes + bytes > this.#pendingBytesMax) {
      throw new StorageError(
        'storage-limit',
        `${this.dir}: ${this.#pendingBytes} bytes already waiting to be written`,
      );
    }
  }

  #enqueue(
    batches: readonly RecordBatchView[],
    sizeBytes: number,
    leaderEpoch: number | undefined,
    logAppendTimeMs: number,
  ): Promise<AppendInfo> {
    const info: AppendInfo = {
      firstOffset: (batches[0] as RecordBatchView).baseOffset,
      lastOffset: (batches.at(-1) as RecordBatchView).lastOffset,
      batchCount: batches.length,
      sizeBytes,
      logAppendTimeMs,
      logStartOffset: this.#logStartOffset,
    };
    return new Promise<AppendInfo>((resolve, reject) => {
      this.#pending.push({ batches, sizeBytes, leaderEpoch, info, resolve, reject });
      this.#pendingBytes += sizeBytes;
      if (!this.#writer) this.#writer = this.#runWriter();
    });
  }

  async #runWriter(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        await this.#exclusive(() => this.#writeGroup(this.#takeGroup()));
      }
    } finally {
      this.#writer = undefined;
    }
  }

  #takeGroup(): PendingAppend[] {
    const group: PendingAppend[] = [];
    let bytes = 0;
    while (this.#pending.length > 0) {
      const next = this.#pending[0] as PendingAppend;
      if (group.length > 0 && bytes + next.sizeBytes > WRITE_GROUP_BYTES_MAX) break;
      this.#pending.shift();
      this.#pendingBytes -= next.sizeBytes;
      group.push(next);
      bytes += next.sizeBytes;
    }
    return group;
  }

  async #writeGroup(group: PendingAppend[]): Promise<void> {
    if (group.length === 0) return;
    try {
      this.#checkUsable();
      await this.#writeBatches(group);
      if (this.leaderEpochs.isDirty) await this.leaderEpochs.flush();
    } catch (error) {
      this.#fail(error);
      for (const item of group) item.reject(error);
      return;
    }
    this.#acknowledge(group);
  }

  /** Writes a group with one gathered write per segment it lands in. */
  async #writeBatches(group: readonly PendingAppend[]): Promise<void> {
    const nowMs = this.#clock.nowMs();
    let run: RunBatch[] = [];
    let runBytes = 0;
    for (const item of group) {
      for (const view of item.batches) {
        if (this.#shouldRoll(runBytes + view.sizeBytes, view.lastOffset, nowMs)) {
          await this.#writeRun(run, nowMs);
          run = [];
          runBytes = 0;
          await this.#roll(view.baseOffset);
        }
        run.push({ view, epoch: item.leaderEpoch ?? view.partitionLeaderEpoch });
        runBytes += view.sizeBytes;
      }
    }
    await this.#writeRun(run, nowMs);
  }

  async #writeRun(run: readonly RunBatch[], nowMs: number): Promise<void> {
    if (run.length === 0) return;
    const active = this.#active;
    if (active.rollStartMs === undefined) active.rollStartMs = nowMs;
    active.modifiedMs = nowMs;
    await active.append(
      run.map(({ view }) => ({
        buf: view.buf,
        lastOffset: view.lastOffset,
        maxTimestampMs: view.maxTimestamp,
      })),
    );
    for (const { view, epoch } of run) {
      this.#tail.add({ buf: view.buf, baseOffset: view.baseOffset, lastOffset: view.lastOffset });
      this.leaderEpochs.assign(epoch, view.baseOffset);
      this.#unflushedMessages += view.lastOffsetDelta + 1;
    }
    this.#logEndOffset = (run.at(-1) as RunBatch).view.lastOffset + 1;
  }

  #shouldRoll(incomingBytes: number, lastOffset: number, nowMs: number): boolean {
    const active = this.#active;
    if (lastOffset - active.baseOffset > RELATIVE_OFFSET_MAX) return true;
    if (active.sizeBytes === 0) return false;
    if (active.sizeBytes + incomingBytes > this.config.segmentBytes) return true;
    if (active.isIndexFull) return true;
    const startMs = active.rollStartMs;
    return startMs !== undefined && nowMs - startMs > this.config.segmentMs - this.#rollJitterMs;
  }

  #newRollJitter(): void {
    const jitter = this.config.segmentJitterMs;
    this.#rollJitterMs = jitter > 0 ? this.#random.int(0, jitter - 1) : 0;
  }

  /** Seals the active segment (fsync) and starts a new one at `baseOffset`. */
  async #roll(baseOffset: number): Promise<void> {
    const old = this.#active;
    await old.seal();
    this.#markDurable(old.nextOffset ?? this.#logEndOffset);
    const created = await LogSegment.create(this.#env, this.#limits, this.dir, baseOffset);
    created.modifiedMs = this.#clock.nowMs();
    await this.#fs.fsyncDir(this.dir);
    this.#segments = [...this.#segments, created];
    this.#tail.clear();
    this.#newRollJitter();
  }

  /** Rolls now, unless the active segment is empty (operators, tests, retention). */
  roll(): Promise<void> {
    this.#checkUsable();
    return this.#exclusive(async () => {
      if (this.#active.sizeBytes > 0) await this.#roll(this.#logEndOffset);
    });
  }

  #acknowledge(group: readonly PendingAppend[]): void {
    if (this.config.durability === 'fsync') {
      const end = this.#logEndOffset;
      this.#syncTo(end).then(
        () => {
          for (const item of group) item.resolve(this.#withStart(item.info));
        },
        (error: unknown) => {
          for (const item of group) item.reject(error);
        },
      );
      return;
    }
    for (const item of group) item.resolve(this.#withStart(item.info));
    if (this.#unflushedMessages >= this.config.flushMessages) {
      this.#syncTo(this.#logEndOffset).catch(this.#onBackgroundError);
    } else if (this.config.flushMs < NEVER && !this.#flushTimer) {
      this.#flushTimer = this.#clock.setTimer(this.config.flushMs, () => {
        this.#flushTimer = undefined;
        if (!this.#closed) this.#syncTo(this.#logEndOffset).catch(this.#onBackgroundError);
      });
    }
  }

  #withStart(info: AppendInfo): AppendInfo {
    return { ...info, logStartOffset: this.#logStartOffset };
  }

  // ---- durability ----------------------------------------------------------------------

  /** Resolves once everything up to `offset` is fsynced; fsyncs are shared (group commit). */
  #syncTo(offset: number): Promise<void> {
    if (offset <= this.#durableEndOffset) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#syncWaiters.push({ offset, resolve, reject });
      if (!this.#syncing) void this.#runSync();
    });
  }

  async #runSync(): Promise<void> {
    this.#syncing = true;
    try {
      while (this.#syncWaiters.length > 0) {
        // Capture the end before the segment: data up to it is in this segment or in older,
        // already sealed (fsynced) ones.
        const target = this.#logEndOffset;
        this.#unflushedMessages = 0;
        await this.#active.flush();
        this.#markDurable(target);
        const waiting = this.#syncWaiters;
        this.#syncWaiters = [];
        for (const waiter of waiting) {
          if (waiter.offset <= this.#durableEndOffset) waiter.resolve();
          else this.#syncWaiters.push(waiter);
        }
      }
    } catch (error) {
      this.#fail(error);
      const waiting = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const waiter of waiting) waiter.reject(error);
    } finally {
      this.#syncing = false;
    }
  }

  #markDurable(offset: number): void {
    // Never past the end: a truncation may have run while the fsync was in flight.
    const durable = Math.min(offset, this.#logEndOffset);
    if (durable > this.#durableEndOffset) this.#durableEndOffset = durable;
  }

  #fail(error: unknown): void {
    if (this.#failure) return;
    this.#failure = error instanceof Error ? error : new Error(String(error));
    this.#onBackgroundError(error);
  }

  /** Resolves when every append made so far is written and fsynced. */
  async flush(): Promise<void> {
    while (this.#writer) await this.#writer;
    await this.#exclusive(async () => {});
    this.#checkUsable();
    await this.#syncTo(this.#logEndOffset);
  }

  // ---- reads -----------------------------------------------------------------------------

  async read(
    fetchOffset: number,
    options: { maxBytes: number; maxOffset?: number },
  ): Promise<LogReadResult> {
    this.#checkUsable();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#readOnce(fetchOffset, options.maxBytes, options.maxOffset);
      } catch (error) {
        if (!hasErrorCode(error, 'ESTALE') || attempt >= READ_ATTEMPTS_MAX) throw error;
      }
    }
  }

  #result(chunks: (FileRegion | Buffer)[], sizeBytes: number, nextOffset: number): LogReadResult {
    return {
      chunks,
      sizeBytes,
      nextOffset,
      logStartOffset: this.#logStartOffset,
      logEndOffset: this.#logEndOffset,
      highWatermark: this.#highWatermark,
    };
  }

  async #readOnce(
    fetchOffset: number,
    maxBytes: number,
    maxOffset: number | undefined,
  ): Promise<LogReadResult> {
    const end = this.#logEndOffset;
    if (fetchOffset < this.#logStartOffset || fetchOffset > end) {
      throw new StorageError(
        'storage-offset-out-of-range',
        `offset ${fetchOffset} outside [${this.#logStartOffset}, ${end}] of ${this.dir}`,
      );
    }
    const upper = Math.min(maxOffset ?? end, end);
    if (fetchOffset >= upper) return this.#result([], 0, fetchOffset);
    const cached = this.#tail.read(fetchOffset, maxBytes, upper);
    if (cached) return this.#cachedResult(cached, fetchOffset);
    const segments = this.#segments;
    for (let i = floorSegment(segments, fetchOffset); i < segments.length; i++) {
      const segment = segments[i] as LogSegment;
      const first = await segment.locate(fetchOffset);
      if (!first) continue;
      if (first.lastOffset >= upper) break;
      let limit = first.position + Math.max(maxBytes, first.sizeBytes);
      if (upper < end) {
        const bound = await segment.locate(upper);
        if (bound) limit = Math.min(limit, bound.position);
      }
      const run = await segment.boundaryBefore(first, limit);
      const length = run.endPosition - first.position;
      const region = await segment.region(first.position, length);
      return this.#result([region], length, run.lastOffset + 1);
    }
    return this.#result([], 0, fetchOffset);
  }

  #cachedResult(buffers: Buffer[], fetchOffset: number): LogReadResult {
    let size = 0;
    for (const buf of buffers) size += buf.length;
    const last = buffers.at(-1);
    const next = last ? lastOffsetOf(last) + 1 : fetchOffset;
    return this.#result(buffers, size, next);
  }

  /**
   * ListOffsets: the first record with timestamp >= `timestampMs` at or after the log start
   * (timestamp-search.ts), or undefined. Special values: LATEST_TIMESTAMP (-1) -> LEO,
   * EARLIEST_TIMESTAMP (-2) -> log start, MAX_TIMESTAMP (-3) -> the record with the largest
   * timestamp. Offsets at or past the high watermark are the caller's to hide (isolation).
   */
  async offsetForTimestamp(timestampMs: number): Promise<TimestampAndOffset | undefined> {
    this.#checkUsable();
    if (timestampMs === LATEST_TIMESTAMP) return { offset: this.#logEndOffset, timestampMs: -1 };
    if (timestampMs === EARLIEST_TIMESTAMP) {
      return { offset: this.#logStartOffset, timestampMs: -1 };
    }
    if (timestampMs === MAX_TIMESTAMP) return this.#maxTimestampOffset();
    for (const segment of this.#segments) {
      if (segment.largestTimestampMs !== -1 && segment.largestTimestampMs < timestampMs) continue;
      const found = await findRecordByTimestamp(segment, timestampMs, this.#logStartOffset);
      if (!found) continue;
      return found.offset < this.#logEndOffset ? found : undefined;
    }
    return undefined;
  }

  async #maxTimestampOffset(): Promise<TimestampAndOffset | undefined> {
    let best: LogSegment | undefined;
    for (const segment of this.#segments) {
      if (!best || segment.largestTimestampMs > best.largestTimestampMs) best = segment;
    }
    if (!best || best.largestTimestampMs === -1) return undefined;
    return findMaxTimestampRecord(best);
  }

  // ---- replication: truncation and log start ---------------------------------------------

  /**
   * Removes the batch holding `offset` and everything after it. Appends not yet written are
   * rejected (`storage-append-cancelled`): a truncation means the log's future changed.
   */
  truncateTo(offset: number): Promise<void> {
    this.#checkUsable();
    return this.#exclusive(async () => {
      if (offset >= this.#logEndOffset) {
        // Nothing to cut, but an epoch entry may start at the end with no batch of it: this
        // replica led that epoch and appended nothing before another leader was elected.
        // Left there, the next Fetch names that epoch and the leader answers the same
        // divergence forever (Kafka's UnifiedLog.truncateTo drops it too).
        this.leaderEpochs.truncateFromEnd(this.#logEndOffset);
        await this.leaderEpochs.flush();
        return;
      }
      this.#cancelPending();
      if (offset <= (this.#segments[0] as LogSegment).baseOffset) {
        await this.#restartAt(offset);
        return;
      }
      const keep = this.#segments.filter((s) => s.baseOffset < offset);
      const drop = this.#segments.filter((s) => s.baseOffset >= offset);
      for (const segment of drop) await segment.delete();
      this.#segments = keep;
      await this.#active.truncateTo(offset);
      // An emptied segment after a gap would make its base offset the log end although no
      // offset there exists; the end is the previous segment's data end (as recovery does).
      while (this.#segments.length > 1 && this.#active.sizeBytes === 0) {
        drop.push(this.#active);
        await this.#active.delete();
        this.#segments = this.#segments.slice(0, -1);
        await this.#active.activate();
      }
      const active = this.#active;
      await active.truncateTransactions(offset);
      await active.flush();
      if (drop.length > 0) await this.#fs.fsyncDir(this.dir);
      this.#afterTruncation(active.nextOffset ?? active.baseOffset);
      await this.leaderEpochs.flush();
      await deleteProducerSnapshotsAbove(this.#fs, this.dir, this.#logEndOffset);
    });
  }

  #afterTruncation(end: number): void {
    this.#logEndOffset = end;
    this.#nextOffset = end;
    this.#durableEndOffset = Math.min(this.#durableEndOffset, end);
    this.#highWatermark = Math.min(this.#highWatermark, end);
    this.#logStartOffset = Math.min(this.#logStartOffset, end);
    this.#tail.clear();
    this.leaderEpochs.truncateFromEnd(end);
  }

  #cancelPending(): void {
    const cancelled = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    const error = new StorageError('storage-append-cancelled', `${this.dir} was truncated`);
    for (const item of cancelled) item.reject(error);
  }

  /** Drops every segment and starts an empty log at `offset` (a follower far behind). */
  truncateFullyAndStartAt(offset: number): Promise<void> {
    this.#checkUsable();
    return this.#exclusive(async () => {
      this.#cancelPending();
      await this.#restartAt(offset);
    });
  }

  async #restartAt(offset: number): Promise<void> {
    for (const segment of this.#segments) await segment.delete();
    const created = await LogSegment.create(this.#env, this.#limits, this.dir, offset);
    this.#segments = [created];
    await this.#fs.fsyncDir(this.dir);
    this.#afterTruncation(offset);
    this.#logStartOffset = offset;
    this.#highWatermark = offset;
    this.#durableEndOffset = offset;
    this.leaderEpochs.clear();
    await this.leaderEpochs.flush();
    await deleteProducerSnapshotsAbove(this.#fs, this.dir, -1);
  }

  /**
   * DeleteRecords: the log now starts at `offset` (<= high watermark); whole segments below
   * it are deleted. Returns the new log start offset.
   */
  deleteRecordsBefore(offset: number): Promise<number> {
    this.#checkUsable();
    return this.#exclusive(async () => {
      if (offset > this.#highWatermark) {
        throw new StorageError(
          'storage-offset-out-of-range',
          `cannot delete before ${offset}: high watermark is ${this.#highWatermark}`,
        );
      }
      if (offset <= this.#logStartOffset) return this.#logStartOffset;
      this.#logStartOffset = offset;
      this.leaderEpochs.truncateFromStart(offset);
      await this.leaderEpochs.flush();
      let deleted = 0;
      while (this.#segments.length > 1 && (this.#segments[1] as LogSegment).baseOffset <= offset) {
        await (this.#segments[0] as LogSegment).delete();
        this.#segments = this.#segments.slice(1);
        deleted++;
      }
      if (deleted > 0) await this.#fs.fsyncDir(this.dir);
      return this.#logStartOffset;
    });
  }

  // ---- producer state snapshots (the idempotence/transactions work fills them) ------------

  /** Writes the producer state as of `offset` (<= LEO) to `<offset>.snapshot`. */
  writeProducerSnapshot(offset: number, entries: readonly ProducerSnapshotEntry[]): Promise<void> {
    this.#checkUsable();
    return this.#exclusive(async () => {
      if (offset > this.#logEndOffset) {
        throw new StorageError('storage-offset-out-of-range', `snapshot at ${offset} past the end`);
      }
      await writeProducerSnapshot(this.#fs, this.dir, offset, entries);
    });
  }

  /** The newest sound producer snapshot at or below the log end, if any. */
  latestProducerSnapshot(): Promise<
    { offset: number; entries: ProducerSnapshotEntry[] } | undefined
  > {
    this.#checkUsable();
    return this.#exclusive(() =>
      readLatestProducerSnapshot(this.#fs, this.dir, this.#logEndOffset),
    );
  }

  // ---- aborted transactions (filled by the transactions work) ---------------------------

  /** Records an aborted transaction whose abort marker is at `txn.lastOffset`. */
  appendAbortedTransaction(txn: AbortedTransaction): Promise<void> {
    this.#checkUsable();
    return this.#exclusive(async () => {
      const segments = this.#segments;
      const segment = segments[floorSegment(segments, txn.lastOffset)] as LogSegment;
      await segment.appendAbortedTransaction(txn);
    });
  }

  /** Aborted transactions overlapping [fetchOffset, upperBoundOffset). */
  async abortedTransactions(
    fetchOffset: number,
    upperBoundOffset: number,
  ): Promise<AbortedTransaction[]> {
    const out: AbortedTransaction[] = [];
    const segments = this.#segments;
    for (let i = floorSegment(segments, fetchOffset); i < segments.length; i++) {
      const segment = segments[i] as LogSegment;
      if (segment.baseOffset >= upperBoundOffset) break;
      for (const txn of await segment.abortedTransactions()) {
        if (txn.lastOffset >= fetchOffset && txn.firstOffset < upperBoundOffset) out.push(txn);
      }
    }
    return out;
  }

  // ---- the cleaner seam ------------------------------------------------------------------

  segments(): readonly SegmentInfo[] {
    const segments = this.#segments;
    return segments.map((segment, i) => ({
      baseOffset: segment.baseOffset,
      endOffset: segments[i + 1]?.baseOffset ?? this.#logEndOffset,
      sizeBytes: segment.sizeBytes,
      largestTimestampMs: segment.largestTimestampMs,
      modifiedMs: segment.modifiedMs,
      isActive: i === segments.length - 1,
      logPath: segment.path(LOG_SUFFIX),
      offsetIndexPath: segment.path(OFFSET_INDEX_SUFFIX),
      timeIndexPath: segment.path(TIME_INDEX_SUFFIX),
      txnIndexPath: segment.path(TXN_INDEX_SUFFIX),
    }));
  }

  #segmentAt(baseOffset: number): LogSegment {
    const segment = this.#segments.find((s) => s.baseOffset === baseOffset);
    if (!segment) {
      throw new StorageError('storage-segment-gone', `no segment ${baseOffset} in ${this.dir}`);
    }
    return segment;
  }

  /** Whole batches of one segment from `position` (a batch start), about `bytesMax` bytes. */
  readSegmentBatches(baseOffset: number, position: number, bytesMax: number): Promise<Buffer> {
    this.#checkUsable();
    return this.#segmentAt(baseOffset).readBatches(position, bytesMax);
  }

  async createCleanedSegment(baseOffset: number): Promise<CleanedSegment> {
    this.#checkUsable();
    const segment = await LogSegment.create(
      this.#env,
      this.#limits,
      this.dir,
      baseOffset,
      '.cleaned',
    );
    return new CleanedSegmentWriter(segment, this.config.maxMessageBytes);
  }

  /**
   * Replaces the consecutive, inactive segments `oldBaseOffsets` by `cleaned` (whose base
   * offset must be the first of them), crash-safely (see the header).
   */
  replaceSegments(oldBaseOffsets: readonly number[], cleaned: CleanedSegment): Promise<void> {
    this.#checkUsable();
    return this.#exclusive(async () => {
      if (!(cleaned instanceof CleanedSegmentWriter)) throw new TypeError('not a cleaned segment');
      const start = this.#segments.findIndex((s) => s.baseOffset === oldBaseOffsets[0]);
      const olds = this.#segments.slice(start, start + oldBaseOffsets.length);
      const consecutive =
        start >= 0 && olds.every((s, i) => s.baseOffset === oldBaseOffsets[i] && !s.isActive);
      if (!consecutive || olds.length === 0 || cleaned.baseOffset !== oldBaseOffsets[0]) {
        throw new StorageError('storage-segment-gone', `segments changed under the cleaner`);
      }
      const next = this.#segments[start + olds.length] as LogSegment;
      if (cleaned.nextOffset > next.baseOffset) {
        throw new StorageError('storage-invalid-append', 'cleaned segment overlaps the next');
      }
      const segment = cleaned.segment;
      segment.modifiedMs = Math.max(...olds.map((s) => s.modifiedMs));
      await segment.seal();
      await segment.renameTransit('.swap');
      await this.#fs.fsyncDir(this.dir);
      for (const old of olds) await old.delete();
      await segment.renameTransit('');
      await this.#fs.fsyncDir(this.dir);
      const segments = [...this.#segments];
      segments.splice(start, olds.length, segment);
      this.#segments = segments;
    });
  }

  /**
   * Retention: deletes the `count` oldest segments, stopping before any segment that holds
   * data at or past the high watermark. Returns how many were deleted.
   */
  deleteOldestSegments(count: number): Promise<number> {
    this.#checkUsable();
    return this.#exclusive(async () => {
      let deleted = 0;
      while (deleted < count) {
        const segments = this.#segments;
        const first = segments[0] as LogSegment;
        const end = segments[1]?.baseOffset ?? this.#logEndOffset;
        if (end > this.#highWatermark) break;
        if (segments.length === 1) {
          if (first.sizeBytes === 0) break;
          await this.#roll(this.#logEndOffset);
        }
        await first.delete();
        this.#segments = this.#segments.slice(1);
        this.#logStartOffset = Math.max(this.#logStartOffset, end);
        deleted++;
      }
      if (deleted > 0) {
        await this.#fs.fsyncDir(this.dir);
        this.leaderEpochs.truncateFromStart(this.#logStartOffset);
        await this.leaderEpochs.flush();
      }
      return deleted;
    });
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /** Writes everything, fsyncs, writes indexes and the epoch file, closes descriptors. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (!this.#failure) await this.flush();
    await this.#exclusive(async () => {
      this.#closed = true;
      this.#flushTimer?.cancel();
      this.#tail.clear();
      if (!this.#failure) await this.leaderEpochs.flush();
      for (const segment of this.#segments) await segment.close();
    });
  }

  /** Stops the log without writing anything more (its directory is being deleted). */
  async abandon(): Promise<void> {
    if (this.#closed) return;
    this.#cancelPending();
    await this.#exclusive(async () => {
      this.#closed = true;
      this.#flushTimer?.cancel();
      this.#tail.clear();
      for (const segment of this.#segments) segment.discardHandles();
    });
  }
}

class CleanedSegmentWriter implements CleanedSegment {
  readonly segment: LogSegment;
  #batchBytesMax: number;
  nextOffset: number;

  constructor(segment: LogSegment, batchBytesMax: number) {
    this.segment = segment;
    this.#batchBytesMax = batchBytesMax;
    this.nextOffset = segment.baseOffset;
  }

  get baseOffset(): number {
    return this.segment.baseOffset;
  }
  get sizeBytes(): number {
    return this.segment.sizeBytes;
  }

  async append(batches: Buffer): Promise<void> {
    const views = splitBatches(batches, Math.max(this.#batchBytesMax, batches.length), false);
    checkFollowerOffsets(views, this.nextOffset);
    const last = (views.at(-1) as RecordBatchView).lastOffset;
    if (last - this.segment.baseOffset > RELATIVE_OFFSET_MAX) {
      throw new StorageError('storage-invalid-append', `offset ${last} too far from the base`);
    }
    await this.segment.append(
      views.map((v) => ({ buf: v.buf, lastOffset: v.lastOffset, maxTimestampMs: v.maxTimestamp })),
    );
    this.nextOffset = last + 1;
  }

  abandon(): Promise<void> {
    return this.segment.discard();
  }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}

/** Index of the last segment with baseOffset <= offset (0 when offset is before all). */
function floorSegment(segments: readonly LogSegment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if ((segments[mid] as LogSegment).baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function lastOffsetOf(batch: Buffer): number {
  const base = batch.readInt32BE(0) * 0x1_0000_0000 + batch.readUInt32BE(4);
  return base + batch.readInt32BE(23);
}
