/**
 * kafkajs consumer groups against Brook: two consumers share a 4-partition topic (each gets
 * its own partitions and reads only those), commit their offsets, the admin client sees the
 * group and its offsets, and after a restart of the broker on the same data directory the
 * group resumes from what it committed.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import { NodeFileSystem } from '../../../storage/io/node-file-system.ts';

const topic = 'kj-orders';
const groupId = 'kj-group';
const partitions = 4;
const dataDir = join(tmpdir(), `brook-kafkajs-groups-${randomBytes(8).toString('hex')}`);

interface Seen {
  readonly member: string;
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

function kafkaFor(broker: RunningBroker, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100 },
  });
}

/**
 * Waits for conditions on what the consumers report: each event calls `notify()`, which
 * settles the waits whose condition now holds (the time limit is only a backstop).
 */
class Progress {
  #waits: { holds: () => boolean; done: () => void }[] = [];

  notify(): void {
    for (const wait of [...this.#waits]) {
      if (!wait.holds()) continue;
      this.#waits = this.#waits.filter((w) => w !== wait);
      wait.done();
    }
  }

  until(holds: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    if (holds()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting: ${what}`)), timeoutMs);
      this.#waits.push({
        holds,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

function startBrookOn(dir: string): Promise<RunningBroker> {
  return startBroker({ dataDir: dir, config: { 'offsets.topic.num.partitions': 3 } });
}

let broker: RunningBroker | undefined;
const consumers: Consumer[] = [];

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
  await broker?.stop();
  await new NodeFileSystem().removeTree(dataDir);
});

describe('kafkajs consumer group', () => {
  test('two members split the partitions, commit, and resume after a restart', async () => {
    broker = await startBrookOn(dataDir);
    const kafka = kafkaFor(broker, 'brook-kafkajs');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });

    const progress = new Progress();
    const seen: Seen[] = [];
    const assigned = new Map<string, number[]>();
    for (const name of ['m1', 'm2']) {
      const consumer = kafka.consumer({
        groupId,
        sessionTimeout: 10_000,
        heartbeatInterval: 300,
        rebalanceTimeout: 10_000,
        // kafkajs heartbeats between fetches: a short long-poll lets it see a rebalance soon.
        maxWaitTimeInMs: 200,
      });
      consumers.push(consumer);
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        assigned.set(name, [...(event.payload.memberAssignment[topic] ?? [])].sort());
        progress.notify();
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.push({
            member: name,
            partition,
            offset: Number(message.offset),
            value: message.value?.toString() ?? '',
          });
          progress.notify();
        },
      });
    }
    // Both members hold partitions of the same generation: all four, none twice.
    const held = (): number[] => [...assigned.values()].flat().sort();
    await progress.until(
      () =>
        assigned.size === 2 &&
        [...assigned.values()].every((p) => p.length > 0) &&
        JSON.stringify(held()) === JSON.stringify([0, 1, 2, 3]),
      'both members assigned',
    );

    const producer = kafka.producer();
    await producer.connect();
    const messages = Array.from({ length: 40 }, (_, i) => ({
      partition: i % partitions,
      value: `v-${i}`,
    }));
    await producer.send({ topic, acks: -1, messages });
    await progress.until(() => seen.length >= 40, '40 messages consumed');
    expect(new Set(seen.map((s) => s.value)).size).toBe(40);
    for (const s of seen) expect(assigned.get(s.member)).toContain(s.partition);

    const described = await admin.describeGroups([groupId]);
    expect(described.groups[0]?.state).toBe('Stable');
    expect(described.groups[0]?.members.length).toBe(2);
    const listed = await admin.listGroups();
    expect(listed.groups).toContainEqual({ groupId, protocolType: 'consumer' });

    // Leaving commits what was consumed (kafkajs commits on stop).
    await Promise.all(consumers.splice(0).map((c) => c.disconnect()));
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed[0]?.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
      [0, '10'],
      [1, '10'],
      [2, '10'],
      [3, '10'],
    ]);
    await producer.disconnect();
    await admin.disconnect();
    await broker.stop();

    // Restart on the same directory: the committed offsets are still there.
    broker = await startBrookOn(dataDir);
    const again = kafkaFor(broker, 'brook-kafkajs-again');
    const admin2 = again.admin();
    await admin2.connect();
    const kept = await admin2.fetchOffsets({ groupId, topics: [topic] });
    expect(kept[0]?.partitions.map((p) => p.offset)).toEqual(['10', '10', '10', '10']);
    const producer2 = again.producer();
    await producer2.connect();
    await producer2.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 8 }, (_, i) => ({
        partition: i % partitions,
        value: `w-${i}`,
      })),
    });
    const resumed: string[] = [];
    const consumer = again.consumer({
      groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 300,
      maxWaitTimeInMs: 200,
    });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        resumed.push(message.value?.toString() ?? '');
        progress.notify();
      },
    });
    await progress.until(() => resumed.length >= 8, 'the 8 new messages consumed');
    // Only what came after the commits: nothing of the first 40 again.
    expect(resumed.sort()).toEqual(Array.from({ length: 8 }, (_, i) => `w-${i}`).sort());
    await Promise.all(consumers.splice(0).map((c) => c.disconnect()));
    const deleted = await admin2.deleteGroups([groupId]);
    expect(deleted).toEqual([{ groupId, errorCode: 0 }]);
    await producer2.disconnect();
    await admin2.disconnect();
  });
});
