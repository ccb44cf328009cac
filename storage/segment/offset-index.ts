/**
 * The sparse offset index of one segment (`<base>.index`), Kafka's format:
 *
 *   entry (8 bytes, big-endian): int32 relativeOffset (offset - baseOffset), int32 position
 *
 * An entry maps the last offset of a batch to the byte position where that batch starts in
 * the `.log`. One is added when more than `index.interval.bytes` (default 4096) were appended
 * since the previous entry: a lookup then scans at most about 4 KiB of batch headers, and the
 * index stays about 1/500 of the log (8 bytes per 4 KiB), small enough to keep in memory.
 *
 * Invariants: offsets and positions strictly increase; relative offsets fit in int32 (the
 * segment rolls before they would not); every position is a batch start below the log size.
 *
 * Crash behaviour: not checksummed. The active segment's index lives in memory and is written
 * whole when the segment rolls or closes (then fsynced); after an unclean shutdown recovery
 * rebuilds the index of every segment it scans, and a loaded index that fails `fromBytes`'
 * checks is rebuilt from the log.
 *
 * Capacity: `segment.index.bytes` (default 10 MiB, 1,310,720 entries) bounds an index; a full
 * index rolls the segment. Memory grows by doubling from a small start, so an idle partition
 * costs a few hundred bytes, not 10 MiB.
 */
import assert from 'node:assert';

export const OFFSET_INDEX_ENTRY_BYTES = 8;
const INITIAL_ENTRIES = 16;
/** 8 KiB of entries: two pages, the part of an index that tail lookups touch. */
const WARM_ENTRIES = 1024;

export interface OffsetPosition {
  readonly offset: number;
  readonly position: number;
}

export class OffsetIndex {
  readonly baseOffset: number;
  readonly entriesMax: number;
  #buf: Buffer;
  /** The same bytes through a DataView: big-endian reads V8 inlines (lookups are hot). */
  #view: DataView;
  #count = 0;

  constructor(baseOffset: number, indexBytesMax: number) {
    this.baseOffset = baseOffset;
    this.entriesMax = Math.max(1, Math.floor(indexBytesMax / OFFSET_INDEX_ENTRY_BYTES));
    this.#buf = Buffer.alloc(Math.min(this.entriesMax, INITIAL_ENTRIES) * OFFSET_INDEX_ENTRY_BYTES);
    this.#view = viewOf(this.#buf);
  }

  /**
   * An index from file bytes; undefined when they break an invariant (the caller rebuilds).
   * `logSizeBytes` bounds positions.
   */
  static fromBytes(
    baseOffset: number,
    indexBytesMax: number,
    bytes: Buffer,
    logSizeBytes: number,
  ): OffsetIndex | undefined {
    if (bytes.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return undefined;
    const count = bytes.length / OFFSET_INDEX_ENTRY_BYTES;
    let previousRelative = -1;
    let previousPosition = -1;
    for (let i = 0; i < count; i++) {
      const relative = bytes.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES);
      const position = bytes.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES + 4);
      if (relative <= previousRelative || position <= previousPosition) return undefined;
      if (position >= logSizeBytes) return undefined;
      previousRelative = relative;
      previousPosition = position;
    }
    const index = new OffsetIndex(baseOffset, Math.max(indexBytesMax, bytes.length));
    // Buffer.alloc, not Buffer.from: small Buffer.from copies are slices of a shared 8 KiB
    // pool, and one long-lived slice per partition would keep a whole pool alive.
    index.#buf = Buffer.alloc(bytes.length);
    bytes.copy(index.#buf);
    index.#view = viewOf(index.#buf);
    index.#count = count;
    return index;
  }

  get entryCount(): number {
    return this.#count;
  }

  get isFull(): boolean {
    return this.#count >= this.entriesMax;
  }

  /** Bytes held in memory (what the index cache budgets). */
  get memoryBytes(): number {
    return this.#buf.length;
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.#view.getInt32(i * OFFSET_INDEX_ENTRY_BYTES);
  }

  positionAt(i: number): number {
    return this.#view.getInt32(i * OFFSET_INDEX_ENTRY_BYTES + 4);
  }

  get lastEntry(): OffsetPosition | undefined {
    if (this.#count === 0) return undefined;
    return { offset: this.offsetAt(this.#count - 1), position: this.positionAt(this.#count - 1) };
  }

  append(offset: number, position: number): void {
    assert(!this.isFull, 'append to a full offset index');
    const relative = offset - this.baseOffset;
    assert(relative >= 0 && relative <= 0x7fff_ffff, `relative offset out of range: ${relative}`);
    const last = this.lastEntry;
    assert(!last || (offset > last.offset && position > last.position), 'index must increase');
    const at = this.#count * OFFSET_INDEX_ENTRY_BYTES;
    if (at + OFFSET_INDEX_ENTRY_BYTES > this.#buf.length) this.#grow();
    this.#buf.writeInt32BE(relative, at);
    this.#buf.writeInt32BE(position, at + 4);
    this.#count++;
  }

  #grow(): void {
    const entries = Math.min(this.entriesMax, Math.max(INITIAL_ENTRIES, this.#count * 2));
    const grown = Buffer.alloc(entries * OFFSET_INDEX_ENTRY_BYTES);
    this.#buf.copy(grown, 0, 0, this.#count * OFFSET_INDEX_ENTRY_BYTES);
    this.#buf = grown;
    this.#view = viewOf(grown);
  }

  /** Largest entry with offset <= target; the segment start when there is none. */
  lookup(targetOffset: number): OffsetPosition {
    const i = this.#floor(targetOffset - this.baseOffset, 0);
    if (i < 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.offsetAt(i), position: this.positionAt(i) };
  }

  /**
   * The indexed position just before the largest one <= `position`: a batch start from which
   * a walk sees the whole batch that ends at or before `position`. 0 when there is none.
   */
  positionBeforeFloor(position: number): number {
    const i = this.#floor(position, 4);
    return i < 1 ? 0 : this.positionAt(i - 1);
  }

  /** Index of the last entry whose field at `fieldAt` is <= value, or -1. */
  #floor(value: number, fieldAt: number): number {
    let lo = 0;
    let hi = this.#count - 1;
    // Kafka's warm section: most lookups are near the end (consumers at the tail), so the
    // last 8 KiB of entries are searched alone when they can hold the answer; those pages
    // stay in the CPU cache while the cold start of a large index does not.
    const warm = this.#count - WARM_ENTRIES;
    if (warm > 0 && this.#view.getInt32(warm * OFFSET_INDEX_ENTRY_BYTES + fieldAt) <= value) {
      lo = warm;
    }
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#view.getInt32(mid * OFFSET_INDEX_ENTRY_BYTES + fieldAt) <= value) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Drops every entry with offset >= `offset`. */
  truncateToOffset(offset: number): void {
    this.#count = this.#floor(offset - this.baseOffset - 1, 0) + 1;
  }

  /** The entries as file bytes (a view; copy before mutating the index further). */
  toBytes(): Buffer {
    return this.#buf.subarray(0, this.#count * OFFSET_INDEX_ENTRY_BYTES);
  }
}

function viewOf(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}
