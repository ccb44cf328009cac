/**
 * Topic limits that Produce enforces (min.insync.replicas for acks=-1, the timestamp window)
 * take effect at creation and again after an IncrementalAlterConfigs, through a real client.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../src/index.ts';

let broker: RunningBroker;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startBroker();
  kafka = new Kafka({
    clientId: 'limits',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
});

afterAll(async () => {
  await broker.stop();
});

async function produceError(topic: string, timestamp?: string): Promise<string | undefined> {
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ value: 'v', timestamp }] });
    return undefined;
  } catch (error) {
    // kafkajs wraps a retriable error (NOT_ENOUGH_REPLICAS) once its retries are spent.
    const failure = error as { type?: string; cause?: { type?: string } };
    return failure.cause?.type ?? failure.type ?? String(error);
  } finally {
    await producer.disconnect();
  }
}

async function setConfig(topic: string, name: string, value: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: 2, name: topic, configEntries: [{ name, value }] }],
  });
  await admin.disconnect();
}

test('min.insync.replicas above the ISR refuses acks=-1 until it is lowered', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'isr', configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
  });
  await admin.disconnect();
  expect(await produceError('isr')).toBe('NOT_ENOUGH_REPLICAS');
  await setConfig('isr', 'min.insync.replicas', '1');
  expect(await produceError('isr')).toBeUndefined();
});

test('message.timestamp.before.max.ms refuses old records once it is set', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'stamps' }] });
  await admin.disconnect();
  const hourAgo = String(Date.now() - 3_600_000);
  expect(await produceError('stamps', hourAgo)).toBeUndefined();
  await setConfig('stamps', 'message.timestamp.before.max.ms', '60000');
  expect(await produceError('stamps', hourAgo)).toBe('INVALID_TIMESTAMP');
  expect(await produceError('stamps', String(Date.now()))).toBeUndefined();
});
