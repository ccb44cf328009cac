/**
 * A consumer group on a three-node cluster. Its coordinator is the leader of the group's
 * __consumer_offsets partition (abs(Java hashCode of the group id) % partitions, as every
 * Kafka client and tool computes it), which FindCoordinator (@platformatic/kafka) must name.
 * A kafkajs member consumes and commits each record, leaves; the coordinator node stops (once
 * with a controlled shutdown, once crash-like with Broker.stop(0)); another node takes over
 * the __consumer_offsets partition, the committed offsets are still there, and a member of the
 * same group on the surviving nodes resumes exactly after them: each later record once, no
 * earlier one again. And a member that stays in the group (confluent-kafka-python, its own
 * process) while its coordinator's node crashes finds the new coordinator and goes on
 * consuming and committing, each record once.
 */
import { Consumer } from '@platformatic/kafka';
import { afterEach, describe, expect, test } from 'vitest';
import { type RunningBroker, type RunningCluster, startCluster } from '../../../src/index.ts';
import { heldBy } from '../groups/group-history.ts';
import { skipWithout, startGroupMember } from '../harness/index.ts';
import { createReplicatedTopic, eventually, kafkaOn, leaderOf } from './cluster-fixture.ts';

const partitions = 3;
const offsetsTopic = '__consumer_offsets';
let cluster: RunningCluster | undefined;

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

/** Java's String.hashCode, Kafka's Utils.abs, then the modulo: the group's partition. */
function offsetsPartitionOf(group: string, count: number): number {
  let hash = 0;
  for (let i = 0; i < group.length; i++) hash = (Math.imul(hash, 31) + group.charCodeAt(i)) | 0;
  // Utils.abs, not toPositive: Integer.MIN_VALUE maps to 0, other negatives to -n.
  return (hash === -0x8000_0000 ? 0 : Math.abs(hash)) % count;
}

async function findCoordinator(bootstraps: readonly string[], group: string): Promise<number> {
  const consumer = new Consumer({
    groupId: group,
    clientId: 'cluster-find-coordinator',
    bootstrapBrokers: [...bootstraps],
  });
  try {
    return await consumer.findGroupCoordinator();
  } finally {
    await consumer.close(true);
  }
}

async function produce(bootstraps: readonly string[], topic: string, values: readonly string[]) {
  const producer = kafkaOn(bootstraps, 'cluster-group-producer').producer({ idempotent: true });
  await producer.connect();
  try {
    const messages = values.map((value, i) => ({ partition: i % partitions, value }));
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** One kafkajs member commits each record after processing it, until `count` arrived. */
async function consumeAndCommit(
  bootstraps: readonly string[],
  topic: string,
  group: string,
  count: number,
): Promise<string[]> {
  const consumer = kafkaOn(bootstraps, 'cluster-group-member').consumer({
    groupId: group,
    maxWaitTimeInMs: 100,
    sessionTimeout: 6_000,
    heartbeatInterval: 500,
  });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            values.push(String(message.value));
            const next = String(Number(message.offset) + 1);
            await consumer.commitOffsets([{ topic, partition, offset: next }]);
            if (values.length >= count) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

async function committedOffsets(bootstraps: readonly string[], topic: string, group: string) {
  const admin = kafkaOn(bootstraps, 'cluster-group-admin').admin();
  await admin.connect();
  try {
    const [fetched] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return (fetched?.partitions ?? [])
      .sort((a, b) => a.partition - b.partition)
      .map((p) => Number(p.offset));
  } finally {
    await admin.disconnect();
  }
}

async function coordinatorFailover(how: 'controlled' | 'crash'): Promise<void> {
  const started = await startCluster({ nodes: 3 });
  cluster = started;
  const all = started.nodes.map((n) => n.bootstrap);
  const topic = `group-${how}`;
  const group = `failover-${how}`;
  const leaders = await createReplicatedTopic(started, topic, partitions);
  const first = Array.from({ length: 30 }, (_, i) => `a-${i}`);
  await produce(all, topic, first);
  expect((await consumeAndCommit(all, topic, group, first.length)).sort()).toEqual(
    [...first].sort(),
  );
  expect(await committedOffsets(all, topic, group)).toEqual([10, 10, 10]);

  const count = started.nodes[0]?.config['offsets.topic.num.partitions'] ?? 0;
  const offsetsPartition = offsetsPartitionOf(group, count);
  const coordinatorId = await findCoordinator(all, group);
  expect(coordinatorId).toBe(
    leaderOf(started.nodes[0] as RunningBroker, offsetsTopic, offsetsPartition),
  );
  const coordinator = started.nodes[coordinatorId - 1];
  if (!coordinator) throw new Error(`no node ${coordinatorId}`);
  console.log(
    `${how}: group ${group} -> ${offsetsTopic}-${offsetsPartition} led by node ` +
      `${coordinatorId}; ${topic} leaders ${leaders.join(',')}`,
  );

  if (how === 'controlled') await coordinator.stop();
  else await coordinator.broker.stop(0);
  const survivors = started.nodes.filter((n) => n !== coordinator);
  const live = survivors.map((n) => n.bootstrap);
  await eventually(
    () =>
      survivors.every((n) => {
        const leader = leaderOf(n, offsetsTopic, offsetsPartition);
        return leader > 0 && leader !== coordinatorId;
      }),
    `${offsetsTopic}-${offsetsPartition} led by a surviving node`,
    30_000,
  );
  const newCoordinator = await findCoordinator(live, group);
  expect(newCoordinator).toBe(
    leaderOf(survivors[0] as RunningBroker, offsetsTopic, offsetsPartition),
  );
  // The commits were acknowledged by the old coordinator: the new one has them.
  expect(await committedOffsets(live, topic, group)).toEqual([10, 10, 10]);

  const second = Array.from({ length: 15 }, (_, i) => `b-${i}`);
  await produce(live, topic, second);
  // Exactly the new records: the member starts at the committed offsets, not at 0.
  const resumed = await consumeAndCommit(live, topic, group, second.length);
  expect(resumed.sort()).toEqual([...second].sort());
  expect(await committedOffsets(live, topic, group)).toEqual([15, 15, 15]);
}

test('the coordinator node stops (controlled): commits survive, the group resumes', async () => {
  await coordinatorFailover('controlled');
}, 45_000);

test('the coordinator node stops (crash-like): commits survive, the group resumes', async () => {
  await coordinatorFailover('crash');
}, 45_000);

describe.skipIf(skipWithout('confluent-python'))('a live member across a coordinator crash', () => {
  test('librdkafka finds the new coordinator and goes on after its last commit', async () => {
    const started = await startCluster({ nodes: 3 });
    cluster = started;
    const all = started.nodes.map((n) => n.bootstrap);
    const topic = 'group-live';
    const group = 'failover-live';
    await createReplicatedTopic(started, topic, partitions);
    const coordinatorId = await findCoordinator(all, group);
    const coordinator = started.nodes[coordinatorId - 1];
    if (!coordinator) throw new Error(`no node ${coordinatorId}`);
    const survivors = started.nodes.filter((n) => n !== coordinator);
    const live = survivors.map((n) => n.bootstrap);
    // It bootstraps from a node that stays: everything else it learns from Metadata.
    const member = startGroupMember('confluent-python', {
      bootstrap: live[0] ?? '',
      topic,
      group,
      assignor: 'range',
      // Longer than the failover (the 4 s broker session, then the load): the member must not
      // expire legitimately while it cannot reach any coordinator.
      sessionTimeoutMs: 15_000,
    });
    const records = () => member.lines.filter((line) => line.type === 'record');
    try {
      await member.until(() => heldBy(member).size === partitions, 'all partitions held');
      const first = Array.from({ length: 12 }, (_, i) => `a-${i}`);
      await produce(all, topic, first);
      await member.until(() => records().length >= first.length, 'the first records');
      expect(await committedOffsets(all, topic, group)).toEqual([4, 4, 4]);

      await coordinator.broker.stop(0);
      // The member is left alone through the failover; the test's own producer (kafkajs, which
      // gives up on a dead leader within a few seconds) waits until the leaders have moved.
      await eventually(
        () =>
          survivors.every((n) =>
            Array.from({ length: partitions }, (_, p) => leaderOf(n, topic, p)).every(
              (l) => l > 0 && l !== coordinatorId,
            ),
          ),
        `${topic} led by the surviving nodes`,
        30_000,
      );
      const second = Array.from({ length: 12 }, (_, i) => `b-${i}`);
      await produce(live, topic, second);
      await member.until(
        () => records().length >= first.length + second.length,
        'the records sent after the coordinator crashed',
        40_000,
      );
      await eventually(
        async () => (await committedOffsets(live, topic, group)).every((o) => o === 8),
        'the new records committed through the new coordinator',
      );
      await member.stop();
      const values = records().map((line) => String(line['value']));
      expect(values.sort()).toEqual([...first, ...second].sort());
      console.log(`live member: coordinator ${coordinatorId} crashed; ${values.length} records`);
    } finally {
      await member.kill();
    }
  }, 60_000);
});
