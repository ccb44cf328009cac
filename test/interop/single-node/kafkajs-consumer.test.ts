/**
 * A kafkajs consumer group reads what a kafkajs producer wrote: Fetch long polls, ListOffsets
 * and the group coordinator's offsets together, then a second consumer of the group resumes
 * after the committed offset.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../../src/index.ts';

let broker: RunningBroker;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startBroker({ config: { 'num.partitions': 2 } });
  kafka = new Kafka({
    clientId: 'brook-test',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
  });
});

afterAll(async () => {
  await broker.stop();
});

async function consume(groupId: string, count: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: ['grouped'], fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          seen.push(message.value?.toString() ?? '');
          if (seen.length >= count) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return seen;
}

describe('kafkajs consumer group', () => {
  test('reads every record once, and a later member resumes after the commit', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    const send = (from: number) =>
      producer.send({
        topic: 'grouped',
        messages: Array.from({ length: 20 }, (_, i) => ({
          key: `k${from + i}`,
          value: `v${from + i}`,
        })),
      });
    await send(0);
    const first = await consume('g1', 20);
    expect(first.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`).sort());
    await send(20);
    const second = await consume('g1', 20);
    expect(second.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v${20 + i}`).sort());
    await producer.disconnect();
  }, 60_000);
});
