/**
 * Every real client against a three-node in-process cluster, bootstrapping from ONE node: each
 * produces keyed records with acks=all to its own RF 3 topic of three partitions whose leaders
 * are on different nodes (so the client must follow Metadata to the other leaders), and reads
 * everything back exactly once, in order per partition. At each acknowledgement at least
 * min.insync.replicas nodes hold the records (acks=all waited for the ISR).
 */
import {
  Consumer,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningBroker, type RunningCluster, startCluster } from '../../../src/index.ts';
import {
  type JsonLine,
  loadConfluentJs,
  ofType,
  onlyOfType,
  runKcat,
  runPython,
  runSarama,
  skipWithout,
} from '../harness/index.ts';
import {
  type Acked,
  createReplicatedTopic,
  expectExactlyOnceInOrder,
  kafkaOn,
  minInsync,
  type Read,
  replicasHolding,
} from './cluster-fixture.ts';

const partitions = 3;
const count = 45;
let cluster: RunningCluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

/** The node a client bootstraps from: a different one per client, never the whole list. */
function bootstrapNode(i: number): RunningBroker {
  const node = cluster.nodes[i % cluster.nodes.length];
  if (!node) throw new Error('no node');
  return node;
}

/** A fresh topic whose leaders are spread, at least one away from the bootstrap node. */
async function topicFor(name: string, bootstrap: RunningBroker): Promise<string> {
  const topic = `cluster-${name}`;
  const leaders = await createReplicatedTopic(cluster, topic, partitions);
  expect(new Set(leaders).size, `leaders ${leaders.join(',')}`).toBeGreaterThan(1);
  expect(leaders.some((l) => l !== bootstrap.broker.nodeId)).toBe(true);
  return topic;
}

/** acks=all held the answers until the ISR had them: at least min ISR replicas hold each. */
function expectReplicated(topic: string, acked: readonly Acked[]): void {
  for (let p = 0; p < partitions; p++) {
    const mine = acked.filter((a) => a.partition === p);
    const end = Math.max(-1, ...mine.map((a) => a.offset)) + 1;
    expect(
      replicasHolding(cluster, topic, p, end),
      `replicas of ${topic}-${p} holding ${end}`,
    ).toBeGreaterThanOrEqual(minInsync);
  }
  expect(new Set(acked.map((a) => a.partition)).size, 'keys spread over partitions').toBe(
    partitions,
  );
}

/** The driver's `produced` lines (index, partition, offset) as acknowledged records. */
function ackedOf(lines: readonly JsonLine[]): Acked[] {
  return ofType(lines, 'produced')
    .map((l) => ({
      index: Number(l['index']),
      partition: Number(l['partition']),
      offset: Number(l['offset']),
    }))
    .sort((a, b) => a.index - b.index)
    .map((l) => ({ partition: l.partition, offset: l.offset, value: `value-${l.index}` }));
}

function readOf(lines: readonly JsonLine[]): Read[] {
  return ofType(lines, 'record').map((l) => ({
    partition: Number(l['partition']),
    offset: Number(l['offset']),
    value: String(l['value']),
  }));
}

function countsOf(acked: readonly Acked[]): number[] {
  return Array.from(
    { length: partitions },
    (_, p) => acked.filter((a) => a.partition === p).length,
  );
}

describe.skipIf(skipWithout('kcat'))('kcat (librdkafka)', () => {
  test('idempotent acks=all produce; -C reads every partition back', async () => {
    const node = bootstrapNode(0);
    const topic = await topicFor('kcat', node);
    const input = Array.from({ length: count }, (_, i) => `key-${i}\tvalue-${i}\n`).join('');
    const common = ['-b', node.bootstrap, '-t', topic];
    await runKcat(
      ['-P', ...common, '-K', '\t', '-X', 'acks=all', '-X', 'enable.idempotence=true'],
      { input },
    );
    const consumed = await runKcat([
      '-C',
      ...common,
      '-e',
      '-o',
      'beginning',
      '-f',
      '%p\t%o\t%s\n',
    ]);
    const read = consumed.stdout
      .trimEnd()
      .split('\n')
      .map((line) => {
        const [partition, offset, value] = line.split('\t');
        return { partition: Number(partition), offset: Number(offset), value: String(value) };
      });
    // kcat tells no offsets when producing: the read-back gives them, checked to be dense
    // (0..n-1 per partition) and in the producer's order.
    const acked = [...read].sort((a, b) => Number(a.value.slice(6)) - Number(b.value.slice(6)));
    expect(acked.map((a) => a.value)).toEqual(
      Array.from({ length: count }, (_, i) => `value-${i}`),
    );
    for (let p = 0; p < partitions; p++) {
      const offsets = acked.filter((a) => a.partition === p).map((a) => a.offset);
      expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => i));
    }
    expectExactlyOnceInOrder(acked, read);
    expectReplicated(topic, acked);
  }, 30_000);
});

for (const [i, script, client, extra] of [
  [1, 'confluent', 'confluent-python', ['--idempotent']],
  [2, 'kafka_python', 'kafka-python', []],
] as const) {
  describe.skipIf(skipWithout(client))(client, () => {
    test('acks=all produce, then each partition read back by assign()', async () => {
      const node = bootstrapNode(i);
      const topic = await topicFor(script.replace('_', '-'), node);
      const common = ['--bootstrap', node.bootstrap, '--timeout-ms', '20000', '--topic', topic];
      const produced = await runPython(script, [
        'produce',
        ...common,
        '--count',
        String(count),
        '--acks',
        'all',
        ...extra,
      ]);
      expect(onlyOfType(produced.lines, 'summary')).toMatchObject({ produced: count, failed: 0 });
      const acked = ackedOf(produced.lines);
      expectReplicated(topic, acked);
      const counts = countsOf(acked);
      const reads = await Promise.all(
        counts.map((n, p) =>
          runPython(script, ['consume', ...common, '--partition', String(p), '--count', String(n)]),
        ),
      );
      expectExactlyOnceInOrder(
        acked,
        reads.flatMap((r) => readOf(r.lines)),
      );
    }, 40_000);
  });
}

describe.skipIf(skipWithout('sarama'))('sarama', () => {
  test('idempotent acks=all produce, then a partition consumer per partition', async () => {
    const node = bootstrapNode(0);
    const topic = await topicFor('sarama', node);
    const common = ['-brokers', node.bootstrap, '-version', '2.8.0', '-topic', topic];
    const produced = await runSarama([
      'produce',
      ...common,
      '-count',
      String(count),
      '-acks',
      'all',
      '-idempotent',
      '-timeout-ms',
      '20000',
    ]);
    expect(onlyOfType(produced.lines, 'summary')).toMatchObject({ produced: count, failed: 0 });
    const acked = ackedOf(produced.lines);
    expectReplicated(topic, acked);
    const reads = await Promise.all(
      countsOf(acked).map((n, p) =>
        runSarama([
          'consume',
          ...common,
          '-partition',
          String(p),
          '-offset',
          'oldest',
          '-count',
          String(n),
        ]),
      ),
    );
    expectExactlyOnceInOrder(
      acked,
      reads.flatMap((r) => readOf(r.lines)),
    );
  }, 40_000);
});

describe('kafkajs', () => {
  test('idempotent acks=all produce; a group consumer reads back', async () => {
    const node = bootstrapNode(1);
    const topic = await topicFor('kafkajs', node);
    const kafka = kafkaOn([node.bootstrap], 'cluster-kafkajs');
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const acked: Acked[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const [meta] = await producer.send({
          topic,
          acks: -1,
          messages: [{ key: `key-${i}`, value: `value-${i}` }],
        });
        if (!meta) throw new Error('no record metadata');
        acked.push({
          partition: meta.partition,
          offset: Number(meta.baseOffset),
          value: `value-${i}`,
        });
      }
    } finally {
      await producer.disconnect();
    }
    expectReplicated(topic, acked);
    const consumer = kafka.consumer({ groupId: `${topic}-reader`, maxWaitTimeInMs: 100 });
    const read: Read[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ partition, message }) => {
              read.push({
                partition,
                offset: Number(message.offset),
                value: String(message.value),
              });
              if (read.length === count) resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    expectExactlyOnceInOrder(acked, read);
  }, 40_000);
});

describe('@platformatic/kafka', () => {
  test('idempotent acks=all produce; a group consumer reads back', async () => {
    const node = bootstrapNode(2);
    const topic = await topicFor('platformatic', node);
    const producer = new Producer({
      clientId: 'cluster-platformatic',
      bootstrapBrokers: [node.bootstrap],
      serializers: stringSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
    });
    const acked: Acked[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const result = await producer.send({
          messages: [{ topic, key: `key-${i}`, value: `value-${i}` }],
        });
        const [meta] = result.offsets ?? [];
        if (!meta) throw new Error('no offsets in the produce result');
        acked.push({ partition: meta.partition, offset: Number(meta.offset), value: `value-${i}` });
      }
    } finally {
      await producer.close();
    }
    expectReplicated(topic, acked);
    const consumer = new Consumer({
      groupId: `${topic}-reader`,
      clientId: 'cluster-platformatic-consumer',
      bootstrapBrokers: [node.bootstrap],
      deserializers: stringDeserializers,
    });
    const read: Read[] = [];
    try {
      const stream = await consumer.consume({
        topics: [topic],
        mode: 'earliest',
        autocommit: false,
        maxWaitTime: 100,
      });
      for await (const message of stream) {
        read.push({
          partition: message.partition,
          offset: Number(message.offset),
          value: String(message.value),
        });
        if (read.length === count) break;
      }
      await stream.close();
    } finally {
      await consumer.close(true);
    }
    expectExactlyOnceInOrder(acked, read);
  }, 40_000);
});

describe.skipIf(skipWithout('confluent-js'))('@confluentinc/kafka-javascript', () => {
  test('idempotent acks=all produce; a group consumer reads back', async () => {
    const node = bootstrapNode(0);
    const topic = await topicFor('confluent-js', node);
    const { KafkaJS } = await loadConfluentJs();
    const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [node.bootstrap], logLevel: 0 } });
    const producer = kafka.producer({ acks: -1, 'enable.idempotence': true, 'linger.ms': 0 });
    await producer.connect();
    const acked: Acked[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const [meta] = await producer.send({
          topic,
          messages: [{ key: `key-${i}`, value: `value-${i}` }],
        });
        if (!meta) throw new Error('no record metadata');
        acked.push({
          partition: meta.partition,
          offset: Number(meta.baseOffset),
          value: `value-${i}`,
        });
      }
    } finally {
      await producer.disconnect();
    }
    expectReplicated(topic, acked);
    const consumer = kafka.consumer({
      kafkaJS: { groupId: `${topic}-reader`, fromBeginning: true },
    });
    const read: Read[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic] });
      await new Promise<void>((resolve) => {
        consumer.run({
          eachMessage: async ({ partition, message }) => {
            read.push({ partition, offset: Number(message.offset), value: String(message.value) });
            if (read.length === count) resolve();
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    expectExactlyOnceInOrder(acked, read);
  }, 40_000);
});
