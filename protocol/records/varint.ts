/**
 * Zigzag varints as RecordBatch v2 records use them (protobuf encoding): varint is an int32 in
 * at most 5 bytes, varlong an int64 in at most 10. Reads are bounds-checked and throw
 * RecordFormatError; a varlong is returned as a number and rejected beyond 2^53 (timestamps
 * and deltas never get near it; a hostile one would otherwise lose precision silently).
 */
import { RecordFormatError } from './record-error.ts';

const VARINT_BYTES_MAX = 5;
const VARLONG_BYTES_MAX = 10;

/** A read position over `buf[pos, end)`. Fields are public so hot loops avoid getters. */
export class ByteCursor {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  int8(): number {
    if (this.pos >= this.end) throw truncated('int8');
    const b = this.buf[this.pos++] as number;
    return (b << 24) >> 24;
  }

  varint(): number {
    const buf = this.buf;
    let raw = 0;
    let shift = 0;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      if (this.pos >= this.end) throw truncated('varint');
      const b = buf[this.pos++] as number;
      raw |= (b & 0x7f) << shift;
      if (b < 0x80) return (raw >>> 1) ^ -(raw & 1);
      shift += 7;
    }
    throw new RecordFormatError('bad-varint', `varint longer than ${VARINT_BYTES_MAX} bytes`);
  }

  varlong(): number {
    const buf = this.buf;
    let raw = 0;
    let scale = 1;
    for (let i = 0; i < VARLONG_BYTES_MAX; i++) {
      if (this.pos >= this.end) throw truncated('varlong');
      const b = buf[this.pos++] as number;
      raw += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (raw > Number.MAX_SAFE_INTEGER) {
          throw new RecordFormatError('bad-varint', 'varlong beyond the exact integer range');
        }
        return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      }
      scale *= 128;
    }
    throw new RecordFormatError('bad-varint', `varlong longer than ${VARLONG_BYTES_MAX} bytes`);
  }

  /** Varint-length-prefixed bytes; -1 is null. Zero-copy. */
  nullableBytes(what: string): Buffer | null {
    const length = this.varint();
    if (length === -1) return null;
    if (length < 0) throw new RecordFormatError('bad-length', `${what} length ${length}`);
    if (length > this.end - this.pos) throw truncated(what);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  /** Skips varint-length-prefixed bytes; returns false when they were null. */
  skipNullableBytes(what: string): boolean {
    const length = this.varint();
    if (length === -1) return false;
    if (length < 0) throw new RecordFormatError('bad-length', `${what} length ${length}`);
    if (length > this.end - this.pos) throw truncated(what);
    this.pos += length;
    return true;
  }
}

function truncated(what: string): RecordFormatError {
  return new RecordFormatError('truncated', `${what} runs past the end of the records`);
}

/** Encoded size of a zigzag varint (int32). */
export function sizeOfVarint(value: number): number {
  let raw = ((value << 1) ^ (value >> 31)) >>> 0;
  let bytes = 1;
  while (raw >= 0x80) {
    raw >>>= 7;
    bytes++;
  }
  return bytes;
}

function zigzagLong(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Encoded size of a zigzag varlong; `value` must lie in [-2^52, 2^52). */
export function sizeOfVarlong(value: number): number {
  let raw = zigzagLong(value);
  let bytes = 1;
  while (raw >= 0x80) {
    raw = Math.floor(raw / 128);
    bytes++;
  }
  return bytes;
}

/** Writes a zigzag varint at `at`; returns the position after it. */
export function writeVarint(buf: Buffer, at: number, value: number): number {
  let raw = ((value << 1) ^ (value >> 31)) >>> 0;
  while (raw >= 0x80) {
    buf[at++] = (raw & 0x7f) | 0x80;
    raw >>>= 7;
  }
  buf[at++] = raw;
  return at;
}

/** Writes a zigzag varlong at `at`; returns the position after it. */
export function writeVarlong(buf: Buffer, at: number, value: number): number {
  let raw = zigzagLong(value);
  while (raw >= 0x80) {
    buf[at++] = (raw % 128) | 0x80;
    raw = Math.floor(raw / 128);
  }
  buf[at++] = raw;
  return at;
}
