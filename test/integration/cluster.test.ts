/**
 * A three-node cluster in one process (startCluster: each node a broker and a Raft voter),
 * driven by a real client (kafkajs): a replicated topic is created through the controller,
 * idempotent acks=all records reach every replica byte for byte, and when the leader of a
 * partition stops, another ISR member takes over with every acknowledged record.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type RunningCluster, startCluster } from '../../src/index.ts';
import { logBatches } from '../../src/metadata/log-batches.ts';

const topic = 'replicated';
const partitions = 3;
let cluster: RunningCluster;
let kafka: Kafka;

beforeAll(async () => {
  cluster = await startCluster({
    nodes: 3,
    config: {
      'replica.lag.time.max.ms': 2_000,
      'broker.session.timeout.ms': 3_000,
      'broker.heartbeat.interval.ms': 250,
    },
  });
  kafka = new Kafka({
    clientId: 'cluster-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
  });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

/** Resolves once `check` holds, polling every 20 ms; fails after `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Every batch of a replica's log below `end`, as bytes. */
async function replicaBytes(node: number, partition: number, end: number): Promise<Buffer> {
  const hosted = cluster.nodes[node]?.broker.data.replicas.partition(topic, partition);
  if (!hosted) throw new Error(`node ${node + 1} hosts no ${topic}-${partition}`);
  const chunks: Buffer[] = [];
  for await (const batch of logBatches(hosted.log, 0)) {
    if (batch.baseOffset >= end) break;
    chunks.push(Buffer.from(batch.buf));
  }
  return Buffer.concat(chunks);
}

function leaderOf(partition: number, node = 0): number {
  const view = cluster.nodes[node]?.broker.metadata.topic(topic);
  return view?.partitions[partition]?.leaderId ?? -1;
}

async function produce(values: readonly string[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (const value of values) {
      await producer.send({ topic, acks: -1, messages: [{ key: value, value }] });
    }
  } finally {
    await producer.disconnect();
  }
}

async function consumeAll(expected: number): Promise<Map<number, string[]>> {
  const consumer = kafka.consumer({ groupId: `g-${expected}-${Date.now()}` });
  const seen = new Map<number, string[]>();
  let count = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          const list = seen.get(partition) ?? [];
          list.push(String(message.value));
          seen.set(partition, list);
          count += 1;
          if (count >= expected) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return seen;
}

test('every node registers; a replicated topic gets three replicas in sync', async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const described = await admin.describeCluster();
    expect(described.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
    expect([1, 2, 3]).toContain(described.controller);
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 3 }],
    });
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const parts = metadata.topics[0]?.partitions ?? [];
    expect(parts).toHaveLength(partitions);
    for (const p of parts) {
      expect([...p.replicas].sort()).toEqual([1, 2, 3]);
      expect([...p.isr].sort()).toEqual([1, 2, 3]);
    }
    // Leaders are spread: not all three partitions on one broker.
    expect(new Set(parts.map((p) => p.leader)).size).toBeGreaterThan(1);
  } finally {
    await admin.disconnect();
  }
});

test('acks=all records are on every replica, identical, and read back once each', async () => {
  const values = Array.from({ length: 60 }, (_, i) => `a-${i}`);
  await produce(values);
  const seen = await consumeAll(values.length);
  expect([...seen.values()].flat().sort()).toEqual([...values].sort());
  for (let p = 0; p < partitions; p++) {
    const leader = cluster.nodes[leaderOf(p) - 1]?.broker.data.replicas.partition(topic, p);
    if (!leader) throw new Error(`no leader for ${p}`);
    const end = leader.log.logEndOffset;
    // Followers catch up and learn the high watermark on their next fetch.
    await eventually(() =>
      cluster.nodes.every(
        (n) => n.broker.data.replicas.partition(topic, p)?.log.highWatermark === end,
      ),
    );
    const bytes = await replicaBytes(0, p, end);
    expect(await replicaBytes(1, p, end)).toEqual(bytes);
    expect(await replicaBytes(2, p, end)).toEqual(bytes);
  }
});

test('the leader stops: another ISR member leads with every acknowledged record', async () => {
  const leaderId = leaderOf(0);
  const stopped = cluster.nodes[leaderId - 1];
  if (!stopped) throw new Error('no leader');
  await stopped.stop();
  const survivor = cluster.nodes.findIndex((n) => n !== stopped);
  await eventually(() => {
    const now = leaderOf(0, survivor);
    return now !== -1 && now !== leaderId;
  });
  const values = Array.from({ length: 30 }, (_, i) => `b-${i}`);
  const live = cluster.nodes.filter((n) => n !== stopped).map((n) => n.bootstrap);
  kafka = new Kafka({ clientId: 'after-stop', brokers: live, logLevel: logLevel.NOTHING });
  await produce(values);
  const seen = await consumeAll(90);
  const all = [...seen.values()].flat();
  for (let i = 0; i < 60; i++) expect(all).toContain(`a-${i}`);
  for (const value of values) expect(all).toContain(value);
  expect(new Set(all).size).toBe(all.length);
});
