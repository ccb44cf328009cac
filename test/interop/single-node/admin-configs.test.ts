/**
 * Admin across clients against a broker whose configuration sets some properties: config
 * sources (TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG), synonyms, broker configs
 * read-only unless dynamic, and the topic lifecycle with confluent-kafka's AdminClient (python),
 * kafka-python's KafkaAdminClient, kafkajs admin, @platformatic/kafka's Admin (the one with
 * IncrementalAlterConfigs) and @confluentinc/kafka-javascript admin.
 */
import { join } from 'node:path';
import {
  Admin,
  IncrementalAlterConfigOperationTypes as Operation,
  ConfigResourceTypes as PlatformaticResources,
  Producer,
  stringSerializers,
} from '@platformatic/kafka';
import { ConfigResourceTypes, ConfigSource, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import {
  type JsonObject,
  loadConfluentJs,
  ofType,
  runProcess,
  skipWithout,
} from '../harness/index.ts';
import { parseDriverLines } from '../harness/json-lines.ts';

let broker: RunningBroker;
let kafka: Kafka;

const segmentBytes = 8 * 1024 * 1024;

beforeAll(async () => {
  broker = await startBroker({
    config: {
      'num.partitions': 1,
      'log.retention.hours': 72,
      'log.segment.bytes': segmentBytes,
    },
  });
  kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
});

afterAll(async () => {
  await broker.stop();
});

describe('kafkajs describeConfigs', () => {
  test('topic sources and synonyms: own override, broker-set property, default', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: 'sources', configEntries: [{ name: 'retention.ms', value: '60000' }] }],
      });
      const described = await admin.describeConfigs({
        includeSynonyms: true,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: 'sources',
            configNames: ['retention.ms', 'segment.bytes', 'cleanup.policy', 'segment.ms'],
          },
        ],
      });
      const byName = new Map(
        (described.resources[0]?.configEntries ?? []).map((e) => [e.configName, e]),
      );
      expect(byName.get('retention.ms')).toMatchObject({
        configValue: '60000',
        configSource: ConfigSource.TOPIC_CONFIG,
        readOnly: false,
        configSynonyms: [
          { configName: 'retention.ms', configValue: '60000', configSource: 1 },
          { configName: 'log.retention.hours', configValue: '72', configSource: 4 },
          { configName: 'log.retention.hours', configValue: '168', configSource: 5 },
        ],
      });
      expect(byName.get('segment.bytes')).toMatchObject({
        configValue: String(segmentBytes),
        configSource: ConfigSource.STATIC_BROKER_CONFIG,
        configSynonyms: [
          { configName: 'log.segment.bytes', configValue: String(segmentBytes), configSource: 4 },
          { configName: 'log.segment.bytes', configValue: '1073741824', configSource: 5 },
        ],
      });
      expect(byName.get('cleanup.policy')).toMatchObject({
        configValue: 'delete',
        configSource: ConfigSource.DEFAULT_CONFIG,
        configSynonyms: [{ configName: 'log.cleanup.policy', configValue: 'delete' }],
      });
      expect(byName.get('segment.ms')?.configValue).toBe(String(7 * 24 * 3600 * 1000));
      expect([...byName.keys()].sort()).toEqual(
        ['cleanup.policy', 'retention.ms', 'segment.bytes', 'segment.ms'].sort(),
      );
    } finally {
      await admin.disconnect();
    }
  });

  test('broker configs: static and default sources, read-only unless dynamic', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.BROKER, name: '1' }],
      });
      const entries = described.resources[0]?.configEntries ?? [];
      const byName = new Map(entries.map((e) => [e.configName, e]));
      expect(byName.get('log.retention.hours')).toMatchObject({
        configValue: '72',
        configSource: ConfigSource.STATIC_BROKER_CONFIG,
        readOnly: true,
      });
      expect(byName.get('log.segment.bytes')).toMatchObject({
        configValue: String(segmentBytes),
        configSource: ConfigSource.STATIC_BROKER_CONFIG,
        readOnly: false,
      });
      expect(byName.get('default.replication.factor')).toMatchObject({
        configValue: '1',
        configSource: ConfigSource.DEFAULT_CONFIG,
        readOnly: true,
      });
      expect(byName.get('message.max.bytes')).toMatchObject({
        configSource: ConfigSource.DEFAULT_CONFIG,
        readOnly: false,
      });
      expect(entries.every((e) => e.configSynonyms.length === 0)).toBe(true);
    } finally {
      await admin.disconnect();
    }
  });
});

describe.skipIf(skipWithout('confluent-python'))('confluent-kafka AdminClient (python)', () => {
  test('create, describe with sources, alter, create partitions, delete', async () => {
    const script = join(import.meta.dirname, 'confluent_admin.py');
    const run = await runProcess('/usr/bin/python3', [script, broker.bootstrap, 'py-admin'], {
      timeoutMs: 60_000,
      env: { PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
    });
    const steps = new Map(
      ofType(parseDriverLines(run.stdout), 'step').map((s) => [String(s.step), s]),
    );
    const configsOf = (step: string) =>
      (steps.get(step)?.configs ?? {}) as Record<string, JsonObject>;
    expect(steps.get('create')?.errors).toEqual({ 'py-admin': null });
    expect(steps.get('create-again')?.errors).toMatchObject({
      'py-admin': expect.stringContaining('TOPIC_ALREADY_EXISTS'),
    });
    const topic = configsOf('describe-topic');
    expect(topic['retention.ms']).toMatchObject({ value: '60000', source: 1, read_only: false });
    expect(topic['segment.bytes']).toMatchObject({ value: String(segmentBytes), source: 4 });
    expect(topic['cleanup.policy']).toMatchObject({ value: 'delete', source: 5 });
    // librdkafka keys synonyms by name: the static and default log.retention.hours are one.
    expect(topic['retention.ms']?.synonyms).toContainEqual(['retention.ms', '60000', 1]);
    const brokerConfigs = configsOf('describe-broker');
    expect(brokerConfigs['log.retention.hours']).toMatchObject({
      value: '72',
      source: 4,
      read_only: true,
    });
    expect(brokerConfigs['num.partitions']).toMatchObject({ value: '1', source: 5 });
    const altered = configsOf('describe-altered');
    expect(altered['cleanup.policy']).toMatchObject({ value: 'compact', source: 1 });
    expect(altered['segment.ms']).toMatchObject({ value: '100000', source: 1 });
    // AlterConfigs replaces the whole set: retention.ms falls back to log.retention.hours.
    expect(altered['retention.ms']).toMatchObject({ value: String(72 * 3600 * 1000), source: 4 });
    expect(steps.get('create-partitions')?.errors).toEqual({ 'py-admin': null });
    expect(steps.get('metadata')?.partitions).toBe(4);
    expect(steps.get('delete')?.errors).toEqual({ 'py-admin': null });
    expect(steps.get('topics')?.names).not.toContain('py-admin');
    expect(broker.broker.data.cluster.topic('py-admin')).toBeUndefined();
  }, 90_000);
});

describe.skipIf(skipWithout('kafka-python'))('kafka-python KafkaAdminClient', () => {
  test('create, describe with synonyms, alter, create partitions, delete', async () => {
    const script = join(import.meta.dirname, 'kafka_python_admin.py');
    const run = await runProcess('/usr/bin/python3', [script, broker.bootstrap, 'kp-admin'], {
      timeoutMs: 60_000,
      env: { PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
    });
    const steps = new Map(
      ofType(parseDriverLines(run.stdout), 'step').map((s) => [String(s.step), s]),
    );
    const configsOf = (step: string) =>
      (steps.get(step)?.configs ?? {}) as Record<string, JsonObject>;
    expect(steps.get('create')?.error).toBeNull();
    expect(configsOf('describe-topic')['retention.ms']).toEqual({
      value: '60000',
      read_only: false,
      source: 1,
      synonyms: [
        ['retention.ms', '60000', 1],
        ['log.retention.hours', '72', 4],
        ['log.retention.hours', '168', 5],
      ],
    });
    expect(configsOf('describe-broker')['log.segment.bytes']).toMatchObject({
      value: String(segmentBytes),
      read_only: false,
      source: 4,
    });
    expect(steps.get('alter')?.error).toBe(0);
    const altered = configsOf('describe-altered');
    expect(altered['cleanup.policy']).toMatchObject({ value: 'compact', source: 1 });
    expect(altered['retention.ms']).toMatchObject({ value: String(72 * 3600 * 1000), source: 4 });
    expect(steps.get('create-partitions')?.error).toBeNull();
    expect(steps.get('delete')?.error).toBeNull();
    expect(steps.get('topics')?.names).not.toContain('kp-admin');
  }, 90_000);
});

describe.skipIf(skipWithout('confluent-js'))('@confluentinc/kafka-javascript admin', () => {
  test('create with configs, delete records, offsets, delete topics', async () => {
    const { KafkaJS } = await loadConfluentJs();
    const client = new KafkaJS.Kafka({ kafkaJS: { brokers: [broker.bootstrap] } });
    const admin = client.admin() as unknown as ConfluentJsAdmin;
    await admin.connect();
    const producer = client.producer({ kafkaJS: { acks: -1 } });
    await producer.connect();
    try {
      const created = await admin.createTopics({
        topics: [
          {
            topic: 'cjs-admin',
            numPartitions: 2,
            configEntries: [{ name: 'retention.ms', value: '600000' }],
          },
        ],
      });
      expect(created).toBe(true);
      expect(broker.broker.data.cluster.topic('cjs-admin')?.configs.get('retention.ms')).toBe(
        '600000',
      );
      await producer.send({
        topic: 'cjs-admin',
        messages: Array.from({ length: 8 }, (_, i) => ({ partition: 1, value: `v${i}` })),
      });
      await admin.deleteTopicRecords({
        topic: 'cjs-admin',
        partitions: [{ partition: 1, offset: '5' }],
      });
      const offsets = await admin.fetchTopicOffsets('cjs-admin');
      expect(offsets.sort((a, b) => a.partition - b.partition)).toMatchObject([
        { partition: 0, low: '0', high: '0' },
        { partition: 1, low: '5', high: '8' },
      ]);
      const metadata = await admin.fetchTopicMetadata({ topics: ['cjs-admin'] });
      expect(metadata[0]?.partitions).toHaveLength(2);
      await admin.deleteTopics({ topics: ['cjs-admin'] });
      expect(await admin.listTopics()).not.toContain('cjs-admin');
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  }, 60_000);
});

/** The part of the package's KafkaJS-style admin this file uses beyond the harness's types. */
interface ConfluentJsAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  createTopics(options: {
    topics: { topic: string; numPartitions?: number; configEntries?: object[] }[];
  }): Promise<boolean>;
  deleteTopics(options: { topics: string[] }): Promise<void>;
  listTopics(): Promise<string[]>;
  deleteTopicRecords(options: {
    topic: string;
    partitions: { partition: number; offset: string }[];
  }): Promise<unknown>;
  fetchTopicOffsets(
    topic: string,
  ): Promise<{ partition: number; offset: string; low: string; high: string }[]>;
  fetchTopicMetadata(options: {
    topics: string[];
  }): Promise<{ name: string; partitions: unknown[] }[]>;
}

describe('@platformatic/kafka Admin', () => {
  test('incremental alter, describe with synonyms and documentation, delete records', async () => {
    const topic = 'plat-admin';
    const admin = new Admin({ clientId: 'brook-plat-admin', bootstrapBrokers: [broker.bootstrap] });
    try {
      await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
      await admin.incrementalAlterConfigs({
        resources: [
          {
            resourceType: PlatformaticResources.TOPIC,
            resourceName: topic,
            configs: [
              { name: 'retention.ms', configOperation: Operation.SET, value: '90000' },
              { name: 'cleanup.policy', configOperation: Operation.APPEND, value: 'compact' },
            ],
          },
        ],
      });
      const [described] = await admin.describeConfigs({
        resources: [
          {
            resourceType: PlatformaticResources.TOPIC,
            resourceName: topic,
            configurationKeys: ['retention.ms', 'cleanup.policy'],
          },
          { resourceType: PlatformaticResources.BROKER, resourceName: '1' },
        ],
        includeSynonyms: true,
        includeDocumentation: true,
      });
      expect(described?.configs.map((c) => [c.name, c.value, c.configSource])).toEqual([
        ['cleanup.policy', 'delete,compact', 1],
        ['retention.ms', '90000', 1],
      ]);
      expect(described?.configs[0]?.synonyms).toEqual([
        { name: 'cleanup.policy', value: 'delete,compact', source: 1 },
        { name: 'log.cleanup.policy', value: 'delete', source: 5 },
      ]);
      await expectDeleteRecords(admin, topic);
      await admin.createPartitions({ topics: [{ name: topic, count: 3 }] });
      expect(broker.broker.data.cluster.topic(topic)?.partitions).toHaveLength(3);
      await admin.deleteTopics({ topics: [topic] });
      expect(broker.broker.data.cluster.topic(topic)).toBeUndefined();
    } finally {
      await admin.close();
    }
  });

  test('broker resource: documentation when asked; altering it is refused', async () => {
    const admin = new Admin({ clientId: 'brook-plat-admin', bootstrapBrokers: [broker.bootstrap] });
    try {
      const [brokerConfigs] = await admin.describeConfigs({
        resources: [
          {
            resourceType: PlatformaticResources.BROKER,
            resourceName: '1',
            configurationKeys: ['log.retention.ms', 'num.partitions'],
          },
        ],
        includeSynonyms: true,
        includeDocumentation: true,
      });
      const retention = brokerConfigs?.configs.find((c) => c.name === 'log.retention.ms');
      expect(retention).toMatchObject({ value: null, configSource: 5, readOnly: false });
      // Kafka's synonyms of log.retention.ms: the hours set here, then the hours default.
      expect(retention?.synonyms).toEqual([
        { name: 'log.retention.hours', value: '72', source: 4 },
        { name: 'log.retention.hours', value: '168', source: 5 },
      ]);
      expect(retention?.documentation).toMatch(/retention/i);
      const refused = await admin
        .incrementalAlterConfigs({
          resources: [
            {
              resourceType: PlatformaticResources.BROKER,
              resourceName: '1',
              configs: [{ name: 'num.partitions', configOperation: Operation.SET, value: '3' }],
            },
          ],
        })
        .then(
          () => 'accepted',
          (error: Error) => JSON.stringify(error, Object.getOwnPropertyNames(error)),
        );
      // PLT_KFK_RESPONSE: the broker answered with an error code (INVALID_REQUEST).
      expect(refused).toContain('PLT_KFK_RESPONSE');
    } finally {
      await admin.close();
    }
  });
});

async function expectDeleteRecords(admin: Admin, topic: string): Promise<void> {
  const producer = new Producer({
    clientId: 'brook-plat-admin',
    bootstrapBrokers: [broker.bootstrap],
    serializers: stringSerializers,
  });
  await producer.send({
    // Keyed: the topic is compacted now, and Kafka refuses null keys there.
    messages: Array.from({ length: 6 }, (_, i) => ({
      topic,
      partition: 0,
      key: `k${i}`,
      value: `v${i}`,
    })),
  });
  await producer.close();
  const deleted = await admin.deleteRecords({
    topics: [{ name: topic, partitions: [{ partition: 0, offset: 4n }] }],
  });
  expect(deleted).toEqual([{ name: topic, partitions: [{ partition: 0, lowWatermark: 4n }] }]);
}
