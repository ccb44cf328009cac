import { describe, expect, test } from 'vitest';
import {
  BatchOffset,
  type CompressionCodec,
  RecordBatchView,
  setInt64,
} from '../../../../protocol/records/batch.ts';
import { buildBatch, type RecordInput } from '../../../../protocol/records/batch-builder.ts';
import { RecordFormatError } from '../../../../protocol/records/record-error.ts';
import { indexOfFirstNullKey, scanTimestamps } from '../../../../protocol/records/record-scan.ts';

const codecs: readonly CompressionCodec[] = [0, 1, 2, 3, 4];
const LIMIT = { maxDecompressedBytes: 1 << 20 };
const T = 1_763_800_000_000;

function keyed(timestamps: readonly number[], nullKeyAt = -1): RecordInput[] {
  return timestamps.map((timestamp, i) => ({
    key: i === nullKeyAt ? null : Buffer.from(`key-${i}`),
    value: Buffer.from(`value-${i}`),
    headers: [{ key: 'h', value: null }],
    timestamp,
  }));
}

describe('indexOfFirstNullKey', () => {
  for (const codec of codecs) {
    test(`finds the first keyless record, codec ${codec}`, () => {
      const all = buildBatch({ records: keyed([T, T, T, T]), compression: codec });
      expect(indexOfFirstNullKey(new RecordBatchView(all), LIMIT)).toBe(-1);
      const third = buildBatch({ records: keyed([T, T, T, T], 2), compression: codec });
      expect(indexOfFirstNullKey(new RecordBatchView(third), LIMIT)).toBe(2);
    });
  }

  test('an empty key is a key', () => {
    const batch = buildBatch({ records: [{ key: Buffer.alloc(0), value: null, timestamp: T }] });
    expect(indexOfFirstNullKey(new RecordBatchView(batch), LIMIT)).toBe(-1);
  });

  test('checks structure: a record count above the records is an error', () => {
    const batch = buildBatch({ records: keyed([T, T]) });
    batch.writeInt32BE(3, BatchOffset.recordsCount);
    expect(() => indexOfFirstNullKey(new RecordBatchView(batch), LIMIT)).toThrow(RecordFormatError);
  });
});

describe('scanTimestamps', () => {
  // Out of order, with the max (T + 30) reached twice.
  const times = [T + 10, T, T + 30, T + 20, T + 30, T + 5];

  for (const codec of codecs) {
    test(`finds the max and the first record at or after a target, codec ${codec}`, () => {
      const batch = buildBatch({ records: keyed(times), compression: codec, baseOffset: 100 });
      const view = new RecordBatchView(batch);
      const scan = (targetTimestamp?: number) =>
        scanTimestamps(view, { ...LIMIT, targetTimestamp });
      expect(scan()).toEqual({
        maxTimestamp: T + 30,
        offsetOfMaxTimestamp: 102,
        offsetAtOrAfterTarget: -1,
        timestampAtOrAfterTarget: -1,
      });
      expect(scan(T - 1)).toMatchObject({
        offsetAtOrAfterTarget: 100,
        timestampAtOrAfterTarget: T + 10,
      });
      expect(scan(T + 15)).toMatchObject({
        offsetAtOrAfterTarget: 102,
        timestampAtOrAfterTarget: T + 30,
      });
      expect(scan(T + 20)).toMatchObject({ offsetAtOrAfterTarget: 102 });
      expect(scan(T + 31)).toMatchObject({ offsetAtOrAfterTarget: -1 });
    });
  }

  test('finds the true max when the header maxTimestamp is unset (sarama)', () => {
    const batch = buildBatch({ records: keyed(times) });
    setInt64(batch, BatchOffset.maxTimestamp, -1);
    const view = new RecordBatchView(batch);
    view.updateCrc();
    expect(view.maxTimestamp).toBe(-1);
    expect(scanTimestamps(view, LIMIT).maxTimestamp).toBe(T + 30);
  });

  test('a LogAppendTime batch has one time for all records', () => {
    const batch = buildBatch({ records: keyed(times), logAppendTimeMs: T + 500, baseOffset: 7 });
    const scan = scanTimestamps(new RecordBatchView(batch), { ...LIMIT, targetTimestamp: T + 100 });
    expect(scan).toEqual({
      maxTimestamp: T + 500,
      offsetOfMaxTimestamp: 7,
      offsetAtOrAfterTarget: 7,
      timestampAtOrAfterTarget: T + 500,
    });
  });

  test('an empty batch has no timestamps', () => {
    const batch = buildBatch({ records: [], lastOffsetDelta: 3 });
    expect(scanTimestamps(new RecordBatchView(batch), { ...LIMIT, targetTimestamp: 0 })).toEqual({
      maxTimestamp: -1,
      offsetOfMaxTimestamp: -1,
      offsetAtOrAfterTarget: -1,
      timestampAtOrAfterTarget: -1,
    });
  });
});
