/**
 * kafkajs and @platformatic/kafka against an in-process Brook, filling what kafkajs.test.ts
 * leaves: every codec each has (kafkajs: none, gzip, and snappy through kafkajs-snappy; it has
 * no zstd, and kafkajs-lz4 needs the `lz4` native module, built for another Node ABI than the
 * one running vitest: client-decoders.test.ts runs it in a child process), acks 0, a 1 MiB
 * record, consumers reading back the exact records, and ListOffsets (earliest, latest, by
 * time) through @platformatic/kafka.
 */
import {
  Admin,
  Consumer,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { CompressionCodecs, CompressionTypes, Kafka, logLevel } from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../../src/index.ts';

let broker: RunningBroker;
let kafka: Kafka;
const mib = 1024 * 1024;

beforeAll(async () => {
  broker = await startBroker({ config: { 'num.partitions': 1, 'message.max.bytes': 2 * mib } });
  kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
});

afterAll(async () => {
  await broker.stop();
});

interface Written {
  readonly key: string;
  readonly value: string;
  readonly headers: Record<string, string>;
}

async function kafkajsReadBack(
  topic: string,
  count: number,
): Promise<(Written & { offset: number })[]> {
  const consumer = kafka.consumer({
    groupId: `${topic}-reader`,
    maxWaitTimeInMs: 100,
    maxBytes: 4 * mib,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const seen: (Written & { offset: number })[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
          seen.push({
            offset: Number(message.offset),
            key: message.key?.toString() ?? '',
            value: message.value?.toString() ?? '',
            headers,
          });
          if (seen.length === count) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return seen;
}

describe('kafkajs: codecs, acks 0, large records, exact read-back', () => {
  test('none with acks 0, gzip with acks 1, snappy with acks all; a 1 MiB record', async () => {
    const topic = 'kafkajs-codecs';
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    const expected: Written[] = [];
    const codecs = [
      ['none', CompressionTypes.None, 0],
      ['gzip', CompressionTypes.GZIP, 1],
      ['snappy', CompressionTypes.Snappy, -1],
    ] as const;
    try {
      for (const [name, compression, acks] of codecs) {
        const messages = Array.from({ length: 15 }, (_, i) => ({
          key: `k-${name}-${i}`,
          value: `v-${name}-${i}-${'z'.repeat(i * 11)}`,
          headers: { n: String(i), codec: name },
        }));
        await producer.send({ topic, acks, compression, messages });
        expected.push(...messages);
      }
      const big = { key: 'big', value: `${'b'.repeat(mib - 1)}!`, headers: { size: String(mib) } };
      await producer.send({ topic, acks: -1, messages: [big] });
      expected.push(big);
    } finally {
      await producer.disconnect();
    }
    const seen = await kafkajsReadBack(topic, expected.length);
    expect(seen).toEqual(expected.map((w, offset) => ({ offset, ...w })));
  }, 60_000);
});

type Stored = Written & { readonly offset: number };

/** Each codec from its own producer, with acks 0, 1 and all in turn; returns what was sent. */
async function platformaticProduceAll(topic: string): Promise<Stored[]> {
  const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
  const acksOf = [ProduceAcks.NO_RESPONSE, ProduceAcks.LEADER, ProduceAcks.ALL] as const;
  const expected: Stored[] = [];
  for (const [c, compression] of codecs.entries()) {
    const producer = new Producer({
      clientId: 'brook-platformatic',
      bootstrapBrokers: [broker.bootstrap],
      serializers: stringSerializers,
      compression,
      acks: acksOf[c % acksOf.length],
    });
    const messages = Array.from({ length: 12 }, (_, i) => ({
      key: `k-${compression}-${i}`,
      value: `v-${compression}-${i}-${'q'.repeat(i * 9)}`,
      headers: { n: String(i), codec: compression },
    }));
    await producer.send({ messages: messages.map((m) => ({ ...m, topic, partition: 0 })) });
    await producer.close();
    for (const m of messages) expected.push({ offset: expected.length, ...m });
  }
  return expected;
}

async function platformaticReadBack(
  consumer: Consumer<string, string, string, string>,
  topic: string,
  count: number,
) {
  const stream = await consumer.consume({
    topics: [topic],
    mode: 'earliest',
    autocommit: false,
    maxWaitTime: 100,
  });
  const seen: (Stored & { timestamp: bigint })[] = [];
  for await (const message of stream) {
    seen.push({
      offset: Number(message.offset),
      key: message.key,
      value: message.value,
      headers: Object.fromEntries(message.headers),
      timestamp: message.timestamp,
    });
    if (seen.length === count) break;
  }
  await stream.close();
  return seen;
}

describe('@platformatic/kafka: codecs, acks, consumer, ListOffsets', () => {
  test('every codec with acks 0, 1 and all; exact read-back; offsets', async () => {
    const topic = 'platformatic-codecs';
    const admin = new Admin({ clientId: 'brook-admin', bootstrapBrokers: [broker.bootstrap] });
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    const expected = await platformaticProduceAll(topic);
    const consumer = new Consumer({
      groupId: 'platformatic-reader',
      clientId: 'brook-platformatic-consumer',
      bootstrapBrokers: [broker.bootstrap],
      deserializers: stringDeserializers,
    });
    try {
      const seen = await platformaticReadBack(consumer, topic, expected.length);
      expect(seen.map(({ timestamp: _, ...rest }) => rest)).toEqual(expected);
      const latest = await consumer.listOffsets({ topics: [topic] });
      expect(latest.get(topic)).toEqual([BigInt(expected.length)]);
      const earliest = await consumer.listOffsets({ topics: [topic], timestamp: -2n });
      expect(earliest.get(topic)).toEqual([0n]);
      const middle = seen[30]?.timestamp ?? 0n;
      const first = seen.findIndex((s) => s.timestamp >= middle);
      const byTime = await consumer.listOffsets({ topics: [topic], timestamp: middle });
      expect(byTime.get(topic)).toEqual([BigInt(first)]);
    } finally {
      await consumer.close(true);
      await admin.close();
    }
  }, 60_000);
});
