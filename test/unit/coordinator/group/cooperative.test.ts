/**
 * Incremental cooperative rebalancing (KIP-429) is done by the clients: a member whose
 * partitions were revoked rejoins at once with its smaller ownedPartitions, which changes its
 * metadata and so starts another rebalance. The coordinator must let that converge.
 */
import { expect, test } from 'vitest';
import { ErrorCode } from '../../../../protocol/errors.ts';
import { GroupState, type JoinGroupResult } from '../../../../src/coordinator/group/index.ts';
import { type Harness, harness, joinRequest, subscription, syncRequest, track } from './harness.ts';

const partitions = [0, 1, 2, 3];

/** Subscription metadata carrying the owned partitions (in user data, for simplicity). */
const metadata = (owned: readonly number[]) => subscription(['t'], owned.join(','));
const protocols = (owned: readonly number[]) => [
  { name: 'cooperative-sticky', metadata: metadata(owned) },
];

/**
 * A cooperative assignor: balance the partitions, but a partition moving between members is
 * first only revoked from its owner (assigned to nobody) in this generation.
 */
/** Reads back the owned partitions from `metadata` (layout of subscription(['t'], ...)). */
function ownedOf(metadata: Buffer): number[] {
  const userDataAt = 2 + 4 + 2 + 1; // version, topic count, "t"
  const length = metadata.readInt32BE(userDataAt);
  const text = metadata.subarray(userDataAt + 4, userDataAt + 4 + length).toString();
  return text === '' ? [] : text.split(',').map(Number);
}

function assign(leader: JoinGroupResult): Map<string, number[]> {
  const ownedBy = new Map(leader.members.map((m) => [m.memberId, ownedOf(m.metadata)] as const));
  const ids = [...ownedBy.keys()].sort();
  const quota = Math.ceil(partitions.length / ids.length);
  const result = new Map<string, number[]>(ids.map((id) => [id, []]));
  const taken = new Set<number>();
  // Owners keep up to their quota; the rest is revoked this round.
  for (const id of ids) {
    const keep = (ownedBy.get(id) ?? []).slice(0, quota);
    result.set(id, keep);
    for (const p of keep) taken.add(p);
  }
  const revokedSomewhere = ids.some((id) => (ownedBy.get(id) ?? []).length > quota);
  const orphans = partitions.filter(
    (p) => !taken.has(p) && ![...ownedBy.values()].some((owned) => owned.includes(p)),
  );
  if (!revokedSomewhere) {
    for (const p of orphans) {
      const id = ids.find((i) => (result.get(i) ?? []).length < quota) as string;
      result.get(id)?.push(p);
    }
  }
  return result;
}

interface Consumer {
  memberId: string;
  owned: number[];
}

async function generation(h: Harness, joins: Map<Consumer, Promise<JoinGroupResult>>) {
  const results = new Map<Consumer, JoinGroupResult>();
  for (const [c, p] of joins) results.set(c, await p);
  const leader = [...results.values()].find((r) => r.members.length > 0) as JoinGroupResult;
  const plan = assign(leader);
  const syncs = [...results].map(([c, r]) => {
    const assignments =
      r === leader
        ? [...plan].map(([memberId, ps]) => ({ memberId, assignment: Buffer.from(ps.join(',')) }))
        : [];
    return [
      c,
      track(
        h.coordinator.sync({
          ...syncRequest('g', c.memberId, r.generationId, assignments),
          protocolName: 'cooperative-sticky',
        }),
      ),
    ] as const;
  });
  const revoked: Consumer[] = [];
  for (const [c, s] of syncs) {
    const result = await s.promise;
    expect(result.errorCode).toBe(ErrorCode.NONE);
    const text = result.assignment.toString();
    const next = text === '' ? [] : text.split(',').map(Number);
    if (c.owned.some((p) => !next.includes(p))) revoked.push(c);
    c.owned = next;
  }
  return { generationId: leader.generationId, revoked };
}

test('a second consumer converges in two rebalances, no partition owned twice', async () => {
  const h = await harness();
  const a: Consumer = { memberId: '', owned: [] };
  const b: Consumer = { memberId: '', owned: [] };
  const first = await h.coordinator.join(joinRequest('g', { protocols: protocols([]) }));
  a.memberId = first.memberId;
  const aJoin = h.coordinator.join(
    joinRequest('g', { memberId: a.memberId, protocols: protocols([]) }),
  );
  h.clock.advance(0);
  let round = await generation(h, new Map([[a, aJoin]]));
  expect(a.owned).toEqual(partitions);

  // b arrives; a learns of the rebalance from its heartbeat and rejoins with what it owns.
  const bFirst = await h.coordinator.join(joinRequest('g', { protocols: protocols([]) }));
  b.memberId = bFirst.memberId;
  const bJoin = h.coordinator.join(
    joinRequest('g', { memberId: b.memberId, protocols: protocols([]) }),
  );
  const hb = (c: Consumer) =>
    h.coordinator.heartbeat({
      groupId: 'g',
      memberId: c.memberId,
      groupInstanceId: null,
      generationId: round.generationId,
    });
  expect(hb(a)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  const aRejoin = h.coordinator.join(
    joinRequest('g', { memberId: a.memberId, protocols: protocols(a.owned) }),
  );
  round = await generation(
    h,
    new Map([
      [a, aRejoin],
      [b, bJoin],
    ]),
  );
  expect(round.generationId).toBe(2);
  expect(round.revoked).toEqual([a]);
  expect(a.owned).toEqual([0, 1]);
  expect(b.owned).toEqual([]);
  expect(h.coordinator.groupState('g')).toBe(GroupState.Stable);

  // a revoked partitions: it rejoins right after its sync, and b follows on its heartbeat.
  const aAgain = h.coordinator.join(
    joinRequest('g', { memberId: a.memberId, protocols: protocols(a.owned) }),
  );
  expect(h.coordinator.groupState('g')).toBe(GroupState.PreparingRebalance);
  expect(hb(b)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  const bAgain = h.coordinator.join(
    joinRequest('g', { memberId: b.memberId, protocols: protocols(b.owned) }),
  );
  round = await generation(
    h,
    new Map([
      [a, aAgain],
      [b, bAgain],
    ]),
  );
  expect(round.generationId).toBe(3);
  expect(round.revoked).toEqual([]);
  expect([...a.owned, ...b.owned].sort()).toEqual(partitions);
  expect(a.owned.filter((p) => b.owned.includes(p))).toEqual([]);
  expect(h.coordinator.groupState('g')).toBe(GroupState.Stable);
  expect(hb(a)).toBe(ErrorCode.NONE);
  expect(hb(b)).toBe(ErrorCode.NONE);
});

test('a follower that revoked partitions rejoins and its changed metadata rebalances', async () => {
  const h = await harness();
  const first = track(
    h.coordinator.join(joinRequest('g', { apiVersion: 3, protocols: protocols([]) })),
  );
  const second = track(
    h.coordinator.join(joinRequest('g', { apiVersion: 3, protocols: protocols([]) })),
  );
  h.clock.advance(0);
  const [leader, follower] = [await first.promise, await second.promise];
  expect(leader.members).toHaveLength(2);
  const syncF = track(
    h.coordinator.sync({
      ...syncRequest('g', follower.memberId, 1),
      protocolName: 'cooperative-sticky',
    }),
  );
  await h.coordinator.sync({
    ...syncRequest('g', leader.memberId, 1),
    protocolName: 'cooperative-sticky',
  });
  await syncF.promise;
  // Same metadata from a follower: no rebalance.
  const same = await h.coordinator.join(
    joinRequest('g', { memberId: follower.memberId, protocols: protocols([]) }),
  );
  expect(same.generationId).toBe(1);
  expect(h.coordinator.groupState('g')).toBe(GroupState.Stable);
  // Changed owned partitions: the follower starts a rebalance.
  const changed = track(
    h.coordinator.join(
      joinRequest('g', { memberId: follower.memberId, protocols: protocols([1]) }),
    ),
  );
  expect(h.coordinator.groupState('g')).toBe(GroupState.PreparingRebalance);
  const leaderRejoin = await h.coordinator.join(
    joinRequest('g', { memberId: leader.memberId, protocols: protocols([0]) }),
  );
  expect(leaderRejoin.generationId).toBe(2);
  expect((await changed.promise).generationId).toBe(2);
});
