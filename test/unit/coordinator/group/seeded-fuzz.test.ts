/**
 * Seeded random request sequences against one group (joins, syncs, heartbeats, leaves,
 * commits, static rejoins, failing appends, time passing), with the group's invariants checked
 * after every step. At the end the clients fall silent: every held JoinGroup and SyncGroup must
 * then have been answered and the group must be Empty. A failing run prints its seed.
 */
import { expect, onTestFailed, test } from 'vitest';
import { ErrorCode } from '../../../../protocol/errors.ts';
import {
  type ClassicGroup,
  GroupCoordinator,
  GroupState,
} from '../../../../src/coordinator/group/index.ts';
import { SimClock } from '../../../../src/util/clock.ts';
import { SeededRandom } from '../../../../src/util/random.ts';
import {
  flush,
  joinRequest,
  MemoryStore,
  seedFromEnv,
  subscription,
  type Tracked,
  track,
} from './harness.ts';

interface Client {
  memberId: string;
  generationId: number;
  readonly instanceId: string | null;
}

function checkInvariants(group: ClassicGroup | undefined, lastGeneration: number): number {
  if (group === undefined) return lastGeneration;
  expect(group.generationId).toBeGreaterThanOrEqual(lastGeneration);
  if (group.size > 0) expect(group.has(group.leaderId ?? '')).toBe(true);
  if (group.is(GroupState.Empty)) expect(group.size).toBe(0);
  let awaiting = 0;
  for (const [id, m] of group.members) {
    expect(m.memberId).toBe(id);
    if (m.isAwaitingJoin) awaiting++;
    if (m.groupInstanceId !== null) expect(group.staticMemberId(m.groupInstanceId)).toBe(id);
  }
  expect(group.numAwaitingJoin).toBe(awaiting);
  if (group.is(GroupState.Stable) || group.is(GroupState.CompletingRebalance)) {
    expect(group.protocolName).toBeDefined();
  }
  return group.generationId;
}

async function run(seed: number): Promise<{ generation: number; stableSteps: number }> {
  const random = new SeededRandom(seed);
  const clock = new SimClock();
  const store = new MemoryStore();
  const coordinator = new GroupCoordinator({
    clock,
    random: random.fork(),
    store,
    config: {
      'offsets.topic.num.partitions': 1,
      'group.initial.rebalance.delay.ms': random.pick([0, 3000]),
      'group.max.size': random.pick([3, 1000]),
    },
  });
  await coordinator.loadPartition(0, []);
  const clients: Client[] = [];
  const answers: Tracked<unknown>[] = [];
  const topics = [['a'], ['a', 'b']];
  let generation = 0;
  let stableSteps = 0;
  for (let step = 0; step < 250; step++) {
    const newcomer = clients.length === 0 || (clients.length < 5 && random.chance(0.08));
    const c = newcomer ? undefined : random.pick(clients);
    // Mostly what a live consumer does (sync, heartbeat), with churn mixed in.
    const op = random.pick([1, 1, 3, 3, 3, 3, 5, 5, 5, 5, 7, 8, 8, 9, 9, 9]);
    store.failWith = random.chance(0.05) ? ErrorCode.NOT_LEADER_OR_FOLLOWER : undefined;
    const timing = { sessionTimeoutMs: 10_000, rebalanceTimeoutMs: random.pick([5000, 20_000]) };
    const protocols = [{ name: 'range', metadata: subscription(random.pick(topics)) }];
    if (c === undefined) {
      const instanceId = random.chance(0.3) ? `i${random.int(0, 3)}` : null;
      const client: Client = { memberId: '', generationId: -1, instanceId };
      clients.push(client);
      const join = track(
        coordinator.join(joinRequest('g', { groupInstanceId: instanceId, protocols, ...timing })),
      );
      answers.push(join);
      void join.promise.then((r) => {
        if (r.memberId !== '') client.memberId = r.memberId;
        if (r.errorCode === ErrorCode.NONE) client.generationId = r.generationId;
      });
    } else if (op <= 2) {
      const join = track(
        coordinator.join(
          joinRequest('g', {
            memberId: c.memberId,
            groupInstanceId: c.instanceId,
            protocols,
            ...timing,
          }),
        ),
      );
      answers.push(join);
      void join.promise.then((r) => {
        if (r.errorCode === ErrorCode.NONE) c.generationId = r.generationId;
      });
    } else if (op <= 4) {
      const assignments = clients.map((x) => ({
        memberId: x.memberId,
        assignment: Buffer.from('x'),
      }));
      answers.push(
        track(
          coordinator.sync({
            groupId: 'g',
            generationId: c.generationId,
            memberId: c.memberId,
            groupInstanceId: c.instanceId,
            protocolType: 'consumer',
            protocolName: random.chance(0.9) ? 'range' : null,
            assignments,
          }),
        ),
      );
    } else if (op <= 6) {
      const request = { memberId: c.memberId, groupInstanceId: c.instanceId };
      coordinator.heartbeat({ groupId: 'g', generationId: c.generationId, ...request });
    } else if (op === 7) {
      coordinator.leave('g', [{ memberId: c.memberId, groupInstanceId: c.instanceId }]);
    } else if (op === 8) {
      const partitions = [
        {
          partitionIndex: 0,
          committedOffset: step,
          committedLeaderEpoch: -1,
          committedMetadata: '',
        },
      ];
      answers.push(
        track(
          coordinator.commitOffsets({
            groupId: 'g',
            generationIdOrMemberEpoch: c.generationId,
            memberId: c.memberId,
            groupInstanceId: c.instanceId,
            topics: [{ name: 'a', partitions }],
            apiVersion: 8,
          }),
        ),
      );
    } else {
      clock.advance(random.int(0, 8000));
    }
    await flush();
    generation = checkInvariants(coordinator.inspectGroup('g'), generation);
    if (coordinator.groupState('g') === GroupState.Stable) stableSteps++;
  }
  // Everyone falls silent: sessions, new-member and rebalance timeouts clear the group.
  store.failWith = undefined;
  for (let i = 0; i < 40; i++) {
    clock.advance(30_000);
    await flush();
    generation = checkInvariants(coordinator.inspectGroup('g'), generation);
  }
  expect(answers.filter((a) => !a.settled)).toEqual([]);
  const state = coordinator.groupState('g');
  expect(state === undefined || state === GroupState.Empty).toBe(true);
  return { generation, stableSteps };
}

test('seeded request sequences keep the group consistent and answer every request', async () => {
  const base = seedFromEnv();
  let seed = base;
  onTestFailed(() => console.error(`failing fuzz seed: ${seed} (BROOK_TEST_SEED=${seed})`));
  const stats = [];
  for (let i = 0; i < 12; i++) {
    seed = (base + i * 7919) >>> 0;
    stats.push(await run(seed));
  }
  // The sequences must actually reach rebalances and stable generations to test anything.
  expect(Math.max(...stats.map((s) => s.generation))).toBeGreaterThanOrEqual(5);
  expect(stats.filter((s) => s.stableSteps > 0).length).toBeGreaterThanOrEqual(1);
});
