/**
 * The sparse time index of one segment (`<base>.timeindex`), Kafka's format:
 *
 *   entry (12 bytes, big-endian): int64 timestamp (ms), int32 relativeOffset
 *
 * An entry says "every record with a timestamp <= `timestamp` sits at or before
 * `baseOffset + relativeOffset`": it holds the largest timestamp seen so far in the segment
 * and the last offset of the batch that carried it. Entries are added on the same 4 KiB
 * interval as the offset index, only when the timestamp grew, so timestamps and offsets
 * strictly increase; a final entry is written when the segment rolls so the last entry is
 * the segment's largest timestamp (what time-based retention reads).
 *
 * Crash behaviour and capacity: as the offset index (offset-index.ts): memory while active,
 * written whole on roll/close, rebuilt by recovery; `segment.index.bytes / 12` entries max.
 */
import assert from 'node:assert';

export const TIME_INDEX_ENTRY_BYTES = 12;
const INITIAL_ENTRIES = 16;

export interface TimestampOffset {
  readonly timestampMs: number;
  readonly offset: number;
}

export class TimeIndex {
  readonly baseOffset: number;
  readonly entriesMax: number;
  #buf: Buffer;
  #count = 0;

  constructor(baseOffset: number, indexBytesMax: number) {
    this.baseOffset = baseOffset;
    this.entriesMax = Math.max(1, Math.floor(indexBytesMax / TIME_INDEX_ENTRY_BYTES));
    this.#buf = Buffer.alloc(Math.min(this.entriesMax, INITIAL_ENTRIES) * TIME_INDEX_ENTRY_BYTES);
  }

  /** An index from file bytes; undefined when an invariant fails (the caller rebuilds). */
  static fromBytes(
    baseOffset: number,
    indexBytesMax: number,
    bytes: Buffer,
  ): TimeIndex | undefined {
    if (bytes.length % TIME_INDEX_ENTRY_BYTES !== 0) return undefined;
    const count = bytes.length / TIME_INDEX_ENTRY_BYTES;
    let previousTs = Number.NEGATIVE_INFINITY;
    let previousRelative = -1;
    for (let i = 0; i < count; i++) {
      const ts = Number(bytes.readBigInt64BE(i * TIME_INDEX_ENTRY_BYTES));
      const relative = bytes.readInt32BE(i * TIME_INDEX_ENTRY_BYTES + 8);
      if (ts <= previousTs || relative < previousRelative) return undefined;
      previousTs = ts;
      previousRelative = relative;
    }
    const index = new TimeIndex(baseOffset, Math.max(indexBytesMax, bytes.length));
    // Buffer.alloc, not Buffer.from: small Buffer.from copies are slices of a shared 8 KiB
    // pool, and one long-lived slice per partition would keep a whole pool alive.
    index.#buf = Buffer.alloc(bytes.length);
    bytes.copy(index.#buf);
    index.#count = count;
    return index;
  }

  get entryCount(): number {
    return this.#count;
  }

  get isFull(): boolean {
    return this.#count >= this.entriesMax;
  }

  get memoryBytes(): number {
    return this.#buf.length;
  }

  timestampAt(i: number): number {
    return Number(this.#buf.readBigInt64BE(i * TIME_INDEX_ENTRY_BYTES));
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.#buf.readInt32BE(i * TIME_INDEX_ENTRY_BYTES + 8);
  }

  get lastEntry(): TimestampOffset | undefined {
    if (this.#count === 0) return undefined;
    return {
      timestampMs: this.timestampAt(this.#count - 1),
      offset: this.offsetAt(this.#count - 1),
    };
  }

  /**
   * Appends when `timestampMs` is larger than the last entry's; ignores it otherwise (a time
   * index only moves forward). A repeat of the last offset replaces nothing and is ignored.
   */
  maybeAppend(timestampMs: number, offset: number): void {
    const last = this.lastEntry;
    if (last && (timestampMs <= last.timestampMs || offset <= last.offset)) return;
    assert(!this.isFull, 'append to a full time index');
    const relative = offset - this.baseOffset;
    assert(relative >= 0 && relative <= 0x7fff_ffff, `relative offset out of range: ${relative}`);
    const at = this.#count * TIME_INDEX_ENTRY_BYTES;
    if (at + TIME_INDEX_ENTRY_BYTES > this.#buf.length) this.#grow();
    this.#buf.writeBigInt64BE(BigInt(timestampMs), at);
    this.#buf.writeInt32BE(relative, at + 8);
    this.#count++;
  }

  #grow(): void {
    const entries = Math.min(this.entriesMax, Math.max(INITIAL_ENTRIES, this.#count * 2));
    const grown = Buffer.alloc(entries * TIME_INDEX_ENTRY_BYTES);
    this.#buf.copy(grown, 0, 0, this.#count * TIME_INDEX_ENTRY_BYTES);
    this.#buf = grown;
  }

  /**
   * The offset to start scanning from for the first record with timestamp >= target: the
   * offset of the last entry with timestamp < target (all records up to it are older),
   * or the segment base when there is none.
   */
  lookup(targetMs: number): number {
    let lo = 0;
    let hi = this.#count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestampAt(mid) < targetMs) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? this.baseOffset : this.offsetAt(found);
  }

  /** Drops every entry with offset >= `offset`. */
  truncateToOffset(offset: number): void {
    while (this.#count > 0 && this.offsetAt(this.#count - 1) >= offset) this.#count--;
  }

  toBytes(): Buffer {
    return this.#buf.subarray(0, this.#count * TIME_INDEX_ENTRY_BYTES);
  }
}
