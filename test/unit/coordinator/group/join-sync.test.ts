import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../../protocol/errors.ts';
import { GroupState } from '../../../../src/coordinator/group/index.ts';
import {
  flush,
  harness,
  joinNew,
  joinRequest,
  stableSingleMember,
  subscription,
  syncRequest,
  track,
} from './harness.ts';

describe('JoinGroup', () => {
  test('v4+ first join gets MEMBER_ID_REQUIRED with a new id; the retry joins', async () => {
    const h = await harness();
    const first = await h.coordinator.join(joinRequest('g'));
    expect(first).toMatchObject({ errorCode: ErrorCode.MEMBER_ID_REQUIRED, generationId: -1 });
    expect(first.memberId).toMatch(/^client-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab]/);
    expect(h.coordinator.groupState('g')).toBe(GroupState.Empty);
    const join = track(h.coordinator.join(joinRequest('g', { memberId: first.memberId })));
    await flush();
    expect(join.settled).toBe(false);
    expect(h.coordinator.groupState('g')).toBe(GroupState.PreparingRebalance);
    h.clock.advance(0);
    const joined = await join.promise;
    expect(joined).toMatchObject({
      errorCode: ErrorCode.NONE,
      generationId: 1,
      protocolType: 'consumer',
      protocolName: 'range',
      leader: first.memberId,
      memberId: first.memberId,
      skipAssignment: false,
    });
    expect(joined.members).toEqual([
      { memberId: first.memberId, groupInstanceId: null, metadata: subscription(['orders']) },
    ]);
    expect(h.coordinator.groupState('g')).toBe(GroupState.CompletingRebalance);
  });

  test('v0-v3 joins directly without MEMBER_ID_REQUIRED', async () => {
    const h = await harness();
    const join = track(h.coordinator.join(joinRequest('g', { apiVersion: 3 })));
    h.clock.advance(0);
    const joined = await join.promise;
    expect(joined.errorCode).toBe(ErrorCode.NONE);
    expect(joined.memberId).toMatch(/^client-/);
  });

  test('ids come from the injected Random: same seed, same ids', async () => {
    const a = await harness();
    const b = await harness();
    const ids = async (h: typeof a) => (await h.coordinator.join(joinRequest('g'))).memberId;
    expect(await ids(a)).toBe(await ids(b));
  });

  test('a known member id in an unknown group is UNKNOWN_MEMBER_ID', async () => {
    const h = await harness();
    const r = await h.coordinator.join(joinRequest('g', { memberId: 'ghost' }));
    expect(r).toMatchObject({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, memberId: 'ghost' });
    expect(h.coordinator.groupState('g')).toBeUndefined();
  });

  test('session timeout outside the group bounds is INVALID_SESSION_TIMEOUT', async () => {
    const h = await harness({ 'group.min.session.timeout.ms': 6000 });
    for (const sessionTimeoutMs of [5999, 1_800_001]) {
      const r = await h.coordinator.join(joinRequest('g', { sessionTimeoutMs }));
      expect(r.errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
  });

  test('empty group id is INVALID_GROUP_ID', async () => {
    const h = await harness();
    expect((await h.coordinator.join(joinRequest(''))).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
  });

  test('empty protocol type or list is INCONSISTENT_GROUP_PROTOCOL', async () => {
    const h = await harness();
    const noType = await h.coordinator.join(joinRequest('g', { protocolType: '' }));
    expect(noType.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const noProtocols = await h.coordinator.join(joinRequest('g', { protocols: [] }));
    expect(noProtocols.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  test('a member sharing no protocol with the group, or another type, is refused', async () => {
    const h = await harness();
    await stableSingleMember(h, 'g');
    const other = await h.coordinator.join(
      joinRequest('g', {
        apiVersion: 3,
        protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }],
      }),
    );
    expect(other.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const connect = await h.coordinator.join(
      joinRequest('g', { apiVersion: 3, protocolType: 'connect' }),
    );
    expect(connect.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  test('two members: both answered, only the leader gets the members', async () => {
    const h = await harness();
    const a = await joinNew(h, 'g');
    const b = await joinNew(h, 'g', { clientId: 'client' });
    h.clock.advance(0);
    const [ja, jb] = [await a.join.promise, await b.join.promise];
    expect(ja.generationId).toBe(1);
    expect(jb.generationId).toBe(1);
    expect(ja.leader).toBe(a.memberId);
    expect(jb.leader).toBe(a.memberId);
    expect(ja.members.map((m) => m.memberId)).toEqual([a.memberId, b.memberId]);
    expect(jb.members).toEqual([]);
  });

  test('protocol selection: most votes among protocols all members support', async () => {
    const h = await harness();
    const p = (name: string) => ({ name, metadata: Buffer.from(name) });
    const a = await joinNew(h, 'g', { protocols: [p('range'), p('roundrobin'), p('sticky')] });
    const b = await joinNew(h, 'g', { protocols: [p('sticky'), p('roundrobin')] });
    const c = await joinNew(h, 'g', { protocols: [p('roundrobin'), p('sticky'), p('range')] });
    h.clock.advance(0);
    // Candidates: roundrobin, sticky. Votes: a -> roundrobin, b -> sticky, c -> roundrobin.
    const leader = await a.join.promise;
    expect(leader.protocolName).toBe('roundrobin');
    expect(leader.members.map((m) => m.metadata.toString())).toEqual([
      'roundrobin',
      'roundrobin',
      'roundrobin',
    ]);
    expect((await b.join.promise).protocolName).toBe('roundrobin');
    expect((await c.join.promise).protocolName).toBe('roundrobin');
  });

  test('a follower rejoining a Stable group unchanged gets the current generation', async () => {
    const h = await harness();
    const a = await joinNew(h, 'g');
    const b = await joinNew(h, 'g');
    h.clock.advance(0);
    const gen = (await a.join.promise).generationId;
    await b.join.promise;
    const s = track(h.coordinator.sync(syncRequest('g', b.memberId, gen)));
    await h.coordinator.sync(syncRequest('g', a.memberId, gen));
    await s.promise;
    expect(h.coordinator.groupState('g')).toBe(GroupState.Stable);
    const again = await h.coordinator.join(joinRequest('g', { memberId: b.memberId }));
    expect(again).toMatchObject({ errorCode: ErrorCode.NONE, generationId: gen, members: [] });
    expect(h.coordinator.groupState('g')).toBe(GroupState.Stable);
  });

  test('the leader rejoining a Stable group forces a rebalance', async () => {
    const h = await harness();
    const { memberId, generationId } = await stableSingleMember(h, 'g');
    const rejoin = await h.coordinator.join(joinRequest('g', { memberId }));
    // Sole member: everyone has rejoined at once, so the next generation starts immediately.
    expect(rejoin).toMatchObject({ errorCode: ErrorCode.NONE, generationId: generationId + 1 });
    expect(h.coordinator.groupState('g')).toBe(GroupState.CompletingRebalance);
  });

  test('changed metadata during CompletingRebalance restarts the rebalance', async () => {
    const h = await harness();
    const a = await joinNew(h, 'g');
    const b = await joinNew(h, 'g');
    h.clock.advance(0);
    await a.join.promise;
    await b.join.promise;
    const syncB = track(h.coordinator.sync(syncRequest('g', b.memberId, 1)));
    await flush();
    expect(syncB.settled).toBe(false);
    // Same metadata: the leader lost its answer; it gets generation 1 and the members again.
    const same = await h.coordinator.join(joinRequest('g', { memberId: a.memberId }));
    expect(same).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, leader: a.memberId });
    expect(same.members).toHaveLength(2);
    const changed = track(
      h.coordinator.join(
        joinRequest('g', {
          memberId: a.memberId,
          protocols: [{ name: 'range', metadata: subscription(['orders', 'payments']) }],
        }),
      ),
    );
    expect((await syncB.promise).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(h.coordinator.groupState('g')).toBe(GroupState.PreparingRebalance);
    const rejoinB = await h.coordinator.join(joinRequest('g', { memberId: b.memberId }));
    expect(rejoinB.generationId).toBe(2);
    expect((await changed.promise).generationId).toBe(2);
  });
});

describe('join phase timing', () => {
  test('initial rebalance delay waits and each new member extends it', async () => {
    const h = await harness({ 'group.initial.rebalance.delay.ms': 3000 });
    const a = await joinNew(h, 'g', { rebalanceTimeoutMs: 10_000 });
    h.clock.advance(2000);
    const b = await joinNew(h, 'g', { rebalanceTimeoutMs: 10_000 });
    h.clock.advance(999);
    expect(a.join.settled).toBe(false);
    h.clock.advance(1); // first delay over, but b arrived: extended by another 3000
    await flush();
    expect(a.join.settled).toBe(false);
    h.clock.advance(2999);
    await flush();
    expect(a.join.settled).toBe(false);
    h.clock.advance(1);
    expect((await a.join.promise).generationId).toBe(1);
    expect((await b.join.promise).generationId).toBe(1);
  });

  test('the initial delay never exceeds the rebalance timeout', async () => {
    const h = await harness({ 'group.initial.rebalance.delay.ms': 3000 });
    const a = await joinNew(h, 'g', { rebalanceTimeoutMs: 5000 });
    // New members keep arriving every 2 seconds.
    for (let i = 0; i < 3; i++) {
      h.clock.advance(2000);
      await joinNew(h, 'g', { rebalanceTimeoutMs: 5000 });
    }
    await flush();
    // remaining 2000 after the first 3000; extension min(3000, 2000) = 2000: done at 5000.
    expect(a.join.settled).toBe(true);
    expect((await a.join.promise).generationId).toBe(1);
  });

  test('a member that does not rejoin within the rebalance timeout is removed', async () => {
    const h = await harness();
    const a = await joinNew(h, 'g', { rebalanceTimeoutMs: 30_000 });
    const b = await joinNew(h, 'g', { rebalanceTimeoutMs: 30_000 });
    h.clock.advance(0);
    await a.join.promise;
    await b.join.promise;
    const syncB = track(h.coordinator.sync(syncRequest('g', b.memberId, 1)));
    await h.coordinator.sync(syncRequest('g', a.memberId, 1));
    expect((await syncB.promise).errorCode).toBe(ErrorCode.NONE);
    // a rejoins (leader: rebalance); b keeps heartbeating but never rejoins.
    const rejoin = track(
      h.coordinator.join(joinRequest('g', { memberId: a.memberId, rebalanceTimeoutMs: 30_000 })),
    );
    for (let i = 0; i < 9; i++) {
      h.clock.advance(3000);
      const hb = h.coordinator.heartbeat({
        groupId: 'g',
        memberId: b.memberId,
        groupInstanceId: null,
        generationId: 1,
      });
      expect(hb).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    h.clock.advance(2999);
    await flush();
    expect(rejoin.settled).toBe(false);
    h.clock.advance(1);
    const joined = await rejoin.promise;
    expect(joined.generationId).toBe(2);
    expect(joined.members.map((m) => m.memberId)).toEqual([a.memberId]);
    const hb = h.coordinator.heartbeat({
      groupId: 'g',
      memberId: b.memberId,
      groupInstanceId: null,
      generationId: 1,
    });
    expect(hb).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('when the leader does not rejoin, a member that did becomes leader', async () => {
    const h = await harness();
    const a = await joinNew(h, 'g');
    const b = await joinNew(h, 'g');
    h.clock.advance(0);
    await a.join.promise;
    await b.join.promise;
    const bRejoin = track(
      h.coordinator.join(
        joinRequest('g', {
          memberId: b.memberId,
          protocols: [{ name: 'range', metadata: subscription(['x']) }],
        }),
      ),
    );
    h.clock.advance(60_000);
    const joined = await bRejoin.promise;
    expect(joined.leader).toBe(b.memberId);
    expect(joined.members.map((m) => m.memberId)).toEqual([b.memberId]);
  });

  test('group.max.size refuses new members once full', async () => {
    const h = await harness({ 'group.max.size': 2 });
    const a = await joinNew(h, 'g');
    const b = await joinNew(h, 'g');
    const third = await h.coordinator.join(joinRequest('g', { apiVersion: 3 }));
    expect(third).toMatchObject({ errorCode: ErrorCode.GROUP_MAX_SIZE_REACHED, memberId: '' });
    h.clock.advance(0);
    await a.join.promise;
    await b.join.promise;
    const fourth = await h.coordinator.join(joinRequest('g', { apiVersion: 3 }));
    expect(fourth.errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
    // Existing members still rejoin.
    const again = await h.coordinator.join(joinRequest('g', { memberId: b.memberId }));
    expect(again.errorCode).toBe(ErrorCode.NONE);
  });

  test('a pending member id expires after the session timeout', async () => {
    const h = await harness();
    const first = await h.coordinator.join(joinRequest('g', { sessionTimeoutMs: 10_000 }));
    h.clock.advance(10_000);
    // The id is forgotten: joining with it is now UNKNOWN_MEMBER_ID.
    const late = await h.coordinator.join(joinRequest('g', { memberId: first.memberId }));
    expect(late.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('a pending member holds up the join phase until it joins', async () => {
    const h = await harness();
    const { memberId, generationId } = await stableSingleMember(h, 'g');
    const pending = await h.coordinator.join(joinRequest('g'));
    expect(pending.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    const rejoin = track(h.coordinator.join(joinRequest('g', { memberId })));
    await flush();
    expect(rejoin.settled).toBe(false);
    const newcomer = await h.coordinator.join(joinRequest('g', { memberId: pending.memberId }));
    expect(newcomer.generationId).toBe(generationId + 1);
    expect((await rejoin.promise).members).toHaveLength(2);
  });

  test('a new member whose held join outlives five minutes is dropped', async () => {
    const h = await harness();
    const a = await joinNew(h, 'g', { rebalanceTimeoutMs: 600_000, sessionTimeoutMs: 10_000 });
    h.clock.advance(0);
    await a.join.promise;
    await h.coordinator.sync(syncRequest('g', a.memberId, 1));
    // A second member joins; a never rejoins but heartbeats, so the phase runs 10 minutes.
    const b = await joinNew(h, 'g', { rebalanceTimeoutMs: 600_000 });
    for (let t = 0; t < 300_000; t += 5000) {
      h.clock.advance(5000);
      h.coordinator.heartbeat({
        groupId: 'g',
        memberId: a.memberId,
        groupInstanceId: null,
        generationId: 1,
      });
    }
    const dropped = await b.join.promise;
    expect(dropped).toMatchObject({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, memberId: '' });
  });
});

describe('SyncGroup', () => {
  test('followers wait for the leader; everyone gets its own assignment', async () => {
    const h = await harness();
    const a = await joinNew(h, 'g');
    const b = await joinNew(h, 'g');
    h.clock.advance(0);
    await a.join.promise;
    await b.join.promise;
    const syncB = track(h.coordinator.sync(syncRequest('g', b.memberId, 1)));
    await flush();
    expect(syncB.settled).toBe(false);
    const assignments = [
      { memberId: a.memberId, assignment: Buffer.from('A') },
      { memberId: b.memberId, assignment: Buffer.from('B') },
    ];
    const syncA = await h.coordinator.sync(syncRequest('g', a.memberId, 1, assignments));
    expect(syncA).toEqual({
      errorCode: ErrorCode.NONE,
      protocolType: 'consumer',
      protocolName: 'range',
      assignment: Buffer.from('A'),
    });
    expect((await syncB.promise).assignment).toEqual(Buffer.from('B'));
    expect(h.coordinator.groupState('g')).toBe(GroupState.Stable);
    // The assignment was written before anyone was answered.
    expect(h.store.all().length).toBe(1);
  });

  test('a follower syncing after the leader gets its assignment at once', async () => {
    const h = await harness();
    const a = await joinNew(h, 'g');
    const b = await joinNew(h, 'g');
    h.clock.advance(0);
    await a.join.promise;
    await b.join.promise;
    await h.coordinator.sync(
      syncRequest('g', a.memberId, 1, [{ memberId: b.memberId, assignment: Buffer.from('B') }]),
    );
    const late = await h.coordinator.sync(syncRequest('g', b.memberId, 1));
    expect(late.assignment).toEqual(Buffer.from('B'));
    const leaderLeftOut = await h.coordinator.sync(syncRequest('g', a.memberId, 1));
    expect(leaderLeftOut.assignment).toEqual(Buffer.alloc(0));
  });

  test('sync answers are held until the append resolves', async () => {
    const h = await harness();
    const a = await joinNew(h, 'g');
    h.clock.advance(0);
    await a.join.promise;
    h.store.hold = true;
    const sync = track(h.coordinator.sync(syncRequest('g', a.memberId, 1)));
    await flush();
    expect(sync.settled).toBe(false);
    expect(h.coordinator.groupState('g')).toBe(GroupState.CompletingRebalance);
    h.store.release();
    expect((await sync.promise).errorCode).toBe(ErrorCode.NONE);
    expect(h.coordinator.groupState('g')).toBe(GroupState.Stable);
  });

  test.each([
    [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NOT_COORDINATOR],
    [ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.NOT_COORDINATOR],
    [ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.COORDINATOR_NOT_AVAILABLE],
    [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.COORDINATOR_NOT_AVAILABLE],
    [ErrorCode.REQUEST_TIMED_OUT, ErrorCode.COORDINATOR_NOT_AVAILABLE],
    [ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.UNKNOWN_SERVER_ERROR],
  ])('append error %i is answered as %i and the group rebalances', async (logError, expected) => {
    const h = await harness();
    const a = await joinNew(h, 'g');
    h.clock.advance(0);
    await a.join.promise;
    h.store.failWith = logError;
    const sync = await h.coordinator.sync(syncRequest('g', a.memberId, 1));
    expect(sync).toEqual({
      errorCode: expected,
      protocolType: null,
      protocolName: null,
      assignment: Buffer.alloc(0),
    });
    expect(h.coordinator.groupState('g')).toBe(GroupState.PreparingRebalance);
  });

  test('errors: unknown member, illegal generation, protocol mismatch, rebalancing', async () => {
    const h = await harness();
    const sync = (over: Partial<ReturnType<typeof syncRequest>>) =>
      h.coordinator.sync({ ...syncRequest('g', 'x', 1), ...over });
    expect((await sync({})).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const a = await joinNew(h, 'g');
    // No protocol is chosen yet, so a v5+ protocol name cannot match.
    expect((await sync({ memberId: a.memberId, generationId: 0 })).errorCode).toBe(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    const early = await sync({ memberId: a.memberId, generationId: 0, protocolName: null });
    expect(early.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    h.clock.advance(0);
    await a.join.promise;
    expect((await sync({ memberId: 'nobody' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await sync({ memberId: a.memberId, generationId: 2 })).errorCode).toBe(
      ErrorCode.ILLEGAL_GENERATION,
    );
    expect((await sync({ memberId: a.memberId, protocolType: 'connect' })).errorCode).toBe(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    expect((await sync({ memberId: a.memberId, protocolName: 'sticky' })).errorCode).toBe(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    // Below v5 the request has no protocol fields: null skips the checks.
    const old = await sync({ memberId: a.memberId, protocolType: null, protocolName: null });
    expect(old.errorCode).toBe(ErrorCode.NONE);
  });

  test('members that never sync are removed after the rebalance timeout', async () => {
    const h = await harness();
    // Sessions outlast the sync deadline, so only the missing SyncGroup can remove b.
    const timeouts = { rebalanceTimeoutMs: 20_000, sessionTimeoutMs: 30_000 };
    const a = await joinNew(h, 'g', timeouts);
    const b = await joinNew(h, 'g', timeouts);
    h.clock.advance(0);
    await a.join.promise;
    await b.join.promise;
    h.store.hold = true; // keep the leader's write in flight
    const syncA = track(h.coordinator.sync(syncRequest('g', a.memberId, 1)));
    h.clock.advance(20_000);
    expect((await syncA.promise).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    h.store.release();
    const group = h.coordinator.inspectGroup('g');
    expect(group?.has(b.memberId)).toBe(false);
    expect(group?.has(a.memberId)).toBe(true);
    expect(h.coordinator.groupState('g')).toBe(GroupState.PreparingRebalance);
  });
});
