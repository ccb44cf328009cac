/**
 * The group and offset APIs on a real broker (`startBroker()`), spoken over TCP with the
 * generated codecs: every served version of each API is sent and its answer decoded (a field
 * a version lacks would fail the encoder), a whole consumer-group life cycle runs on the
 * newest versions, and a restart on the same data directory keeps groups and offsets.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-table.ts';
import type { MetadataResponse } from '../../../protocol/generated/apis/03-metadata.ts';
import type { OffsetCommitResponse } from '../../../protocol/generated/apis/08-offset-commit.ts';
import type { OffsetFetchResponse } from '../../../protocol/generated/apis/09-offset-fetch.ts';
import type {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from '../../../protocol/generated/apis/10-find-coordinator.ts';
import type { JoinGroupResponse } from '../../../protocol/generated/apis/11-join-group.ts';
import type { HeartbeatResponse } from '../../../protocol/generated/apis/12-heartbeat.ts';
import type { LeaveGroupResponse } from '../../../protocol/generated/apis/13-leave-group.ts';
import type { SyncGroupResponse } from '../../../protocol/generated/apis/14-sync-group.ts';
import type {
  DescribeGroupsRequest,
  DescribeGroupsResponse,
} from '../../../protocol/generated/apis/15-describe-groups.ts';
import type { ListGroupsResponse } from '../../../protocol/generated/apis/16-list-groups.ts';
import type { ApiVersionsResponse } from '../../../protocol/generated/apis/18-api-versions.ts';
import type { DeleteGroupsResponse } from '../../../protocol/generated/apis/42-delete-groups.ts';
import type { OffsetDeleteResponse } from '../../../protocol/generated/apis/47-offset-delete.ts';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import { NodeFileSystem } from '../../../storage/io/node-file-system.ts';
import { decodeResponse, KafkaTestClient } from '../server/kafka-client.ts';

const topic = 'orders';
const subscription = Buffer.from([
  0,
  0,
  0,
  0,
  0,
  1,
  0,
  6,
  ...Buffer.from(topic),
  255,
  255,
  255,
  255,
]);

let broker: RunningBroker;
let client: KafkaTestClient;

beforeAll(async () => {
  broker = await startBroker({ config: { 'offsets.topic.num.partitions': 2 } });
  const created = await broker.broker.data.cluster.createTopic({
    name: topic,
    numPartitions: 2,
    replicationFactor: 1,
    configs: new Map(),
    assignments: [],
  });
  expect(created.errorCode).toBe(ErrorCode.NONE);
  client = await KafkaTestClient.connect(broker.port);
  // No group yet, so no __consumer_offsets; the first FindCoordinator creates it.
  expect(broker.broker.metadata.topic('__consumer_offsets')).toBeUndefined();
  const found = await client.call<FindCoordinatorResponse>(ApiKey.FindCoordinator, 3, {
    key: 'first',
    keyType: 0,
    coordinatorKeys: [],
  });
  expect(found.errorCode).toBe(ErrorCode.NONE);
});

afterAll(async () => {
  client?.close();
  await broker?.stop();
});

function joinBody(groupId: string, memberId = '', groupInstanceId: string | null = null) {
  return {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId,
    groupInstanceId,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription }],
    reason: null,
  };
}

/** Joins a new single-member group at `version` (through MEMBER_ID_REQUIRED from v4). */
async function joinGroup(
  c: KafkaTestClient,
  groupId: string,
  version: number,
): Promise<JoinGroupResponse> {
  let answer = await c.call<JoinGroupResponse>(ApiKey.JoinGroup, version, joinBody(groupId));
  if (version >= 4) {
    expect(answer.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    answer = await c.call(ApiKey.JoinGroup, version, joinBody(groupId, answer.memberId));
  }
  expect(answer.errorCode).toBe(ErrorCode.NONE);
  return answer;
}

function syncBody(groupId: string, joined: JoinGroupResponse) {
  return {
    groupId,
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [{ memberId: joined.memberId, assignment: Buffer.from('assigned') }],
  };
}

function leaveBody(groupId: string, memberId: string, version: number) {
  if (version < 3) return { groupId, memberId, members: [] };
  const reason = version >= 5 ? 'done' : null;
  return { groupId, memberId: '', members: [{ memberId, groupInstanceId: null, reason }] };
}

function commitBody(groupId: string, generationId: number, memberId: string, offset: number) {
  return {
    groupId,
    generationIdOrMemberEpoch: generationId,
    memberId,
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [
      {
        name: topic,
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: offset,
            committedLeaderEpoch: 0,
            commitTimestamp: -1,
            committedMetadata: 'meta',
          },
        ],
      },
    ],
  };
}

function fetchBody(groupId: string, version: number) {
  const topics = [{ name: topic, partitionIndexes: [0, 1] }];
  if (version < 8) return { groupId, topics, groups: [], requireStable: false };
  return {
    groupId: '',
    topics: [],
    groups: [{ groupId, memberId: null, memberEpoch: -1, topics }],
    requireStable: false,
  };
}

/** Committed offsets of partitions 0 and 1 as any OffsetFetch version reports them. */
function offsetsOf(response: OffsetFetchResponse, version: number): number[] {
  const topics = version >= 8 ? (response.groups[0]?.topics ?? []) : response.topics;
  return (topics[0]?.partitions ?? []).map((p) => p.committedOffset);
}

describe('group APIs on a running broker', () => {
  test('ApiVersions advertises the group APIs with Kafka 4 ranges', async () => {
    const response = await client.call<ApiVersionsResponse>(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 'test',
      clientSoftwareVersion: '1',
    });
    const range = (key: number) => {
      const k = response.apiKeys.find((a) => a.apiKey === key);
      return k && [k.minVersion, k.maxVersion];
    };
    expect(range(ApiKey.OffsetCommit)).toEqual([2, 9]);
    expect(range(ApiKey.OffsetFetch)).toEqual([1, 9]);
    expect(range(ApiKey.FindCoordinator)).toEqual([0, 6]);
    expect(range(ApiKey.JoinGroup)).toEqual([0, 9]);
    expect(range(ApiKey.SyncGroup)).toEqual([0, 5]);
    expect(range(ApiKey.Heartbeat)).toEqual([0, 4]);
    expect(range(ApiKey.LeaveGroup)).toEqual([0, 5]);
    expect(range(ApiKey.DescribeGroups)).toEqual([0, 5]);
    expect(range(ApiKey.ListGroups)).toEqual([0, 5]);
    expect(range(ApiKey.DeleteGroups)).toEqual([0, 2]);
    expect(range(ApiKey.OffsetDelete)).toEqual([0, 0]);
  });

  test('FindCoordinator v0-v6 names this broker; __consumer_offsets is internal', async () => {
    for (let version = 0; version <= 6; version++) {
      const body: Omit<FindCoordinatorRequest, 'unknownTaggedFields'> =
        version >= 4
          ? { key: '', keyType: 0, coordinatorKeys: ['g-find', 'other'] }
          : { key: 'g-find', keyType: 0, coordinatorKeys: [] };
      const r = await client.call<FindCoordinatorResponse>(ApiKey.FindCoordinator, version, body);
      const answers = version >= 4 ? r.coordinators : [r];
      expect(answers.length).toBe(version >= 4 ? 2 : 1);
      for (const a of answers) {
        expect(a).toMatchObject({ errorCode: 0, nodeId: 1, host: '127.0.0.1', port: broker.port });
      }
      if (version >= 4) expect(r.coordinators.map((c) => c.key)).toEqual(['g-find', 'other']);
    }
    const metadata = await client.call<MetadataResponse>(ApiKey.Metadata, 9, {
      topics: null,
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const offsets = metadata.topics.find((t) => t.name === '__consumer_offsets');
    expect(offsets?.isInternal).toBe(true);
    expect(offsets?.partitions.length).toBe(2);
  });

  test('FindCoordinator: no transaction coordinator yet; unknown key types invalid', async () => {
    for (const version of [1, 3, 4, 6]) {
      for (const [keyType, errorCode] of [
        [1, ErrorCode.COORDINATOR_NOT_AVAILABLE],
        [7, ErrorCode.INVALID_REQUEST],
      ] as const) {
        const body =
          version >= 4
            ? { key: '', keyType, coordinatorKeys: ['txn'] }
            : { key: 'txn', keyType, coordinatorKeys: [] };
        const r = await client.call<FindCoordinatorResponse>(ApiKey.FindCoordinator, version, body);
        const answer = version >= 4 ? r.coordinators[0] : r;
        expect(answer).toMatchObject({ errorCode, nodeId: -1, host: '', port: -1 });
        expect(answer?.errorMessage).toBeTruthy();
      }
    }
  });

  test('JoinGroup, SyncGroup, Heartbeat and LeaveGroup at every version', async () => {
    for (let version = 0; version <= 9; version++) {
      const groupId = `g-join-v${version}`;
      const joined = await joinGroup(client, groupId, version);
      expect(joined.leader).toBe(joined.memberId);
      expect(joined.protocolName).toBe('range');
      expect(joined.members.map((m) => m.metadata)).toEqual([subscription]);
      if (version >= 7) expect(joined.protocolType).toBe('consumer');
      const syncVersion = Math.min(version, 5);
      const synced = await client.call<SyncGroupResponse>(
        ApiKey.SyncGroup,
        syncVersion,
        syncBody(groupId, joined),
      );
      expect(synced.errorCode).toBe(ErrorCode.NONE);
      expect(synced.assignment).toEqual(Buffer.from('assigned'));
      if (syncVersion >= 5) expect(synced.protocolName).toBe('range');
      const beat = await client.call<HeartbeatResponse>(ApiKey.Heartbeat, Math.min(version, 4), {
        groupId,
        generationId: joined.generationId,
        memberId: joined.memberId,
        groupInstanceId: null,
      });
      expect(beat.errorCode).toBe(ErrorCode.NONE);
      const leaveVersion = Math.min(version, 5);
      const left = await client.call<LeaveGroupResponse>(
        ApiKey.LeaveGroup,
        leaveVersion,
        leaveBody(groupId, joined.memberId, leaveVersion),
      );
      expect(left.errorCode).toBe(ErrorCode.NONE);
      if (leaveVersion >= 3) expect(left.members.map((m) => m.errorCode)).toEqual([0]);
    }
  });

  test('LeaveGroup v0-v2 report an unknown member in the single error code', async () => {
    for (const version of [0, 2, 3]) {
      const left = await client.call<LeaveGroupResponse>(
        ApiKey.LeaveGroup,
        version,
        leaveBody('g-join-v9', 'nobody', version),
      );
      if (version < 3) {
        expect(left.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
      } else {
        expect(left.errorCode).toBe(ErrorCode.NONE);
        expect(left.members[0]?.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
      }
    }
  });

  test('OffsetCommit v2-v9 then OffsetFetch v1-v9 read it back', async () => {
    for (let version = 2; version <= 9; version++) {
      const groupId = `g-commit-v${version}`;
      const committed = await client.call<OffsetCommitResponse>(
        ApiKey.OffsetCommit,
        version,
        commitBody(groupId, -1, '', 100 + version),
      );
      expect(committed.topics).toEqual([
        { name: topic, partitions: [{ partitionIndex: 0, errorCode: 0 }] },
      ]);
      for (let fetchVersion = 1; fetchVersion <= 9; fetchVersion++) {
        const fetched = await client.call<OffsetFetchResponse>(
          ApiKey.OffsetFetch,
          fetchVersion,
          fetchBody(groupId, fetchVersion),
        );
        expect(offsetsOf(fetched, fetchVersion)).toEqual([100 + version, -1]);
      }
    }
    const v9 = await client.call<OffsetFetchResponse>(
      ApiKey.OffsetFetch,
      9,
      fetchBody('g-commit-v9', 9),
    );
    expect(v9.groups[0]?.topics[0]?.partitions[0]).toMatchObject({
      committedLeaderEpoch: 0,
      metadata: 'meta',
      errorCode: 0,
    });
  });

  test('OffsetFetch v8+ answers many groups; null topics return every committed one', async () => {
    const topics = null;
    const r = await client.call<OffsetFetchResponse>(ApiKey.OffsetFetch, 8, {
      groupId: '',
      topics: [],
      groups: [
        { groupId: 'g-commit-v2', memberId: null, memberEpoch: -1, topics },
        { groupId: 'g-never', memberId: null, memberEpoch: -1, topics },
      ],
      requireStable: true,
    });
    expect(r.groups.map((g) => g.groupId)).toEqual(['g-commit-v2', 'g-never']);
    expect(r.groups[0]?.topics).toEqual([
      {
        name: topic,
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: 102,
            // OffsetCommit v2 has no leader epoch: stored and answered as unknown.
            committedLeaderEpoch: -1,
            metadata: 'meta',
            errorCode: 0,
          },
        ],
      },
    ]);
    expect(r.groups[1]).toMatchObject({ errorCode: 0, topics: [] });
  });

  test('OffsetCommit: an unknown topic is UNKNOWN_TOPIC_OR_PARTITION, others stored', async () => {
    const body = commitBody('g-mixed', -1, '', 5);
    const unknown = { ...body.topics[0], name: 'no-such-topic' };
    const r = await client.call<OffsetCommitResponse>(ApiKey.OffsetCommit, 8, {
      ...body,
      topics: [unknown, ...body.topics],
    });
    expect(r.topics.map((t) => [t.name, t.partitions[0]?.errorCode])).toEqual([
      ['no-such-topic', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [topic, ErrorCode.NONE],
    ]);
  });

  test('a member commits in its generation; a stale one is ILLEGAL_GENERATION', async () => {
    const joined = await joinGroup(client, 'g-member', 9);
    const synced = await client.call<SyncGroupResponse>(
      ApiKey.SyncGroup,
      5,
      syncBody('g-member', joined),
    );
    expect(synced.errorCode).toBe(0);
    const ok = await client.call<OffsetCommitResponse>(
      ApiKey.OffsetCommit,
      9,
      commitBody('g-member', joined.generationId, joined.memberId, 7),
    );
    expect(ok.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
    const stale = await client.call<OffsetCommitResponse>(
      ApiKey.OffsetCommit,
      9,
      commitBody('g-member', joined.generationId + 5, joined.memberId, 8),
    );
    expect(stale.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
  });

  test('DescribeGroups v0-v5 and ListGroups v0-v5 with state and type filters', async () => {
    for (let version = 0; version <= 5; version++) {
      const body: Omit<DescribeGroupsRequest, 'unknownTaggedFields'> = {
        groups: ['g-member', 'g-unknown'],
        includeAuthorizedOperations: version >= 3,
      };
      const r = await client.call<DescribeGroupsResponse>(ApiKey.DescribeGroups, version, body);
      const [member, unknown] = r.groups;
      expect(member).toMatchObject({
        errorCode: 0,
        groupId: 'g-member',
        groupState: 'Stable',
        protocolType: 'consumer',
        protocolData: 'range',
      });
      expect(member?.members[0]?.memberAssignment).toEqual(Buffer.from('assigned'));
      expect(member?.members[0]?.clientId).toBe('brook-test');
      expect(member?.members[0]?.clientHost).toMatch(/^\/.*127\.0\.0\.1$/);
      expect(member?.authorizedOperations).toBe(version >= 3 ? 0b1_0100_1000 : -2147483648);
      expect(unknown).toMatchObject({ errorCode: 0, groupState: 'Dead', members: [] });
    }
    for (let version = 0; version <= 5; version++) {
      const all = await client.call<ListGroupsResponse>(ApiKey.ListGroups, version, {
        statesFilter: [],
        typesFilter: [],
      });
      const listed = all.groups.find((g) => g.groupId === 'g-member');
      expect(listed?.protocolType).toBe('consumer');
      if (version >= 4) expect(listed?.groupState).toBe('Stable');
      if (version >= 5) expect(listed?.groupType).toBe('classic');
    }
    const stable = await client.call<ListGroupsResponse>(ApiKey.ListGroups, 5, {
      statesFilter: ['stable'],
      typesFilter: [],
    });
    expect(stable.groups.map((g) => g.groupId)).toEqual(['g-member']);
    const consumerType = await client.call<ListGroupsResponse>(ApiKey.ListGroups, 5, {
      statesFilter: [],
      typesFilter: ['consumer'],
    });
    expect(consumerType.groups).toEqual([]);
  });

  test('OffsetDelete and DeleteGroups', async () => {
    const deleted = await client.call<OffsetDeleteResponse>(ApiKey.OffsetDelete, 0, {
      groupId: 'g-commit-v3',
      topics: [
        { name: topic, partitions: [{ partitionIndex: 0 }] },
        { name: 'no-such-topic', partitions: [{ partitionIndex: 0 }] },
      ],
    });
    expect(deleted.errorCode).toBe(0);
    expect(deleted.topics.map((t) => [t.name, t.partitions[0]?.errorCode])).toEqual([
      [topic, 0],
      ['no-such-topic', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    const fetched = await client.call<OffsetFetchResponse>(
      ApiKey.OffsetFetch,
      7,
      fetchBody('g-commit-v3', 7),
    );
    expect(offsetsOf(fetched, 7)).toEqual([-1, -1]);
    for (let version = 0; version <= 2; version++) {
      const r = await client.call<DeleteGroupsResponse>(ApiKey.DeleteGroups, version, {
        groupsNames: [`g-commit-v${4 + version}`, 'g-member', 'g-absent'],
      });
      expect(r.results).toEqual([
        { groupId: `g-commit-v${4 + version}`, errorCode: 0 },
        { groupId: 'g-member', errorCode: ErrorCode.NON_EMPTY_GROUP },
        { groupId: 'g-absent', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
      ]);
    }
    const gone = await client.call<OffsetFetchResponse>(
      ApiKey.OffsetFetch,
      7,
      fetchBody('g-commit-v4', 7),
    );
    expect(offsetsOf(gone, 7)).toEqual([-1, -1]);
  });

  test('a JoinGroup v0-v3 member id that was never given is UNKNOWN_MEMBER_ID', async () => {
    const r = await client.call<JoinGroupResponse>(ApiKey.JoinGroup, 3, joinBody('g-x', 'made-up'));
    expect(r.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(r.protocolName).toBe('');
  });
});

describe('stopping the broker', () => {
  test('a JoinGroup held in a rebalance is answered NOT_COORDINATOR, not dropped', async () => {
    const running = await startBroker({ config: { 'offsets.topic.num.partitions': 1 } });
    const first = await KafkaTestClient.connect(running.port);
    const second = await KafkaTestClient.connect(running.port);
    try {
      await running.broker.data.cluster.createTopic({
        name: topic,
        numPartitions: 1,
        replicationFactor: 1,
        configs: new Map(),
        assignments: [],
      });
      await first.call(ApiKey.FindCoordinator, 3, {
        key: 'g-stop',
        keyType: 0,
        coordinatorKeys: [],
      });
      const joined = await joinGroup(first, 'g-stop', 9);
      const synced = await first.call<SyncGroupResponse>(
        ApiKey.SyncGroup,
        5,
        syncBody('g-stop', joined),
      );
      expect(synced.errorCode).toBe(0);
      // A second member starts a rebalance; its join waits for the first one to rejoin.
      const held = second.call<JoinGroupResponse>(ApiKey.JoinGroup, 3, joinBody('g-stop'));
      await expectStateSoon(first, 'g-stop', 'PreparingRebalance');
      await running.stop();
      expect((await held).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    } finally {
      first.close();
      second.close();
      await running.stop();
    }
  });
});

/** Asks DescribeGroups until the group is in `state` (each answer is an event, no sleep). */
async function expectStateSoon(c: KafkaTestClient, groupId: string, state: string) {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const r = await c.call<DescribeGroupsResponse>(ApiKey.DescribeGroups, 5, {
      groups: [groupId],
      includeAuthorizedOperations: false,
    });
    if (r.groups[0]?.groupState === state) return;
  }
  throw new Error(`group ${groupId} never reached ${state}`);
}

describe('restart on the same data directory', () => {
  test('groups and committed offsets survive; the partition answers after loading', async () => {
    const dataDir = join(tmpdir(), `brook-groups-${randomBytes(8).toString('hex')}`);
    const one = await startBroker({ dataDir, config: { 'offsets.topic.num.partitions': 1 } });
    let c = await KafkaTestClient.connect(one.port);
    try {
      await one.broker.data.cluster.createTopic({
        name: topic,
        numPartitions: 2,
        replicationFactor: 1,
        configs: new Map(),
        assignments: [],
      });
      const found = await c.call<FindCoordinatorResponse>(ApiKey.FindCoordinator, 3, {
        key: 'g-restart',
        keyType: 0,
        coordinatorKeys: [],
      });
      expect(found.errorCode).toBe(0);
      const joined = await joinGroup(c, 'g-restart', 9);
      const synced = await c.call<SyncGroupResponse>(
        ApiKey.SyncGroup,
        5,
        syncBody('g-restart', joined),
      );
      expect(synced.errorCode).toBe(0);
      const committed = await c.call<OffsetCommitResponse>(
        ApiKey.OffsetCommit,
        9,
        commitBody('g-restart', joined.generationId, joined.memberId, 4242),
      );
      expect(committed.topics[0]?.partitions[0]?.errorCode).toBe(0);
      c.close();
      await one.stop();

      const two = await startBroker({ dataDir, config: { 'offsets.topic.num.partitions': 1 } });
      c = await KafkaTestClient.connect(two.port);
      try {
        await two.broker.groups.loaded;
        const fetched = await c.call<OffsetFetchResponse>(
          ApiKey.OffsetFetch,
          9,
          fetchBody('g-restart', 9),
        );
        expect(offsetsOf(fetched, 9)).toEqual([4242, -1]);
        const described = await c.call<DescribeGroupsResponse>(ApiKey.DescribeGroups, 5, {
          groups: ['g-restart'],
          includeAuthorizedOperations: false,
        });
        expect(described.groups[0]).toMatchObject({ groupState: 'Stable', protocolData: 'range' });
        expect(described.groups[0]?.members.map((m) => m.memberId)).toEqual([joined.memberId]);
        // The member that was Stable before the restart still heartbeats in its generation.
        const beat = await c.call<HeartbeatResponse>(ApiKey.Heartbeat, 4, {
          groupId: 'g-restart',
          generationId: joined.generationId,
          memberId: joined.memberId,
          groupInstanceId: null,
        });
        expect(beat.errorCode).toBe(ErrorCode.NONE);
      } finally {
        await two.stop();
      }
    } finally {
      c.close();
      await one.stop();
      await new NodeFileSystem().removeTree(dataDir);
    }
  });
});

describe('read your writes on one connection', () => {
  // Regression: a pipelined OffsetFetch ran while the OffsetCommit before it was still being
  // appended and answered the old offset, so @platformatic/kafka re-consumed a record after
  // a rebalance. Kafka answers a connection's requests one at a time; Brook waits instead.
  test('OffsetFetch pipelined right behind OffsetCommit returns the new offset', async () => {
    for (let round = 0; round < 20; round++) {
      const groupId = `g-pipelined-${round}`;
      const commitId = 10_000 + round * 2;
      // One write: both frames arrive in the same chunk and start back to back.
      client.raw.send(
        KafkaTestClient.encodeRequest(
          ApiKey.OffsetCommit,
          9,
          commitBody(groupId, -1, '', 500 + round),
          commitId,
        ),
        KafkaTestClient.encodeRequest(ApiKey.OffsetFetch, 9, fetchBody(groupId, 9), commitId + 1),
      );
      const committed = decodeResponse<OffsetCommitResponse>(
        await client.raw.takeOne(),
        ApiKey.OffsetCommit,
        9,
        commitId,
      );
      expect(committed.topics[0]?.partitions[0]?.errorCode).toBe(0);
      const fetched = decodeResponse<OffsetFetchResponse>(
        await client.raw.takeOne(),
        ApiKey.OffsetFetch,
        9,
        commitId + 1,
      );
      expect(offsetsOf(fetched, 9)).toEqual([500 + round, -1]);
    }
  });
});
