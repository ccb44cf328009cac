/**
 * A CleanableLog held in memory, for testing the cleaners' decisions and output on their own.
 * It checks the seam's rules as the cleaners use it: replaced runs are contiguous and never
 * include the active segment, cleaned batches come in increasing offset order and stay below
 * the next kept segment, and the active segment's bytes never change.
 */
import assert from 'node:assert';
import { RecordBatchView } from '../../../../protocol/records/batch.ts';
import type {
  CleanableLog,
  CleanableSegment,
  CleanedSegmentWriter,
} from '../../../../storage/cleaner/cleanable-log.ts';

export class MemorySegment implements CleanableSegment {
  readonly baseOffset: number;
  readonly batches: Buffer[];
  modifiedMs: number;

  constructor(baseOffset: number, batches: Buffer[] = [], modifiedMs = 0) {
    this.baseOffset = baseOffset;
    this.batches = batches;
    this.modifiedMs = modifiedMs;
  }

  get sizeBytes(): number {
    return this.batches.reduce((n, b) => n + b.length, 0);
  }

  get largestTimestampMs(): number {
    let largest = -1;
    for (const b of this.batches) largest = Math.max(largest, new RecordBatchView(b).maxTimestamp);
    return largest >= 0 ? largest : this.modifiedMs;
  }

  async *readBatches(): AsyncGenerator<Buffer> {
    // A copy per batch, as a read from a file would give: the cleaner must not rely on
    // sharing memory with the log.
    for (const b of [...this.batches]) yield Buffer.from(b);
  }
}

class MemoryCleanedWriter implements CleanedSegmentWriter {
  readonly baseOffset: number;
  readonly batches: Buffer[] = [];
  aborted = false;
  #nextOffset: number;

  constructor(baseOffset: number) {
    this.baseOffset = baseOffset;
    this.#nextOffset = baseOffset;
  }

  get sizeBytes(): number {
    return this.batches.reduce((n, b) => n + b.length, 0);
  }

  async append(batch: Buffer): Promise<void> {
    assert(!this.aborted);
    const view = new RecordBatchView(batch);
    assert.equal(view.validate(), undefined, 'a cleaned batch must be valid');
    assert(view.baseOffset >= this.#nextOffset, 'cleaned batches in increasing offset order');
    this.#nextOffset = view.lastOffset + 1;
    this.batches.push(Buffer.from(batch));
  }

  async abort(): Promise<void> {
    this.aborted = true;
  }
}

export class MemoryCleanableLog implements CleanableLog {
  readonly name = 'memory-0';
  segmentList: MemorySegment[] = [new MemorySegment(0)];
  logStartOffset = 0;
  logEndOffset = 0;
  /** Follows the log end unless a test holds it back. */
  highWatermarkOverride: number | undefined;
  firstUnstableOffset: number | undefined;
  checkpoint: number | undefined;
  deletions = 0;
  replacements = 0;
  abortedWriters = 0;
  /** The next replaceSegments fails with this error code, before changing anything. */
  failNextReplace: string | undefined;

  get highWatermark(): number {
    return this.highWatermarkOverride ?? this.logEndOffset;
  }

  get active(): MemorySegment {
    return this.segmentList[this.segmentList.length - 1] as MemorySegment;
  }

  /** Appends a batch at the log end (its baseOffset rewritten, as produce does). */
  append(batch: Buffer, nowMs = 0): RecordBatchView {
    const copy = Buffer.from(batch);
    const view = new RecordBatchView(copy);
    view.baseOffset = this.logEndOffset;
    this.active.batches.push(copy);
    this.active.modifiedMs = nowMs;
    this.logEndOffset = view.lastOffset + 1;
    return view;
  }

  roll(nowMs = 0): void {
    this.segmentList.push(new MemorySegment(this.logEndOffset, [], nowMs));
  }

  segments(): readonly MemorySegment[] {
    return this.segmentList;
  }

  allBatches(): Buffer[] {
    return this.segmentList.flatMap((s) => s.batches);
  }

  async producerLastOffsets(): Promise<ReadonlyMap<number, number>> {
    const last = new Map<number, number>();
    for (const batch of this.allBatches()) {
      const view = new RecordBatchView(batch);
      if (view.producerId >= 0 && !view.isControl) last.set(view.producerId, view.lastOffset);
    }
    return last;
  }

  async deleteOldestSegments(count: number): Promise<number> {
    assert(count > 0 && count < this.segmentList.length, 'never the active segment');
    this.segmentList = this.segmentList.slice(count);
    const first = this.segmentList[0] as MemorySegment;
    this.logStartOffset = Math.max(this.logStartOffset, first.baseOffset);
    this.deletions += count;
    return count;
  }

  async createCleanedSegment(baseOffset: number): Promise<CleanedSegmentWriter> {
    const writer = new MemoryCleanedWriter(baseOffset);
    const abort = writer.abort.bind(writer);
    writer.abort = async () => {
      this.abortedWriters++;
      await abort();
    };
    return writer;
  }

  async replaceSegments(
    replaced: readonly CleanableSegment[],
    cleaned: CleanedSegmentWriter,
  ): Promise<void> {
    assert(cleaned instanceof MemoryCleanedWriter && !cleaned.aborted);
    if (this.failNextReplace !== undefined) {
      const code = this.failNextReplace;
      this.failNextReplace = undefined;
      throw Object.assign(new Error(`replace refused: ${code}`), { code });
    }
    const first = this.segmentList.indexOf(replaced[0] as MemorySegment);
    assert(first >= 0, 'replaced segments belong to the log');
    for (const [i, s] of replaced.entries()) {
      assert.equal(this.segmentList[first + i], s, 'contiguous run');
    }
    const after = first + replaced.length;
    assert(after < this.segmentList.length, 'the active segment is never replaced');
    assert.equal(cleaned.baseOffset, (replaced[0] as MemorySegment).baseOffset);
    const next = this.segmentList[after] as MemorySegment;
    for (const b of cleaned.batches) assert(new RecordBatchView(b).lastOffset < next.baseOffset);
    const merged = new MemorySegment(cleaned.baseOffset, cleaned.batches, 0);
    this.segmentList.splice(first, replaced.length, merged);
    this.replacements++;
  }

  cleanerCheckpoint(): number | undefined {
    return this.checkpoint;
  }

  async writeCleanerCheckpoint(offset: number): Promise<void> {
    this.checkpoint = offset;
  }
}
