/**
 * The broker runs storage's cleaners on the partitions it hosts: a compacted topic written by a
 * real client keeps only the latest value of each key (at its original offset), and a topic
 * whose records are older than retention.ms loses its old segments. Short intervals are set in
 * the broker config; the test polls for the outcome with a deadline, it never sleeps blindly.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../src/index.ts';
import { storedRecords } from '../interop/single-node/read-back.ts';

let broker: RunningBroker;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startBroker({
    config: {
      'log.retention.check.interval.ms': 50,
      'log.cleaner.backoff.ms': 50,
    },
  });
  kafka = new Kafka({
    clientId: 'cleaning',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
  });
});

afterAll(async () => {
  await broker.stop();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('a compacted topic keeps the latest value of every key at its offset', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic: 'compacted',
        numPartitions: 1,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'segment.bytes', value: '1024' },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
        ],
      },
    ],
  });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  // key -> [value, offset] of its latest write; offsets from the broker's produce answers.
  const latest = new Map<string, [string, number]>();
  for (let round = 0; round < 20; round++) {
    const messages = Array.from({ length: 5 }, (_, k) => ({ key: `k${k}`, value: `v${round}` }));
    const [answer] = await producer.send({ topic: 'compacted', acks: -1, messages });
    const base = Number(answer?.baseOffset);
    for (const [i, m] of messages.entries()) latest.set(m.key, [m.value, base + i]);
  }
  await producer.disconnect();

  const after = await until('compaction', async () => {
    const records = await storedRecords(broker, 'compacted');
    return records.length < 100 ? records : undefined;
  });
  // Only the active segment may still hold duplicates; everything before it is one per key.
  const keys = after.map((r) => r.key);
  for (const [key, [value, offset]] of latest) {
    const last = after.filter((r) => r.key === key).at(-1);
    expect(last?.value).toBe(value);
    expect(last?.offset).toBe(offset);
  }
  expect(after.map((r) => r.offset)).toEqual([...after.map((r) => r.offset)].sort((a, b) => a - b));
  expect(new Set(keys).size).toBe(latest.size);
});

test('segments older than retention.ms are deleted and the log start moves', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic: 'expiring',
        numPartitions: 1,
        configEntries: [
          { name: 'retention.ms', value: '60000' },
          { name: 'segment.bytes', value: '1024' },
        ],
      },
    ],
  });
  const producer = kafka.producer();
  await producer.connect();
  const old = String(Date.now() - 3_600_000);
  for (let i = 0; i < 10; i++) {
    const messages = Array.from({ length: 5 }, (_, j) => ({
      value: `old-${i}-${j}-${'x'.repeat(100)}`,
      timestamp: old,
    }));
    await producer.send({ topic: 'expiring', acks: -1, messages });
  }
  await producer.send({ topic: 'expiring', acks: -1, messages: [{ value: 'fresh' }] });
  await producer.disconnect();

  // Retention is done when the first segment holds a fresh record: nothing left to delete.
  const hosted = broker.broker.data.replicas.partition('expiring', 0);
  await until('retention', async () => {
    const first = hosted?.log.segments()[0];
    return first && first.largestTimestampMs > Date.now() - 60_000 ? first : undefined;
  });
  const logStart = hosted?.log.logStartOffset ?? -1;
  expect(logStart).toBeGreaterThan(0);
  expect(hosted?.log.segments()[0]?.baseOffset).toBe(logStart);
  const [offsets] = await admin.fetchTopicOffsets('expiring');
  await admin.disconnect();
  expect(Number(offsets?.low)).toBe(logStart);
  const remaining = await storedRecords(broker, 'expiring');
  expect(remaining.map((r) => r.offset)).toEqual(
    Array.from({ length: 51 - logStart }, (_, i) => logStart + i),
  );
  expect(remaining.at(-1)?.value).toBe('fresh');
});
