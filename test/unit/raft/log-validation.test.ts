import { describe, expect, it } from 'vitest';
import { truncationOffset, validateFetchPosition } from '../../../src/raft/log-validation.ts';
import { MemoryRaftLog } from '../../../src/raft/memory-log.ts';
import { entries } from './harness.ts';

// Leader log: offsets 0-1 epoch 1, 2-4 epoch 3, 5 epoch 4.
function leaderLog(): MemoryRaftLog {
  const log = new MemoryRaftLog();
  log.append(entries([1, 1, 3, 3, 3, 4]));
  log.flush();
  return log;
}

describe('validateFetchPosition', () => {
  it('accepts a fetch from the start of an empty follower', () => {
    expect(validateFetchPosition(leaderLog(), 0, 0)).toEqual({ kind: 'valid' });
  });

  it('accepts a position that continues the leader log', () => {
    expect(validateFetchPosition(leaderLog(), 2, 1)).toEqual({ kind: 'valid' });
    expect(validateFetchPosition(leaderLog(), 4, 3)).toEqual({ kind: 'valid' });
    expect(validateFetchPosition(leaderLog(), 6, 4)).toEqual({ kind: 'valid' });
  });

  it('names the diverging epoch when the follower went past that epoch end', () => {
    // The follower has epoch-1 entries up to offset 3; the leader's epoch 1 ends at 2.
    expect(validateFetchPosition(leaderLog(), 4, 1)).toEqual({
      kind: 'diverging',
      divergingEpoch: { epoch: 1, endOffset: 2 },
    });
  });

  it('names the largest earlier epoch when the follower has an epoch the leader lacks', () => {
    expect(validateFetchPosition(leaderLog(), 3, 2)).toEqual({
      kind: 'diverging',
      divergingEpoch: { epoch: 1, endOffset: 2 },
    });
  });

  it('sends a follower below the log start to the snapshot', () => {
    const log = leaderLog();
    log.storeSnapshot({ id: { endOffset: 3, epoch: 3 }, data: new Uint8Array([1]) });
    const snapshot = { kind: 'snapshot', snapshotId: { endOffset: 3, epoch: 3 } };
    expect(validateFetchPosition(log, 1, 1)).toEqual(snapshot);
    expect(validateFetchPosition(log, 3, 1)).toEqual(snapshot);
    expect(validateFetchPosition(log, 3, 3)).toEqual({ kind: 'valid' });
  });
});

describe('truncationOffset', () => {
  it('truncates to the smaller end of the shared epoch', () => {
    const follower = new MemoryRaftLog();
    follower.append(entries([1, 1, 1, 1, 2]));
    expect(truncationOffset(follower, { epoch: 1, endOffset: 2 })).toBe(2);
  });

  it('truncates to its own end of the largest earlier epoch when it lacks the named one', () => {
    const follower = new MemoryRaftLog();
    follower.append(entries([1, 1, 2, 2]));
    expect(truncationOffset(follower, { epoch: 3, endOffset: 5 })).toBe(4);
    expect(truncationOffset(follower, { epoch: 0, endOffset: 0 })).toBe(0);
  });
});
