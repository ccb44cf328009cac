import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../../protocol/errors.ts';
import {
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  GroupCoordinator,
  type GroupRecord,
  GroupState,
  partitionForGroup,
} from '../../../../src/coordinator/group/index.ts';
import { SimClock } from '../../../../src/util/clock.ts';
import { BrokerError } from '../../../../src/util/errors.ts';
import { SeededRandom } from '../../../../src/util/random.ts';
import {
  flush,
  harness,
  joinNew,
  joinRequest,
  MemoryStore,
  seedFromEnv,
  stableSingleMember,
  subscription,
  syncRequest,
  track,
} from './harness.ts';

const partitions = 4;

function fresh(store = new MemoryStore(), clock = new SimClock(), groupMaxSize = 1000) {
  const coordinator = new GroupCoordinator({
    clock,
    random: new SeededRandom(seedFromEnv()),
    store,
    config: {
      'offsets.topic.num.partitions': partitions,
      'group.initial.rebalance.delay.ms': 0,
      'group.max.size': groupMaxSize,
    },
  });
  return { coordinator, clock, store };
}

async function loadAll(coordinator: GroupCoordinator, store: MemoryStore): Promise<void> {
  for (let p = 0; p < partitions; p++)
    await coordinator.loadPartition(p, store.partitions.get(p) ?? []);
}

describe('loading __consumer_offsets', () => {
  test('round trip: groups, members, assignments and offsets survive a reload', async () => {
    const h = await harness({ 'offsets.topic.num.partitions': partitions });
    const a = await stableSingleMember(h, 'stable-group', {
      groupInstanceId: 'inst',
      sessionTimeoutMs: 30_000,
    });
    await h.coordinator.commitOffsets({
      groupId: 'stable-group',
      generationIdOrMemberEpoch: 1,
      memberId: a.memberId,
      groupInstanceId: 'inst',
      topics: [
        {
          name: 'orders',
          partitions: [
            {
              partitionIndex: 2,
              committedOffset: 99,
              committedLeaderEpoch: 4,
              committedMetadata: 'x',
            },
          ],
        },
      ],
      apiVersion: 8,
    });
    const b = await stableSingleMember(h, 'emptied');
    h.coordinator.leave('emptied', [{ memberId: b.memberId, groupInstanceId: null }]);
    await h.coordinator.commitOffsets({
      groupId: 'simple',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 't',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 7,
              committedLeaderEpoch: -1,
              committedMetadata: null,
            },
          ],
        },
      ],
      apiVersion: 8,
    });
    await flush();

    const { coordinator } = fresh(h.store, new SimClock(h.clock.nowMs()));
    await loadAll(coordinator, h.store);
    const before = h.coordinator.describeGroups(['stable-group', 'emptied', 'simple']);
    expect(coordinator.describeGroups(['stable-group', 'emptied', 'simple'])).toEqual(before);
    expect(before.map((d) => d.groupState)).toEqual(['Stable', 'Empty', 'Empty']);
    const fetch = (c: GroupCoordinator, groupId: string) =>
      c.fetchOffsets({ groupId, topics: null, requireStable: true });
    for (const groupId of ['stable-group', 'simple']) {
      expect(fetch(coordinator, groupId)).toEqual(fetch(h.coordinator, groupId));
    }
    const loaded = coordinator.inspectGroup('stable-group');
    expect(loaded?.generationId).toBe(1);
    expect(loaded?.leaderId).toBe(a.memberId);
    expect(loaded?.staticMemberId('inst')).toBe(a.memberId);
    expect(coordinator.inspectGroup('emptied')?.generationId).toBe(2);
    expect(coordinator.inspectGroup('simple')?.protocolType).toBeUndefined();
    // The reloaded member carries on with heartbeats and syncs in the same generation.
    const hb = {
      groupId: 'stable-group',
      memberId: a.memberId,
      groupInstanceId: 'inst',
      generationId: 1,
    };
    expect(coordinator.heartbeat(hb)).toBe(ErrorCode.NONE);
    const sync = await coordinator.sync({
      ...syncRequest('stable-group', a.memberId, 1),
      groupInstanceId: 'inst',
    });
    expect(sync.assignment).toEqual(a.sync.assignment);
  });

  test('a loaded member that never heartbeats is removed after its session timeout', async () => {
    const h = await harness({ 'offsets.topic.num.partitions': partitions });
    await stableSingleMember(h, 'g', { sessionTimeoutMs: 10_000 });
    const clock = new SimClock(h.clock.nowMs());
    const { coordinator } = fresh(h.store, clock);
    await loadAll(coordinator, h.store);
    expect(coordinator.groupState('g')).toBe(GroupState.Stable);
    clock.advance(10_000);
    expect(coordinator.groupState('g')).toBe(GroupState.Empty);
  });

  test('tombstones win over earlier records; later records win over earlier', async () => {
    const value = (offset: number) =>
      encodeOffsetCommitValue(
        { offset, leaderEpoch: -1, metadata: '', commitTimestamp: 1, expireTimestamp: -1 },
        3,
      );
    const emptyGroup = () =>
      encodeGroupMetadataValue(
        {
          protocolType: 'consumer',
          generation: 3,
          protocol: null,
          leader: null,
          currentStateTimestamp: 5,
          members: [],
        },
        3,
      );
    const byPartition = new Map<number, GroupRecord[]>();
    const put = (groupId: string, record: GroupRecord) => {
      const p = partitionForGroup(groupId, partitions);
      byPartition.set(p, [...(byPartition.get(p) ?? []), record]);
    };
    put('a', { key: encodeOffsetCommitKey('a', 't', 0), value: value(1) });
    put('a', { key: encodeOffsetCommitKey('a', 't', 0), value: value(2) });
    put('a', { key: encodeOffsetCommitKey('a', 't', 1), value: value(3) });
    put('a', { key: encodeOffsetCommitKey('a', 't', 1), value: null });
    put('b', { key: encodeGroupMetadataKey('b'), value: emptyGroup() });
    put('b', { key: encodeGroupMetadataKey('b'), value: null });
    put('c', { key: encodeGroupMetadataKey('c'), value: emptyGroup() });
    put('c', { key: Buffer.from('0005', 'hex'), value: Buffer.from('future') });
    const { coordinator } = fresh();
    for (let p = 0; p < partitions; p++)
      await coordinator.loadPartition(p, byPartition.get(p) ?? []);
    const offsets = coordinator.fetchOffsets({
      groupId: 'a',
      topics: [{ name: 't', partitionIndexes: [0, 1] }],
      requireStable: false,
    });
    expect(offsets.topics[0]?.partitions.map((p) => p.committedOffset)).toEqual([2, -1]);
    expect(coordinator.groupState('b')).toBeUndefined();
    expect(coordinator.groupState('c')).toBe(GroupState.Empty);
    expect(coordinator.inspectGroup('c')?.currentStateTimestampMs).toBe(5);
  });

  test('until loaded: COORDINATOR_LOAD_IN_PROGRESS (sync: REBALANCE_IN_PROGRESS)', async () => {
    const { coordinator, store } = fresh();
    const p = coordinator.partitionFor('g');
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* records(): AsyncGenerator<GroupRecord> {
      await gate;
      yield {
        key: encodeOffsetCommitKey('g', 't', 0),
        value: encodeOffsetCommitValue(
          { offset: 5, leaderEpoch: -1, metadata: '', commitTimestamp: 1, expireTimestamp: -1 },
          3,
        ),
      };
    }
    const load = coordinator.loadPartition(p, records());
    expect(coordinator.isLoading(p)).toBe(true);
    expect((await coordinator.join(joinRequest('g'))).errorCode).toBe(
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    expect((await coordinator.sync(syncRequest('g', 'm', 1))).errorCode).toBe(
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
    expect(
      coordinator.fetchOffsets({ groupId: 'g', topics: null, requireStable: false }).errorCode,
    ).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    const commit = await coordinator.commitOffsets({
      groupId: 'g',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 't',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 1,
              committedLeaderEpoch: -1,
              committedMetadata: '',
            },
          ],
        },
      ],
      apiVersion: 8,
    });
    expect(commit.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect(coordinator.leave('g', []).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect(coordinator.describeGroups(['g'])[0]?.errorCode).toBe(
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    expect((await coordinator.deleteGroups(['g']))[0]?.errorCode).toBe(
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    expect(coordinator.listGroups().errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    release();
    await load;
    expect(coordinator.listGroups().errorCode).toBe(ErrorCode.NONE);
    const fetched = coordinator.fetchOffsets({ groupId: 'g', topics: null, requireStable: false });
    expect(fetched.topics[0]?.partitions[0]?.committedOffset).toBe(5);
    expect(store.all()).toEqual([]);
  });

  test('groups of partitions not owned: NOT_COORDINATOR; unload answers waiters', async () => {
    const { coordinator } = fresh();
    expect((await coordinator.join(joinRequest('g'))).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(
      coordinator.heartbeat({
        groupId: 'g',
        memberId: 'm',
        groupInstanceId: null,
        generationId: 1,
      }),
    ).toBe(ErrorCode.NOT_COORDINATOR);
    await coordinator.loadPartition(coordinator.partitionFor('g'), []);
    const first = await coordinator.join(joinRequest('g'));
    const held = track(coordinator.join(joinRequest('g', { memberId: first.memberId })));
    await flush();
    coordinator.unloadPartition(coordinator.partitionFor('g'));
    expect((await held.promise).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(coordinator.groupState('g')).toBeUndefined();
    expect((await coordinator.join(joinRequest('g'))).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
  });

  test('a corrupt record fails the load (BrokerError), partition unowned', async () => {
    const { coordinator } = fresh();
    const p = coordinator.partitionFor('g');
    const bad = [{ key: encodeGroupMetadataKey('g'), value: Buffer.from('0003ffff', 'hex') }];
    await expect(coordinator.loadPartition(p, bad)).rejects.toThrow(BrokerError);
    expect(coordinator.ownsPartition(p)).toBe(false);
    expect(coordinator.isLoading(p)).toBe(false);
  });

  test('close cancels timers and refuses further requests', async () => {
    const h = await harness();
    const a = await joinNew(h, 'g');
    h.coordinator.close();
    expect((await a.join.promise).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(h.clock.nextTimerMs()).toBeUndefined();
    expect((await h.coordinator.join(joinRequest('g'))).errorCode).toBe(
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
    expect(h.coordinator.listGroups().errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });

  test('subscription metadata of a loaded group is kept for DescribeGroups', async () => {
    const h = await harness({ 'offsets.topic.num.partitions': partitions });
    const meta = subscription(['a', 'b'], 'user-data');
    await stableSingleMember(h, 'g', { protocols: [{ name: 'range', metadata: meta }] });
    const { coordinator } = fresh(h.store, new SimClock(h.clock.nowMs()));
    await loadAll(coordinator, h.store);
    expect(coordinator.describeGroups(['g'])[0]?.members[0]?.memberMetadata).toEqual(meta);
    expect([...(coordinator.inspectGroup('g')?.subscribedTopics ?? [])]).toEqual(['a', 'b']);
  });

  test('a group loaded over group.max.size rebalances and cuts the last to rejoin', async () => {
    const h = await harness({ 'offsets.topic.num.partitions': partitions });
    const joins = [0, 1, 2].map(() =>
      track(h.coordinator.join(joinRequest('g', { apiVersion: 3 }))),
    );
    h.clock.advance(0);
    const members = await Promise.all(joins.map((j) => j.promise));
    const leader = members.find((m) => m.members.length > 0);
    const syncs = members.map((m) =>
      h.coordinator.sync({
        ...syncRequest('g', m.memberId, 1),
        assignments:
          m === leader
            ? members.map((x) => ({ memberId: x.memberId, assignment: Buffer.from('a') }))
            : [],
      }),
    );
    await Promise.all(syncs);
    const clock = new SimClock(h.clock.nowMs());
    const { coordinator } = fresh(h.store, clock, 2);
    await loadAll(coordinator, h.store);
    expect(coordinator.groupState('g')).toBe(GroupState.PreparingRebalance);
    const rejoin = (memberId: string) => track(coordinator.join(joinRequest('g', { memberId })));
    const [a, b, c] = members.map((m) => m.memberId) as [string, string, string];
    const first = rejoin(a);
    const second = rejoin(b);
    const third = await coordinator.join(joinRequest('g', { memberId: c }));
    expect(third).toMatchObject({ errorCode: ErrorCode.GROUP_MAX_SIZE_REACHED, memberId: '' });
    // With the third member gone, everyone left has rejoined: generation 2 of two members.
    expect((await first.promise).generationId).toBe(2);
    expect((await second.promise).generationId).toBe(2);
    expect(coordinator.inspectGroup('g')?.size).toBe(2);
  });

  test('a load overtaken by unload and a newer load installs nothing', async () => {
    const { coordinator } = fresh();
    const groupId = 'overtaken';
    const p = partitionForGroup(groupId, partitions);
    const offsetRecord = (offset: number): GroupRecord => ({
      key: encodeOffsetCommitKey(groupId, 'orders', 0),
      value: encodeOffsetCommitValue(
        { offset, leaderEpoch: -1, metadata: '', commitTimestamp: 1, expireTimestamp: -1 },
        3,
      ),
    });
    const gate = () => {
      let open = (): void => undefined;
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      return { open, opened };
    };
    const oldGate = gate();
    const newGate = gate();
    async function* replay(offset: number, opened: Promise<void>): AsyncGenerator<GroupRecord> {
      yield offsetRecord(offset);
      await opened; // a replay in progress
    }
    const oldLoad = coordinator.loadPartition(p, replay(1, oldGate.opened));
    await flush();
    // Leadership lost, then regained at a newer epoch: a second load of the same partition.
    coordinator.unloadPartition(p);
    const newLoad = coordinator.loadPartition(p, replay(2, newGate.opened));
    // The old load ends first: it must neither install its groups nor end the new load.
    oldGate.open();
    await oldLoad;
    expect(coordinator.isLoading(p)).toBe(true);
    expect(coordinator.ownsPartition(p)).toBe(false);
    const during = coordinator.fetchOffsets({ groupId, topics: null, requireStable: false });
    expect(during.errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    newGate.open();
    await newLoad;
    const fetched = coordinator.fetchOffsets({ groupId, topics: null, requireStable: false });
    expect(fetched.topics[0]?.partitions[0]?.committedOffset).toBe(2);
    expect(coordinator.ownsPartition(p)).toBe(true);
    expect(coordinator.isLoading(p)).toBe(false);
  });
});
