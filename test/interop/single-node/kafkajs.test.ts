/**
 * kafkajs (admin and producer) and @platformatic/kafka (producer) against an in-process Brook:
 * topics created with configs, grown, deleted; records produced with acks 1, -1 and
 * idempotence, then read back from the log and through ListOffsets.
 */
import { Producer, stringSerializers } from '@platformatic/kafka';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import { storedRecords } from './read-back.ts';

let broker: RunningBroker;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startBroker({ config: { 'num.partitions': 1 } });
  kafka = new Kafka({
    clientId: 'brook-test',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
  });
});

afterAll(async () => {
  await broker.stop();
});

describe('kafkajs admin', () => {
  test('createTopics with configs, createPartitions, deleteTopics', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const created = await admin.createTopics({
        topics: [
          {
            topic: 'admin-a',
            numPartitions: 2,
            configEntries: [{ name: 'retention.ms', value: '60000' }],
          },
          { topic: 'admin-b' },
        ],
        waitForLeaders: true,
      });
      expect(created).toBe(true);
      expect(await admin.createTopics({ topics: [{ topic: 'admin-a' }] })).toBe(false);
      await admin.createPartitions({ topicPartitions: [{ topic: 'admin-a', count: 5 }] });
      const metadata = await admin.fetchTopicMetadata({ topics: ['admin-a'] });
      expect(metadata.topics[0]?.partitions).toHaveLength(5);
      expect(broker.broker.data.cluster.topic('admin-a')?.configs.get('retention.ms')).toBe(
        '60000',
      );
      await admin.deleteTopics({ topics: ['admin-a', 'admin-b'] });
      expect((await admin.listTopics()).filter((t) => t.startsWith('admin-'))).toEqual([]);
      const refused = await admin
        .createTopics({ topics: [{ topic: 'bad', replicationFactor: 3 }] })
        .then(
          () => undefined,
          (error: { errors?: { type: string }[] }) => error,
        );
      expect(refused?.errors?.[0]?.type).toBe('INVALID_REPLICATION_FACTOR');
    } finally {
      await admin.disconnect();
    }
  });
});

describe('kafkajs admin configs and offsets', () => {
  test('describeConfigs, alterConfigs, deleteTopicRecords, offsets by timestamp', async () => {
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer();
    await producer.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'cfg', numPartitions: 1 }] });
      const base = 1_700_000_000_000;
      await producer.send({
        topic: 'cfg',
        messages: Array.from({ length: 10 }, (_, i) => ({
          value: `v${i}`,
          timestamp: String(base + i * 1000),
        })),
      });
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          { type: 2, name: 'cfg', configEntries: [{ name: 'retention.ms', value: '123456' }] },
        ],
      });
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: 'cfg', configNames: ['retention.ms', 'cleanup.policy'] }],
      });
      const entries = described.resources[0]?.configEntries ?? [];
      expect(entries.find((e) => e.configName === 'retention.ms')).toMatchObject({
        configValue: '123456',
        isDefault: false,
      });
      expect(entries.find((e) => e.configName === 'cleanup.policy')?.configValue).toBe('delete');
      const byTime = await admin.fetchTopicOffsetsByTimestamp('cfg', base + 4500);
      expect(byTime).toEqual([{ partition: 0, offset: '5' }]);
      await admin.deleteTopicRecords({ topic: 'cfg', partitions: [{ partition: 0, offset: '3' }] });
      const offsets = await admin.fetchTopicOffsets('cfg');
      expect(offsets[0]).toMatchObject({ low: '3', high: '10' });
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });
});

describe('kafkajs producer', () => {
  for (const [name, options, acks] of [
    ['acks-one', {}, 1],
    ['acks-all', {}, -1],
    ['idempotent', { idempotent: true, maxInFlightRequests: 1 }, -1],
  ] as const) {
    test(`${name}: every record stored once, in order`, async () => {
      const topic = `kafkajs-${name}`;
      const producer = kafka.producer({ allowAutoTopicCreation: true, ...options });
      await producer.connect();
      try {
        for (let round = 0; round < 3; round++) {
          const result = await producer.send({
            topic,
            acks,
            compression: CompressionTypes.GZIP,
            messages: Array.from({ length: 10 }, (_, i) => ({
              key: `k${round * 10 + i}`,
              value: `v${round * 10 + i}`,
              headers: { n: String(i) },
            })),
          });
          expect(result[0]).toMatchObject({ errorCode: 0, baseOffset: String(round * 10) });
        }
      } finally {
        await producer.disconnect();
      }
      const stored = await storedRecords(broker, topic);
      expect(stored.map((r) => r.value)).toEqual(Array.from({ length: 30 }, (_, i) => `v${i}`));
      expect(stored[3]).toMatchObject({ offset: 3, key: 'k3', headers: { n: '3' } });
      if (name === 'idempotent') expect(stored[0]?.producerId).toBeGreaterThanOrEqual(0);
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(topic);
      await admin.disconnect();
      expect(offsets[0]).toMatchObject({ partition: 0, low: '0', high: '30' });
    });
  }
});

describe('@platformatic/kafka producer', () => {
  test('idempotent producer, strings, headers', async () => {
    const topic = 'platformatic';
    await broker.broker.data.cluster.createTopic({
      name: topic,
      numPartitions: 1,
      replicationFactor: 1,
      configs: new Map(),
      assignments: [],
    });
    const producer = new Producer({
      clientId: 'brook-platformatic',
      bootstrapBrokers: [broker.bootstrap],
      serializers: stringSerializers,
      idempotent: true,
    });
    try {
      for (let round = 0; round < 2; round++) {
        await producer.send({
          messages: Array.from({ length: 5 }, (_, i) => ({
            topic,
            partition: 0,
            key: `k${round * 5 + i}`,
            value: `v${round * 5 + i}`,
            headers: { h: 'x' },
          })),
        });
      }
    } finally {
      await producer.close();
    }
    const stored = await storedRecords(broker, topic);
    expect(stored.map((r) => `${r.offset}:${r.key}=${r.value}`)).toEqual(
      Array.from({ length: 10 }, (_, i) => `${i}:k${i}=v${i}`),
    );
    expect(stored[0]?.headers).toEqual({ h: 'x' });
  });
});
