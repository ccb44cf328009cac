/**
 * One segment of a partition log: `<base>.log` plus its `.index`, `.timeindex` and optional
 * `.txnindex` (formats in offset-index.ts, time-index.ts, transaction-index.ts).
 *
 * The `.log` holds RecordBatch v2 batches end to end exactly as they were appended (offsets
 * and leader epoch already stamped in the header); storage never rewrites a batch in place.
 *
 * Invariants: batches are contiguous from position 0 to `sizeBytes`; offsets strictly
 * increase (lastOffset of one < baseOffset of the next); every offset is in
 * [baseOffset, baseOffset + 2^31) so index entries can store it relative; `sizeBytes` < 2^31
 * (index positions are int32; `segment.bytes` is capped accordingly).
 *
 * Lifecycle: the active (last) segment keeps its indexes in memory, outside the index cache;
 * `seal()` (on roll) writes the final time-index entry, writes both index files whole and
 * fsyncs all three files, after which the segment is read-only and its indexes are loaded on
 * demand through the IndexCache. `delete()` renames every file to `.deleted` and unlinks it
 * once the last reader releases its pin.
 *
 * Crash behaviour: the `.log` is the truth; indexes are rebuilt by `recover()` (which scans
 * and CRC-checks every batch) or by `#loadIndexes` when a loaded file breaks its invariants.
 */
import { join } from 'node:path';
import { BATCH_HEADER_BYTES, RecordBatchView } from '../../protocol/records/batch.ts';
import { readFileFully, unlinkIfExists } from '../io/atomic-file.ts';
import { CachedFile, type FileHandleCache } from '../io/file-handle-cache.ts';
import type { FileRegion } from '../io/file-region.ts';
import type { FileSystem } from '../io/file-system.ts';
import { StorageError } from '../storage-error.ts';
import { type BatchHeader, walkHeaders } from './batch-headers.ts';
import type { IndexCache } from './index-cache.ts';
import { OffsetIndex } from './offset-index.ts';
import {
  DELETED_SUFFIX,
  LOG_SUFFIX,
  OFFSET_INDEX_SUFFIX,
  offsetFileName,
  TIME_INDEX_SUFFIX,
  TXN_INDEX_SUFFIX,
} from './segment-files.ts';
import { TimeIndex } from './time-index.ts';
import {
  type AbortedTransaction,
  decodeAbortedTransactions,
  encodeAbortedTransactions,
} from './transaction-index.ts';

export const NO_TIMESTAMP = -1;
/** Recovery reads this much at a time: big enough for sequential-read speed, small in RSS. */
export const RECOVERY_CHUNK_BYTES = 4 * 1024 * 1024;
/** Largest relative offset an index entry can hold. */
export const RELATIVE_OFFSET_MAX = 0x7fff_ffff;

export interface SegmentEnv {
  readonly fs: FileSystem;
  readonly handles: FileHandleCache;
  readonly indexCache: IndexCache;
}

export interface SegmentLimits {
  readonly indexIntervalBytes: number;
  readonly segmentIndexBytes: number;
}

/** A batch about to be appended; its header already carries its final offsets. */
export interface AppendedBatch {
  readonly buf: Buffer;
  readonly lastOffset: number;
  readonly maxTimestampMs: number;
}

/** Where a run of whole batches ends: the byte after it and its last offset. */
export interface RunEnd {
  readonly endPosition: number;
  readonly lastOffset: number;
}

export interface SegmentRecovery {
  readonly validBytes: number;
  readonly truncatedBytes: number;
  readonly nextOffset: number;
  readonly batchCount: number;
}

export class LogSegment {
  readonly dir: string;
  readonly baseOffset: number;
  #env: SegmentEnv;
  #limits: SegmentLimits;
  #log: CachedFile;
  #transit: string;
  #sizeBytes: number;
  #active = false;
  #offsetIndex: OffsetIndex | undefined;
  #timeIndex: TimeIndex | undefined;
  #loading: Promise<void> | undefined;
  #bytesSinceIndexEntry = 0;
  #maxTimestampMs = NO_TIMESTAMP;
  #offsetOfMaxTimestamp: number;
  #nextOffset: number | undefined;
  #txns: AbortedTransaction[] | undefined;
  /** When the first batch was appended (clock ms); segment.ms rolls count from it. */
  rollStartMs: number | undefined;
  /**
   * Last write, wall-clock ms: the file's mtime when opened, then the injected clock's time
   * of each append (set by PartitionLog). Retention falls back to it when a segment holds no
   * timestamp, as Kafka does.
   */
  modifiedMs = 0;
  #deleted = false;

  private constructor(
    env: SegmentEnv,
    limits: SegmentLimits,
    dir: string,
    baseOffset: number,
    sizeBytes: number,
    transit: string,
  ) {
    this.#env = env;
    this.#limits = limits;
    this.dir = dir;
    this.baseOffset = baseOffset;
    this.#sizeBytes = sizeBytes;
    this.#transit = transit;
    this.#offsetOfMaxTimestamp = baseOffset;
    this.#log = new CachedFile(this.path(LOG_SUFFIX));
  }

  /** A new, empty, active segment (files created; the caller fsyncs the directory). */
  static async create(
    env: SegmentEnv,
    limits: SegmentLimits,
    dir: string,
    baseOffset: number,
    transit = '',
  ): Promise<LogSegment> {
    const segment = new LogSegment(env, limits, dir, baseOffset, 0, transit);
    const fd = await env.fs.open(segment.path(LOG_SUFFIX), 'create');
    await env.fs.truncate(fd, 0);
    await env.fs.close(fd);
    segment.#active = true;
    segment.#offsetIndex = new OffsetIndex(baseOffset, limits.segmentIndexBytes);
    segment.#timeIndex = new TimeIndex(baseOffset, limits.segmentIndexBytes);
    segment.#nextOffset = baseOffset;
    return segment;
  }

  /** An existing segment, inactive; nothing but the time index's last entry is read. */
  static async open(
    env: SegmentEnv,
    limits: SegmentLimits,
    dir: string,
    baseOffset: number,
    transit = '',
  ): Promise<LogSegment> {
    const segment = new LogSegment(env, limits, dir, baseOffset, 0, transit);
    const stat = await env.fs.stat(segment.path(LOG_SUFFIX));
    if (!stat) throw new StorageError('storage-segment-gone', `${segment.path(LOG_SUFFIX)}`);
    segment.#sizeBytes = stat.sizeBytes;
    segment.modifiedMs = stat.modifiedMs;
    await segment.#readLargestTimestamp();
    return segment;
  }

  async #readLargestTimestamp(): Promise<void> {
    const path = this.path(TIME_INDEX_SUFFIX);
    const stat = await this.#env.fs.stat(path);
    if (!stat || stat.sizeBytes === 0 || stat.sizeBytes % 12 !== 0) return;
    const fd = await this.#env.fs.open(path, 'read');
    try {
      const entry = Buffer.alloc(12);
      if ((await this.#env.fs.read(fd, entry, stat.sizeBytes - 12)) === 12) {
        this.#maxTimestampMs = Number(entry.readBigInt64BE(0));
        this.#offsetOfMaxTimestamp = this.baseOffset + entry.readInt32BE(8);
      }
    } finally {
      await this.#env.fs.close(fd);
    }
  }

  path(suffix: string): string {
    return join(this.dir, offsetFileName(this.baseOffset, suffix) + this.#transit);
  }

  get sizeBytes(): number {
    return this.#sizeBytes;
  }
  get isActive(): boolean {
    return this.#active;
  }
  get largestTimestampMs(): number {
    return this.#maxTimestampMs;
  }
  get offsetOfLargestTimestamp(): number {
    return this.#offsetOfMaxTimestamp;
  }
  /** One past the last offset, when known (always for the active segment). */
  get nextOffset(): number | undefined {
    return this.#nextOffset;
  }
  get isIndexFull(): boolean {
    const offsets = this.#offsetIndex;
    const times = this.#timeIndex;
    return (offsets?.isFull ?? false) || (times?.isFull ?? false);
  }
  get isDeleted(): boolean {
    return this.#deleted;
  }
  get transit(): string {
    return this.#transit;
  }

  // ---- appends (active segment only) -------------------------------------------------

  /** Appends batches whose offsets continue this segment; writes them in one call. */
  async append(batches: readonly AppendedBatch[]): Promise<void> {
    if (!this.#active || this.#deleted) {
      throw new StorageError('storage-closed', `append to inactive segment ${this.path('')}`);
    }
    const offsets = this.#offsetIndex as OffsetIndex;
    const times = this.#timeIndex as TimeIndex;
    const start = this.#sizeBytes;
    let position = start;
    const bufs: Buffer[] = [];
    for (const batch of batches) {
      if (batch.maxTimestampMs > this.#maxTimestampMs) {
        this.#maxTimestampMs = batch.maxTimestampMs;
        this.#offsetOfMaxTimestamp = batch.lastOffset;
      }
      if (this.#bytesSinceIndexEntry > this.#limits.indexIntervalBytes && !offsets.isFull) {
        offsets.append(batch.lastOffset, position);
        if (!times.isFull) times.maybeAppend(this.#maxTimestampMs, this.#offsetOfMaxTimestamp);
        this.#bytesSinceIndexEntry = 0;
      }
      this.#bytesSinceIndexEntry += batch.buf.length;
      position += batch.buf.length;
      bufs.push(batch.buf);
      this.#nextOffset = batch.lastOffset + 1;
    }
    // PartitionLog serialises appends, so nothing else moves `sizeBytes` meanwhile; it moves
    // after the write so that no walk ever reads bytes not yet written. A failed write
    // leaves index entries past the size: PartitionLog then fails the log (no more appends).
    const handles = this.#env.handles;
    const fd = handles.pinIfOpen(this.#log) ?? (await handles.acquire(this.#log));
    try {
      await this.#env.fs.write(fd, bufs, start);
    } finally {
      this.#env.handles.release(this.#log);
    }
    this.#sizeBytes = position;
  }

  /** fsync of the `.log` (indexes are rebuilt after a crash, so they need none here). */
  async flush(): Promise<void> {
    if (this.#deleted) return;
    const fd = await this.#env.handles.acquire(this.#log);
    try {
      await this.#env.fs.fsync(fd);
    } finally {
      this.#env.handles.release(this.#log);
    }
  }

  /**
   * The segment stops being active: a final time-index entry, both indexes written whole,
   * all files fsynced, indexes handed to the index cache.
   */
  async seal(): Promise<void> {
    if (this.#deleted) return;
    const { times } = await this.#indexes();
    if (this.#maxTimestampMs !== NO_TIMESTAMP && !times.isFull) {
      times.maybeAppend(this.#maxTimestampMs, this.#offsetOfMaxTimestamp);
    }
    await this.writeIndexes();
    await this.flush();
    this.#active = false;
    this.#env.indexCache.touch(this, this.#indexBytes());
  }

  /** Writes both index files whole and fsyncs them. */
  async writeIndexes(): Promise<void> {
    const offsets = this.#offsetIndex;
    const times = this.#timeIndex;
    if (!offsets || !times) return;
    await this.#writeWhole(this.path(OFFSET_INDEX_SUFFIX), offsets.toBytes());
    await this.#writeWhole(this.path(TIME_INDEX_SUFFIX), times.toBytes());
  }

  async #writeWhole(path: string, bytes: Buffer): Promise<void> {
    const fs = this.#env.fs;
    const fd = await fs.open(path, 'create');
    try {
      await fs.truncate(fd, 0);
      await fs.write(fd, bytes, 0);
      await fs.fsync(fd);
    } finally {
      await fs.close(fd);
    }
  }

  #indexBytes(): number {
    return (this.#offsetIndex?.memoryBytes ?? 0) + (this.#timeIndex?.memoryBytes ?? 0);
  }

  /** Index cache eviction: drop the loaded indexes of an inactive segment. */
  dropIndexes(): void {
    if (this.#active) return;
    this.#offsetIndex = undefined;
    this.#timeIndex = undefined;
  }

  // ---- index loading -------------------------------------------------------------------

  async #indexes(): Promise<{ offsets: OffsetIndex; times: TimeIndex }> {
    while (!this.#offsetIndex || !this.#timeIndex) {
      if (!this.#loading) {
        this.#loading = this.#loadIndexes().finally(() => {
          this.#loading = undefined;
        });
      }
      await this.#loading;
    }
    if (!this.#active) this.#env.indexCache.touch(this, this.#indexBytes());
    return { offsets: this.#offsetIndex, times: this.#timeIndex };
  }

  async #loadIndexes(): Promise<void> {
    const fs = this.#env.fs;
    const indexBytes = this.#limits.segmentIndexBytes;
    const offsetBytes = await readFileFully(fs, this.path(OFFSET_INDEX_SUFFIX), indexBytes * 2);
    const timeBytes = await readFileFully(fs, this.path(TIME_INDEX_SUFFIX), indexBytes * 2);
    let offsets =
      offsetBytes &&
      OffsetIndex.fromBytes(this.baseOffset, indexBytes, offsetBytes, this.#sizeBytes);
    let times = timeBytes && TimeIndex.fromBytes(this.baseOffset, indexBytes, timeBytes);
    if (offsets && times && (await this.#indexesAgree(offsets, times))) {
      this.#offsetIndex = offsets;
      this.#timeIndex = times;
      return;
    }
    offsets = new OffsetIndex(this.baseOffset, indexBytes);
    times = new TimeIndex(this.baseOffset, indexBytes);
    await this.#rebuildFromHeaders(offsets, times);
    this.#offsetIndex = offsets;
    this.#timeIndex = times;
    if (!this.#active && !this.#deleted) await this.writeIndexes();
  }

  /** Cheap consistency check: the last offset entry points at a batch with its offset. */
  async #indexesAgree(offsets: OffsetIndex, times: TimeIndex): Promise<boolean> {
    const last = offsets.lastEntry;
    const lastTime = times.lastEntry;
    if (lastTime && lastTime.offset >= this.baseOffset + RELATIVE_OFFSET_MAX) return false;
    if (!last) return true;
    let header: BatchHeader | undefined;
    try {
      await this.#walk(last.position, (h) => {
        header = h;
        return true;
      });
    } catch (error) {
      if (error instanceof StorageError) return false;
      throw error;
    }
    return header?.lastOffset === last.offset;
  }

  async #rebuildFromHeaders(offsets: OffsetIndex, times: TimeIndex): Promise<void> {
    let sinceEntry = 0;
    let maxTs = NO_TIMESTAMP;
    let offsetOfMaxTs = this.baseOffset;
    await this.#walk(0, (h) => {
      if (h.maxTimestampMs > maxTs) {
        maxTs = h.maxTimestampMs;
        offsetOfMaxTs = h.lastOffset;
      }
      if (sinceEntry > this.#limits.indexIntervalBytes && !offsets.isFull) {
        offsets.append(h.lastOffset, h.position);
        if (!times.isFull) times.maybeAppend(maxTs, offsetOfMaxTs);
        sinceEntry = 0;
      }
      sinceEntry += h.sizeBytes;
      return undefined;
    });
    if (maxTs !== NO_TIMESTAMP && !this.#active && !times.isFull) {
      times.maybeAppend(maxTs, offsetOfMaxTs);
    }
    this.#maxTimestampMs = maxTs;
    this.#offsetOfMaxTimestamp = offsetOfMaxTs;
  }

  /**
   * Makes this (last) segment the active one: indexes in memory, and the append state
   * (next offset, bytes since the last index entry, largest timestamp) recomputed by
   * walking the batches after the last index entry.
   */
  async activate(): Promise<void> {
    const { offsets, times } = await this.#indexes();
    this.#env.indexCache.forget(this);
    this.#active = true;
    const from = offsets.lastEntry?.position ?? 0;
    // The largest timestamp is known up to the last time entry; batches after the batch
    // holding that entry's offset may be larger (truncation drops later entries).
    const lastTime = times.lastEntry;
    const tsFrom = lastTime ? offsets.lookup(lastTime.offset).position : 0;
    this.#maxTimestampMs = lastTime?.timestampMs ?? NO_TIMESTAMP;
    this.#offsetOfMaxTimestamp = lastTime?.offset ?? this.baseOffset;
    let next = this.baseOffset;
    let since = 0;
    await this.#walk(Math.min(from, tsFrom), (h) => {
      next = h.lastOffset + 1;
      if (h.position > from) since += h.sizeBytes;
      if (h.maxTimestampMs > this.#maxTimestampMs) {
        this.#maxTimestampMs = h.maxTimestampMs;
        this.#offsetOfMaxTimestamp = h.lastOffset;
      }
      return undefined;
    });
    if (from === 0 && this.#sizeBytes > 0 && offsets.entryCount === 0) since = this.#sizeBytes;
    this.#nextOffset = this.#sizeBytes === 0 ? this.baseOffset : next;
    this.#bytesSinceIndexEntry = since;
  }

  async #walk(from: number, visit: (h: BatchHeader) => boolean | undefined): Promise<void> {
    if (from >= this.#sizeBytes) return;
    const fd = await this.#env.handles.acquire(this.#log);
    try {
      await walkHeaders(this.#env.fs, fd, this.#log.path, from, this.#sizeBytes, visit);
    } finally {
      this.#env.handles.release(this.#log);
    }
  }

  // ---- lookups and reads ---------------------------------------------------------------

  /** The first batch with lastOffset >= `offset`, or undefined when there is none. */
  async locate(offset: number): Promise<BatchHeader | undefined> {
    const { offsets } = await this.#indexes();
    const start = offsets.lookup(offset).position;
    let found: BatchHeader | undefined;
    await this.#walk(start, (h) => {
      if (h.lastOffset < offset) return undefined;
      found = h;
      return true;
    });
    return found;
  }

  /**
   * The end of the longest run of whole batches starting at `first` that ends at or before
   * `limitPosition`; at least `first`'s end (a read always returns its first batch whole).
   */
  async boundaryBefore(first: BatchHeader, limitPosition: number): Promise<RunEnd> {
    const firstEnd = first.position + first.sizeBytes;
    const limit = Math.min(limitPosition, this.#sizeBytes);
    if (firstEnd >= limit) return { endPosition: firstEnd, lastOffset: first.lastOffset };
    const { offsets } = await this.#indexes();
    const from = Math.max(first.position, offsets.positionBeforeFloor(limit));
    let run: RunEnd = { endPosition: firstEnd, lastOffset: first.lastOffset };
    await this.#walk(from, (h) => {
      if (h.position + h.sizeBytes > limit) return true;
      run = { endPosition: h.position + h.sizeBytes, lastOffset: h.lastOffset };
      return undefined;
    });
    return run;
  }

  /**
   * The first batch whose max timestamp is >= `targetMs` and whose last offset is >=
   * `minOffset` (the log start), or undefined.
   */
  async findByTimestamp(targetMs: number, minOffset: number): Promise<BatchHeader | undefined> {
    if (this.#maxTimestampMs !== NO_TIMESTAMP && this.#maxTimestampMs < targetMs) return undefined;
    const { offsets, times } = await this.#indexes();
    const start = offsets.lookup(Math.max(times.lookup(targetMs), minOffset)).position;
    let found: BatchHeader | undefined;
    await this.#walk(start, (h) => {
      if (h.maxTimestampMs < targetMs || h.lastOffset < minOffset) return undefined;
      found = h;
      return true;
    });
    return found;
  }

  /** A pinned region of the `.log`; the descriptor stays open until `release()`. */
  async region(position: number, length: number): Promise<FileRegion> {
    const handles = this.#env.handles;
    const log = this.#log;
    const fd = await handles.acquire(log);
    let released = false;
    return {
      kind: 'file-region',
      fd,
      position,
      length,
      release: () => {
        if (released) return;
        released = true;
        handles.release(log);
      },
    };
  }

  /** Bytes of the `.log` in [position, position + length), read into memory. */
  async readBytes(position: number, length: number): Promise<Buffer> {
    const end = Math.min(position + length, this.#sizeBytes);
    const buf = Buffer.allocUnsafe(Math.max(0, end - position));
    if (buf.length === 0) return buf;
    const fd = await this.#env.handles.acquire(this.#log);
    try {
      const read = await this.#env.fs.read(fd, buf, position);
      return buf.subarray(0, read);
    } finally {
      this.#env.handles.release(this.#log);
    }
  }

  /**
   * Whole batches from `position` (a batch start) totalling at most `bytesMax`, or the first
   * batch alone when it is larger. Empty at the end of the segment.
   */
  async readBatches(position: number, bytesMax: number): Promise<Buffer> {
    if (position >= this.#sizeBytes) return Buffer.alloc(0);
    let first: BatchHeader | undefined;
    await this.#walk(position, (h) => {
      first = h;
      return true;
    });
    if (!first) return Buffer.alloc(0);
    const run = await this.boundaryBefore(first, position + bytesMax);
    return this.readBytes(position, run.endPosition - position);
  }

  // ---- truncation and recovery ---------------------------------------------------------

  /**
   * Removes every batch with lastOffset >= `offset` (the batch containing `offset` goes
   * whole). The segment becomes active. Returns the bytes removed.
   */
  async truncateTo(offset: number): Promise<number> {
    const { offsets, times } = await this.#indexes();
    const header = await this.locate(offset);
    if (!header) {
      if (!this.#active) await this.activate();
      return 0;
    }
    const removed = this.#sizeBytes - header.position;
    const fd = await this.#env.handles.acquire(this.#log);
    try {
      await this.#env.fs.truncate(fd, header.position);
    } finally {
      this.#env.handles.release(this.#log);
    }
    this.#sizeBytes = header.position;
    offsets.truncateToOffset(header.baseOffset);
    times.truncateToOffset(header.baseOffset);
    this.#maxTimestampMs = times.lastEntry?.timestampMs ?? NO_TIMESTAMP;
    this.#offsetOfMaxTimestamp = times.lastEntry?.offset ?? this.baseOffset;
    await this.activate();
    return removed;
  }

  /**
   * Validates every batch (framing, magic, CRC, offsets increasing from `minOffset`, relative
   * offsets in range), truncates the file at the first invalid one and rebuilds both
   * indexes from what stays. `onBatch` sees each valid batch (leader-epoch cache rebuild).
   */
  async recover(
    minOffset: number,
    onBatch: (epoch: number, baseOffset: number) => void,
  ): Promise<SegmentRecovery> {
    const offsets = new OffsetIndex(this.baseOffset, this.#limits.segmentIndexBytes);
    const times = new TimeIndex(this.baseOffset, this.#limits.segmentIndexBytes);
    this.#offsetIndex = offsets;
    this.#timeIndex = times;
    this.#env.indexCache.forget(this);
    this.#maxTimestampMs = NO_TIMESTAMP;
    this.#offsetOfMaxTimestamp = this.baseOffset;
    this.#bytesSinceIndexEntry = 0;
    const fd = await this.#env.handles.acquire(this.#log);
    try {
      const size = await this.#env.fs.size(fd);
      const scan = await this.#scanValid(fd, size, minOffset, offsets, times, onBatch);
      if (scan.validBytes < size) await this.#env.fs.truncate(fd, scan.validBytes);
      this.#sizeBytes = scan.validBytes;
      this.#nextOffset = scan.nextOffset;
      return { ...scan, truncatedBytes: size - scan.validBytes };
    } finally {
      this.#env.handles.release(this.#log);
    }
  }

  async #scanValid(
    fd: number,
    size: number,
    minOffset: number,
    offsets: OffsetIndex,
    times: TimeIndex,
    onBatch: (epoch: number, baseOffset: number) => void,
  ): Promise<{ validBytes: number; nextOffset: number; batchCount: number }> {
    let position = 0;
    let next = Math.max(minOffset, this.baseOffset);
    let batchCount = 0;
    let chunk = Buffer.allocUnsafe(Math.min(RECOVERY_CHUNK_BYTES, Math.max(size, 1)));
    let chunkStart = 0;
    let chunkLength = 0;
    for (;;) {
      if (size - position < BATCH_HEADER_BYTES) break;
      let at = position - chunkStart;
      if (at + 12 > chunkLength) {
        chunkLength = await this.#env.fs.read(fd, chunk, position);
        chunkStart = position;
        at = 0;
        if (chunkLength < 12) break;
      }
      const batchSize = chunk.readInt32BE(at + 8) + 12;
      if (batchSize < BATCH_HEADER_BYTES || position + batchSize > size) break;
      if (at + batchSize > chunkLength) {
        // Bounded by the file size checked just above, so a hostile length cannot allocate.
        if (batchSize > chunk.length) chunk = Buffer.allocUnsafe(batchSize);
        chunkLength = await this.#env.fs.read(fd, chunk, position);
        chunkStart = position;
        at = 0;
        if (chunkLength < batchSize) break;
      }
      const view = new RecordBatchView(chunk.subarray(at, at + batchSize));
      if (view.validate() !== undefined) break;
      const base = view.baseOffset;
      if (base < next || view.lastOffset - this.baseOffset > RELATIVE_OFFSET_MAX) break;
      this.#indexBatch(offsets, times, view.lastOffset, view.maxTimestamp, position, batchSize);
      onBatch(view.partitionLeaderEpoch, base);
      next = view.lastOffset + 1;
      position += batchSize;
      batchCount++;
    }
    return { validBytes: position, nextOffset: next, batchCount };
  }

  #indexBatch(
    offsets: OffsetIndex,
    times: TimeIndex,
    lastOffset: number,
    maxTimestampMs: number,
    position: number,
    sizeBytes: number,
  ): void {
    if (maxTimestampMs > this.#maxTimestampMs) {
      this.#maxTimestampMs = maxTimestampMs;
      this.#offsetOfMaxTimestamp = lastOffset;
    }
    if (this.#bytesSinceIndexEntry > this.#limits.indexIntervalBytes && !offsets.isFull) {
      offsets.append(lastOffset, position);
      if (!times.isFull) times.maybeAppend(this.#maxTimestampMs, this.#offsetOfMaxTimestamp);
      this.#bytesSinceIndexEntry = 0;
    }
    this.#bytesSinceIndexEntry += sizeBytes;
  }

  // ---- aborted transactions --------------------------------------------------------------

  async abortedTransactions(): Promise<readonly AbortedTransaction[]> {
    if (!this.#txns) {
      const bytes = await readFileFully(this.#env.fs, this.path(TXN_INDEX_SUFFIX));
      this.#txns = bytes ? decodeAbortedTransactions(bytes) : [];
    }
    return this.#txns;
  }

  async appendAbortedTransaction(txn: AbortedTransaction): Promise<void> {
    const txns = [...(await this.abortedTransactions()), txn];
    this.#txns = txns;
    const fs = this.#env.fs;
    const fd = await fs.open(this.path(TXN_INDEX_SUFFIX), 'create');
    try {
      await fs.write(fd, encodeAbortedTransactions([txn]), (txns.length - 1) * 34);
    } finally {
      await fs.close(fd);
    }
  }

  async #truncateTxns(offset: number): Promise<void> {
    const txns = await this.abortedTransactions();
    const kept = txns.filter((t) => t.lastOffset < offset);
    if (kept.length === txns.length) return;
    this.#txns = kept;
    const fs = this.#env.fs;
    const fd = await fs.open(this.path(TXN_INDEX_SUFFIX), 'create');
    try {
      await fs.truncate(fd, kept.length * 34);
    } finally {
      await fs.close(fd);
    }
  }

  /** Drops aborted-transaction entries at or past `offset` (after truncation/recovery). */
  truncateTransactions(offset: number): Promise<void> {
    return this.#truncateTxns(offset);
  }

  // ---- renames, close, delete ----------------------------------------------------------

  /** Renames every file of the segment to the `transit` suffix ('' = a live segment). */
  async renameTransit(transit: string): Promise<void> {
    const fs = this.#env.fs;
    const from = this.#transit;
    for (const suffix of [LOG_SUFFIX, OFFSET_INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX]) {
      const source = this.path(suffix);
      this.#transit = transit;
      const target = this.path(suffix);
      this.#transit = from;
      if (suffix === LOG_SUFFIX || (await fs.stat(source))) await fs.rename(source, target);
    }
    this.#transit = transit;
    this.#log.path = this.path(LOG_SUFFIX);
  }

  /** Closes descriptors (the active segment writes its indexes first). */
  async close(): Promise<void> {
    if (this.#active && !this.#deleted) await this.writeIndexes();
    this.#env.indexCache.forget(this);
    await this.#env.handles.closeIfIdle(this.#log);
  }

  /**
   * Renames the files to `.deleted` (the caller fsyncs the directory), then unlinks them:
   * the indexes at once, the `.log` after the last reader's pin is released.
   */
  async delete(): Promise<void> {
    if (this.#deleted) return;
    this.#deleted = true;
    this.#active = false;
    this.#env.indexCache.forget(this);
    await this.renameTransit(DELETED_SUFFIX);
    for (const suffix of [OFFSET_INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX]) {
      await unlinkIfExists(this.#env.fs, this.path(suffix));
    }
    this.#env.handles.retire(this.#log, true);
  }

  /** Closes and unlinks every file now (a `.cleaned` segment abandoned by its cleaner). */
  async discard(): Promise<void> {
    this.#deleted = true;
    this.#active = false;
    this.#env.indexCache.forget(this);
    for (const suffix of [OFFSET_INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX]) {
      await unlinkIfExists(this.#env.fs, this.path(suffix));
    }
    this.#env.handles.retire(this.#log, true);
  }

  /** Lets go of descriptors without writing anything (the directory is being removed). */
  discardHandles(): void {
    this.#deleted = true;
    this.#active = false;
    this.#env.indexCache.forget(this);
    this.#env.handles.retire(this.#log, false);
  }
}
