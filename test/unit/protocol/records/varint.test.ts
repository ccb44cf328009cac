import { describe, expect, test } from 'vitest';
import { RecordFormatError } from '../../../../protocol/records/record-error.ts';
import {
  ByteCursor,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from '../../../../protocol/records/varint.ts';

function varintBytes(value: number): string {
  const buf = Buffer.alloc(5);
  const end = writeVarint(buf, 0, value);
  expect(end).toBe(sizeOfVarint(value));
  return buf.subarray(0, end).toString('hex');
}

function varlongBytes(value: number): string {
  const buf = Buffer.alloc(10);
  const end = writeVarlong(buf, 0, value);
  expect(end).toBe(sizeOfVarlong(value));
  return buf.subarray(0, end).toString('hex');
}

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RecordFormatError);
    return (error as RecordFormatError).code;
  }
  throw new Error('expected a RecordFormatError');
}

describe('zigzag varint', () => {
  test('encodes as protobuf sint32 does', () => {
    expect(varintBytes(0)).toBe('00');
    expect(varintBytes(-1)).toBe('01');
    expect(varintBytes(1)).toBe('02');
    expect(varintBytes(63)).toBe('7e');
    expect(varintBytes(-64)).toBe('7f');
    expect(varintBytes(64)).toBe('8001');
    expect(varintBytes(2147483647)).toBe('feffffff0f');
    expect(varintBytes(-2147483648)).toBe('ffffffff0f');
  });

  test('round-trips the int32 edges', () => {
    for (const value of [0, 1, -1, 127, -128, 8191, -8192, 2 ** 31 - 1, -(2 ** 31)]) {
      const buf = Buffer.alloc(5);
      const end = writeVarint(buf, 0, value);
      const cursor = new ByteCursor(buf, 0, end);
      expect(cursor.varint()).toBe(value);
      expect(cursor.remaining).toBe(0);
    }
  });

  test('rejects a sixth byte and a truncated varint', () => {
    expect(problem(() => new ByteCursor(Buffer.from('ffffffffff01', 'hex')).varint())).toBe(
      'bad-varint',
    );
    expect(problem(() => new ByteCursor(Buffer.from('ff', 'hex')).varint())).toBe('truncated');
    expect(problem(() => new ByteCursor(Buffer.alloc(0)).varint())).toBe('truncated');
  });
});

describe('zigzag varlong', () => {
  test('encodes as protobuf sint64 does', () => {
    expect(varlongBytes(0)).toBe('00');
    expect(varlongBytes(-1)).toBe('01');
    expect(varlongBytes(300)).toBe('d804');
    // A millisecond timestamp: zigzag 3_527_600_000_000, checked against Python's encoding.
    expect(varlongBytes(1_763_800_000_000)).toBe('8098e1aad566');
  });

  test('round-trips values up to +-2^52', () => {
    const values = [0, 1, -1, 2 ** 31, -(2 ** 31) - 1, 1_763_800_000_000, 2 ** 52 - 1, -(2 ** 52)];
    for (const value of values) {
      const buf = Buffer.alloc(10);
      const end = writeVarlong(buf, 0, value);
      expect(new ByteCursor(buf, 0, end).varlong()).toBe(value);
    }
  });

  test('rejects values beyond 2^53, eleven bytes, and truncation', () => {
    // zigzag raw 2^63 - 1: far beyond the exact range.
    const huge = Buffer.from('ffffffffffffffff7f', 'hex');
    expect(problem(() => new ByteCursor(huge).varlong())).toBe('bad-varint');
    const long = Buffer.from('ffffffffffffffffffff01', 'hex');
    expect(problem(() => new ByteCursor(long).varlong())).toBe('bad-varint');
    expect(problem(() => new ByteCursor(Buffer.from('8080', 'hex')).varlong())).toBe('truncated');
  });
});

describe('nullable bytes', () => {
  test('reads -1 as null, a length as a view, and rejects other negatives', () => {
    const buf = Buffer.from('01' + '06616263' + '03', 'hex');
    const cursor = new ByteCursor(buf);
    expect(cursor.nullableBytes('key')).toBeNull();
    const bytes = cursor.nullableBytes('key');
    expect(bytes?.toString()).toBe('abc');
    expect(bytes?.buffer).toBe(buf.buffer);
    expect(problem(() => cursor.nullableBytes('key'))).toBe('bad-length');
  });

  test('rejects a length past the end before reading', () => {
    const cursor = new ByteCursor(Buffer.from('0861', 'hex'));
    expect(problem(() => cursor.nullableBytes('value'))).toBe('truncated');
  });
});
