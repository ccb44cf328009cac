import { describe, expect, test } from 'vitest';
import {
  BatchOffset,
  Compression,
  type CompressionCodec,
  RecordBatchView,
} from '../../../../protocol/records/batch.ts';
import {
  type BatchInput,
  buildBatch,
  buildEndTxnMarkerBatch,
  type RecordInput,
} from '../../../../protocol/records/batch-builder.ts';
import {
  ControlRecordType,
  parseControlRecordKey,
  parseEndTxnMarker,
} from '../../../../protocol/records/record.ts';
import { RecordFormatError } from '../../../../protocol/records/record-error.ts';
import { iterateRecords, readRecords } from '../../../../protocol/records/record-iterator.ts';

const codecs: readonly CompressionCodec[] = [0, 1, 2, 3, 4];
const LIMIT = { maxDecompressedBytes: 4 << 20 };
const T = 1_763_800_000_000;
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof RecordFormatError)) throw error;
    return error.code;
  }
  throw new Error('expected a RecordFormatError');
}

/** One record of every shape the format allows. */
const shapes: RecordInput[] = [
  { key: utf8('k'), value: utf8('v'), timestamp: T },
  { key: null, value: utf8('null key'), timestamp: T + 1 },
  { key: utf8('tombstone'), value: null, timestamp: T + 2 },
  { key: null, value: null, timestamp: T + 3 },
  { key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: T + 4 },
  {
    key: utf8('headers'),
    value: utf8('h'),
    headers: [
      { key: 'a', value: utf8('1') },
      { key: 'a', value: utf8('2') },
      { key: 'null', value: null },
      { key: 'empty', value: Buffer.alloc(0) },
      { key: utf8('ключ-ü'), value: utf8('значение') },
      { key: '', value: utf8('empty key') },
    ],
    timestamp: T + 5,
  },
  // Earlier than the base timestamp: a negative delta.
  { key: utf8('early'), value: utf8('e'), timestamp: T - 60_000 },
  { key: utf8('big'), value: Buffer.alloc(300_000, 'xyz-'), timestamp: T + 6 },
  {
    key: utf8('binary'),
    value: Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    timestamp: T,
  },
];

function expectSameRecords(batch: Buffer, inputs: readonly RecordInput[]): void {
  const view = new RecordBatchView(batch);
  const records = readRecords(view, LIMIT);
  expect(records).toHaveLength(inputs.length);
  records.forEach((record, i) => {
    const input = inputs[i] as RecordInput;
    expect(record.key).toEqual(input.key);
    expect(record.value).toEqual(input.value);
    expect(record.timestamp).toBe(input.timestamp);
    expect(record.offsetDelta).toBe(input.offsetDelta ?? i);
    expect(record.offset).toBe(view.baseOffset + record.offsetDelta);
    const headers = (input.headers ?? []).map((h) => ({
      key: typeof h.key === 'string' ? utf8(h.key) : h.key,
      value: h.value,
    }));
    expect(record.headers).toEqual(headers);
  });
}

describe('builder and iterator round-trip', () => {
  for (const codec of codecs) {
    test(`every record shape, codec ${codec}`, () => {
      const batch = buildBatch({ records: shapes, compression: codec, baseOffset: 1000 });
      const view = new RecordBatchView(batch);
      expect(view.validate()).toBeUndefined();
      expect(view.compression).toBe(codec);
      expect(view.recordsCount).toBe(shapes.length);
      expect(view.lastOffsetDelta).toBe(shapes.length - 1);
      expect(view.baseTimestamp).toBe(T);
      expect(view.maxTimestamp).toBe(T + 6);
      expectSameRecords(batch, shapes);
    });

    test(`offset gaps and header fields survive, codec ${codec}`, () => {
      const records: RecordInput[] = [
        { key: utf8('a'), value: utf8('1'), timestamp: T, offsetDelta: 0 },
        { key: utf8('b'), value: utf8('2'), timestamp: T + 1, offsetDelta: 3 },
        { key: utf8('c'), value: utf8('3'), timestamp: T + 2, offsetDelta: 7 },
      ];
      const input: BatchInput = {
        records,
        compression: codec,
        baseOffset: 2 ** 40,
        partitionLeaderEpoch: 17,
        producerId: 2 ** 45 + 1,
        producerEpoch: 9,
        baseSequence: 123_456,
        transactional: true,
        lastOffsetDelta: 10,
      };
      const batch = buildBatch(input);
      const view = new RecordBatchView(batch);
      expect(view.validate()).toBeUndefined();
      expect([view.baseOffset, view.partitionLeaderEpoch, view.producerId]).toEqual([
        2 ** 40,
        17,
        2 ** 45 + 1,
      ]);
      expect([view.producerEpoch, view.baseSequence, view.lastOffsetDelta]).toEqual([
        9, 123_456, 10,
      ]);
      expect(view.isTransactional).toBe(true);
      expect(view.lastOffset).toBe(2 ** 40 + 10);
      expectSameRecords(batch, records);
    });
  }

  test('an uncompressed batch is read in place: keys and values are views', () => {
    const batch = buildBatch({ records: shapes.slice(0, 3) });
    const [first] = readRecords(new RecordBatchView(batch), LIMIT);
    expect(first?.key?.buffer).toBe(batch.buffer);
    const sizes = readRecords(new RecordBatchView(batch), LIMIT).reduce(
      (n, r) => n + r.sizeBytes,
      0,
    );
    expect(sizes).toBe(batch.length - BatchOffset.records);
  });

  test('LogAppendTime stamps every record with the batch time', () => {
    const batch = buildBatch({ records: shapes.slice(0, 3), logAppendTimeMs: T + 999 });
    const view = new RecordBatchView(batch);
    expect(view.isLogAppendTime).toBe(true);
    expect(view.maxTimestamp).toBe(T + 999);
    expect(readRecords(view, LIMIT).map((r) => r.timestamp)).toEqual([T + 999, T + 999, T + 999]);
  });

  test('a delete horizon becomes the base timestamp and keeps record times', () => {
    const batch = buildBatch({ records: shapes.slice(0, 2), deleteHorizonMs: T + 86_400_000 });
    const view = new RecordBatchView(batch);
    expect(view.attributes & 0x40).toBe(0x40);
    expect(view.baseTimestamp).toBe(T + 86_400_000);
    expect(readRecords(view, LIMIT).map((r) => r.timestamp)).toEqual([T, T + 1]);
  });

  test('an empty batch keeps its offset span', () => {
    const batch = buildBatch({ records: [], lastOffsetDelta: 4, baseOffset: 50 });
    const view = new RecordBatchView(batch);
    expect(view.validate()).toBeUndefined();
    expect(view.lastOffset).toBe(54);
    expect(readRecords(view, LIMIT)).toEqual([]);
  });
});

describe('control batches', () => {
  for (const commit of [true, false]) {
    test(`${commit ? 'commit' : 'abort'} marker`, () => {
      const batch = buildEndTxnMarkerBatch({
        commit,
        coordinatorEpoch: 7,
        producerId: 31,
        producerEpoch: 2,
        timestamp: T,
        baseOffset: 99,
      });
      const view = new RecordBatchView(batch);
      expect(view.validate()).toBeUndefined();
      expect([view.isControl, view.isTransactional, view.baseSequence]).toEqual([true, true, -1]);
      const [marker] = readRecords(view, LIMIT);
      expect(marker?.offset).toBe(99);
      const key = parseControlRecordKey(marker?.key ?? null);
      expect(key).toEqual({
        version: 0,
        type: commit ? ControlRecordType.commit : ControlRecordType.abort,
      });
      expect(parseEndTxnMarker(marker?.value ?? null)).toEqual({ version: 0, coordinatorEpoch: 7 });
    });
  }

  test('short control keys and marker values are bad-control-record', () => {
    expect(problem(() => parseControlRecordKey(Buffer.from([0, 0, 0])))).toBe('bad-control-record');
    expect(problem(() => parseControlRecordKey(null))).toBe('bad-control-record');
    expect(problem(() => parseEndTxnMarker(Buffer.from([0, 0, 0, 0, 1])))).toBe(
      'bad-control-record',
    );
  });
});

/** Rebuilds an uncompressed batch around hand-written record bytes, with a correct CRC. */
function withRecordBytes(records: Buffer, count: number): RecordBatchView {
  const header = buildBatch({ records: [] });
  const batch = Buffer.concat([header, records]);
  batch.writeInt32BE(batch.length - 12, BatchOffset.batchLength);
  batch.writeInt32BE(count, BatchOffset.recordsCount);
  batch.writeInt32BE(Math.max(0, count - 1), BatchOffset.lastOffsetDelta);
  const view = new RecordBatchView(batch);
  view.updateCrc();
  return view;
}

describe('malformed records raise RecordFormatError', () => {
  // length 6: attributes 0, timestampDelta 0, offsetDelta 0, key null, value null, 0 headers.
  const minimal = Buffer.from('0c000000010100', 'hex');

  test('the minimal record reads', () => {
    const [record] = readRecords(withRecordBytes(minimal, 1), LIMIT);
    expect(record).toMatchObject({ key: null, value: null, headers: [], sizeBytes: 7 });
  });

  const cases: [string, Buffer, number, string][] = [
    ['length prefix too long', Buffer.from('0e00000001010000', 'hex'), 1, 'bad-record-length'],
    ['length prefix too short', Buffer.from('0a000000010100', 'hex'), 1, 'truncated'],
    ['negative record length', Buffer.from('03000000000000', 'hex'), 1, 'bad-length'],
    ['record past the end', Buffer.from('7e000000000000', 'hex'), 1, 'truncated'],
    ['count above records', minimal, 2, 'bad-record-count'],
    ['bytes after the last record', Buffer.concat([minimal, minimal]), 1, 'trailing-bytes'],
    ['negative header count', Buffer.from('0c000000010101', 'hex'), 1, 'bad-length'],
    ['null header key', Buffer.from('10000000010102010100', 'hex'), 1, 'bad-length'],
    ['key length -2', Buffer.from('0c000000030100', 'hex'), 1, 'bad-length'],
  ];
  for (const [name, bytes, count, code] of cases) {
    test(name, () => {
      expect(problem(() => readRecords(withRecordBytes(bytes, count), LIMIT))).toBe(code);
    });
  }

  test('a header count that cannot fit is refused before allocating', () => {
    // header count 2^30 (zigzag 0x80000000 as varint) in a tiny record.
    const record = Buffer.from('10000000010180808080080000', 'hex');
    expect(problem(() => readRecords(withRecordBytes(record, 1), LIMIT))).toMatch(
      /truncated|bad-record-length/,
    );
  });

  test('a short, oversized or wrong-magic batch is refused', () => {
    const good = buildBatch({ records: shapes.slice(0, 1) });
    expect(problem(() => readRecords(new RecordBatchView(good.subarray(0, 40)), LIMIT))).toBe(
      'truncated',
    );
    expect(
      problem(() => readRecords(new RecordBatchView(good.subarray(0, good.length - 1)), LIMIT)),
    ).toBe('truncated');
    const wrongMagic = Buffer.from(good);
    wrongMagic[BatchOffset.magic] = 1;
    expect(problem(() => readRecords(new RecordBatchView(wrongMagic), LIMIT))).toBe('bad-batch');
  });

  test('a compressed batch over maxDecompressedBytes is refused', () => {
    const batch = buildBatch({ records: shapes, compression: Compression.zstd });
    const view = new RecordBatchView(batch);
    expect(problem(() => iterateRecords(view, { maxDecompressedBytes: 100_000 }))).toBe(
      'decompressed-too-large',
    );
  });

  test('unknown codec bits are unsupported-codec', () => {
    const batch = buildBatch({ records: shapes.slice(0, 1) });
    batch.writeInt16BE(6, BatchOffset.attributes);
    expect(problem(() => readRecords(new RecordBatchView(batch), LIMIT))).toBe('unsupported-codec');
  });
});
