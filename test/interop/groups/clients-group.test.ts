/**
 * Group consumers of other clients against Brook: each reads half of a topic in one run,
 * commits on close, and a second run in the same group reads exactly the other half — which
 * needs JoinGroup/SyncGroup/Heartbeat/LeaveGroup, OffsetCommit and OffsetFetch to work as
 * that client expects. librdkafka (kcat -G, confluent-kafka-python), kafka-python (old
 * protocol versions) and @platformatic/kafka (the newest versions).
 */
import { Consumer, stringDeserializers } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import { ofType, onlyOfType, runKcat, runPython, skipWithout } from '../harness/index.ts';

const total = 20;
const half = total / 2;
let broker: RunningBroker;

/** A 2-partition topic holding v-0 ... v-19, produced by kafkajs. */
async function topicWithRecords(name: string): Promise<void> {
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: name, numPartitions: 2 }] });
  const messages = Array.from({ length: total }, (_, i) => ({ partition: i % 2, value: `v-${i}` }));
  await producer.send({ topic: name, acks: -1, messages });
  await producer.disconnect();
  await admin.disconnect();
}

function expectAllOnce(first: readonly string[], second: readonly string[]): void {
  expect(first.length).toBe(half);
  expect(second.length).toBe(half);
  const all = [...first, ...second].sort();
  expect(all).toEqual(Array.from({ length: total }, (_, i) => `v-${i}`).sort());
}

beforeAll(async () => {
  broker = await startBroker({ config: { 'offsets.topic.num.partitions': 2 } });
});

afterAll(async () => {
  await broker?.stop();
});

describe.skipIf(skipWithout('kcat'))('kcat -G (librdkafka balanced consumer)', () => {
  test('two runs in one group read every record once', async () => {
    await topicWithRecords('g-kcat');
    const run = async (): Promise<string[]> => {
      const args = ['-b', broker.bootstrap, '-G', 'kcat-group', 'g-kcat'];
      const options = ['-X', 'auto.offset.reset=earliest', '-c', String(half), '-f', '%s\\n'];
      const { stdout } = await runKcat([...args, ...options]);
      return stdout.split('\n').filter((line) => line !== '');
    };
    expectAllOnce(await run(), await run());
  });
});

for (const script of ['confluent', 'kafka_python'] as const) {
  const client = script === 'confluent' ? 'confluent-python' : 'kafka-python';
  describe.skipIf(skipWithout(client))(`${client} group consumer`, () => {
    test('two runs in one group read every record once', async () => {
      const topic = `g-${script.replace('_', '-')}`;
      await topicWithRecords(topic);
      const run = async (): Promise<string[]> => {
        const { lines } = await runPython(script, [
          'consume',
          '--bootstrap',
          broker.bootstrap,
          '--topic',
          topic,
          '--group',
          `${script}-group`,
          '--count',
          String(half),
          '--timeout-ms',
          '20000',
        ]);
        expect(onlyOfType(lines, 'summary')).toMatchObject({ consumed: half });
        return ofType(lines, 'record').map((r) => String(r.value));
      };
      expectAllOnce(await run(), await run());
      if (script !== 'confluent') return;
      // librdkafka's list_groups: ListGroups, then DescribeGroups of each group.
      const { lines } = await runPython('confluent', [
        'admin',
        'list-groups',
        '--bootstrap',
        broker.bootstrap,
      ]);
      const group = ofType(lines, 'group').find((g) => g.id === 'confluent-group');
      expect(group).toMatchObject({ state: 'Empty', protocolType: 'consumer', members: [] });
    });
  });
}

describe('@platformatic/kafka group consumer', () => {
  test('two consumers in turn read every record once, committing each', async () => {
    await topicWithRecords('g-platformatic');
    const run = async (): Promise<string[]> => {
      const consumer = new Consumer({
        groupId: 'platformatic-group',
        clientId: 'brook-platformatic',
        bootstrapBrokers: [broker.bootstrap],
        deserializers: stringDeserializers,
      });
      const values: string[] = [];
      try {
        const stream = await consumer.consume({
          topics: ['g-platformatic'],
          mode: 'committed',
          fallbackMode: 'earliest',
          autocommit: false,
          sessionTimeout: 10_000,
          heartbeatInterval: 500,
          maxWaitTime: 200,
        });
        for await (const message of stream) {
          await message.commit();
          values.push(String(message.value));
          if (values.length === half) break;
        }
        await stream.close();
      } finally {
        await consumer.close(true);
      }
      return values;
    };
    expectAllOnce(await run(), await run());
  });
});
