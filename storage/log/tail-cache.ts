/**
 * The last batches appended to a log, kept in memory so that consumers and followers that
 * read what was just written (the common case: they poll at the log end) are served without
 * touching the file.
 *
 * Holds the appended Buffers themselves (no copy; PartitionLog owns them once appended),
 * newest last, at most `bytesMax` per log and at most the shared `TailCacheBudget` across all
 * logs: when the budget is spent a log keeps nothing new until others shrink. It covers only
 * the active segment (cleared on roll) so that a read from the cache returns exactly what a
 * read from the file would: whole batches of one segment.
 */

export interface CachedBatch {
  readonly buf: Buffer;
  readonly baseOffset: number;
  readonly lastOffset: number;
}

/** Bytes held by all tail caches of a broker, against one bound. */
export class TailCacheBudget {
  readonly bytesMax: number;
  bytes = 0;

  constructor(bytesMax: number) {
    this.bytesMax = bytesMax;
  }
}

export class TailCache {
  readonly bytesMax: number;
  #budget: TailCacheBudget;
  #batches: CachedBatch[] = [];
  #head = 0;
  #bytes = 0;

  constructor(bytesMax: number, budget: TailCacheBudget) {
    this.bytesMax = bytesMax;
    this.#budget = budget;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The first cached offset, or undefined when empty. */
  get firstOffset(): number | undefined {
    return this.#batches[this.#head]?.baseOffset;
  }

  /** Adds a batch that continues the cached run (its offsets follow the last one's). */
  add(batch: CachedBatch): void {
    const size = batch.buf.length;
    if (size > this.bytesMax) {
      this.clear();
      return;
    }
    while (this.#bytes + size > this.bytesMax) this.#dropOldest();
    while (this.#budget.bytes + size > this.#budget.bytesMax && this.#head < this.#batches.length) {
      this.#dropOldest();
    }
    if (this.#budget.bytes + size > this.#budget.bytesMax) {
      // Nothing older may stay either: the cache must be one contiguous run up to the end.
      this.clear();
      return;
    }
    this.#batches.push(batch);
    this.#bytes += size;
    this.#budget.bytes += size;
  }

  #dropOldest(): void {
    const oldest = this.#batches[this.#head];
    if (!oldest) return;
    this.#head++;
    this.#bytes -= oldest.buf.length;
    this.#budget.bytes -= oldest.buf.length;
    if (this.#head > 64 && this.#head * 2 > this.#batches.length) {
      this.#batches = this.#batches.slice(this.#head);
      this.#head = 0;
    }
  }

  clear(): void {
    this.#budget.bytes -= this.#bytes;
    this.#bytes = 0;
    this.#batches = [];
    this.#head = 0;
  }

  /**
   * Whole batches from the one containing `offset`, while the total stays <= `bytesMax` (the
   * first batch always) and each batch ends before `maxOffset`. undefined when `offset` is
   * not in the cache (the caller reads the file).
   */
  read(offset: number, bytesMax: number, maxOffset: number): Buffer[] | undefined {
    const first = this.firstOffset;
    if (first === undefined || offset < first) return undefined;
    let i = this.#find(offset);
    if (i < 0) return undefined;
    const out: Buffer[] = [];
    let total = 0;
    for (; i < this.#batches.length; i++) {
      const batch = this.#batches[i] as CachedBatch;
      if (batch.lastOffset >= maxOffset) break;
      if (out.length > 0 && total + batch.buf.length > bytesMax) break;
      out.push(batch.buf);
      total += batch.buf.length;
    }
    return out;
  }

  /** Index of the first batch with lastOffset >= offset, or -1. */
  #find(offset: number): number {
    let lo = this.#head;
    let hi = this.#batches.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#batches[mid] as CachedBatch).lastOffset >= offset) {
        found = mid;
        hi = mid - 1;
      } else lo = mid + 1;
    }
    return found;
  }
}
