import { describe, expect, test } from 'vitest';
import { ProtocolDecodeError } from '../../../../protocol/wire/decode-error.ts';
import { Reader } from '../../../../protocol/wire/reader.ts';
import { Writer } from '../../../../protocol/wire/writer.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function written(fn: (w: Writer) => void): Buffer {
  const w = new Writer(8);
  fn(w);
  return w.finish();
}

describe('fixed-width integers', () => {
  test('int8/int16/int32 at their limits', () => {
    const r = new Reader(hex('80 7f 8000 7fff 80000000 7fffffff ff'));
    expect([r.int8(), r.int8(), r.int16(), r.int16(), r.int32(), r.int32(), r.int8()]).toEqual([
      -128, 127, -32768, 32767, -2147483648, 2147483647, -1,
    ]);
    expect(r.error).toBeUndefined();
  });

  test('uint16 and uint32 are unsigned', () => {
    const r = new Reader(hex('ffff ffffffff'));
    expect([r.uint16(), r.uint32()]).toEqual([65535, 4294967295]);
  });

  test('int64 reads the safe range exactly', () => {
    const r = new Reader(
      hex('001fffffffffffff ffe0000000000001 ffffffffffffffff 0000000100000000'),
    );
    expect([r.int64(), r.int64(), r.int64(), r.int64()]).toEqual([
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      -1,
      2 ** 32,
    ]);
    expect(r.ok).toBe(true);
  });

  test('int64 beyond 2^53 - 1 is a decode error, never a rounded number', () => {
    for (const bytes of [
      '0020000000000000',
      'ffe0000000000000',
      '7fffffffffffffff',
      '8000000000000000',
    ]) {
      const r = new Reader(hex(bytes));
      expect(r.int64()).toBe(0);
      expect(r.error).toBeInstanceOf(ProtocolDecodeError);
      expect(r.error?.code).toBe('ERR_PROTOCOL_DECODE');
    }
  });

  test('float64 and bool (any non-zero byte is true)', () => {
    const r = new Reader(hex('3ff8000000000000 00 01 02'));
    expect([r.float64(), r.bool(), r.bool(), r.bool()]).toEqual([1.5, false, true, true]);
  });
});

describe('varints', () => {
  test('unsigned varint known encodings', () => {
    const cases: [string, number][] = [
      ['00', 0],
      ['7f', 127],
      ['8001', 128],
      ['ff7f', 16383],
      ['808001', 16384],
      ['ffffffff0f', 4294967295],
    ];
    for (const [bytes, value] of cases) {
      const r = new Reader(hex(bytes));
      expect(r.unsignedVarint(), bytes).toBe(value);
      expect(r.remaining).toBe(0);
      expect(written((w) => w.unsignedVarint(value)).toString('hex')).toBe(bytes);
    }
  });

  test('unsigned varint longer than 32 bits or truncated fails', () => {
    for (const bytes of ['ffffffff10', 'ffffffffff01', '80', 'ff ff']) {
      const r = new Reader(hex(bytes));
      expect(r.unsignedVarint()).toBe(0);
      expect(r.error, bytes).toBeInstanceOf(ProtocolDecodeError);
    }
  });

  test('zigzag varint at the int32 limits', () => {
    const cases: [string, number][] = [
      ['00', 0],
      ['01', -1],
      ['02', 1],
      ['7f', -64],
      ['8001', 64],
      ['feffffff0f', 2147483647],
      ['ffffffff0f', -2147483648],
    ];
    for (const [bytes, value] of cases) {
      expect(new Reader(hex(bytes)).varint(), bytes).toBe(value);
      expect(written((w) => w.varint(value)).toString('hex')).toBe(bytes);
    }
  });

  test('zigzag varlong round-trips across the safe range', () => {
    const values = [
      0,
      -1,
      1,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 40 + 3,
      -(2 ** 50),
      2 ** 53 - 1,
      -(2 ** 53) + 1,
    ];
    for (const value of values) {
      const bytes = written((w) => w.varlong(value));
      const r = new Reader(bytes);
      expect(r.varlong(), String(value)).toBe(value);
      expect(r.remaining).toBe(0);
    }
    expect(written((w) => w.varlong(-1)).toString('hex')).toBe('01');
    expect(written((w) => w.varlong(2 ** 53 - 1)).toString('hex')).toBe('feffffffffffff1f');
  });

  test('varlong beyond the safe range or longer than 10 bytes fails', () => {
    // zigzag(2^53) = 2^54, zigzag(-2^53) = 2^54 - 1, and longer encodings
    for (const bytes of [
      '8080808080808020',
      'ffffffffffffff1f',
      'ffffffffffffffffff01',
      'ffffffffffffffffffff01',
    ]) {
      const r = new Reader(hex(bytes));
      expect(r.varlong()).toBe(0);
      expect(r.error, bytes).toBeInstanceOf(ProtocolDecodeError);
    }
  });
});

describe('uuid, strings and bytes', () => {
  test('uuid is Kafka base64url form', () => {
    const r = new Reader(Buffer.alloc(16));
    expect(r.uuid()).toBe('AAAAAAAAAAAAAAAAAAAAAA');
    const bytes = hex('f9c1e0a2b4c34d5e8f70112233445566');
    const text = new Reader(bytes).uuid();
    expect(text).toHaveLength(22);
    expect(written((w) => w.uuid(text)).equals(bytes)).toBe(true);
  });

  test('string, nullable string and their compact forms', () => {
    const r = new Reader(hex('0002 6869 ffff 03 c3a9 00 01'));
    expect(r.string()).toBe('hi');
    expect(r.nullableString()).toBeNull();
    expect(r.compactString()).toBe('é');
    expect(r.compactNullableString()).toBeNull();
    expect(r.compactString()).toBe('');
    expect(r.ok).toBe(true);
  });

  test('null where a value is required, a negative length, or a long length fails', () => {
    const cases: [string, (r: Reader) => unknown][] = [
      ['ffff', (r) => r.string()],
      ['fffe', (r) => r.nullableString()],
      ['00', (r) => r.compactString()],
      ['0005 6869', (r) => r.string()],
      ['05 6869', (r) => r.compactNullableString()],
      ['ffffffff', (r) => r.bytes()],
      ['fffffffe', (r) => r.nullableBytes()],
      ['7fffffff', (r) => r.bytes()],
    ];
    for (const [bytes, read] of cases) {
      const r = new Reader(hex(bytes));
      read(r);
      expect(r.error, bytes).toBeInstanceOf(ProtocolDecodeError);
    }
  });

  test('a compact string longer than 32767 bytes fails even when the bytes are there', () => {
    const fits = new Reader(Buffer.concat([hex('808002'), Buffer.alloc(0x7fff, 0x61)]));
    expect(fits.compactString()).toHaveLength(0x7fff);
    const long = new Reader(Buffer.concat([hex('818002'), Buffer.alloc(0x8000, 0x61)]));
    expect(long.compactString()).toBe('');
    expect(long.error?.message).toMatch(/exceeds 32767/);
  });

  test('bytes and records are zero-copy views of the input', () => {
    const input = hex('00000003 aabbcc 04 010203 ffffffff 00');
    const r = new Reader(input);
    const bytes = r.bytes();
    const compact = r.compactBytes();
    expect(bytes.toString('hex')).toBe('aabbcc');
    expect(bytes.buffer).toBe(input.buffer);
    expect(bytes.byteOffset).toBe(input.byteOffset + 4);
    expect(compact.buffer).toBe(input.buffer);
    expect(r.records()).toBeNull();
    expect(r.compactRecords()).toBeNull();
    expect(r.ok).toBe(true);
  });
});

describe('array lengths', () => {
  test('-1 and compact 0 are null; counts are checked against the bytes left', () => {
    expect(new Reader(hex('ffffffff')).arrayLength()).toBe(-1);
    expect(new Reader(hex('00')).compactArrayLength()).toBe(-1);
    expect(new Reader(hex('00000002 0000')).arrayLength()).toBe(2);
    expect(new Reader(hex('03 0000')).compactArrayLength()).toBe(2);
    for (const [bytes, compact] of [
      ['fffffffe', false],
      ['00000003 0000', false],
      ['7fffffff', false],
      ['04 0000', true],
      ['ffffffff0f', true],
    ] as const) {
      const r = new Reader(hex(bytes));
      expect(compact ? r.compactArrayLength() : r.arrayLength()).toBe(0);
      expect(r.error, bytes).toBeInstanceOf(ProtocolDecodeError);
    }
  });
});

describe('sticky errors', () => {
  test('after the first failure every read returns a default and the error stays the first', () => {
    const r = new Reader(hex('0001 02'));
    expect(r.int32()).toBe(0);
    const first = r.error;
    expect(first?.message).toMatch(/int32: needs 4 bytes, 3 left at byte 0/);
    expect(r.int8()).toBe(0);
    expect(r.string()).toBe('');
    expect(r.nullableBytes()).toEqual(Buffer.alloc(0));
    expect(r.uuid()).toBe('AAAAAAAAAAAAAAAAAAAAAA');
    expect(r.bool()).toBe(false);
    expect(r.arrayLength()).toBe(0);
    expect(r.error).toBe(first);
    expect(r.ok).toBe(false);
  });

  test('tagged field bounds: size beyond the input and size mismatches fail', () => {
    const r = new Reader(hex('0102'));
    r.taggedFieldEnd(3);
    expect(r.error).toBeInstanceOf(ProtocolDecodeError);
    const r2 = new Reader(hex('00000001'));
    const end = r2.taggedFieldEnd(4);
    r2.int16();
    r2.expectTaggedFieldEnd(end, 7);
    expect(r2.error?.message).toMatch(/tagged field 7: size mismatch/);
    const r3 = new Reader(hex('05 00'));
    expect(r3.taggedFieldCount()).toBe(0);
    expect(r3.error).toBeInstanceOf(ProtocolDecodeError);
  });

  test('a reader over a window does not read past its end', () => {
    const r = new Reader(hex('00000001 00000002'), 0, 6);
    expect(r.int32()).toBe(1);
    expect(r.int32()).toBe(0);
    expect(r.error).toBeInstanceOf(ProtocolDecodeError);
  });
});
