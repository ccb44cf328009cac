import { describe, expect, it } from 'vitest';
import { majorityEndOffset, nextHighWatermark } from '../../../src/raft/leader-progress.ts';

describe('majorityEndOffset', () => {
  it('is the offset a majority has reached', () => {
    expect(majorityEndOffset([10])).toBe(10);
    expect(majorityEndOffset([10, 4])).toBe(4);
    expect(majorityEndOffset([10, 4, 7])).toBe(7);
    expect(majorityEndOffset([9, 9, 1, 1])).toBe(1);
    expect(majorityEndOffset([5, -1, 3, 8, -1])).toBe(3);
  });
});

describe('nextHighWatermark', () => {
  it('advances to the majority offset once it passes the epoch start', () => {
    expect(nextHighWatermark(0, [12, 12, 3], 10)).toBe(12);
  });

  it('does not commit older-epoch entries by count alone', () => {
    // Offsets 0-9 are from earlier epochs; a majority holding them is not enough.
    expect(nextHighWatermark(4, [10, 10, 3], 10)).toBe(4);
  });

  it('never moves backwards', () => {
    expect(nextHighWatermark(15, [12, 12, 3], 10)).toBe(15);
  });
});
