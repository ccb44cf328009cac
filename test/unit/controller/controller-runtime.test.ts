/**
 * ControllerRuntime over a real three-voter Raft quorum (quorum-harness.ts): brokers register
 * and heartbeat, topics are created, ISRs move, stale brokers are fenced on the clock, and the
 * active controller fails over with its state. Answers wait for the commit of their records;
 * a leadership change answers NOT_CONTROLLER and leaves nothing half-applied.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { ControllerRuntime } from '../../../src/controller/controller-runtime.ts';
import type { ControllerState } from '../../../src/controller/controller-state.ts';
import { DEFAULT_CONTROLLER_CONFIG } from '../../../src/controller/decision.ts';
import { CONFIG_RESOURCE_TOPIC } from '../../../src/metadata/metadata-record.ts';
import type { NewTopic } from '../../../src/metadata/topic-commands.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { alterPartitionRequest, heartbeatRequest, registrationRequest } from './harness.ts';
import { ControllerQuorum, type QuorumMember } from './quorum-harness.ts';

const SEED = Number(process.env.BROOK_SEED ?? 7);

function newTopic(name: string, partitions: number, replicationFactor = 3): NewTopic {
  return {
    name,
    numPartitions: partitions,
    replicationFactor,
    configs: new Map(),
    assignments: [],
  };
}

/** What every replica of the controller state must agree on. */
function summary(state: ControllerState) {
  return {
    brokers: [...state.brokers()]
      .map((b) => ({ id: b.brokerId, epoch: b.epoch, fenced: b.fenced }))
      .sort((a, b) => a.id - b.id),
    topics: [...state.topics()]
      .map((t) => ({ name: t.name, id: t.topicId, partitions: t.partitions }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    nextProducerId: state.nextProducerId,
  };
}

let quorum: ControllerQuorum | undefined;

afterEach(async () => {
  await quorum?.stop();
  expect(quorum?.fatal ?? []).toEqual([]);
  quorum = undefined;
});

/** Registers brokers 1-3 on the active controller and unfences them with a heartbeat each. */
async function startBrokers(q: ControllerQuorum, active: QuorumMember): Promise<void> {
  for (const id of [1, 2, 3]) {
    const response = await q.answer(active.runtime.registerBroker(registrationRequest(id)));
    expect(response.errorCode, `broker ${id}`).toBe(ErrorCode.NONE);
  }
  await heartbeat(q, active, [1, 2, 3]);
  for (const id of [1, 2, 3]) expect(active.runtime.committed.broker(id)?.fenced).toBe(false);
}

async function heartbeat(q: ControllerQuorum, active: QuorumMember, ids: readonly number[]) {
  for (const id of ids) {
    const request = heartbeatRequest(active.runtime.committed, id);
    const response = await q.answer(active.runtime.brokerHeartbeat(request));
    expect(response.errorCode, `heartbeat of ${id}`).toBe(ErrorCode.NONE);
  }
}

describe(`ControllerRuntime on a 3-voter quorum (seed ${SEED})`, () => {
  it('registers and unfences brokers, creates an RF3 topic, and every voter agrees', async () => {
    quorum = new ControllerQuorum(SEED);
    const q = quorum;
    const active = await q.activeController();
    expect(q.members.filter((m) => m.runtime.isActive)).toHaveLength(1);
    for (const m of q.members) expect(m.runtime.activeControllerId()).toBe(active.id);
    await startBrokers(q, active);

    const [created] = await q.answer(active.runtime.createTopics([newTopic('orders', 3)]));
    expect(created).toMatchObject({ name: 'orders', errorCode: 0, numPartitions: 3 });
    expect(created?.replicationFactor).toBe(3);
    const topic = active.runtime.committed.topicByName('orders');
    expect(topic?.topicId).toBe(created?.topicId);
    for (const p of topic?.partitions ?? []) {
      expect([...p.replicas].sort()).toEqual([1, 2, 3]);
      expect([...p.isr].sort()).toEqual([1, 2, 3]);
    }
    // Leaders spread: each broker leads one of the three partitions.
    expect(new Set(topic?.partitions.map((p) => p.leader))).toEqual(new Set([1, 2, 3]));

    expect(await q.converged()).toBe(true);
    const expected = summary(active.runtime.committed);
    for (const m of q.members)
      expect(summary(m.runtime.committed), `node ${m.id}`).toEqual(expected);
  });

  it('AlterPartition shrinks and expands the ISR with epochs checked', async () => {
    quorum = new ControllerQuorum(SEED + 1);
    const q = quorum;
    const active = await q.activeController();
    await startBrokers(q, active);
    await q.answer(active.runtime.createTopics([newTopic('isr', 1)]));
    const state = () => active.runtime.committed;
    const partition = () => state().topicByName('isr')?.partitions[0];
    const before = partition();
    if (!before) throw new Error('no partition');
    const follower = before.isr.find((id) => id !== before.leader) as number;
    const shrunk = before.isr.filter((id) => id !== follower);

    const shrink = await q.answer(
      active.runtime.alterPartition(alterPartitionRequest(state(), before, shrunk)),
    );
    expect(shrink.errorCode).toBe(ErrorCode.NONE);
    expect(shrink.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
    expect(partition()?.isr).toEqual(shrunk);
    expect(partition()?.partitionEpoch).toBe(before.partitionEpoch + 1);

    // A stale partition epoch is refused and changes nothing.
    const stale = await q.answer(
      active.runtime.alterPartition(alterPartitionRequest(state(), before, before.isr)),
    );
    expect(stale.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.INVALID_UPDATE_VERSION);
    expect(partition()?.isr).toEqual(shrunk);

    const current = partition();
    if (!current) throw new Error('no partition');
    const expand = await q.answer(
      active.runtime.alterPartition(alterPartitionRequest(state(), current, [...shrunk, follower])),
    );
    expect(expand.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
    expect([...(partition()?.isr ?? [])].sort()).toEqual([1, 2, 3]);
    expect(await q.converged()).toBe(true);
    for (const m of q.members) {
      expect(m.runtime.committed.topicByName('isr')?.partitions[0]).toEqual(partition());
    }
  });

  it('fences a broker whose heartbeats stop, on the clock, and moves its leaderships', async () => {
    quorum = new ControllerQuorum(SEED + 2, { brokerSessionTimeoutMs: 3_000 });
    const q = quorum;
    const active = await q.activeController();
    await startBrokers(q, active);
    await q.answer(active.runtime.createTopics([newTopic('fence', 3)]));
    // Brokers 1 and 2 keep heartbeating; 3 falls silent.
    for (let second = 0; second < 5; second++) {
      await heartbeat(q, active, [1, 2]);
      await q.elapse(1_000);
    }
    const committed = active.runtime.committed;
    expect(committed.broker(3)?.fenced).toBe(true);
    expect(committed.broker(1)?.fenced).toBe(false);
    expect(committed.broker(2)?.fenced).toBe(false);
    for (const p of committed.topicByName('fence')?.partitions ?? []) {
      expect(p.isr).not.toContain(3);
      expect([1, 2]).toContain(p.leader);
    }
    expect(await q.converged()).toBe(true);
    for (const m of q.members) expect(m.runtime.committed.broker(3)?.fenced).toBe(true);
  });

  it('fails over: the new active controller holds the same state and answers', async () => {
    quorum = new ControllerQuorum(SEED + 3);
    const q = quorum;
    const first = await q.activeController();
    await startBrokers(q, first);
    const [created] = await q.answer(first.runtime.createTopics([newTopic('kept', 2)]));
    const ids = await q.answer(
      first.runtime.allocateProducerIds({ brokerId: 1, brokerEpoch: brokerEpoch(first, 1) }),
    );
    expect(ids).toMatchObject({ errorCode: 0, producerIdStart: 0, producerIdLen: 1000 });
    expect(await q.converged()).toBe(true);
    const before = summary(first.runtime.committed);

    q.isolated.add(first.id);
    const second = await q.activeController();
    expect(second.id).not.toBe(first.id);
    expect(summary(second.runtime.committed)).toEqual(before);
    expect(second.runtime.committed.topicByName('kept')?.topicId).toBe(created?.topicId);

    // The new controller answers: its own decisions continue from the replayed state.
    const more = await q.answer(
      second.runtime.allocateProducerIds({ brokerId: 2, brokerEpoch: brokerEpoch(second, 2) }),
    );
    expect(more).toMatchObject({ errorCode: 0, producerIdStart: 1000 });
    const [again] = await q.answer(second.runtime.createTopics([newTopic('kept', 1)]));
    expect(again?.errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    // Heartbeats went to the old controller: the new one gave every broker a fresh session.
    await heartbeat(q, second, [1, 2, 3]);

    // The old leader, isolated, answers nothing any more, and rejoins as a follower.
    const refused = await q.answer(first.runtime.createTopics([newTopic('lost', 1)]));
    expect(refused[0]?.errorCode).toBe(ErrorCode.NOT_CONTROLLER);
    q.isolated.delete(first.id);
    expect(await q.converged()).toBe(true);
    expect(summary(first.runtime.committed)).toEqual(summary(second.runtime.committed));
    expect(first.runtime.isActive).toBe(false);
  });

  it('a new leader decides only after replaying what an earlier one left uncommitted', async () => {
    quorum = new ControllerQuorum(SEED + 8);
    const q = quorum;
    const first = await q.activeController();
    await startBrokers(q, first);
    expect(await q.converged()).toBe(true);
    const lost = first.runtime.allocateProducerIds({
      brokerId: 1,
      brokerEpoch: brokerEpoch(first, 1),
    });
    // Cut the leader off the moment a follower holds the record but has not seen it commit.
    // Whichever voter wins next holds it (a shorter log cannot win both votes), and it commits
    // only under the new leader's leader-change entry.
    const holder = () =>
      q.members.find((m) => m !== first && m.log.endOffset() > m.runtime.committedEnd);
    expect(await q.until(() => holder() !== undefined, 1_000, 1)).toBe(true);
    q.isolated.add(first.id);
    expect((await q.answer(lost)).errorCode).toBe(ErrorCode.NOT_CONTROLLER);
    const second = await q.activeController();
    expect(second.runtime.committed.nextProducerId).toBe(1000);
    const ids = await q.answer(
      second.runtime.allocateProducerIds({ brokerId: 2, brokerEpoch: brokerEpoch(second, 2) }),
    );
    // Never the block the cut-off leader decided: that one committed, so it is spent.
    expect(ids).toMatchObject({ errorCode: 0, producerIdStart: 1000 });
  });

  it('never answers before the records of the answer are committed', async () => {
    quorum = new ControllerQuorum(SEED + 4);
    const q = quorum;
    const active = await q.activeController();
    await startBrokers(q, active);
    const seen: string[] = [];
    const pending = ['c1', 'c2', 'c3'].map((name) =>
      active.runtime.createTopics([newTopic(name, 2)]).then((results) => {
        // At the moment of the answer, the topic is in the committed state of the controller
        // and in the committed prefix of a majority of the voters.
        expect(results[0]?.errorCode).toBe(0);
        expect(active.runtime.committed.topicByName(name)).toBeDefined();
        const end = active.runtime.committedEnd;
        const holding = q.members.filter((m) => m.log.durableEndOffset() >= end);
        expect(holding.length).toBeGreaterThanOrEqual(2);
        seen.push(name);
      }),
    );
    // Records are appended, but a follower-less leader commits nothing: cut both followers.
    for (const m of q.members) if (m !== active) q.isolated.add(m.id);
    await q.elapse(200);
    expect(seen).toEqual([]);
    for (const m of q.members) q.isolated.delete(m.id);
    await q.until(() => seen.length === 3, 5_000);
    await Promise.all(pending);
    expect(seen).toEqual(['c1', 'c2', 'c3']);
  });

  it('answers NOT_CONTROLLER across a leader change and leaves nothing half-applied', async () => {
    quorum = new ControllerQuorum(SEED + 5);
    const q = quorum;
    const first = await q.activeController();
    await startBrokers(q, first);
    expect(await q.converged()).toBe(true);
    // Cut the leader off, then ask it for a topic of many partitions: its records are appended
    // to its own log only, and it loses leadership before they can commit.
    q.isolated.add(first.id);
    const answer = first.runtime.createTopics([newTopic('split', 20)]);
    const second = await q.activeController();
    const [result] = await q.answer(answer);
    expect(result?.errorCode).toBe(ErrorCode.NOT_CONTROLLER);
    expect(second.runtime.committed.topicByName('split')).toBeUndefined();
    // A command reaching a node that is not the active controller is refused at once.
    const follower = q.members.find((m) => m !== second && m !== first) as QuorumMember;
    const [direct] = await follower.runtime.createTopics([newTopic('split', 20)]);
    expect(direct?.errorCode).toBe(ErrorCode.NOT_CONTROLLER);

    q.isolated.delete(first.id);
    expect(await q.converged()).toBe(true);
    for (const m of q.members) {
      // The old leader truncated its uncommitted records: no voter holds any part of them.
      expect(m.runtime.committed.topicByName('split'), `node ${m.id}`).toBeUndefined();
    }
    // The topic can be created on the new controller, whole.
    const [created] = await q.answer(second.runtime.createTopics([newTopic('split', 20)]));
    expect(created?.errorCode).toBe(0);
    expect(await q.converged()).toBe(true);
    for (const m of q.members) {
      expect(m.runtime.committed.topicByName('split')?.partitions).toHaveLength(20);
    }
  });

  it('alters topic configs through ConfigRecords, checked as on a single node', async () => {
    quorum = new ControllerQuorum(SEED + 6);
    const q = quorum;
    const active = await q.activeController();
    await startBrokers(q, active);
    await q.answer(active.runtime.createTopics([newTopic('conf', 1)]));
    const set = (name: string, value: string | null) => ({
      resourceType: CONFIG_RESOURCE_TOPIC,
      resourceName: 'conf',
      plan: () => [[name, value] as const],
    });
    const results = await q.answer(
      active.runtime.alterConfigs([
        set('retention.ms', '1000'),
        set('retention.ms', 'soon'),
        { ...set('retention.ms', '1'), resourceName: 'absent' },
        { ...set('retention.ms', '1'), resourceType: 4, resourceName: '1' },
      ]),
    );
    expect(results.map((r) => r.errorCode)).toEqual([
      ErrorCode.NONE,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
    ]);
    const configs = () => active.runtime.committed.configs(CONFIG_RESOURCE_TOPIC, 'conf');
    expect(configs().get('retention.ms')).toBe('1000');
    // validateOnly decides on a copy: nothing is written.
    const checked = await q.answer(
      active.runtime.alterConfigs([set('retention.ms', '5')], { validateOnly: true }),
    );
    expect(checked[0]?.errorCode).toBe(0);
    expect(configs().get('retention.ms')).toBe('1000');
    await q.answer(active.runtime.alterConfigs([set('retention.ms', null)]));
    expect(configs().has('retention.ms')).toBe(false);
    expect(await q.converged()).toBe(true);
    for (const m of q.members) {
      expect(m.runtime.committed.configs(CONFIG_RESOURCE_TOPIC, 'conf').size).toBe(0);
    }
  });

  it('steps down when Raft refuses an append, and takes over once all of it commits', async () => {
    quorum = new ControllerQuorum(SEED + 10, {}, { uncommittedEntriesMax: 4 });
    const q = quorum;
    const active = await q.activeController();
    for (const m of q.members) if (m !== active) q.isolated.add(m.id);
    // Nothing commits: the fifth uncommitted record is refused (backlog-full).
    const answers = [1, 2, 3, 4, 5].map((id) =>
      active.runtime.registerBroker(registrationRequest(id)),
    );
    const refused = await Promise.all(answers);
    expect(refused.map((r) => r.errorCode)).toEqual(Array(5).fill(ErrorCode.NOT_CONTROLLER));
    expect(active.runtime.isActive).toBe(false);
    for (const m of q.members) q.isolated.delete(m.id);
    // Still the Raft leader: once the four appended records commit, it is active again, and
    // decides on top of them (they were registered, though their answers said otherwise).
    expect(await q.until(() => active.runtime.isActive, 5_000)).toBe(true);
    expect([...active.runtime.committed.brokers()].map((b) => b.brokerId)).toEqual([1, 2, 3, 4]);
    const again = await q.answer(active.runtime.registerBroker(registrationRequest(5)));
    expect(again.errorCode).toBe(ErrorCode.NONE);
  });

  it('a restarted voter replays its log into the same state, and can lead', async () => {
    quorum = new ControllerQuorum(SEED + 11);
    const q = quorum;
    const first = await q.activeController();
    await startBrokers(q, first);
    await q.answer(first.runtime.createTopics([newTopic('replayed', 3)]));
    expect(await q.converged()).toBe(true);
    const expected = summary(first.runtime.committed);
    // The leader itself crashes: a restarted leader never resumes its epoch.
    await q.restart(first);
    const second = await q.activeController();
    expect(summary(second.runtime.committed)).toEqual(expected);
    expect(await q.converged()).toBe(true);
    expect(summary(first.runtime.committed)).toEqual(expected);
    expect(first.runtime.isActive).toBe(second === first);
  });

  it('rebuilds its state from a snapshot batch, replacing what it replayed', async () => {
    quorum = new ControllerQuorum(SEED + 9);
    const q = quorum;
    const active = await q.activeController();
    await startBrokers(q, active);
    await q.answer(active.runtime.createTopics([newTopic('snap', 2)]));
    expect(await q.converged()).toBe(true);
    // A standby whose log was replaced by a snapshot of the same records gets them as one
    // batch, all at the snapshot's last offset.
    const standby = q.members.find((m) => m !== active) as QuorumMember;
    const records = standby.batches.flatMap((b) => b.records);
    const lastOffset = standby.runtime.committedEnd - 1;
    const fresh = new ControllerRuntime({
      nodeId: 9,
      clock: q.clock,
      random: new SeededRandom(SEED),
      logger: silentLogger(),
      config: { ...DEFAULT_CONTROLLER_CONFIG, clusterId: active.runtime.clusterId },
      log: { append: () => undefined },
    });
    fresh.handleCommitted({ records: records.slice(0, 2), lastOffset: 2 });
    fresh.handleCommitted({
      records: records.map((r) => ({ offset: lastOffset, data: r.data })),
      lastOffset,
      snapshot: true,
    });
    expect(summary(fresh.committed)).toEqual(summary(active.runtime.committed));
    expect(fresh.committedEnd).toBe(active.runtime.committedEnd);
    fresh.close();
  });

  it('bounds the commands in flight and refuses the excess with a retriable error', async () => {
    quorum = new ControllerQuorum(SEED + 7);
    const q = quorum;
    const active = await q.activeController();
    for (const m of q.members) if (m !== active) q.isolated.add(m.id);
    // Nothing commits while the followers are cut off, so registrations stay in flight.
    const answers = Array.from({ length: 1001 }, (_, i) =>
      active.runtime.registerBroker(registrationRequest(100 + i)),
    );
    const last = await answers[1000];
    expect(last?.errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT);
    for (const m of q.members) q.isolated.delete(m.id);
    const first = await q.answer(answers[0] as (typeof answers)[number]);
    expect(first.errorCode).toBe(ErrorCode.NONE);
  });
});

function brokerEpoch(member: QuorumMember, brokerId: number): number {
  return member.runtime.committed.broker(brokerId)?.epoch ?? -1;
}
