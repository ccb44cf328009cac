/** Kafka's LeaderEpochFileCache.endOffsetFor rule, case by case. */
import { describe, expect, test } from 'vitest';
import { epochEndOffset } from '../../../src/replication/partition-epochs.ts';

const entries = [
  { epoch: 1, startOffset: 0 },
  { epoch: 3, startOffset: 10 },
  { epoch: 6, startOffset: 25 },
];

describe('epochEndOffset', () => {
  test('the latest epoch ends at the log end', () => {
    expect(epochEndOffset(entries, 6, 40)).toEqual({ epoch: 6, endOffset: 40 });
  });
  test('a known earlier epoch ends where the next starts', () => {
    expect(epochEndOffset(entries, 1, 40)).toEqual({ epoch: 1, endOffset: 10 });
    expect(epochEndOffset(entries, 3, 40)).toEqual({ epoch: 3, endOffset: 25 });
  });
  test('an unknown epoch between two: the floor epoch, ending at the next start', () => {
    expect(epochEndOffset(entries, 2, 40)).toEqual({ epoch: 1, endOffset: 10 });
    expect(epochEndOffset(entries, 5, 40)).toEqual({ epoch: 3, endOffset: 25 });
  });
  test('older than every entry: that epoch, ending at the first start', () => {
    expect(epochEndOffset(entries.slice(1), 2, 40)).toEqual({ epoch: 2, endOffset: 10 });
  });
  test('newer than every entry, an empty cache, or -1: undefined', () => {
    expect(epochEndOffset(entries, 7, 40)).toEqual({ epoch: -1, endOffset: -1 });
    expect(epochEndOffset([], 0, 40)).toEqual({ epoch: -1, endOffset: -1 });
    expect(epochEndOffset(entries, -1, 40)).toEqual({ epoch: -1, endOffset: -1 });
  });
});
