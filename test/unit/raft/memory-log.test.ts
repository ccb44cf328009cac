import { describe, expect, it } from 'vitest';
import { MemoryQuorumStateStore, MemoryRaftLog } from '../../../src/raft/memory-log.ts';
import { entries } from './harness.ts';

function logWith(epochs: readonly number[]): MemoryRaftLog {
  const log = new MemoryRaftLog();
  log.append(entries(epochs));
  return log;
}

describe('MemoryRaftLog', () => {
  it('loses every unflushed entry in a crash and keeps the flushed ones', () => {
    const log = logWith([1, 1, 2]);
    expect(log.flush()).toBe(3);
    log.append(entries([2, 3], 3));
    expect(log.endOffset()).toBe(5);
    log.crash();
    expect(log.endOffset()).toBe(3);
    expect(log.lastEpoch()).toBe(2);
  });

  it('answers endOffsetForEpoch as Kafka does', () => {
    const log = logWith([1, 1, 3, 3, 3, 5]);
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 2 });
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 1, endOffset: 2 });
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, endOffset: 5 });
    expect(log.endOffsetForEpoch(5)).toEqual({ epoch: 5, endOffset: 6 });
    expect(log.endOffsetForEpoch(9)).toEqual({ epoch: 5, endOffset: 6 });
    expect(log.endOffsetForEpoch(0)).toEqual({ epoch: 0, endOffset: 0 });
  });

  it('lowers the durable end when it truncates', () => {
    const log = logWith([1, 1, 2, 2]);
    log.flush();
    log.truncateTo(2);
    expect(log.durableEndOffset()).toBe(2);
    expect(log.lastEpoch()).toBe(1);
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 1, endOffset: 2 });
  });

  it('drops the entries a snapshot covers and keeps epoch lookups past it', () => {
    const log = logWith([1, 1, 2, 2, 3]);
    log.flush();
    log.storeSnapshot({ id: { endOffset: 3, epoch: 2 }, data: new Uint8Array([9]) });
    expect(log.startOffset()).toBe(3);
    expect(log.read(3, 10).map((e) => e.offset)).toEqual([3, 4]);
    expect(log.epochAt(2)).toBe(2);
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 4 });
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: -1, endOffset: -1 });
    expect(() => log.read(1, 1)).toThrow();
  });

  it('refuses a snapshot of entries that are not durable', () => {
    const log = logWith([1, 1]);
    expect(() =>
      log.storeSnapshot({ id: { endOffset: 2, epoch: 1 }, data: new Uint8Array() }),
    ).toThrow();
  });

  it('replaces the whole log by an installed snapshot', () => {
    const log = logWith([1, 2]);
    log.installSnapshot({ id: { endOffset: 10, epoch: 4 }, data: new Uint8Array([1]) });
    expect(log.startOffset()).toBe(10);
    expect(log.endOffset()).toBe(10);
    expect(log.durableEndOffset()).toBe(10);
    expect(log.lastEpoch()).toBe(4);
    log.append(entries([4, 5], 10));
    expect(log.endOffsetForEpoch(4)).toEqual({ epoch: 4, endOffset: 11 });
  });

  it('asserts on appends that skip offsets or lower the epoch', () => {
    const log = logWith([2]);
    expect(() => log.append(entries([2], 5))).toThrow();
    expect(() => log.append(entries([1], 1))).toThrow();
  });
});

describe('MemoryQuorumStateStore', () => {
  it('returns a copy of the last state written', () => {
    const store = new MemoryQuorumStateStore();
    expect(store.read()).toBeUndefined();
    const state = { epoch: 3, votedId: 2, leaderId: -1 };
    store.write(state);
    expect(store.read()).toEqual(state);
    expect(store.read()).not.toBe(state);
  });
});
