/**
 * @confluentinc/kafka-javascript (librdkafka in Node) against an in-process Brook: every codec,
 * acks 0, 1 and all, the idempotent producer, keys and headers; a consumer group reads back the
 * exact records; ListOffsets earliest, latest and by time through its admin.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import { type ConfluentKafka, loadConfluentJs, skipWithout } from '../harness/index.ts';

let broker: RunningBroker;

beforeAll(async () => {
  broker = await startBroker({ config: { 'num.partitions': 1 } });
});

afterAll(async () => {
  await broker.stop();
});

const perRound = 25;
const rounds = [
  { codec: 'none', acks: 0, idempotent: false },
  { codec: 'gzip', acks: 1, idempotent: false },
  { codec: 'snappy', acks: -1, idempotent: false },
  { codec: 'lz4', acks: -1, idempotent: true },
  { codec: 'zstd', acks: 1, idempotent: false },
] as const;

interface Seen {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string>;
  readonly timestampMs: number;
}

async function readBack(kafka: ConfluentKafka, topic: string, count: number): Promise<Seen[]> {
  const consumer = kafka.consumer({
    kafkaJS: { groupId: `${topic}-reader`, fromBeginning: true },
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  const seen: Seen[] = [];
  await new Promise<void>((resolve) => {
    consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        seen.push({
          offset: Number(message.offset),
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          headers,
          timestampMs: Number(message.timestamp),
        });
        if (seen.length === count) resolve();
      },
    });
  });
  await consumer.disconnect();
  return seen;
}

describe.skipIf(skipWithout('confluent-js'))('@confluentinc/kafka-javascript', () => {
  test('every codec and acks setting, idempotence; exact read-back; offsets', async () => {
    const { KafkaJS } = await loadConfluentJs();
    const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [broker.bootstrap], logLevel: 0 } });
    const topic = 'confluent-js-matrix';
    const expected: Omit<Seen, 'timestampMs'>[] = [];
    for (const round of rounds) {
      const producer = kafka.producer({
        'compression.type': round.codec,
        acks: round.acks,
        'enable.idempotence': round.idempotent,
        'linger.ms': 5,
      });
      await producer.connect();
      const messages = Array.from({ length: perRound }, (_, i) => ({
        key: `k-${round.codec}-${i}`,
        value: `v-${round.codec}-${i}-${'y'.repeat(i * 7)}`,
        headers: { n: String(i), codec: round.codec },
      }));
      // Copied first: send() turns the messages' strings into Buffers in place.
      for (const m of messages) expected.push({ offset: expected.length, ...structuredClone(m) });
      await producer.send({ topic, messages });
      await producer.disconnect();
    }
    const seen = await readBack(kafka, topic, expected.length);
    expect(seen.map(({ timestampMs: _, ...rest }) => rest)).toEqual(expected);

    const admin = kafka.admin() as unknown as OffsetsAdmin;
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      expect(offsets).toMatchObject([{ partition: 0, low: '0', high: String(expected.length) }]);
      const middle = seen[60]?.timestampMs ?? 0;
      const first = seen.findIndex((s) => s.timestampMs >= middle);
      expect(await admin.fetchTopicOffsetsByTimestamp(topic, middle)).toEqual([
        { partition: 0, offset: String(first) },
      ]);
    } finally {
      await admin.disconnect();
    }
  }, 120_000);
});

/** The offset queries of the package's KafkaJS-style admin (not in the harness's types). */
interface OffsetsAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  fetchTopicOffsets(
    topic: string,
  ): Promise<{ partition: number; offset: string; low: string; high: string }[]>;
  fetchTopicOffsetsByTimestamp(
    topic: string,
    timestamp: number,
  ): Promise<{ partition: number; offset: string }[]>;
}
