/**
 * Builds an encoded message as a list of chunks, so big payloads are never copied.
 *
 * Small fields go into a scratch Buffer. `records`, bytes of at least `largeChunkBytes`, and
 * FileRegions become chunks of their own, referenced rather than copied. The scratch Buffer is
 * never reallocated in place: when it fills, its bytes become a chunk and a fresh one starts,
 * so a slot reserved with `reserveInt32` stays valid until it is patched.
 */

import assert from 'node:assert';
import { type FileRegion, isFileRegion, type RecordsData } from './file-region.ts';
import type { TaggedField } from './tagged-field.ts';

export type Chunk = Buffer | FileRegion;

/** A reserved int32 (a frame size, say) to be filled in once the bytes after it are known. */
export interface Int32Slot {
  readonly buf: Buffer;
  readonly offset: number;
}

const TWO_POW_32 = 0x1_0000_0000;
const SCRATCH_BYTES_MAX = 64 * 1024;
const UUID_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/;

export class Writer {
  /** Byte arrays at least this long are referenced as their own chunk instead of copied. */
  static readonly largeChunkBytes = 4096;

  readonly #chunks: Chunk[] = [];
  #chunkedBytes = 0;
  #buf: Buffer;
  #start = 0;
  #pos = 0;

  constructor(initialBytes = 256) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Total bytes written so far, chunks included. */
  get length(): number {
    return this.#chunkedBytes + this.#pos - this.#start;
  }

  #flushScratch(): void {
    if (this.#pos > this.#start) {
      this.#chunks.push(this.#buf.subarray(this.#start, this.#pos));
      this.#chunkedBytes += this.#pos - this.#start;
    }
    this.#start = this.#pos;
  }

  #room(n: number): number {
    if (this.#pos + n > this.#buf.length) {
      this.#flushScratch();
      const size = Math.max(n, Math.min(this.#buf.length * 2, SCRATCH_BYTES_MAX));
      this.#buf = Buffer.allocUnsafe(size);
      this.#start = 0;
      this.#pos = 0;
    }
    const at = this.#pos;
    this.#pos = at + n;
    return at;
  }

  /** The chunks in order (Buffers and FileRegions); the writer can keep appending after. */
  chunks(): Chunk[] {
    this.#flushScratch();
    return this.#chunks.slice();
  }

  /** Everything as one Buffer (for small messages and tests); FileRegions cannot be joined. */
  finish(): Buffer {
    if (this.#chunks.length === 0) return this.#buf.subarray(this.#start, this.#pos);
    this.#flushScratch();
    const buffers = this.#chunks.map((chunk) => {
      assert(!isFileRegion(chunk), 'Writer.finish() cannot join a FileRegion; use chunks()');
      return chunk;
    });
    return Buffer.concat(buffers as Buffer[], this.#chunkedBytes);
  }

  int8(value: number): void {
    const at = this.#room(1);
    this.#buf.writeInt8(value, at);
  }

  int16(value: number): void {
    const at = this.#room(2);
    this.#buf.writeInt16BE(value, at);
  }

  uint16(value: number): void {
    const at = this.#room(2);
    this.#buf.writeUInt16BE(value, at);
  }

  int32(value: number): void {
    const at = this.#room(4);
    this.#buf.writeInt32BE(value, at);
  }

  uint32(value: number): void {
    const at = this.#room(4);
    this.#buf.writeUInt32BE(value, at);
  }

  int64(value: number): void {
    assert(Number.isSafeInteger(value), `int64 value ${value} is not a safe integer`);
    const high = Math.floor(value / TWO_POW_32);
    const at = this.#room(8);
    this.#buf.writeInt32BE(high, at);
    this.#buf.writeUInt32BE(value - high * TWO_POW_32, at + 4);
  }

  float64(value: number): void {
    const at = this.#room(8);
    this.#buf.writeDoubleBE(value, at);
  }

  bool(value: boolean): void {
    const at = this.#room(1);
    this.#buf[at] = value ? 1 : 0;
  }

  unsignedVarint(value: number): void {
    assert(value >= 0 && value <= 0xffff_ffff && Number.isInteger(value), 'uvarint range');
    if (value < 0x80) {
      const at = this.#room(1);
      this.#buf[at] = value;
      return;
    }
    const size = value < 0x4000 ? 2 : value < 0x20_0000 ? 3 : value < 0x1000_0000 ? 4 : 5;
    let at = this.#room(size);
    const buf = this.#buf;
    while (value >= 0x80) {
      buf[at++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    buf[at] = value;
  }

  varint(value: number): void {
    assert(value === (value | 0), `varint value ${value} is not an int32`);
    this.unsignedVarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  varlong(value: number): void {
    assert(Number.isSafeInteger(value), `varlong value ${value} is not a safe integer`);
    if (value >= -0x4000_0000 && value < 0x4000_0000) {
      this.unsignedVarint(((value << 1) ^ (value >> 31)) >>> 0);
      return;
    }
    const big = BigInt(value);
    let u = big >= 0n ? big << 1n : (-big << 1n) - 1n;
    while (u >= 0x80n) {
      const at = this.#room(1);
      this.#buf[at] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    const at = this.#room(1);
    this.#buf[at] = Number(u);
  }

  uuid(value: string): void {
    assert(UUID_PATTERN.test(value), `uuid ${JSON.stringify(value)} is not 22 base64url chars`);
    const at = this.#room(16);
    this.#buf.write(value, at, 16, 'base64url');
  }

  #text(value: string, length: number): void {
    if (length > 0) {
      const at = this.#room(length);
      this.#buf.write(value, at, length, 'utf8');
    }
  }

  string(value: string): void {
    const length = Buffer.byteLength(value, 'utf8');
    assert(length <= 0x7fff, 'string longer than int16 allows');
    this.int16(length);
    this.#text(value, length);
  }

  nullableString(value: string | null): void {
    if (value === null) this.int16(-1);
    else this.string(value);
  }

  compactString(value: string): void {
    const length = Buffer.byteLength(value, 'utf8');
    assert(length <= 0x7fff, 'string longer than Kafka allows');
    this.unsignedVarint(length + 1);
    this.#text(value, length);
  }

  compactNullableString(value: string | null): void {
    if (value === null) this.unsignedVarint(0);
    else this.compactString(value);
  }

  /** Raw bytes with no length prefix; large ones are referenced, not copied. */
  raw(value: Buffer): void {
    if (value.length >= Writer.largeChunkBytes) {
      this.#flushScratch();
      this.#chunks.push(value);
      this.#chunkedBytes += value.length;
      return;
    }
    if (value.length > 0) {
      const at = this.#room(value.length);
      value.copy(this.#buf, at);
    }
  }

  #region(region: FileRegion): void {
    this.#flushScratch();
    this.#chunks.push(region);
    this.#chunkedBytes += region.length;
  }

  bytes(value: Buffer): void {
    this.int32(value.length);
    this.raw(value);
  }

  nullableBytes(value: Buffer | null): void {
    if (value === null) this.int32(-1);
    else this.bytes(value);
  }

  compactBytes(value: Buffer): void {
    this.unsignedVarint(value.length + 1);
    this.raw(value);
  }

  compactNullableBytes(value: Buffer | null): void {
    if (value === null) this.unsignedVarint(0);
    else this.compactBytes(value);
  }

  records(value: RecordsData | null): void {
    if (value === null) this.int32(-1);
    else if (isFileRegion(value)) {
      this.int32(value.length);
      this.#region(value);
    } else this.bytes(value);
  }

  compactRecords(value: RecordsData | null): void {
    if (value === null) this.unsignedVarint(0);
    else if (isFileRegion(value)) {
      this.unsignedVarint(value.length + 1);
      this.#region(value);
    } else this.compactBytes(value);
  }

  /** An int32 element count; -1 writes a null array. */
  arrayLength(count: number): void {
    this.int32(count);
  }

  /** An element count as unsigned varint count + 1; -1 writes a null array (0). */
  compactArrayLength(count: number): void {
    this.unsignedVarint(count + 1);
  }

  /** Writes `other`'s bytes after ours; its large chunks are shared, not copied. */
  append(other: Writer): void {
    for (const chunk of other.chunks()) {
      if (isFileRegion(chunk)) this.#region(chunk);
      else this.raw(chunk);
    }
  }

  /**
   * Writes the unknown tagged fields in `fields` from index `from` whose tag is below
   * `tagLimit`, so unknown and known tags go out in ascending order; returns the next index.
   */
  unknownTaggedFields(fields: readonly TaggedField[], from: number, tagLimit: number): number {
    let i = from;
    for (; i < fields.length; i++) {
      const field = fields[i] as TaggedField;
      if (field.tag >= tagLimit) break;
      this.unsignedVarint(field.tag);
      this.unsignedVarint(field.data.length);
      this.raw(field.data);
    }
    return i;
  }

  reserveInt32(): Int32Slot {
    const offset = this.#room(4);
    return { buf: this.#buf, offset };
  }

  patchInt32(slot: Int32Slot, value: number): void {
    slot.buf.writeInt32BE(value, slot.offset);
  }
}
