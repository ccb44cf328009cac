import { describe, expect, it } from 'vitest';
import { MemoryRaftLog } from '../../../src/raft/memory-log.ts';
import { electionTimeoutMs, entries, Harness, voteRequest, voteResponse } from './harness.ts';

describe('unattached', () => {
  it('waits for its election timeout, then turns prospective without bumping the epoch', () => {
    const h = new Harness();
    h.poll(electionTimeoutMs - 1);
    expect(h.replica.role.name).toBe('unattached');
    h.poll(2 * electionTimeoutMs);
    expect(h.replica.role.name).toBe('prospective');
    expect(h.replica.epoch).toBe(0);
    const requests = h.sentOf('vote-request');
    expect(requests.map((r) => [r.voterId, r.candidateEpoch, r.preVote])).toEqual([
      [2, 1, true],
      [3, 1, true],
    ]);
    expect(h.storage).toEqual([]);
  });

  it('as an observer never stands: it asks a voter who leads', () => {
    const h = new Harness({ nodeId: 9 });
    h.poll(10 * electionTimeoutMs);
    expect(h.replica.role.name).toBe('unattached');
    const [fetch] = h.sent();
    expect(fetch?.message.type).toBe('fetch-request');
    expect([1, 2, 3]).toContain(fetch?.destination);
  });
});

describe('prospective', () => {
  it('turns candidate on a majority of pre-votes; asks for votes once its vote is durable', () => {
    const h = new Harness();
    h.poll(2 * electionTimeoutMs);
    h.sent();
    h.receive(3, voteResponse(true, true, 0));
    expect(h.replica.role.name).toBe('candidate');
    expect(h.replica.epoch).toBe(1);
    expect(h.storage).toEqual([
      { kind: 'persist-quorum-state', state: { epoch: 1, votedId: 1, leaderId: -1 }, version: 1 },
    ]);
    expect(h.sent()).toEqual([]);
    h.completeStorage();
    const requests = h.sentOf('vote-request');
    expect(requests.map((r) => [r.candidateEpoch, r.preVote])).toEqual([
      [1, false],
      [1, false],
    ]);
  });

  it('stays prospective when pre-votes are refused and tries again after a timeout', () => {
    const h = new Harness();
    h.poll(2 * electionTimeoutMs);
    h.receive(2, voteResponse(false, true, 0));
    h.receive(3, voteResponse(false, true, 0));
    expect(h.replica.role.name).toBe('prospective');
    h.sent();
    h.poll(h.nowMs + 3 * electionTimeoutMs);
    expect(h.replica.role.name).toBe('prospective');
    expect(h.sentOf('vote-request')).toHaveLength(2);
  });

  it('follows a leader that a pre-vote answer names in its epoch', () => {
    const h = new Harness();
    h.poll(2 * electionTimeoutMs);
    h.receive(2, { ...voteResponse(false, true, 0), leaderId: 3 });
    expect(h.replica.role.name).toBe('follower');
    expect(h.replica.leaderId).toBe(3);
  });
});

describe('candidate', () => {
  it('wins with a majority once its own vote is durable, then starts its epoch', () => {
    const h = new Harness();
    h.poll(2 * electionTimeoutMs);
    h.receive(2, voteResponse(true, true, 0));
    h.receive(2, voteResponse(true, false, 1));
    expect(h.replica.role.name).toBe('candidate');
    h.completeStorage();
    expect(h.replica.role.name).toBe('leader');
    expect(h.log.read(0, 10).map((e) => [e.epoch, e.kind])).toEqual([[1, 'leader-change']]);
    // BeginQuorumEpoch goes out only once the leadership itself is durable.
    expect(h.sentOf('begin-quorum-epoch-request')).toEqual([]);
    h.completeStorage();
    const begins = h.sentOf('begin-quorum-epoch-request');
    expect(begins.map((b) => [b.voterId, b.leaderId, b.leaderEpoch])).toEqual([
      [2, 1, 1],
      [3, 1, 1],
    ]);
  });

  it('a lone voter elects itself after persisting its vote', () => {
    const h = new Harness({ voterIds: [1] });
    h.poll(2 * electionTimeoutMs);
    expect(h.replica.role.name).toBe('candidate');
    h.completeStorage();
    expect(h.replica.role.name).toBe('leader');
  });

  it('follows the leader its epoch elected instead', () => {
    const h = new Harness();
    h.poll(2 * electionTimeoutMs);
    h.receive(2, voteResponse(true, true, 0));
    h.completeStorage();
    h.receive(3, {
      type: 'begin-quorum-epoch-request',
      clusterId: 'test',
      voterId: 1,
      leaderId: 3,
      leaderEpoch: 1,
    });
    expect(h.replica.role.name).toBe('follower');
    expect(h.replica.role.votedId).toBe(1);
  });

  it('goes back to pre-voting when the election times out', () => {
    const h = new Harness();
    h.poll(2 * electionTimeoutMs);
    h.receive(2, voteResponse(true, true, 0));
    h.completeStorage();
    h.receive(2, voteResponse(false, false, 1));
    h.poll(h.nowMs + 3 * electionTimeoutMs);
    expect(h.replica.role.name).toBe('prospective');
    expect(h.replica.epoch).toBe(1);
  });
});

describe('granting votes', () => {
  it('persists a vote before it answers', () => {
    const h = new Harness();
    h.receive(2, voteRequest(2, 1, { offset: 0, epoch: 0 }));
    expect(h.replica.role.votedId).toBe(2);
    expect(h.sent()).toEqual([]);
    h.completeStorage();
    const [response] = h.sentOf('vote-response');
    expect(response).toMatchObject({ voteGranted: true, leaderEpoch: 1 });
  });

  it('answers early only under the deliberate bug flag', () => {
    const h = new Harness({ config: { bugs: { answerVoteBeforePersisting: true } } });
    h.receive(2, voteRequest(2, 1, { offset: 0, epoch: 0 }));
    expect(h.sentOf('vote-response')).toHaveLength(1);
  });

  it('votes once per epoch', () => {
    const h = new Harness();
    h.receive(2, voteRequest(2, 1, { offset: 0, epoch: 0 }));
    h.completeStorage();
    h.sent();
    h.receive(3, voteRequest(3, 1, { offset: 0, epoch: 0 }));
    h.receive(2, voteRequest(2, 1, { offset: 0, epoch: 0 }));
    const answers = h.sentOf('vote-response').map((r) => r.voteGranted);
    expect(answers).toEqual([false, true]);
  });

  it('refuses a candidate whose log is behind, in epoch or in length', () => {
    const log = new MemoryRaftLog();
    log.append(entries([1, 1, 2]));
    const h = new Harness({ log, stored: { epoch: 2, votedId: -1, leaderId: -1 } });
    h.receive(2, voteRequest(2, 3, { offset: 5, epoch: 1 }));
    h.receive(3, voteRequest(3, 4, { offset: 2, epoch: 2 }));
    h.completeStorage();
    expect(h.sentOf('vote-response').map((r) => r.voteGranted)).toEqual([false, false]);
    expect(h.replica.epoch).toBe(4);
    expect(h.replica.role.votedId).toBe(-1);
  });

  it('refuses an older epoch and names its own', () => {
    const h = new Harness({ stored: { epoch: 5, votedId: -1, leaderId: 3 } });
    h.sent();
    h.receive(2, voteRequest(2, 4, { offset: 9, epoch: 4 }));
    const [response] = h.sentOf('vote-response');
    expect(response).toMatchObject({ voteGranted: false, leaderEpoch: 5, leaderId: 3 });
  });

  it('a pre-vote changes nothing durable', () => {
    const h = new Harness();
    h.receive(2, voteRequest(2, 1, { offset: 0, epoch: 0 }, true));
    expect(h.storage).toEqual([]);
    expect(h.replica.epoch).toBe(0);
    expect(h.sentOf('vote-response')[0]).toMatchObject({ voteGranted: true, preVote: true });
  });

  it('a follower that has heard from its leader refuses pre-votes (KIP-996)', () => {
    const h = new Harness({ stored: { epoch: 1, votedId: -1, leaderId: 3 } });
    h.answer(3, 'fetch-request', {
      type: 'fetch-response',
      errorCode: 0,
      highWatermark: 0,
      logStartOffset: 0,
      divergingEpoch: null,
      leaderId: 3,
      leaderEpoch: 1,
      snapshotId: null,
      records: [],
    });
    h.sent();
    h.receive(2, voteRequest(2, 2, { offset: 0, epoch: 0 }, true));
    expect(h.sentOf('vote-response')[0]).toMatchObject({ voteGranted: false });
  });
});
