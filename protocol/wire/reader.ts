/**
 * A sticky-error, bounds-checked reader of Kafka's wire primitives over one Buffer.
 *
 * After the first short or malformed read every read returns a default (0, '', an empty
 * Buffer, null) and `error` holds the first failure, so generated decoders read straight
 * through and check once at the end. Every length or count is checked against the bytes left
 * BEFORE anything is allocated: a hostile length can never make us allocate more than the
 * input's size. `bytes` and `records` are zero-copy views of the input.
 */

import { ProtocolDecodeError } from './decode-error.ts';
import type { TaggedField } from './tagged-field.ts';

const EMPTY = Buffer.alloc(0);
const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_28 = 0x1000_0000;
/** Kafka rejects strings longer than an int16 length allows, compact ones included. */
const STRING_BYTES_MAX = 0x7fff;

export class Reader {
  readonly #buf: Buffer;
  readonly #end: number;
  #offset: number;
  error: ProtocolDecodeError | undefined = undefined;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    this.#buf = buf;
    this.#offset = offset;
    this.#end = end;
  }

  get ok(): boolean {
    return this.error === undefined;
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#end - this.#offset;
  }

  /** Records the first failure and moves to the end so every later read fails fast. */
  fail(message: string, at = this.#offset): void {
    if (this.error === undefined) this.error = new ProtocolDecodeError(message, at);
    this.#offset = this.#end;
  }

  /** Advances past `n` bytes if they exist; returns the start offset, or -1 after failing. */
  #take(n: number, what: string): number {
    const start = this.#offset;
    if (n > this.#end - start) {
      if (this.error === undefined) this.fail(`${what}: needs ${n} bytes, ${this.remaining} left`);
      return -1;
    }
    this.#offset = start + n;
    return start;
  }

  int8(): number {
    const at = this.#take(1, 'int8');
    return at < 0 ? 0 : this.#buf.readInt8(at);
  }

  int16(): number {
    const at = this.#take(2, 'int16');
    return at < 0 ? 0 : this.#buf.readInt16BE(at);
  }

  uint16(): number {
    const at = this.#take(2, 'uint16');
    return at < 0 ? 0 : this.#buf.readUInt16BE(at);
  }

  int32(): number {
    const at = this.#take(4, 'int32');
    return at < 0 ? 0 : this.#buf.readInt32BE(at);
  }

  uint32(): number {
    const at = this.#take(4, 'uint32');
    return at < 0 ? 0 : this.#buf.readUInt32BE(at);
  }

  /** int64 as a number; values beyond +-(2^53 - 1) are a decode failure, never rounded. */
  int64(): number {
    const at = this.#take(8, 'int64');
    if (at < 0) return 0;
    const value = this.#buf.readInt32BE(at) * TWO_POW_32 + this.#buf.readUInt32BE(at + 4);
    if (!Number.isSafeInteger(value)) {
      this.fail('int64 beyond the safe integer range', at);
      return 0;
    }
    return value;
  }

  float64(): number {
    const at = this.#take(8, 'float64');
    return at < 0 ? 0 : this.#buf.readDoubleBE(at);
  }

  /** Any non-zero byte is true, as Kafka reads it. */
  bool(): boolean {
    const at = this.#take(1, 'bool');
    return at < 0 ? false : this.#buf[at] !== 0;
  }

  /** An unsigned LEB128 of at most 5 bytes holding a uint32. */
  unsignedVarint(): number {
    const start = this.#offset;
    if (start < this.#end) {
      const first = this.#buf[start] as number;
      if (first < 0x80) {
        this.#offset = start + 1;
        return first;
      }
    }
    let value = 0;
    for (let i = 0; i < 5; i++) {
      if (this.#offset >= this.#end) {
        this.fail('unsigned varint: truncated', start);
        return 0;
      }
      const b = this.#buf[this.#offset++] as number;
      if (i === 4 && b > 0x0f) break;
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return value;
    }
    this.fail('unsigned varint: longer than 32 bits', start);
    return 0;
  }

  /** A zigzag varint holding an int32. */
  varint(): number {
    const u = this.unsignedVarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** A zigzag varlong; values beyond the safe integer range are a decode failure. */
  varlong(): number {
    const start = this.#offset;
    let low = 0; // bits 0..27
    let high = 0; // bits 28.., kept separately so no intermediate loses precision
    for (let i = 0; i < 10; i++) {
      if (this.#offset >= this.#end) {
        this.fail('varlong: truncated', start);
        return 0;
      }
      const b = this.#buf[this.#offset++] as number;
      if (i < 4) low += (b & 0x7f) * 2 ** (7 * i);
      else high += (b & 0x7f) * 2 ** (7 * (i - 4));
      if ((b & 0x80) !== 0) continue;
      if (high >= 2 ** 27) break; // 2^55 and above cannot be a safe integer after zigzag
      const magnitude = high * (TWO_POW_28 / 2) + Math.floor(low / 2);
      const value = (low & 1) === 0 ? magnitude : -magnitude - 1;
      if (Number.isSafeInteger(value)) return value;
      break;
    }
    this.fail('varlong beyond the safe integer range', start);
    return 0;
  }

  /** 16 bytes as Kafka prints a Uuid: base64url without padding (22 characters). */
  uuid(): string {
    const at = this.#take(16, 'uuid');
    return at < 0 ? 'AAAAAAAAAAAAAAAAAAAAAA' : this.#buf.toString('base64url', at, at + 16);
  }

  #text(length: number, what: string): string {
    if (length > STRING_BYTES_MAX) {
      this.fail(`${what}: length ${length} exceeds ${STRING_BYTES_MAX}`);
      return '';
    }
    const at = this.#take(length, what);
    return at < 0 ? '' : this.#buf.toString('utf8', at, at + length);
  }

  string(): string {
    const at = this.#offset;
    const length = this.int16();
    if (length < 0) {
      this.fail('string: null where a value is required', at);
      return '';
    }
    return this.#text(length, 'string');
  }

  nullableString(): string | null {
    const at = this.#offset;
    const length = this.int16();
    if (length < -1) this.fail('string: negative length', at);
    if (length < 0) return null;
    return this.#text(length, 'string');
  }

  compactString(): string {
    const at = this.#offset;
    const length = this.unsignedVarint() - 1;
    if (length < 0) {
      if (this.ok) this.fail('compact string: null where a value is required', at);
      return '';
    }
    return this.#text(length, 'compact string');
  }

  compactNullableString(): string | null {
    const length = this.unsignedVarint() - 1;
    if (length < 0) return null;
    return this.#text(length, 'compact string');
  }

  /** `length` raw bytes as a zero-copy view. */
  raw(length: number, what = 'bytes'): Buffer {
    const at = this.#take(length, what);
    return at < 0 ? EMPTY : this.#buf.subarray(at, at + length);
  }

  bytes(): Buffer {
    const at = this.#offset;
    const length = this.int32();
    if (length < 0) {
      if (this.ok) this.fail('bytes: null where a value is required', at);
      return EMPTY;
    }
    return this.raw(length);
  }

  nullableBytes(): Buffer | null {
    const at = this.#offset;
    const length = this.int32();
    if (length < -1) this.fail('bytes: negative length', at);
    if (length < 0) return this.ok ? null : EMPTY;
    return this.raw(length);
  }

  compactBytes(): Buffer {
    const at = this.#offset;
    const length = this.unsignedVarint() - 1;
    if (length < 0) {
      if (this.ok) this.fail('compact bytes: null where a value is required', at);
      return EMPTY;
    }
    return this.raw(length);
  }

  compactNullableBytes(): Buffer | null {
    const length = this.unsignedVarint() - 1;
    if (length < 0) return this.ok ? null : EMPTY;
    return this.raw(length);
  }

  /** A `records` field: nullable bytes, left opaque (a record batch is never decoded here). */
  records(): Buffer | null {
    return this.nullableBytes();
  }

  compactRecords(): Buffer | null {
    return this.compactNullableBytes();
  }

  #count(count: number, at: number, what: string): number {
    // Each element takes at least one byte, so a count beyond the bytes left is a lie that
    // must be caught before the decoder allocates an array for it.
    if (count > this.#end - this.#offset) {
      this.fail(`${what}: ${count} elements but ${this.remaining} bytes left`, at);
      return 0;
    }
    return count;
  }

  /** An int32 element count; -1 is null (returned as -1), other negatives fail. */
  arrayLength(): number {
    const at = this.#offset;
    const count = this.int32();
    if (count === -1) return -1;
    if (count < -1) {
      this.fail('array: negative length', at);
      return 0;
    }
    return this.#count(count, at, 'array');
  }

  /** An unsigned varint element count + 1; 0 is null (returned as -1). */
  compactArrayLength(): number {
    const at = this.#offset;
    const count = this.unsignedVarint() - 1;
    if (count === -1) return this.ok ? -1 : 0;
    return this.#count(count, at, 'compact array');
  }

  /** The number of tagged fields that follow (each takes at least two bytes). */
  taggedFieldCount(): number {
    const at = this.#offset;
    return this.#count(this.unsignedVarint(), at, 'tagged fields');
  }

  /** Checks a tagged field's size against the bytes left; returns where the field ends. */
  taggedFieldEnd(size: number): number {
    if (size > this.remaining) {
      this.fail(`tagged field: size ${size} but ${this.remaining} bytes left`);
      return this.#offset;
    }
    return this.#offset + size;
  }

  /** Fails unless a known tagged field's value used exactly the size its header declared. */
  expectTaggedFieldEnd(end: number, tag: number): void {
    if (this.ok && this.#offset !== end) this.fail(`tagged field ${tag}: size mismatch`);
  }

  /** An unknown tagged field's bytes, kept verbatim (zero-copy). */
  unknownTaggedField(tag: number, size: number): TaggedField {
    return { tag, data: this.raw(size, 'tagged field') };
  }

  /** Reports a required value that was encoded as null (e.g. a non-nullable array). */
  failNull(field: string): void {
    this.fail(`${field}: null where a value is required`);
  }
}
