/**
 * The group coordinator over the real log (LogGroupStore + GroupService on a LogManager on an
 * in-memory disk): what is acknowledged is in __consumer_offsets as record batches, a restart
 * (clean, or a crash of the machine) replays it, and groups are answered
 * COORDINATOR_LOAD_IN_PROGRESS until their partition is replayed.
 */
import { describe, expect, onTestFailed, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { iterateBatches } from '../../../protocol/records/batch.ts';
import {
  GroupService,
  type OffsetsTopicHost,
  offsetsTopicConfigs,
} from '../../../src/coordinator/group/group-service.ts';
import {
  decodeOffsetCommitValue,
  decodeRecordKey,
  type GroupCoordinator,
  GroupState,
} from '../../../src/coordinator/group/index.ts';
import {
  LogGroupStore,
  offsetsTopicName,
  readGroupRecords,
} from '../../../src/coordinator/group/log-group-store.ts';
import { SimClock } from '../../../src/util/clock.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';
import { type Durability, LOG_CONFIG_DEFAULTS } from '../../../storage/log/log-config.ts';
import { LogManager } from '../../../storage/log/log-manager.ts';
import { seedFromEnv, subscription } from '../coordinator/group/harness.ts';

const logDir = '/data';
const partitions = 3;

interface Node {
  readonly logs: LogManager;
  readonly groups: GroupService;
}

/** __consumer_offsets as plain logs of a real LogManager (the broker hosts them the same way). */
function logManagerHost(logs: LogManager, fs: MemoryFileSystem): OffsetsTopicHost {
  return {
    fs,
    partitionCount: () => {
      const count = [...logs.logs()].filter((l) => l.topic === offsetsTopicName).length;
      return count === 0 ? undefined : count;
    },
    createTopic: async (numPartitions) => {
      for (let p = 0; p < numPartitions; p++) await logs.createLog(offsetsTopicName, p);
      return ErrorCode.NONE;
    },
    log: (partition) => logs.getLog(offsetsTopicName, partition),
  };
}

const compacted = { cleanupPolicy: 'compact' as const, segmentBytes: 100 * 1024 * 1024 };

async function startNode(
  fs: MemoryFileSystem,
  clock: SimClock,
  seed: number,
  durability: Durability = 'fsync',
): Promise<Node> {
  expect(offsetsTopicConfigs.get('cleanup.policy')).toBe('compact');
  const logs = await LogManager.open({
    fs,
    clock,
    random: new SeededRandom(seed),
    logDirs: [logDir],
    defaultConfig: { ...LOG_CONFIG_DEFAULTS, durability },
    topicConfig: (topic) => (topic === offsetsTopicName ? compacted : undefined),
  });
  const groups = new GroupService({
    host: logManagerHost(logs, fs),
    clock,
    random: new SeededRandom(seed + 1),
    config: { 'offsets.topic.num.partitions': partitions, 'group.initial.rebalance.delay.ms': 0 },
  });
  groups.start();
  expect(await groups.ensureCoordinator()).toBe(ErrorCode.NONE);
  return { logs, groups };
}

function coordinatorOf(groups: GroupService): GroupCoordinator {
  const coordinator = groups.coordinator;
  if (coordinator === undefined) throw new Error('no coordinator');
  return coordinator;
}

function seeded(): number {
  const seed = seedFromEnv();
  onTestFailed(() => console.error(`seed ${seed} (rerun with BROOK_TEST_SEED=${seed})`));
  return seed;
}

function commit(groups: GroupService, groupId: string, offset: number, memberId = '') {
  return coordinatorOf(groups).commitOffsets({
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId,
    groupInstanceId: null,
    topics: [
      {
        name: 'orders',
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: offset,
            committedLeaderEpoch: 3,
            committedMetadata: 'm',
          },
          {
            partitionIndex: 1,
            committedOffset: offset + 1,
            committedLeaderEpoch: -1,
            committedMetadata: null,
          },
        ],
      },
    ],
    apiVersion: 9,
  });
}

function fetched(groups: GroupService, groupId: string) {
  return coordinatorOf(groups).fetchOffsets({ groupId, topics: null, requireStable: false });
}

describe('LogGroupStore and GroupService', () => {
  test('__consumer_offsets is created by the first ensureCoordinator, not before', async () => {
    const seed = seeded();
    const fs = new MemoryFileSystem(new SeededRandom(seed));
    const clock = new SimClock();
    const logs = await LogManager.open({
      fs,
      clock,
      random: new SeededRandom(seed),
      logDirs: [logDir],
    });
    const groups = new GroupService({
      host: logManagerHost(logs, fs),
      clock,
      random: new SeededRandom(seed),
      config: { 'offsets.topic.num.partitions': partitions },
    });
    groups.start();
    expect(groups.coordinator).toBeUndefined();
    expect(logs.logCount).toBe(0);
    // Two lookups at once create the topic once.
    const answers = await Promise.all([groups.ensureCoordinator(), groups.ensureCoordinator()]);
    expect(answers).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
    expect(logs.logCount).toBe(partitions);
    await groups.loaded;
    expect(coordinatorOf(groups).ownsPartition(partitions - 1)).toBe(true);
    await groups.close();
    expect(await groups.ensureCoordinator()).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    await logs.close();
  });

  test('a commit is one batch in the group partition; fetch reads it back', async () => {
    const seed = seeded();
    const fs = new MemoryFileSystem(new SeededRandom(seed));
    const clock = new SimClock();
    const node = await startNode(fs, clock, seed);
    await node.groups.loaded;
    const result = await commit(node.groups, 'g1', 41);
    expect(result.topics[0]?.partitions.map((p) => p.errorCode)).toEqual([0, 0]);
    const partition = coordinatorOf(node.groups).partitionFor('g1');
    const log = node.logs.getLog(offsetsTopicName, partition);
    expect(log?.logEndOffset).toBe(2);
    expect(log?.highWatermark).toBe(2);
    const records = [];
    for await (const r of readGroupRecords(log as never, fs)) records.push(r);
    expect(records.map((r) => decodeRecordKey(r.key))).toEqual([
      { kind: 'offset', group: 'g1', topic: 'orders', partition: 0 },
      { kind: 'offset', group: 'g1', topic: 'orders', partition: 1 },
    ]);
    expect(decodeOffsetCommitValue(records[0]?.value as Buffer)).toMatchObject({
      offset: 41,
      leaderEpoch: 3,
      metadata: 'm',
      commitTimestamp: clock.nowMs(),
    });
    // The batch is what Kafka writes: one uncompressed batch, no producer id.
    const read = await (log as NonNullable<typeof log>).read(0, { maxBytes: 1 << 20 });
    const chunk = read.chunks[0];
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.alloc(0);
    const batches = [...iterateBatches(bytes)];
    expect(batches.length).toBe(1);
    expect(batches[0]?.producerId).toBe(-1);
    expect(batches[0]?.compression).toBe(0);
    await node.groups.close();
    await node.logs.close();
  });

  test('offsets and group metadata survive a clean restart', async () => {
    const seed = seeded();
    const fs = new MemoryFileSystem(new SeededRandom(seed));
    const clock = new SimClock();
    let node = await startNode(fs, clock, seed);
    await node.groups.loaded;
    const c = coordinatorOf(node.groups);
    const joining = c.join({
      groupId: 'g2',
      memberId: '',
      groupInstanceId: null,
      clientId: 'client',
      clientHost: '/127.0.0.1',
      rebalanceTimeoutMs: 10_000,
      sessionTimeoutMs: 10_000,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: subscription(['orders']) }],
      apiVersion: 3,
    });
    clock.advance(0);
    const first = await joining;
    expect(first.errorCode).toBe(ErrorCode.NONE);
    const sync = await c.sync({
      groupId: 'g2',
      generationId: first.generationId,
      memberId: first.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [{ memberId: first.memberId, assignment: Buffer.from('a') }],
    });
    expect(sync.errorCode).toBe(ErrorCode.NONE);
    await commit(node.groups, 'g3', 7);
    await node.groups.close();
    await node.logs.close();

    node = await startNode(fs, clock, seed);
    await node.groups.loaded;
    const group = coordinatorOf(node.groups).inspectGroup('g2');
    expect(group?.state).toBe(GroupState.Stable);
    expect(group?.generationId).toBe(first.generationId);
    expect([...(group?.members.keys() ?? [])]).toEqual([first.memberId]);
    expect(fetched(node.groups, 'g3').topics[0]?.partitions.map((p) => p.committedOffset)).toEqual([
      7, 8,
    ]);
    await node.groups.close();
    await node.logs.close();
  });

  test.each(['fsync', 'kafka'] as const)(
    'an acknowledged commit survives a machine crash (%s durability)',
    async (durability) => {
      const seed = seeded();
      const fs = new MemoryFileSystem(new SeededRandom(seed));
      const clock = new SimClock();
      const node = await startNode(fs, clock, seed, durability);
      await node.groups.loaded;
      for (let i = 0; i < 5; i++) {
        const result = await commit(node.groups, `crash-${i}`, 100 + i);
        expect(result.topics[0]?.partitions[0]?.errorCode).toBe(0);
      }
      // No close: the machine loses what was not fsynced, and the acknowledged commits were.
      const rebooted = fs.crash();
      const again = await startNode(rebooted, clock, seed, durability);
      await again.groups.loaded;
      for (let i = 0; i < 5; i++) {
        const offsets = fetched(again.groups, `crash-${i}`).topics[0]?.partitions;
        expect(offsets?.map((p) => p.committedOffset)).toEqual([100 + i, 101 + i]);
      }
      await again.groups.close();
      await again.logs.close();
    },
  );

  test('groups get COORDINATOR_LOAD_IN_PROGRESS until their partition is replayed', async () => {
    const seed = seeded();
    const fs = new MemoryFileSystem(new SeededRandom(seed));
    const clock = new SimClock();
    const node = await startNode(fs, clock, seed);
    await node.groups.loaded;
    await commit(node.groups, 'slow', 5);
    await node.groups.close();
    await node.logs.close();
    const again = await startNode(fs, clock, seed);
    // start() returned: every partition is loading, none answered yet.
    expect(fetched(again.groups, 'slow').errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    await again.groups.loaded;
    expect(fetched(again.groups, 'slow').errorCode).toBe(ErrorCode.NONE);
    await again.groups.close();
    await again.logs.close();
  });

  test('a partition not led here fails the append with NOT_COORDINATOR', async () => {
    const store = new LogGroupStore({ clock: new SimClock(), logFor: () => undefined });
    await expect(store.append(0, [{ key: Buffer.from([0]), value: null }])).rejects.toMatchObject({
      errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
    });
  });

  test('a closed log turns a commit into NOT_COORDINATOR for the client', async () => {
    const seed = seeded();
    const fs = new MemoryFileSystem(new SeededRandom(seed));
    const clock = new SimClock();
    const node = await startNode(fs, clock, seed);
    await node.groups.loaded;
    await node.logs.close();
    const result = await commit(node.groups, 'closed', 1);
    expect(result.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    await node.groups.close();
  });
});
