import { describe, expect, test } from 'vitest';
import { type FileRegion, isFileRegion } from '../../../../protocol/wire/file-region.ts';
import { Reader } from '../../../../protocol/wire/reader.ts';
import { Writer } from '../../../../protocol/wire/writer.ts';

function region(length: number): FileRegion & { released: number } {
  return {
    kind: 'file-region',
    fd: 42,
    position: 4096,
    length,
    released: 0,
    release() {
      this.released++;
    },
  };
}

describe('primitives', () => {
  test('every fixed-width primitive writes big-endian bytes', () => {
    const w = new Writer(4);
    w.int8(-1);
    w.int16(-2);
    w.uint16(65535);
    w.int32(-3);
    w.uint32(4294967295);
    w.int64(-2);
    w.int64(Number.MAX_SAFE_INTEGER);
    w.float64(1.5);
    w.bool(true);
    w.bool(false);
    expect(w.finish().toString('hex')).toBe(
      [
        'ff',
        'fffe',
        'ffff',
        'fffffffd',
        'ffffffff',
        'fffffffffffffffe',
        '001fffffffffffff',
        '3ff8000000000000',
        '01',
        '00',
      ].join(''),
    );
    expect(w.length).toBe(1 + 2 + 2 + 4 + 4 + 8 + 8 + 8 + 1 + 1);
  });

  test('strings, bytes and their nullable and compact forms', () => {
    const w = new Writer(2);
    w.string('hi');
    w.nullableString(null);
    w.compactString('é');
    w.compactNullableString(null);
    w.bytes(Buffer.from([1]));
    w.nullableBytes(null);
    w.compactBytes(Buffer.alloc(0));
    w.compactNullableBytes(null);
    w.arrayLength(-1);
    w.compactArrayLength(-1);
    w.compactArrayLength(300);
    expect(w.finish().toString('hex')).toBe(
      '00026869' +
        'ffff' +
        '03c3a9' +
        '00' +
        '0000000101' +
        'ffffffff' +
        '01' +
        '00' +
        'ffffffff' +
        '00' +
        'ad02',
    );
  });

  test('values a field cannot hold are our bug: they throw', () => {
    const w = new Writer();
    expect(() => w.int64(2 ** 53)).toThrow();
    expect(() => w.int8(128)).toThrow();
    expect(() => w.uuid('not-a-uuid')).toThrow();
    expect(() => w.unsignedVarint(-1)).toThrow();
    expect(() => w.varint(2 ** 31)).toThrow();
    expect(() => w.string('x'.repeat(0x8000))).toThrow();
  });
});

describe('chunks', () => {
  test('large bytes and records become their own chunk, not a copy', () => {
    const big = Buffer.alloc(Writer.largeChunkBytes, 7);
    const w = new Writer();
    w.int32(1);
    w.bytes(big);
    w.int16(2);
    w.records(big);
    const chunks = w.chunks();
    expect(chunks).toHaveLength(4);
    expect(chunks[1]).toBe(big);
    expect(chunks[3]).toBe(big);
    expect(w.length).toBe(4 + 4 + big.length + 2 + 4 + big.length);
    const all = w.finish();
    const r = new Reader(all);
    expect([r.int32(), r.bytes().equals(big), r.int16(), r.records()?.equals(big)]).toEqual([
      1,
      true,
      2,
      true,
    ]);
  });

  test('small bytes are copied into the scratch buffer', () => {
    const small = Buffer.alloc(Writer.largeChunkBytes - 1, 3);
    const w = new Writer();
    w.bytes(small);
    const chunks = w.chunks();
    expect(chunks).not.toContain(small);
    expect(w.finish().subarray(4).equals(small)).toBe(true);
  });

  test('a FileRegion is a chunk of its own with its length prefix before it', () => {
    const file = region(10_000);
    const w = new Writer();
    w.records(file);
    w.compactRecords(file);
    w.int8(1);
    const chunks = w.chunks();
    expect(chunks.map((c) => (isFileRegion(c) ? 'region' : c.toString('hex')))).toEqual([
      '00002710',
      'region',
      '914e',
      'region',
      '01',
    ]);
    expect(w.length).toBe(4 + 10_000 + 2 + 10_000 + 1);
    expect(() => w.finish()).toThrow(/FileRegion/);
    expect(file.released).toBe(0);
  });

  test('a reserved int32 stays patchable when the scratch buffer fills and is replaced', () => {
    const w = new Writer(8);
    const slot = w.reserveInt32();
    for (let i = 0; i < 1000; i++) w.int32(i);
    w.patchInt32(slot, w.length - 4);
    const r = new Reader(w.finish());
    expect(r.int32()).toBe(4000);
    for (let i = 0; i < 1000; i++) expect(r.int32()).toBe(i);
  });

  test('append carries another writer, sharing its large chunks', () => {
    const big = Buffer.alloc(Writer.largeChunkBytes + 1);
    const inner = new Writer();
    inner.int16(5);
    inner.raw(big);
    const outer = new Writer();
    outer.int8(1);
    outer.append(inner);
    expect(outer.length).toBe(1 + 2 + big.length);
    expect(outer.chunks()).toContain(big);
  });

  test('unknown tagged fields are written below a tag limit, in order', () => {
    const fields = [
      { tag: 1, data: Buffer.from([0xaa]) },
      { tag: 5, data: Buffer.from([]) },
    ];
    const w = new Writer();
    expect(w.unknownTaggedFields(fields, 0, 3)).toBe(1);
    expect(w.unknownTaggedFields(fields, 1, Number.POSITIVE_INFINITY)).toBe(2);
    expect(w.finish().toString('hex')).toBe('0101aa' + '0500');
  });
});
