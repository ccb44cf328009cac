/**
 * PartitionLog (storage/log/partition-log.ts) seen through the cleaners' seam, CleanableLog.
 *
 * PartitionLog's cleaner API carries the crash-safe work (`.cleaned` -> `.swap` replacement,
 * `.deleted` retention, both completed or undone on open); this adapter adds what the cleaners
 * need on top of it:
 * - Reading a segment batch by batch: `readSegmentBatches` returns whole batches in chunks of
 *   about READ_CHUNK_BYTES, split here with iterateBatches (headers only, nothing decoded).
 * - Writing a cleaned segment in chunks of WRITE_CHUNK_BYTES rather than one write per batch.
 * - Producer state: the last data batch of each producer, found by a scan of batch headers
 *   over every segment (PartitionLog keeps no producer table yet; when it does, that table
 *   should answer instead of the scan, which costs one extra read of the log per cleaning).
 * - The cleaner checkpoint, kept by a CleanerCheckpointStore: FileCleanerCheckpoints writes
 *   Kafka's `cleaner-offset-checkpoint` in a log dir (same text format and atomic replace as
 *   the other checkpoint files); MemoryCleanerCheckpoints forgets on restart, after which the
 *   first cleaning treats the whole log as dirty (correct, only more work).
 * - One adapter per log (`CleanableLogs.of`), so what the LogCleaner remembers about a log
 *   (uncleanable) sticks to it across rounds.
 * - A segment without any timestamp reports -1 from PartitionLog; Kafka would use the file's
 *   modification time. Here such a segment is never old enough for retention.ms (it still
 *   counts for retention.bytes): keeping data is the safe side of not knowing its age.
 */
import { iterateBatches, RecordBatchView } from '../../protocol/records/batch.ts';
import type { FileSystem } from '../io/file-system.ts';
import {
  type OffsetMap as CheckpointEntries,
  readOffsetCheckpoint,
  writeOffsetCheckpoint,
} from '../log/offset-checkpoint.ts';
import type { CleanedSegment, PartitionLog, SegmentInfo } from '../log/partition-log.ts';
import type { CleanableLog, CleanableSegment, CleanedSegmentWriter } from './cleanable-log.ts';

/** 1 MiB reads: sequential-read speed without holding much memory per cleaning. */
export const READ_CHUNK_BYTES = 1024 * 1024;
/** Cleaned batches are written in runs of about this size. */
export const WRITE_CHUNK_BYTES = 1024 * 1024;

export interface CleanerCheckpointStore {
  get(log: PartitionLog): number | undefined;
  set(log: PartitionLog, offset: number): Promise<void>;
}

/** Checkpoints in memory, lost on restart (see the header). */
export class MemoryCleanerCheckpoints implements CleanerCheckpointStore {
  readonly #offsets = new WeakMap<PartitionLog, number>();
  get(log: PartitionLog): number | undefined {
    return this.#offsets.get(log);
  }
  async set(log: PartitionLog, offset: number): Promise<void> {
    this.#offsets.set(log, offset);
  }
}

export const CLEANER_OFFSET_CHECKPOINT = 'cleaner-offset-checkpoint';

/**
 * `<logDir>/cleaner-offset-checkpoint` for the logs of one log dir. Every `set` rewrites the
 * file atomically (one write per cleaning, as Kafka); writes are queued so they never race.
 */
export class FileCleanerCheckpoints implements CleanerCheckpointStore {
  readonly #fs: FileSystem;
  readonly #logDir: string;
  readonly #entries: CheckpointEntries;
  #writing: Promise<void> = Promise.resolve();

  private constructor(fs: FileSystem, logDir: string, entries: CheckpointEntries) {
    this.#fs = fs;
    this.#logDir = logDir;
    this.#entries = entries;
  }

  static async open(fs: FileSystem, logDir: string): Promise<FileCleanerCheckpoints> {
    const entries = await readOffsetCheckpoint(fs, logDir, CLEANER_OFFSET_CHECKPOINT);
    return new FileCleanerCheckpoints(fs, logDir, entries);
  }

  get(log: PartitionLog): number | undefined {
    return this.#entries.get(`${log.topic}-${log.partition}`)?.offset;
  }

  set(log: PartitionLog, offset: number): Promise<void> {
    const { topic, partition } = log;
    this.#entries.set(`${topic}-${partition}`, { topic, partition, offset });
    return this.#write();
  }

  /** Drops a deleted partition's entry. */
  forget(topic: string, partition: number): Promise<void> {
    this.#entries.delete(`${topic}-${partition}`);
    return this.#write();
  }

  #write(): Promise<void> {
    const entries = new Map(this.#entries);
    const write = this.#writing.then(() =>
      writeOffsetCheckpoint(this.#fs, this.#logDir, CLEANER_OFFSET_CHECKPOINT, entries),
    );
    this.#writing = write.catch(() => undefined);
    return write;
  }
}

async function* segmentBatches(log: PartitionLog, info: SegmentInfo): AsyncGenerator<Buffer> {
  let position = 0;
  while (position < info.sizeBytes) {
    const chunk = await log.readSegmentBatches(info.baseOffset, position, READ_CHUNK_BYTES);
    if (chunk.length === 0) return;
    for (const view of iterateBatches(chunk)) yield view.buf;
    position += chunk.length;
  }
}

class Segment implements CleanableSegment {
  readonly info: SegmentInfo;
  readonly #log: PartitionLog;

  constructor(log: PartitionLog, info: SegmentInfo) {
    this.#log = log;
    this.info = info;
  }
  get baseOffset(): number {
    return this.info.baseOffset;
  }
  get sizeBytes(): number {
    return this.info.sizeBytes;
  }
  get largestTimestampMs(): number {
    const largest = this.info.largestTimestampMs;
    return largest >= 0 ? largest : Number.POSITIVE_INFINITY;
  }
  readBatches(): AsyncIterable<Buffer> {
    return segmentBatches(this.#log, this.info);
  }
}

class Writer implements CleanedSegmentWriter {
  readonly cleaned: CleanedSegment;
  #buffered: Buffer[] = [];
  #bufferedBytes = 0;

  constructor(cleaned: CleanedSegment) {
    this.cleaned = cleaned;
  }
  get baseOffset(): number {
    return this.cleaned.baseOffset;
  }
  get sizeBytes(): number {
    return this.cleaned.sizeBytes + this.#bufferedBytes;
  }
  async append(batch: Buffer): Promise<void> {
    this.#buffered.push(batch);
    this.#bufferedBytes += batch.length;
    if (this.#bufferedBytes >= WRITE_CHUNK_BYTES) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.#buffered.length === 0) return;
    const run = Buffer.concat(this.#buffered, this.#bufferedBytes);
    this.#buffered = [];
    this.#bufferedBytes = 0;
    await this.cleaned.append(run);
  }
  abort(): Promise<void> {
    this.#buffered = [];
    this.#bufferedBytes = 0;
    return this.cleaned.abandon();
  }
}

export class PartitionLogCleanable implements CleanableLog {
  readonly log: PartitionLog;
  readonly #checkpoints: CleanerCheckpointStore;

  constructor(log: PartitionLog, checkpoints: CleanerCheckpointStore) {
    this.log = log;
    this.#checkpoints = checkpoints;
  }

  get name(): string {
    return `${this.log.topic}-${this.log.partition}`;
  }
  get logStartOffset(): number {
    return this.log.logStartOffset;
  }
  get highWatermark(): number {
    return this.log.highWatermark;
  }

  segments(): readonly CleanableSegment[] {
    return this.log.segments().map((info) => new Segment(this.log, info));
  }

  /** Scans every segment's batch headers (see the header for why). */
  async producerLastOffsets(): Promise<ReadonlyMap<number, number>> {
    const last = new Map<number, number>();
    for (const info of this.log.segments()) {
      for await (const batch of segmentBatches(this.log, info)) {
        const view = new RecordBatchView(batch);
        if (view.producerId >= 0 && !view.isControl) last.set(view.producerId, view.lastOffset);
      }
    }
    return last;
  }

  deleteOldestSegments(count: number): Promise<number> {
    return this.log.deleteOldestSegments(count);
  }

  async createCleanedSegment(baseOffset: number): Promise<CleanedSegmentWriter> {
    return new Writer(await this.log.createCleanedSegment(baseOffset));
  }

  async replaceSegments(
    replaced: readonly CleanableSegment[],
    cleaned: CleanedSegmentWriter,
  ): Promise<void> {
    if (!(cleaned instanceof Writer)) throw new TypeError('not a cleaned segment of this log');
    await cleaned.flush();
    await this.log.replaceSegments(
      replaced.map((s) => s.baseOffset),
      cleaned.cleaned,
    );
  }

  cleanerCheckpoint(): number | undefined {
    return this.#checkpoints.get(this.log);
  }

  writeCleanerCheckpoint(offset: number): Promise<void> {
    return this.#checkpoints.set(this.log, offset);
  }
}

/** One PartitionLogCleanable per PartitionLog, made on first use. */
export class CleanableLogs {
  readonly #checkpoints: CleanerCheckpointStore;
  readonly #byLog = new WeakMap<PartitionLog, PartitionLogCleanable>();

  constructor(checkpoints: CleanerCheckpointStore) {
    this.#checkpoints = checkpoints;
  }

  of(log: PartitionLog): PartitionLogCleanable {
    let cleanable = this.#byLog.get(log);
    if (!cleanable) {
      cleanable = new PartitionLogCleanable(log, this.#checkpoints);
      this.#byLog.set(log, cleanable);
    }
    return cleanable;
  }
}
