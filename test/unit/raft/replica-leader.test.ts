import { describe, expect, it } from 'vitest';
import { MemoryRaftLog } from '../../../src/raft/memory-log.ts';
import { entries, fetchRequest, fetchTimeoutMs, Harness } from './harness.ts';

const data = (byte: number): Uint8Array => new Uint8Array([byte]);

function leaderWithLog(epochs: readonly number[]): Harness {
  const log = new MemoryRaftLog();
  log.append(entries(epochs));
  log.flush();
  const h = new Harness({ log, stored: { epoch: 2, votedId: -1, leaderId: -1 } });
  h.becomeLeader();
  h.completeStorage();
  h.sent();
  return h;
}

describe('leader', () => {
  it('commits once a majority durably holds an entry of its epoch', () => {
    const h = leaderWithLog([1, 1]);
    const epoch = h.replica.epoch;
    expect(h.replica.highWatermark).toBe(0);
    h.replica.append([data(1), data(2)]);
    h.completeStorage();
    // Follower 2 holds the old entries only: the leader-change entry at 2 is not on a majority.
    h.receive(2, fetchRequest(2, epoch, 2, 1));
    expect(h.replica.highWatermark).toBe(0);
    h.receive(2, fetchRequest(2, epoch, 4, epoch));
    expect(h.replica.highWatermark).toBe(4);
    h.receive(3, fetchRequest(3, epoch, 5, epoch));
    expect(h.replica.highWatermark).toBe(5);
  });

  it('answers a fetch whose log diverges with the epoch end to truncate to', () => {
    const h = leaderWithLog([1, 1]);
    h.receive(2, fetchRequest(2, h.replica.epoch, 4, 1));
    const [response] = h.sentOf('fetch-response');
    expect(response?.divergingEpoch).toEqual({ epoch: 1, endOffset: 2 });
    expect(response?.records).toEqual([]);
  });

  it('answers a fetch below its log start with its snapshot id', () => {
    const h = leaderWithLog([1, 1, 1]);
    const epoch = h.replica.epoch;
    h.receive(2, fetchRequest(2, epoch, 4, epoch));
    expect(h.replica.createSnapshot(3, data(7))).toEqual({ endOffset: 3, epoch: 1 });
    h.sent();
    h.receive(3, fetchRequest(3, epoch, 1, 1));
    const [response] = h.sentOf('fetch-response');
    expect(response?.snapshotId).toEqual({ endOffset: 3, epoch: 1 });
    h.receive(3, {
      type: 'fetch-snapshot-request',
      clusterId: 'test',
      replicaId: 3,
      currentLeaderEpoch: epoch,
      snapshotId: { endOffset: 3, epoch: 1 },
      position: 0,
      maxBytes: 100,
    });
    const [chunk] = h.sentOf('fetch-snapshot-response');
    expect(chunk).toMatchObject({ errorCode: 0, size: 1, position: 0 });
    expect([...(chunk?.unalignedRecords ?? [])]).toEqual([7]);
  });

  it('fences fetches from an older epoch', () => {
    const h = leaderWithLog([]);
    h.receive(2, fetchRequest(2, h.replica.epoch - 1, 0, 0));
    const [response] = h.sentOf('fetch-response');
    expect(response).toMatchObject({ errorCode: 74, leaderId: 1, leaderEpoch: h.replica.epoch });
  });

  it('resigns by check-quorum when no majority fetched within 1.5 fetch timeouts', () => {
    const h = leaderWithLog([]);
    const start = h.nowMs;
    h.poll(start + fetchTimeoutMs);
    h.receive(2, fetchRequest(2, h.replica.epoch, 1, h.replica.epoch));
    h.poll(start + 2 * fetchTimeoutMs);
    expect(h.replica.role.name).toBe('leader');
    h.poll(start + 4 * fetchTimeoutMs);
    expect(h.replica.role.name).toBe('resigned');
    const ends = h.sentOf('end-quorum-epoch-request');
    expect(ends.map((e) => e.preferredSuccessors)).toEqual([
      [2, 3],
      [2, 3],
    ]);
  });

  it('resigns on request, naming the most caught-up voter first', () => {
    const h = leaderWithLog([]);
    h.receive(3, fetchRequest(3, h.replica.epoch, 1, h.replica.epoch));
    h.sent();
    expect(h.replica.resign(h.nowMs)).toBe(true);
    const [end] = h.sentOf('end-quorum-epoch-request');
    expect(end?.preferredSuccessors).toEqual([3, 2]);
    expect(h.replica.append([data(1)])).toEqual({
      kind: 'not-leader',
      leaderId: 1,
      epoch: 3,
    });
  });

  it('refuses appends when not leader or when too much is uncommitted', () => {
    const follower = new Harness({ stored: { epoch: 1, votedId: -1, leaderId: 2 } });
    expect(follower.replica.append([data(1)])).toEqual({
      kind: 'not-leader',
      leaderId: 2,
      epoch: 1,
    });
    const log = new MemoryRaftLog();
    const h = new Harness({ log, config: { uncommittedEntriesMax: 3 } });
    h.becomeLeader();
    expect(h.replica.append([data(1), data(2)]).kind).toBe('appended');
    expect(h.replica.append([data(3)])).toEqual({ kind: 'backlog-full' });
  });

  it('describes the quorum with voters and observers', () => {
    const h = leaderWithLog([]);
    h.receive(7, fetchRequest(7, h.replica.epoch, 0, 0));
    const quorum = h.replica.describeQuorum();
    expect(quorum.currentVoters.map((v) => v.replicaId)).toEqual([1, 2, 3]);
    expect(quorum.observers.map((o) => [o.replicaId, o.logEndOffset])).toEqual([[7, 0]]);
  });
});

describe('leader durability', () => {
  it('counts its own entries toward the majority only once flushed', () => {
    const h = leaderWithLog([]);
    const epoch = h.replica.epoch;
    h.replica.append([data(1)]);
    expect(h.replica.durableEndOffset).toBe(1);
    // Voter 2 holds offset 1 durably, but with the leader unflushed that is one of three.
    h.receive(2, fetchRequest(2, epoch, 2, epoch));
    expect(h.replica.highWatermark).toBe(1);
    h.completeStorage();
    expect(h.replica.highWatermark).toBe(2);
  });
});

describe('leader input checks', () => {
  it('answers malformed fetches with INVALID_REQUEST instead of failing', () => {
    const h = leaderWithLog([1]);
    const epoch = h.replica.epoch;
    h.receive(2, fetchRequest(2, epoch, -5, 1));
    h.receive(2, fetchRequest(2, epoch, 0, -3));
    h.receive(1, fetchRequest(1, epoch, 0, 0));
    const codes = h.sentOf('fetch-response').map((r) => r.errorCode);
    expect(codes).toEqual([42, 42, 42]);
    expect(h.replica.role.name).toBe('leader');
  });

  it('answers a snapshot request for an unknown snapshot or position with an error', () => {
    const h = leaderWithLog([1, 1]);
    const request = {
      type: 'fetch-snapshot-request' as const,
      clusterId: 'test',
      replicaId: 2,
      currentLeaderEpoch: h.replica.epoch,
      snapshotId: { endOffset: 2, epoch: 1 },
      position: 0,
      maxBytes: -1,
    };
    h.receive(2, request);
    h.receive(2, fetchRequest(2, h.replica.epoch, 3, h.replica.epoch));
    h.replica.createSnapshot(2, new Uint8Array([5, 6]));
    h.receive(2, { ...request, position: 3 });
    h.receive(2, request);
    const answers = h.sentOf('fetch-snapshot-response');
    expect(answers.map((a) => a.errorCode)).toEqual([98, 99, 0]);
    expect([...(answers[2]?.unalignedRecords ?? [])]).toEqual([5]);
  });
});

describe('leaving leadership', () => {
  it('a leader moves to unattached on a vote request of a higher epoch', () => {
    const h = leaderWithLog([]);
    const epoch = h.replica.epoch;
    h.receive(2, {
      type: 'vote-request',
      clusterId: 'test',
      voterId: 1,
      candidateEpoch: epoch + 1,
      candidateId: 2,
      lastOffsetEpoch: epoch,
      lastOffset: 1,
      preVote: false,
    });
    expect(h.replica.role).toMatchObject({ name: 'unattached', epoch: epoch + 1, votedId: 2 });
  });

  it('a leader, or a resigned one, follows the leader of a higher epoch', () => {
    for (const resignFirst of [false, true]) {
      const h = leaderWithLog([]);
      const epoch = h.replica.epoch;
      if (resignFirst) h.replica.resign(h.nowMs);
      h.receive(3, {
        type: 'begin-quorum-epoch-request',
        clusterId: 'test',
        voterId: 1,
        leaderId: 3,
        leaderEpoch: epoch + 2,
      });
      expect(h.replica.role).toMatchObject({ name: 'follower', epoch: epoch + 2, leaderId: 3 });
    }
  });

  it('ignores a BeginQuorumEpoch of an older epoch and says so', () => {
    const h = leaderWithLog([]);
    h.receive(3, {
      type: 'begin-quorum-epoch-request',
      clusterId: 'test',
      voterId: 1,
      leaderId: 3,
      leaderEpoch: 1,
    });
    expect(h.replica.role.name).toBe('leader');
    expect(h.sentOf('begin-quorum-epoch-response')[0]).toMatchObject({ errorCode: 74 });
  });
});
