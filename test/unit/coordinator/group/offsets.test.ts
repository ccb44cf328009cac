import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../../protocol/errors.ts';
import {
  decodeOffsetCommitValue,
  decodeRecordKey,
  GroupState,
  type OffsetCommitRequest,
} from '../../../../src/coordinator/group/index.ts';
import {
  flush,
  type Harness,
  harness,
  joinNew,
  joinRequest,
  offsetCommitRequest,
  stableSingleMember,
  subscription,
  syncRequest,
  track,
} from './harness.ts';

async function commitError(
  h: Harness,
  over: Partial<OffsetCommitRequest>,
): Promise<number | undefined> {
  const r = await h.coordinator.commitOffsets(offsetCommitRequest(over));
  return r.topics[0]?.partitions[0]?.errorCode;
}

function fetchOne(h: Harness, topic = 'orders', partition = 0, requireStable = false) {
  const r = h.coordinator.fetchOffsets({
    groupId: 'g',
    topics: [{ name: topic, partitionIndexes: [partition] }],
    requireStable,
  });
  expect(r.errorCode).toBe(ErrorCode.NONE);
  return r.topics[0]?.partitions[0];
}

describe('OffsetCommit validation', () => {
  test('simple consumer (generation -1, no member) commits into an unknown group', async () => {
    const h = await harness();
    expect(await commitError(h, {})).toBe(ErrorCode.NONE);
    expect(h.coordinator.groupState('g')).toBe(GroupState.Empty);
    expect(fetchOne(h)).toEqual({
      partitionIndex: 0,
      committedOffset: 42,
      committedLeaderEpoch: 3,
      metadata: 'm',
      errorCode: ErrorCode.NONE,
    });
    // Kafka 4.0: generation -1 into an Empty group needs no membership, whatever the id.
    expect(await commitError(h, { memberId: 'anyone' })).toBe(ErrorCode.NONE);
  });

  test('generation for a missing group: ILLEGAL_GENERATION, v9+ GROUP_ID_NOT_FOUND', async () => {
    const h = await harness();
    expect(await commitError(h, { generationIdOrMemberEpoch: 1, memberId: 'm' })).toBe(
      ErrorCode.ILLEGAL_GENERATION,
    );
    expect(
      await commitError(h, { generationIdOrMemberEpoch: 1, memberId: 'm', apiVersion: 9 }),
    ).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    expect(h.coordinator.groupState('g')).toBeUndefined();
  });

  test('matrix against a Stable group', async () => {
    const h = await harness();
    const { memberId } = await stableSingleMember(h, 'g');
    const cases: [Partial<OffsetCommitRequest>, number][] = [
      [{ generationIdOrMemberEpoch: 1, memberId }, ErrorCode.NONE],
      [{ generationIdOrMemberEpoch: 2, memberId }, ErrorCode.ILLEGAL_GENERATION],
      [{ generationIdOrMemberEpoch: 0, memberId }, ErrorCode.ILLEGAL_GENERATION],
      [{ generationIdOrMemberEpoch: 1, memberId: 'stranger' }, ErrorCode.UNKNOWN_MEMBER_ID],
      [{ generationIdOrMemberEpoch: -1, memberId: '' }, ErrorCode.UNKNOWN_MEMBER_ID],
      [{ generationIdOrMemberEpoch: -1, memberId }, ErrorCode.ILLEGAL_GENERATION],
      [
        { generationIdOrMemberEpoch: 1, memberId, groupInstanceId: 'x' },
        ErrorCode.UNKNOWN_MEMBER_ID,
      ],
      // The empty group id is allowed for commits (old clients use it).
      [{ generationIdOrMemberEpoch: -1, memberId: '', groupId: '' }, ErrorCode.NONE],
    ];
    for (const [over, expected] of cases) {
      expect({ over, error: await commitError(h, over) }).toEqual({ over, error: expected });
    }
  });

  test('static members: a stale id is FENCED_INSTANCE_ID', async () => {
    const h = await harness();
    const first = track(h.coordinator.join(joinRequest('g', { groupInstanceId: 'i' })));
    h.clock.advance(0);
    const old = await first.promise;
    await h.coordinator.sync({ ...syncRequest('g', old.memberId, 1), groupInstanceId: 'i' });
    const replaced = await h.coordinator.join(joinRequest('g', { groupInstanceId: 'i' }));
    expect(replaced.errorCode).toBe(ErrorCode.NONE);
    const base = { generationIdOrMemberEpoch: 1, groupInstanceId: 'i' };
    expect(await commitError(h, { ...base, memberId: old.memberId })).toBe(
      ErrorCode.FENCED_INSTANCE_ID,
    );
    expect(await commitError(h, { ...base, memberId: replaced.memberId })).toBe(ErrorCode.NONE);
  });

  test('CompletingRebalance: REBALANCE_IN_PROGRESS; PreparingRebalance: accepted', async () => {
    const h = await harness();
    const a = await joinNew(h, 'g');
    h.clock.advance(0);
    await a.join.promise;
    const member = { generationIdOrMemberEpoch: 1, memberId: a.memberId };
    expect(await commitError(h, member)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    await h.coordinator.sync(syncRequest('g', a.memberId, 1));
    await joinNew(h, 'g'); // a second member: PreparingRebalance, a has not rejoined yet
    expect(h.coordinator.groupState('g')).toBe(GroupState.PreparingRebalance);
    expect(await commitError(h, member)).toBe(ErrorCode.NONE);
  });

  test('a commit keeps the member alive like a heartbeat', async () => {
    const h = await harness();
    const { memberId } = await stableSingleMember(h, 'g', { sessionTimeoutMs: 10_000 });
    for (let i = 0; i < 3; i++) {
      h.clock.advance(9_000);
      expect(await commitError(h, { generationIdOrMemberEpoch: 1, memberId })).toBe(ErrorCode.NONE);
    }
    expect(h.coordinator.groupState('g')).toBe(GroupState.Stable);
  });
});

describe('OffsetCommit durability', () => {
  test('answered only after the append; requireStable sees the pending commit', async () => {
    const h = await harness();
    h.store.hold = true;
    const pending = track(h.coordinator.commitOffsets(offsetCommitRequest()));
    await flush();
    expect(pending.settled).toBe(false);
    expect(fetchOne(h)).toMatchObject({ committedOffset: -1, errorCode: ErrorCode.NONE });
    expect(fetchOne(h, 'orders', 0, true)).toMatchObject({
      committedOffset: -1,
      errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT,
    });
    expect(fetchOne(h, 'orders', 1, true)).toMatchObject({ errorCode: ErrorCode.NONE });
    h.store.release();
    expect((await pending.promise).topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
    expect(fetchOne(h, 'orders', 0, true)).toMatchObject({
      committedOffset: 42,
      errorCode: ErrorCode.NONE,
    });
    const [record] = h.store.all();
    expect(decodeRecordKey(record?.key as Buffer)).toEqual({
      kind: 'offset',
      group: 'g',
      topic: 'orders',
      partition: 0,
    });
    expect(decodeOffsetCommitValue(record?.value as Buffer)).toEqual({
      offset: 42,
      leaderEpoch: 3,
      metadata: 'm',
      commitTimestamp: h.clock.nowMs(),
      expireTimestamp: -1,
    });
  });

  test('two commits in flight: the later append wins whatever order they resolve in', async () => {
    const h = await harness();
    h.store.hold = true;
    const first = h.coordinator.commitOffsets(offsetCommitRequest({}, 10));
    const second = h.coordinator.commitOffsets(offsetCommitRequest({}, 20));
    h.store.release();
    await Promise.all([first, second]);
    expect(fetchOne(h)?.committedOffset).toBe(20);
  });

  test.each([
    [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NOT_COORDINATOR],
    [ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, ErrorCode.COORDINATOR_NOT_AVAILABLE],
    [ErrorCode.RECORD_LIST_TOO_LARGE, ErrorCode.INVALID_COMMIT_OFFSET_SIZE],
    [ErrorCode.REQUEST_TIMED_OUT, ErrorCode.COORDINATOR_NOT_AVAILABLE],
  ])('append error %i answers %i and stores nothing', async (logError, expected) => {
    const h = await harness();
    h.store.failWith = logError;
    expect(await commitError(h, {})).toBe(expected);
    expect(fetchOne(h)).toMatchObject({ committedOffset: -1, errorCode: ErrorCode.NONE });
  });

  test('too-long metadata fails that partition only', async () => {
    const h = await harness({ 'offset.metadata.max.bytes': 8 });
    const r = await h.coordinator.commitOffsets({
      ...offsetCommitRequest(),
      topics: [
        {
          name: 'orders',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 1,
              committedLeaderEpoch: -1,
              committedMetadata: '123456789',
            },
            {
              partitionIndex: 1,
              committedOffset: 2,
              committedLeaderEpoch: -1,
              committedMetadata: null,
            },
          ],
        },
      ],
    });
    expect(r.topics[0]?.partitions).toEqual([
      { partitionIndex: 0, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE },
      { partitionIndex: 1, errorCode: ErrorCode.NONE },
    ]);
    expect(fetchOne(h, 'orders', 0)?.committedOffset).toBe(-1);
    expect(fetchOne(h, 'orders', 1)).toMatchObject({ committedOffset: 2, metadata: '' });
  });
});

describe('OffsetFetch', () => {
  test('a group with no offsets answers -1 with no error, per partition', async () => {
    const h = await harness();
    const r = h.coordinator.fetchOffsets({
      groupId: 'nobody',
      topics: [{ name: 't', partitionIndexes: [0, 1] }],
      requireStable: true,
    });
    expect(r).toEqual({
      errorCode: ErrorCode.NONE,
      topics: [
        {
          name: 't',
          partitions: [0, 1].map((partitionIndex) => ({
            partitionIndex,
            committedOffset: -1,
            committedLeaderEpoch: -1,
            metadata: '',
            errorCode: ErrorCode.NONE,
          })),
        },
      ],
    });
    expect(
      h.coordinator.fetchOffsets({ groupId: 'nobody', topics: null, requireStable: false }),
    ).toEqual({
      errorCode: ErrorCode.NONE,
      topics: [],
    });
  });

  test('topics null returns every committed partition', async () => {
    const h = await harness();
    await h.coordinator.commitOffsets(offsetCommitRequest());
    await h.coordinator.commitOffsets({
      ...offsetCommitRequest(),
      topics: [
        {
          name: 'b',
          partitions: [
            {
              partitionIndex: 3,
              committedOffset: 7,
              committedLeaderEpoch: -1,
              committedMetadata: '',
            },
          ],
        },
      ],
    });
    const r = h.coordinator.fetchOffsets({ groupId: 'g', topics: null, requireStable: false });
    expect(
      r.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.committedOffset])]),
    ).toEqual([
      ['orders', [[0, 42]]],
      ['b', [[3, 7]]],
    ]);
  });
});

describe('OffsetDelete', () => {
  test('an Empty group loses the offsets; deleting the last one retires the group', async () => {
    const h = await harness();
    await h.coordinator.commitOffsets(offsetCommitRequest());
    const r = await h.coordinator.deleteOffsets({
      groupId: 'g',
      topics: [{ name: 'orders', partitionIndexes: [0, 5] }],
    });
    expect(r).toEqual({
      errorCode: ErrorCode.NONE,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, errorCode: ErrorCode.NONE },
            { partitionIndex: 5, errorCode: ErrorCode.NONE },
          ],
        },
      ],
    });
    expect(fetchOne(h)?.committedOffset).toBe(-1);
    // One tombstone (for the offset that existed); a simple group writes no group tombstone.
    const tombstones = h.store.all().filter((rec) => rec.value === null);
    expect(tombstones.map((t) => decodeRecordKey(t.key))).toEqual([
      { kind: 'offset', group: 'g', topic: 'orders', partition: 0 },
    ]);
    expect(h.coordinator.groupState('g')).toBeUndefined();
  });

  test('an active consumer group keeps offsets of topics it subscribes to', async () => {
    const h = await harness();
    const { memberId } = await stableSingleMember(h, 'g', {
      protocols: [{ name: 'range', metadata: subscription(['orders']) }],
    });
    await h.coordinator.commitOffsets(
      offsetCommitRequest({ generationIdOrMemberEpoch: 1, memberId }),
    );
    await h.coordinator.commitOffsets({
      ...offsetCommitRequest({ generationIdOrMemberEpoch: 1, memberId }),
      topics: [
        {
          name: 'old',
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
    });
    const r = await h.coordinator.deleteOffsets({
      groupId: 'g',
      topics: [
        { name: 'orders', partitionIndexes: [0] },
        { name: 'old', partitionIndexes: [0] },
      ],
    });
    expect(r.topics.map((t) => t.partitions[0]?.errorCode)).toEqual([
      ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC,
      ErrorCode.NONE,
    ]);
    expect(fetchOne(h)?.committedOffset).toBe(42);
    expect(fetchOne(h, 'old')?.committedOffset).toBe(-1);
  });

  test('non-consumer group: NON_EMPTY_GROUP; unknown group: GROUP_ID_NOT_FOUND', async () => {
    const h = await harness();
    await stableSingleMember(h, 'g', { protocolType: 'connect' });
    const r = await h.coordinator.deleteOffsets({
      groupId: 'g',
      topics: [{ name: 'x', partitionIndexes: [0] }],
    });
    expect(r).toEqual({ errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] });
    const unknown = await h.coordinator.deleteOffsets({ groupId: 'nope', topics: [] });
    expect(unknown).toEqual({ errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] });
  });
});

describe('offset expiry', () => {
  const retentionMs = 60 * 60_000;
  // The periodic pass is tested on its own; here each pass is run explicitly.
  const config = { 'offsets.retention.minutes': 60, 'offsets.retention.check.interval.ms': 1e12 };

  test('a simple group expires offsets by commit time, then the group itself', async () => {
    const h = await harness(config);
    await h.coordinator.commitOffsets(offsetCommitRequest());
    h.clock.advance(retentionMs - 1);
    expect(await h.coordinator.expireOffsets()).toBe(0);
    h.clock.advance(1);
    expect(await h.coordinator.expireOffsets()).toBe(1);
    expect(fetchOne(h)?.committedOffset).toBe(-1);
    expect(h.coordinator.groupState('g')).toBeUndefined();
  });

  test('a consumer group that emptied counts from when it became Empty', async () => {
    const h = await harness(config);
    const { memberId } = await stableSingleMember(h, 'g', { sessionTimeoutMs: 1_800_000 });
    await h.coordinator.commitOffsets(
      offsetCommitRequest({ generationIdOrMemberEpoch: 1, memberId }),
    );
    // Consuming for an hour: nothing of a subscribed topic expires while Stable.
    for (let i = 0; i < 4; i++) {
      h.clock.advance(retentionMs / 4);
      h.coordinator.heartbeat({ groupId: 'g', memberId, groupInstanceId: null, generationId: 1 });
    }
    expect(await h.coordinator.expireOffsets()).toBe(0);
    h.coordinator.leave('g', [{ memberId, groupInstanceId: null }]);
    expect(h.coordinator.groupState('g')).toBe(GroupState.Empty);
    h.clock.advance(retentionMs - 1);
    expect(await h.coordinator.expireOffsets()).toBe(0);
    h.clock.advance(1);
    expect(await h.coordinator.expireOffsets()).toBe(1);
    // Generation 2 was written: the group gets a tombstone too.
    const last = h.store.all().slice(-2);
    expect(last.map((r) => [decodeRecordKey(r.key).kind, r.value])).toEqual([
      ['offset', null],
      ['group', null],
    ]);
  });

  test('a Stable consumer group expires offsets of unsubscribed topics only', async () => {
    const h = await harness(config);
    const { memberId } = await stableSingleMember(h, 'g', { sessionTimeoutMs: 1_800_000 });
    const member = { generationIdOrMemberEpoch: 1, memberId };
    await h.coordinator.commitOffsets(offsetCommitRequest(member));
    await h.coordinator.commitOffsets({
      ...offsetCommitRequest(member),
      topics: [
        {
          name: 'gone',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 5,
              committedLeaderEpoch: -1,
              committedMetadata: '',
            },
          ],
        },
      ],
    });
    for (let i = 0; i < 4; i++) {
      h.clock.advance(retentionMs / 4);
      h.coordinator.heartbeat({ groupId: 'g', memberId, groupInstanceId: null, generationId: 1 });
    }
    expect(await h.coordinator.expireOffsets()).toBe(1);
    expect(fetchOne(h, 'gone')?.committedOffset).toBe(-1);
    expect(fetchOne(h)?.committedOffset).toBe(42);
  });

  test('explicit retention (v2-v4): own deadline, written as value v1', async () => {
    const h = await harness(config);
    await h.coordinator.commitOffsets(offsetCommitRequest({ retentionTimeMs: 1000 }));
    const value = h.store.all()[0]?.value as Buffer;
    expect(value.readInt16BE(0)).toBe(1);
    expect(decodeOffsetCommitValue(value).expireTimestamp).toBe(h.clock.nowMs() + 1000);
    h.clock.advance(1000);
    expect(await h.coordinator.expireOffsets()).toBe(1);
  });

  test('expiry runs by itself every offsets.retention.check.interval.ms', async () => {
    const h = await harness({
      'offsets.retention.minutes': 1,
      'offsets.retention.check.interval.ms': 30_000,
    });
    await h.coordinator.commitOffsets(offsetCommitRequest());
    h.clock.advance(60_000);
    await flush();
    expect(fetchOne(h)?.committedOffset).toBe(-1);
  });
});

describe('DeleteGroups, DescribeGroups, ListGroups', () => {
  test('delete: Empty groups go with their offsets; others are refused', async () => {
    const h = await harness();
    const { memberId } = await stableSingleMember(h, 'g');
    await h.coordinator.commitOffsets(
      offsetCommitRequest({ generationIdOrMemberEpoch: 1, memberId }),
    );
    await h.coordinator.commitOffsets(offsetCommitRequest({ groupId: 'simple' }));
    const first = await h.coordinator.deleteGroups(['g', 'simple', 'nope', 'simple']);
    expect(first).toEqual([
      { groupId: 'g', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'simple', errorCode: ErrorCode.NONE },
      { groupId: 'nope', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    h.coordinator.leave('g', [{ memberId, groupInstanceId: null }]);
    const before = h.store.all().length;
    expect(await h.coordinator.deleteGroups(['g'])).toEqual([
      { groupId: 'g', errorCode: ErrorCode.NONE },
    ]);
    const tombstones = h.store.all().slice(before);
    expect(tombstones.map((r) => [decodeRecordKey(r.key).kind, r.value])).toEqual([
      ['offset', null],
      ['group', null],
    ]);
    expect(fetchOne(h)?.committedOffset).toBe(-1);
    expect(await h.coordinator.deleteGroups(['g'])).toEqual([
      { groupId: 'g', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
  });

  test('describe: Stable shows metadata and assignment; other states hide them', async () => {
    const h = await harness();
    const { memberId } = await stableSingleMember(h, 'g');
    const [stable] = h.coordinator.describeGroups(['g']);
    expect(stable).toEqual({
      errorCode: ErrorCode.NONE,
      groupId: 'g',
      groupState: 'Stable',
      protocolType: 'consumer',
      protocolData: 'range',
      members: [
        {
          memberId,
          groupInstanceId: null,
          clientId: 'client',
          clientHost: '/127.0.0.1',
          memberMetadata: subscription(['orders']),
          memberAssignment: Buffer.from(`assigned:${memberId}`),
        },
      ],
    });
    await joinNew(h, 'g');
    const [preparing] = h.coordinator.describeGroups(['g']);
    expect(preparing?.groupState).toBe('PreparingRebalance');
    expect(preparing?.protocolData).toBe('');
    expect(preparing?.members.every((m) => m.memberMetadata.length === 0)).toBe(true);
    const [unknown] = h.coordinator.describeGroups(['nope']);
    expect(unknown).toMatchObject({ errorCode: ErrorCode.NONE, groupState: 'Dead', members: [] });
  });

  test('list: filters by state and type, case-insensitively', async () => {
    const h = await harness();
    await stableSingleMember(h, 'a');
    await h.coordinator.commitOffsets(offsetCommitRequest({ groupId: 'b' }));
    const all = h.coordinator.listGroups();
    expect(all.errorCode).toBe(ErrorCode.NONE);
    expect(all.groups).toEqual(
      expect.arrayContaining([
        { groupId: 'a', protocolType: 'consumer', groupState: 'Stable', groupType: 'classic' },
        { groupId: 'b', protocolType: '', groupState: 'Empty', groupType: 'classic' },
      ]),
    );
    expect(h.coordinator.listGroups(['stable']).groups.map((g) => g.groupId)).toEqual(['a']);
    expect(h.coordinator.listGroups([], ['Classic']).groups).toHaveLength(2);
    expect(h.coordinator.listGroups([], ['consumer']).groups).toHaveLength(0);
  });
});
