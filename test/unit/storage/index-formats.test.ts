import { describe, expect, test } from 'vitest';
import { OffsetIndex } from '../../../storage/segment/offset-index.ts';
import {
  offsetFileName,
  parseOffsetFileName,
  parsePartitionDirName,
} from '../../../storage/segment/segment-files.ts';
import { TimeIndex } from '../../../storage/segment/time-index.ts';
import {
  decodeAbortedTransactions,
  encodeAbortedTransactions,
  overlapping,
} from '../../../storage/segment/transaction-index.ts';

describe('OffsetIndex', () => {
  test('stores big-endian relative offset and position, 8 bytes an entry', () => {
    const index = new OffsetIndex(1000, 1024);
    index.append(1004, 0x10);
    index.append(1010, 0x2000);
    expect(index.toBytes().toString('hex')).toBe('00000004000000100000000a00002000');
  });

  test('lookup returns the largest entry at or below the target', () => {
    const index = new OffsetIndex(100, 1024);
    index.append(110, 500);
    index.append(120, 900);
    expect(index.lookup(99)).toEqual({ offset: 100, position: 0 });
    expect(index.lookup(115)).toEqual({ offset: 110, position: 500 });
    expect(index.lookup(120)).toEqual({ offset: 120, position: 900 });
    expect(index.lookup(10_000)).toEqual({ offset: 120, position: 900 });
    expect(index.positionBeforeFloor(950)).toBe(500);
    expect(index.positionBeforeFloor(600)).toBe(0);
  });

  test('truncation drops entries at or past the offset; a full index says so', () => {
    const index = new OffsetIndex(0, 24);
    index.append(5, 10);
    index.append(9, 20);
    index.append(15, 30);
    expect(index.isFull).toBe(true);
    index.truncateToOffset(9);
    expect(index.entryCount).toBe(1);
    expect(index.lastEntry).toEqual({ offset: 5, position: 10 });
  });

  test('fromBytes refuses bytes that break the invariants', () => {
    const good = new OffsetIndex(0, 1024);
    good.append(3, 100);
    good.append(8, 200);
    const bytes = Buffer.from(good.toBytes());
    expect(OffsetIndex.fromBytes(0, 1024, bytes, 300)?.entryCount).toBe(2);
    expect(OffsetIndex.fromBytes(0, 1024, bytes, 150)).toBeUndefined();
    expect(OffsetIndex.fromBytes(0, 1024, bytes.subarray(0, 12), 300)).toBeUndefined();
    const swapped = Buffer.concat([bytes.subarray(8), bytes.subarray(0, 8)]);
    expect(OffsetIndex.fromBytes(0, 1024, swapped, 300)).toBeUndefined();
  });
});

const hex64 = (value: number): string => value.toString(16).padStart(16, '0');

describe('TimeIndex', () => {
  test('12-byte entries; only growing timestamps are kept', () => {
    const index = new TimeIndex(50, 1024);
    index.maybeAppend(1_000, 52);
    index.maybeAppend(900, 60);
    index.maybeAppend(2_000, 70);
    expect(index.entryCount).toBe(2);
    expect(index.toBytes().toString('hex')).toBe(`${hex64(1000)}00000002${hex64(2000)}00000014`);
  });

  test('lookup gives the offset of the last entry strictly older than the target', () => {
    const index = new TimeIndex(0, 1024);
    index.maybeAppend(100, 10);
    index.maybeAppend(200, 20);
    expect(index.lookup(50)).toBe(0);
    expect(index.lookup(100)).toBe(0);
    expect(index.lookup(150)).toBe(10);
    expect(index.lookup(1_000)).toBe(20);
    index.truncateToOffset(20);
    expect(index.lastEntry).toEqual({ timestampMs: 100, offset: 10 });
  });

  test('fromBytes refuses a torn or unordered file', () => {
    const index = new TimeIndex(0, 1024);
    index.maybeAppend(100, 10);
    index.maybeAppend(200, 20);
    const bytes = Buffer.from(index.toBytes());
    expect(TimeIndex.fromBytes(0, 1024, bytes)?.entryCount).toBe(2);
    expect(TimeIndex.fromBytes(0, 1024, bytes.subarray(0, 20))).toBeUndefined();
    const swapped = Buffer.concat([bytes.subarray(12), bytes.subarray(0, 12)]);
    expect(TimeIndex.fromBytes(0, 1024, swapped)).toBeUndefined();
  });
});

describe('transaction index', () => {
  test('34-byte entries round-trip; a torn tail is dropped', () => {
    const txns = [
      { producerId: 7, firstOffset: 10, lastOffset: 20, lastStableOffset: 10 },
      { producerId: 9, firstOffset: 15, lastOffset: 40, lastStableOffset: 15 },
    ];
    const bytes = encodeAbortedTransactions(txns);
    expect(bytes.length).toBe(68);
    expect(bytes.readInt16BE(0)).toBe(0);
    expect(decodeAbortedTransactions(bytes)).toEqual(txns);
    expect(decodeAbortedTransactions(bytes.subarray(0, 50))).toEqual(txns.slice(0, 1));
    expect(overlapping(txns, 21, 100)).toEqual(txns.slice(1));
  });
});

describe('file names', () => {
  test('20-digit offsets and transit suffixes', () => {
    expect(offsetFileName(42, '.log')).toBe('00000000000000000042.log');
    expect(parseOffsetFileName('00000000000000000042.timeindex.swap')).toEqual({
      offset: 42,
      kind: '.timeindex',
      transit: '.swap',
    });
    expect(parseOffsetFileName('42.log')).toBeUndefined();
    expect(parseOffsetFileName('leader-epoch-checkpoint')).toBeUndefined();
  });

  test('partition directories: the topic may contain dashes', () => {
    expect(parsePartitionDirName('my-topic-12')).toEqual({ topic: 'my-topic', partition: 12 });
    expect(parsePartitionDirName('noindex')).toBeUndefined();
    expect(parsePartitionDirName('t-0.abcd-delete')).toBeUndefined();
  });
});

describe('OffsetIndex lookups on a large index (warm section)', () => {
  test('every lookup equals a linear scan', () => {
    const index = new OffsetIndex(1_000, 10 * 1024 * 1024);
    const offsets: number[] = [];
    const positions: number[] = [];
    for (let i = 0; i < 5000; i++) {
      offsets.push(1_000 + i * 3 + (i % 2));
      positions.push(i * 4100 + 7);
      index.append(offsets[i] as number, positions[i] as number);
    }
    for (let target = 990; target < 1_000 + 5000 * 3 + 10; target += 7) {
      let expected = { offset: 1_000, position: 0 };
      offsets.forEach((o, i) => {
        if (o <= target) expected = { offset: o, position: positions[i] as number };
      });
      expect(index.lookup(target)).toEqual(expected);
    }
  });
});
