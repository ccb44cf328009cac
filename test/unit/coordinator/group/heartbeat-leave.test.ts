import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../../protocol/errors.ts';
import {
  GroupState,
  leaveErrorForSingleMemberVersions,
} from '../../../../src/coordinator/group/index.ts';
import {
  flush,
  harness,
  joinNew,
  joinRequest,
  stableSingleMember,
  syncRequest,
  track,
} from './harness.ts';

const hb = (memberId: string, generationId: number, groupInstanceId: string | null = null) => ({
  groupId: 'g',
  memberId,
  generationId,
  groupInstanceId,
});

describe('Heartbeat', () => {
  test('errors by state, as Kafka answers them', async () => {
    const h = await harness();
    expect(h.coordinator.heartbeat(hb('x', 0))).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const a = await joinNew(h, 'g');
    // PreparingRebalance: the member is told to rejoin.
    expect(h.coordinator.heartbeat(hb(a.memberId, 0))).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    h.clock.advance(0);
    await a.join.promise;
    // CompletingRebalance: heartbeats between JoinGroup and SyncGroup are fine.
    expect(h.coordinator.heartbeat(hb(a.memberId, 1))).toBe(ErrorCode.NONE);
    expect(h.coordinator.heartbeat(hb(a.memberId, 0))).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(h.coordinator.heartbeat(hb('nobody', 1))).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    await h.coordinator.sync(syncRequest('g', a.memberId, 1));
    expect(h.coordinator.heartbeat(hb(a.memberId, 1))).toBe(ErrorCode.NONE);
    expect(h.coordinator.heartbeat(hb(a.memberId, 2))).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(h.coordinator.heartbeat(hb(a.memberId, 1, 'some-instance'))).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    expect(h.coordinator.heartbeat({ ...hb(a.memberId, 1), groupId: '' })).toBe(
      ErrorCode.INVALID_GROUP_ID,
    );
  });

  test('heartbeats keep a member; silence past the session timeout removes it', async () => {
    const h = await harness();
    const { memberId } = await stableSingleMember(h, 'g', { sessionTimeoutMs: 10_000 });
    for (let i = 0; i < 5; i++) {
      h.clock.advance(9_000);
      expect(h.coordinator.heartbeat(hb(memberId, 1))).toBe(ErrorCode.NONE);
    }
    h.clock.advance(9_999);
    expect(h.coordinator.groupState('g')).toBe(GroupState.Stable);
    h.clock.advance(1);
    // The sole member is gone: the rebalance ends at once in an empty generation 2.
    expect(h.coordinator.groupState('g')).toBe(GroupState.Empty);
    expect(h.coordinator.inspectGroup('g')?.generationId).toBe(2);
    expect(h.coordinator.heartbeat(hb(memberId, 1))).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('session expiry of one member rebalances the others', async () => {
    const h = await harness();
    const a = await joinNew(h, 'g', { sessionTimeoutMs: 10_000 });
    const b = await joinNew(h, 'g', { sessionTimeoutMs: 10_000 });
    h.clock.advance(0);
    await a.join.promise;
    await b.join.promise;
    const syncB = track(h.coordinator.sync(syncRequest('g', b.memberId, 1)));
    await h.coordinator.sync(syncRequest('g', a.memberId, 1));
    await syncB.promise;
    h.clock.advance(5_000);
    expect(h.coordinator.heartbeat(hb(a.memberId, 1))).toBe(ErrorCode.NONE);
    h.clock.advance(5_000); // b silent for 10 s
    expect(h.coordinator.heartbeat(hb(a.memberId, 1))).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await h.coordinator.join(joinRequest('g', { memberId: a.memberId }));
    expect(rejoin.generationId).toBe(2);
    expect(rejoin.members.map((m) => m.memberId)).toEqual([a.memberId]);
  });

  test('a heartbeat during loading is answered NONE', async () => {
    const h = await harness({ 'offsets.topic.num.partitions': 1 });
    const { memberId } = await stableSingleMember(h, 'g');
    h.coordinator.unloadPartition(0);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* slow() {
      await gate;
      yield* [];
    }
    const load = h.coordinator.loadPartition(0, slow());
    expect(h.coordinator.heartbeat(hb(memberId, 1))).toBe(ErrorCode.NONE);
    release();
    await load;
    expect(h.coordinator.heartbeat(hb(memberId, 1))).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });
});

describe('LeaveGroup', () => {
  test('a dynamic member leaves: the group rebalances without it', async () => {
    const h = await harness();
    const a = await joinNew(h, 'g');
    const b = await joinNew(h, 'g');
    h.clock.advance(0);
    await a.join.promise;
    await b.join.promise;
    const syncB = track(h.coordinator.sync(syncRequest('g', b.memberId, 1)));
    await h.coordinator.sync(syncRequest('g', a.memberId, 1));
    await syncB.promise;
    const left = h.coordinator.leave('g', [{ memberId: b.memberId, groupInstanceId: null }]);
    expect(left).toEqual({
      errorCode: ErrorCode.NONE,
      members: [{ memberId: b.memberId, groupInstanceId: null, errorCode: ErrorCode.NONE }],
    });
    expect(h.coordinator.groupState('g')).toBe(GroupState.PreparingRebalance);
    const rejoin = await h.coordinator.join(joinRequest('g', { memberId: a.memberId }));
    expect(rejoin.members.map((m) => m.memberId)).toEqual([a.memberId]);
  });

  test('batched leave reports each member; unknown ones get UNKNOWN_MEMBER_ID', async () => {
    const h = await harness();
    const a = await joinNew(h, 'g', { groupInstanceId: null });
    const s = track(h.coordinator.join(joinRequest('g', { groupInstanceId: 'inst-1' })));
    const pending = await h.coordinator.join(joinRequest('g'));
    h.clock.advance(0);
    await a.join.promise;
    expect((await s.promise).errorCode).toBe(ErrorCode.NONE);
    const left = h.coordinator.leave('g', [
      { memberId: a.memberId, groupInstanceId: null },
      { memberId: '', groupInstanceId: 'inst-1' },
      { memberId: pending.memberId, groupInstanceId: null },
      { memberId: 'ghost', groupInstanceId: null },
      { memberId: '', groupInstanceId: 'inst-unknown' },
    ]);
    expect(left.errorCode).toBe(ErrorCode.NONE);
    expect(left.members.map((m) => m.errorCode)).toEqual([
      ErrorCode.NONE,
      ErrorCode.NONE,
      ErrorCode.NONE,
      ErrorCode.UNKNOWN_MEMBER_ID,
      ErrorCode.UNKNOWN_MEMBER_ID,
    ]);
    expect(h.coordinator.inspectGroup('g')?.size).toBe(0);
    expect(h.coordinator.inspectGroup('g')?.pendingMembers.size).toBe(0);
  });

  test('a static member leaving with a stale member id is fenced', async () => {
    const h = await harness();
    const first = track(h.coordinator.join(joinRequest('g', { groupInstanceId: 'inst' })));
    h.clock.advance(0);
    const old = await first.promise;
    const second = track(h.coordinator.join(joinRequest('g', { groupInstanceId: 'inst' })));
    h.clock.advance(0);
    const current = await second.promise;
    expect(current.memberId).not.toBe(old.memberId);
    const left = h.coordinator.leave('g', [{ memberId: old.memberId, groupInstanceId: 'inst' }]);
    expect(left.members[0]?.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    const ok = h.coordinator.leave('g', [{ memberId: current.memberId, groupInstanceId: 'inst' }]);
    expect(ok.members[0]?.errorCode).toBe(ErrorCode.NONE);
  });

  test('unknown group: every member unknown; a held join is answered', async () => {
    const h = await harness();
    const left = h.coordinator.leave('nope', [{ memberId: 'm', groupInstanceId: null }]);
    expect(left).toEqual({
      errorCode: ErrorCode.NONE,
      members: [{ memberId: 'm', groupInstanceId: null, errorCode: ErrorCode.UNKNOWN_MEMBER_ID }],
    });
    const a = await joinNew(h, 'g');
    await flush();
    h.coordinator.leave('g', [{ memberId: a.memberId, groupInstanceId: null }]);
    expect((await a.join.promise).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });
});

describe('LeaveGroup v0-v2 single error', () => {
  test('top-level error first, else the first member error', async () => {
    const h = await harness();
    const { memberId } = await stableSingleMember(h, 'g');
    const unknown = h.coordinator.leave('g', [{ memberId: 'ghost', groupInstanceId: null }]);
    expect(leaveErrorForSingleMemberVersions(unknown)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const ok = h.coordinator.leave('g', [{ memberId, groupInstanceId: null }]);
    expect(leaveErrorForSingleMemberVersions(ok)).toBe(ErrorCode.NONE);
    const invalid = h.coordinator.leave('', [{ memberId, groupInstanceId: null }]);
    expect(invalid).toEqual({ errorCode: ErrorCode.INVALID_GROUP_ID, members: [] });
    expect(leaveErrorForSingleMemberVersions(invalid)).toBe(ErrorCode.INVALID_GROUP_ID);
  });
});
