import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../../protocol/errors.ts';
import {
  decodeGroupMetadataValue,
  decodeRecordKey,
  GroupState,
} from '../../../../src/coordinator/group/index.ts';
import {
  flush,
  type Harness,
  harness,
  joinRequest,
  subscription,
  syncRequest,
  track,
} from './harness.ts';

async function stableStatic(h: Harness, instances: readonly string[]) {
  const joins = instances.map((groupInstanceId) =>
    track(h.coordinator.join(joinRequest('g', { groupInstanceId, sessionTimeoutMs: 30_000 }))),
  );
  h.clock.advance(0);
  const results = await Promise.all(joins.map((j) => j.promise));
  const leader = results.find((r) => r.members.length > 0);
  if (leader === undefined) throw new Error('no leader');
  const assignments = results.map((r) => ({
    memberId: r.memberId,
    assignment: Buffer.from(r.memberId),
  }));
  const syncs = results.map((r) =>
    track(
      h.coordinator.sync({
        ...syncRequest('g', r.memberId, r.generationId, r === leader ? assignments : []),
        groupInstanceId: instances[results.indexOf(r)] as string,
      }),
    ),
  );
  await Promise.all(syncs.map((s) => s.promise));
  expect(h.coordinator.groupState('g')).toBe(GroupState.Stable);
  return results;
}

describe('static membership (KIP-345)', () => {
  test('no MEMBER_ID_REQUIRED for static members; id starts with the instance id', async () => {
    const h = await harness();
    const [r] = await stableStatic(h, ['inst-a']);
    expect(r?.memberId).toMatch(/^inst-a-[0-9a-f-]{36}$/);
  });

  test('Stable rejoin, same protocols: new id, no rebalance, old id fenced (v5-v8)', async () => {
    const h = await harness();
    const [a, b] = await stableStatic(h, ['inst-a', 'inst-b']);
    if (!a || !b) throw new Error('setup');
    const recordsBefore = h.store.all().length;
    const rejoin = await h.coordinator.join(
      joinRequest('g', { groupInstanceId: 'inst-a', sessionTimeoutMs: 30_000, apiVersion: 8 }),
    );
    expect(rejoin.errorCode).toBe(ErrorCode.NONE);
    expect(rejoin.memberId).not.toBe(a.memberId);
    // Older clients are told the old leader id so they do not run the assignor for nothing.
    expect(rejoin).toMatchObject({
      generationId: 1,
      leader: a.memberId,
      skipAssignment: false,
      members: [],
    });
    expect(h.coordinator.groupState('g')).toBe(GroupState.Stable);
    // The new id was persisted before the answer.
    const written = h.store.all().slice(recordsBefore);
    expect(written).toHaveLength(1);
    expect(decodeRecordKey((written[0] as { key: Buffer }).key)).toEqual({
      kind: 'group',
      group: 'g',
    });
    const value = decodeGroupMetadataValue((written[0] as { value: Buffer }).value);
    // Kafka keeps members in a hash map: order carries no meaning.
    expect(value.members.map((m) => m.memberId).sort()).toEqual(
      [rejoin.memberId, b.memberId].sort(),
    );
    expect(value.leader).toBe(rejoin.memberId);
    const replaced = value.members.find((m) => m.memberId === rejoin.memberId);
    expect(replaced?.assignment).toEqual(Buffer.from(a.memberId));
    expect(replaced?.groupInstanceId).toBe('inst-a');
    // The zombie with the old id is fenced everywhere.
    const hb = { groupId: 'g', generationId: 1, groupInstanceId: 'inst-a' };
    expect(h.coordinator.heartbeat({ ...hb, memberId: a.memberId })).toBe(
      ErrorCode.FENCED_INSTANCE_ID,
    );
    expect(h.coordinator.heartbeat({ ...hb, memberId: rejoin.memberId })).toBe(ErrorCode.NONE);
    const oldSync = await h.coordinator.sync({
      ...syncRequest('g', a.memberId, 1),
      groupInstanceId: 'inst-a',
    });
    expect(oldSync.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    const newSync = await h.coordinator.sync({
      ...syncRequest('g', rejoin.memberId, 1),
      groupInstanceId: 'inst-a',
    });
    expect(newSync.assignment).toEqual(Buffer.from(a.memberId));
    const join = await h.coordinator.join(
      joinRequest('g', { memberId: a.memberId, groupInstanceId: 'inst-a' }),
    );
    expect(join.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
  });

  test('v9+: a replaced static leader is told it leads and to skip the assignment', async () => {
    const h = await harness();
    const [a, b] = await stableStatic(h, ['inst-a', 'inst-b']);
    const rejoin = await h.coordinator.join(
      joinRequest('g', { groupInstanceId: 'inst-a', sessionTimeoutMs: 30_000, apiVersion: 9 }),
    );
    expect(rejoin).toMatchObject({
      errorCode: ErrorCode.NONE,
      leader: rejoin.memberId,
      skipAssignment: true,
    });
    expect(rejoin.members.map((m) => m.memberId).sort()).toEqual(
      [rejoin.memberId, b?.memberId].sort(),
    );
    const follower = await h.coordinator.join(
      joinRequest('g', { groupInstanceId: 'inst-b', sessionTimeoutMs: 30_000, apiVersion: 9 }),
    );
    expect(follower).toMatchObject({ leader: rejoin.memberId, skipAssignment: false, members: [] });
    expect(a?.memberId).not.toBe(rejoin.memberId);
    expect(h.coordinator.groupState('g')).toBe(GroupState.Stable);
  });

  test('a rejoin that changes the chosen protocol rebalances', async () => {
    const h = await harness();
    await stableStatic(h, ['inst-a']);
    const rejoin = track(
      h.coordinator.join(
        joinRequest('g', {
          groupInstanceId: 'inst-a',
          sessionTimeoutMs: 30_000,
          // Still supports range (else INCONSISTENT_GROUP_PROTOCOL) but now prefers sticky.
          protocols: [
            { name: 'sticky', metadata: subscription(['orders']) },
            { name: 'range', metadata: subscription(['orders']) },
          ],
        }),
      ),
    );
    const r = await rejoin.promise;
    expect(r).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2, protocolName: 'sticky' });
    expect(h.coordinator.groupState('g')).toBe(GroupState.CompletingRebalance);
  });

  test('a rejoin during CompletingRebalance fences the waiting sync and rebalances', async () => {
    const h = await harness();
    const joins = ['inst-a', 'inst-b'].map((groupInstanceId) =>
      track(h.coordinator.join(joinRequest('g', { groupInstanceId, sessionTimeoutMs: 30_000 }))),
    );
    h.clock.advance(0);
    const [, b] = await Promise.all(joins.map((j) => j.promise));
    if (!b) throw new Error('setup');
    const waiting = track(
      h.coordinator.sync({ ...syncRequest('g', b.memberId, 1), groupInstanceId: 'inst-b' }),
    );
    await flush();
    const rejoin = track(
      h.coordinator.join(joinRequest('g', { groupInstanceId: 'inst-b', sessionTimeoutMs: 30_000 })),
    );
    expect((await waiting.promise).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(h.coordinator.groupState('g')).toBe(GroupState.PreparingRebalance);
    expect(rejoin.settled).toBe(false);
  });

  test('a rejoin while the old id waits in JoinGroup fences that join', async () => {
    const h = await harness();
    const first = track(h.coordinator.join(joinRequest('g', { groupInstanceId: 'inst-a' })));
    await flush();
    const second = track(h.coordinator.join(joinRequest('g', { groupInstanceId: 'inst-a' })));
    const fenced = await first.promise;
    expect(fenced.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    h.clock.advance(0);
    const joined = await second.promise;
    expect(joined.errorCode).toBe(ErrorCode.NONE);
    expect(joined.memberId).not.toBe(fenced.memberId);
    expect(h.coordinator.inspectGroup('g')?.size).toBe(1);
  });

  test('if persisting the new id fails, the old id stays and the join gets the error', async () => {
    const h = await harness();
    const [a] = await stableStatic(h, ['inst-a']);
    if (!a) throw new Error('setup');
    h.store.failWith = ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const rejoin = await h.coordinator.join(
      joinRequest('g', { groupInstanceId: 'inst-a', sessionTimeoutMs: 30_000 }),
    );
    expect(rejoin).toMatchObject({
      errorCode: ErrorCode.NOT_COORDINATOR,
      memberId: '',
      generationId: 1,
    });
    const hb = { groupId: 'g', generationId: 1, groupInstanceId: 'inst-a', memberId: a.memberId };
    expect(h.coordinator.heartbeat(hb)).toBe(ErrorCode.NONE);
  });

  test('a static member that misses a rebalance stays until its session expires', async () => {
    const h = await harness();
    const [a, b] = await stableStatic(h, ['inst-a', 'inst-b']);
    if (!a || !b) throw new Error('setup');
    // a (leader) rejoins; b is silent. After the rebalance timeout b is still a member.
    const rejoin = track(
      h.coordinator.join(
        joinRequest('g', {
          memberId: a.memberId,
          groupInstanceId: 'inst-a',
          sessionTimeoutMs: 30_000,
        }),
      ),
    );
    for (let i = 0; i < 6; i++) {
      h.clock.advance(10_000);
      h.coordinator.heartbeat({
        groupId: 'g',
        generationId: 1,
        groupInstanceId: 'inst-a',
        memberId: a.memberId,
      });
    }
    // 60 s rebalance timeout passed, but b's 30 s session has too: b was removed by the
    // session, then the join completed with a alone.
    const r = await rejoin.promise;
    expect(r.members.map((m) => m.memberId)).toEqual([a.memberId]);
  });

  test('a static member outlives a rebalance timeout shorter than its session', async () => {
    const h = await harness();
    const joins = ['inst-a', 'inst-b'].map((groupInstanceId) =>
      track(
        h.coordinator.join(
          joinRequest('g', {
            groupInstanceId,
            sessionTimeoutMs: 120_000,
            rebalanceTimeoutMs: 20_000,
          }),
        ),
      ),
    );
    h.clock.advance(0);
    const [a, b] = await Promise.all(joins.map((j) => j.promise));
    if (!a || !b) throw new Error('setup');
    const rejoin = track(
      h.coordinator.join(
        joinRequest('g', {
          memberId: a.memberId,
          groupInstanceId: 'inst-a',
          sessionTimeoutMs: 120_000,
          rebalanceTimeoutMs: 20_000,
        }),
      ),
    );
    h.clock.advance(20_000);
    const r = await rejoin.promise;
    // b did not rejoin but is static: it is kept, with its last known metadata.
    expect(r.members.map((m) => m.memberId)).toEqual([a.memberId, b.memberId]);
  });

  test('member id with another instance id is fenced; unknown instance unknown', async () => {
    const h = await harness();
    const [a] = await stableStatic(h, ['inst-a', 'inst-b']);
    const wrong = await h.coordinator.join(
      joinRequest('g', { memberId: a?.memberId, groupInstanceId: 'inst-b' }),
    );
    expect(wrong.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    const unknown = await h.coordinator.join(
      joinRequest('g', { memberId: a?.memberId, groupInstanceId: 'inst-z' }),
    );
    expect(unknown.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });
});
