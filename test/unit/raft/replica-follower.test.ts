import { describe, expect, it } from 'vitest';
import { MemoryRaftLog } from '../../../src/raft/memory-log.ts';
import type { FetchResponse, RaftEntry } from '../../../src/raft/messages.ts';
import { electionTimeoutMs, entries, fetchTimeoutMs, Harness } from './harness.ts';

function fetchResponse(fields: Partial<FetchResponse>): FetchResponse {
  return {
    type: 'fetch-response',
    errorCode: 0,
    highWatermark: 0,
    logStartOffset: 0,
    divergingEpoch: null,
    leaderId: 3,
    leaderEpoch: 4,
    snapshotId: null,
    records: [],
    ...fields,
  };
}

function follower(epochs: readonly number[] = []): Harness {
  const log = new MemoryRaftLog();
  log.append(entries(epochs));
  log.flush();
  return new Harness({ log, stored: { epoch: 4, votedId: -1, leaderId: 3 } });
}

describe('follower', () => {
  it('fetches from its leader with its durable end and last epoch', () => {
    const h = follower([1, 2]);
    const [fetch] = h.sentOf('fetch-request');
    expect(fetch).toMatchObject({ replicaId: 1, currentLeaderEpoch: 4, fetchOffset: 2 });
    expect(fetch?.lastFetchedEpoch).toBe(2);
  });

  it('appends fetched entries and fetches again only once they are flushed', () => {
    const h = follower();
    h.answer(3, 'fetch-request', fetchResponse({ records: entries([4, 4]), highWatermark: 2 }));
    expect(h.log.endOffset()).toBe(2);
    expect(h.replica.highWatermark).toBe(0);
    expect(h.sentOf('fetch-request')).toEqual([]);
    h.completeStorage();
    expect(h.replica.highWatermark).toBe(2);
    expect(h.sentOf('fetch-request')[0]?.fetchOffset).toBe(2);
  });

  it('caps the leader high watermark at the prefix the leader validated', () => {
    // The leader's answer carries HW 3, but for a fetch at offset 1 it validated only [0, 1).
    const h = follower([1]);
    h.answer(3, 'fetch-request', fetchResponse({ highWatermark: 3 }));
    expect(h.replica.highWatermark).toBe(1);
  });

  it('truncates to the diverging epoch end, never touching what it knows is committed', () => {
    const h = follower([1, 1, 2, 2]);
    h.answer(3, 'fetch-request', fetchResponse({ divergingEpoch: { epoch: 1, endOffset: 2 } }));
    expect(h.log.endOffset()).toBe(2);
    expect(h.replica.durableEndOffset).toBe(2);
    const [again] = h.sentOf('fetch-request');
    expect(again).toMatchObject({ fetchOffset: 2, lastFetchedEpoch: 1 });
  });

  it('ignores answers to fetches it no longer waits for, and malformed records', () => {
    const h = follower();
    h.receive(3, fetchResponse({ records: entries([4]) }), 999_999);
    expect(h.log.endOffset()).toBe(0);
    const gap: RaftEntry[] = entries([4], 5);
    h.answer(3, 'fetch-request', fetchResponse({ records: gap }));
    expect(h.log.endOffset()).toBe(0);
  });

  it('turns prospective when its leader goes quiet for the fetch timeout', () => {
    const h = follower();
    h.poll(fetchTimeoutMs - 1);
    expect(h.replica.role.name).toBe('follower');
    h.poll(fetchTimeoutMs);
    expect(h.replica.role.name).toBe('prospective');
    expect(h.replica.epoch).toBe(4);
  });

  it('as an observer forgets the leader instead of standing', () => {
    const log = new MemoryRaftLog();
    const h = new Harness({ nodeId: 9, log, stored: { epoch: 4, votedId: -1, leaderId: 3 } });
    h.poll(fetchTimeoutMs);
    expect(h.replica.role.name).toBe('unattached');
    expect(h.replica.epoch).toBe(4);
  });

  it('moves to a higher epoch named in any answer', () => {
    const h = follower();
    h.answer(3, 'fetch-request', fetchResponse({ errorCode: 74, leaderId: 2, leaderEpoch: 6 }));
    expect(h.replica.role.name).toBe('follower');
    expect(h.replica.epoch).toBe(6);
    expect(h.replica.leaderId).toBe(2);
  });

  it('on EndQuorumEpoch, the first preferred successor stands at once', () => {
    const h = follower();
    h.receive(3, {
      type: 'end-quorum-epoch-request',
      clusterId: 'test',
      leaderId: 3,
      leaderEpoch: 4,
      preferredSuccessors: [1, 2],
    });
    expect(h.sentOf('end-quorum-epoch-response')[0]).toMatchObject({ errorCode: 0 });
    h.poll(electionTimeoutMs / 2);
    expect(h.replica.role.name).toBe('prospective');
  });

  it('fetches a snapshot in chunks when the leader says its log starts later', () => {
    const h = follower([1]);
    let installed = 0;
    h.replica.addListener({ onSnapshotInstalled: (id) => (installed = id.endOffset) });
    h.answer(3, 'fetch-request', fetchResponse({ snapshotId: { endOffset: 5, epoch: 3 } }));
    const snapshotChunk = (position: number, bytes: number[]) => ({
      type: 'fetch-snapshot-response' as const,
      errorCode: 0 as const,
      snapshotId: { endOffset: 5, epoch: 3 },
      leaderId: 3,
      leaderEpoch: 4,
      size: 3,
      position,
      unalignedRecords: new Uint8Array(bytes),
    });
    h.answer(3, 'fetch-snapshot-request', snapshotChunk(0, [1, 2]));
    expect(h.messages.at(-1)?.message).toMatchObject({
      type: 'fetch-snapshot-request',
      position: 2,
    });
    h.answer(3, 'fetch-snapshot-request', snapshotChunk(2, [3]));
    expect(installed).toBe(5);
    expect([...(h.log.latestSnapshot()?.data ?? [])]).toEqual([1, 2, 3]);
    expect(h.log.startOffset()).toBe(5);
    expect(h.replica.highWatermark).toBe(5);
    expect(h.replica.readCommitted(0, 10).kind).toBe('snapshot');
    expect(h.replica.commitStatus(2, 1)).toBe('compacted');
    expect(h.sentOf('fetch-request').at(-1)).toMatchObject({ fetchOffset: 5, lastFetchedEpoch: 3 });
  });
});

describe('restart', () => {
  it('a replica that led before the restart comes back resigned', () => {
    const h = new Harness({ stored: { epoch: 3, votedId: 1, leaderId: 1 } });
    expect(h.replica.role.name).toBe('resigned');
    expect(h.replica.isLeader).toBe(false);
    h.poll(2 * electionTimeoutMs);
    expect(h.replica.role.name).toBe('prospective');
    expect(h.replica.leaderId).toBe(-1);
  });

  it('keeps its vote across a restart', () => {
    const h = new Harness({ stored: { epoch: 3, votedId: 2, leaderId: -1 } });
    expect(h.replica.role).toMatchObject({ name: 'unattached', epoch: 3, votedId: 2 });
  });
});

describe('commit status', () => {
  it('tells committed, pending and lost appends apart', () => {
    const h = follower([1, 1, 2]);
    h.answer(3, 'fetch-request', fetchResponse({ highWatermark: 2 }));
    expect(h.replica.commitStatus(1, 1)).toBe('committed');
    expect(h.replica.commitStatus(2, 2)).toBe('pending');
    expect(h.replica.commitStatus(2, 1)).toBe('lost');
    expect(h.replica.commitStatus(7, 1)).toBe('lost');
    expect(h.replica.commitStatus(7, 5)).toBe('pending');
  });
});

describe('follower input checks', () => {
  it('refuses, loudly, to truncate below its high watermark', () => {
    const h = follower([4, 4, 4]);
    h.answer(3, 'fetch-request', fetchResponse({ highWatermark: 3 }));
    expect(h.replica.highWatermark).toBe(3);
    expect(() =>
      h.answer(3, 'fetch-request', fetchResponse({ divergingEpoch: { epoch: 1, endOffset: 1 } })),
    ).toThrow(/below the high watermark/);
    expect(h.log.endOffset()).toBe(3);
  });

  it('does not take a snapshot that ends below its high watermark', () => {
    const h = follower([4, 4, 4]);
    h.answer(3, 'fetch-request', fetchResponse({ highWatermark: 3 }));
    h.answer(3, 'fetch-request', fetchResponse({ snapshotId: { endOffset: 2, epoch: 4 } }));
    expect(h.sentOf('fetch-snapshot-request')).toEqual([]);
    expect(h.log.endOffset()).toBe(3);
  });
});
