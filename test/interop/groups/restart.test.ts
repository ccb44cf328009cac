/**
 * Groups and committed offsets outlive the broker process: a clean stop (SIGTERM) and a
 * SIGKILL right after the last commits were acknowledged, each followed by a start on the same
 * data directory. Offsets committed by members (kafkajs, separate processes) and by an admin
 * (a simple commit to a group without members) are all there afterwards, the groups are
 * listed, and a member of each group resumes exactly after its last commit. A member that
 * stays up while the broker is SIGKILLed (librdkafka) finds it again on the same port and goes
 * on from its last commit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, test } from 'vitest';
import { startGroupMember } from '../harness/group-members.ts';
import { skipWithout } from '../harness/index.ts';
import { type CliBroker, startCliBroker, stopCliBroker } from './cli-broker.ts';
import { groupBrokerConfig } from './group-broker.ts';
import { heldBy } from './group-history.ts';
import { eventually, lagOf } from './rebalance-scenario.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'brook-group-restart-'));
const topic = 'resume';
const partitions = 4;
const members = 'resume-members';
const simple = 'resume-simple';
let broker: CliBroker | undefined;

afterAll(async () => {
  if (broker !== undefined) await stopCliBroker(broker, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function withAdmin<T>(fn: (admin: Admin, kafka: Kafka) => Promise<T>): Promise<T> {
  if (broker === undefined) throw new Error('no broker');
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin, kafka);
  } finally {
    await admin.disconnect();
  }
}

/** Produces `count` records `${prefix}-i`, round-robin over the partitions. */
async function produce(prefix: string, count: number): Promise<string[]> {
  const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await withAdmin(async (_admin, kafka) => {
    const producer = kafka.producer();
    await producer.connect();
    const messages = values.map((value, i) => ({ partition: i % partitions, value }));
    await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();
  });
  return values;
}

/** One member of `group` consumes until the group has no lag; returns what it consumed. */
async function consumeAll(group: string, expected: number): Promise<string[]> {
  if (broker === undefined) throw new Error('no broker');
  const options = { bootstrap: broker.bootstrap, topic, group, sessionTimeoutMs: 6000 };
  const member = startGroupMember('kafkajs', { ...options, assignor: 'roundrobin' });
  try {
    const records = () => member.lines.filter((line) => line.type === 'record');
    await member.until(() => records().length >= expected, `${expected} records of ${group}`);
    await withAdmin((admin) =>
      eventually(async () => (await lagOf(admin, group, topic)).every((p) => p.lag === 0), 'lag 0'),
    );
    await member.stop();
    return records().map((line) => String(line['value']));
  } finally {
    await member.kill();
  }
}

async function committed(group: string): Promise<number[]> {
  return withAdmin(async (admin) =>
    (await lagOf(admin, group, topic)).map((p) => p.committedOffset),
  );
}

async function restart(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (broker === undefined) throw new Error('no broker');
  const code = await stopCliBroker(broker, signal);
  if (signal === 'SIGTERM') expect(code).toBe(0);
  broker = await startCliBroker(dataDir, groupBrokerConfig);
}

async function groupsListed(): Promise<string[]> {
  return withAdmin(async (admin) => (await admin.listGroups()).groups.map((g) => g.groupId).sort());
}

describe('consumer groups across broker restarts', () => {
  test('clean stop and SIGKILL keep groups and offsets; members resume after them', async () => {
    broker = await startCliBroker(dataDir, groupBrokerConfig);
    await withAdmin((admin) =>
      admin.createTopics({ topics: [{ topic, numPartitions: partitions }] }),
    );
    const first = await produce('a', 16);
    expect((await consumeAll(members, 16)).sort()).toEqual([...first].sort());
    // A simple commit: generation -1, no member, as admin tools and Kafka Connect do it.
    await withAdmin((admin) =>
      admin.setOffsets({
        groupId: simple,
        topic,
        partitions: [0, 1, 2, 3].map((partition) => ({ partition, offset: '2' })),
      }),
    );
    expect(await committed(members)).toEqual([4, 4, 4, 4]);
    expect(await committed(simple)).toEqual([2, 2, 2, 2]);

    await restart('SIGTERM');
    expect(await groupsListed()).toEqual([members, simple]);
    expect(await committed(members)).toEqual([4, 4, 4, 4]);
    expect(await committed(simple)).toEqual([2, 2, 2, 2]);
    const second = await produce('b', 8);
    expect((await consumeAll(members, 8)).sort()).toEqual([...second].sort());
    // From offset 2 of each partition: records 8..15 of the first batch, then the second.
    const fromTwo = [...first.slice(8), ...second];
    expect((await consumeAll(simple, fromTwo.length)).sort()).toEqual(fromTwo.sort());

    // The commits above were acknowledged; the crash comes right after them.
    await restart('SIGKILL');
    expect(await groupsListed()).toEqual([members, simple]);
    expect(await committed(members)).toEqual([6, 6, 6, 6]);
    expect(await committed(simple)).toEqual([6, 6, 6, 6]);
    const third = await produce('c', 4);
    expect((await consumeAll(members, 4)).sort()).toEqual([...third].sort());
    expect((await consumeAll(simple, 4)).sort()).toEqual([...third].sort());
  }, 120_000);
});

describe.skipIf(skipWithout('confluent-python'))('a live member across a broker SIGKILL', () => {
  test('librdkafka reconnects, rejoins and goes on after its last commit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brook-group-live-'));
    let live = await startCliBroker(dir, groupBrokerConfig);
    const group = 'live-group';
    const options = { topic: 'live', group, assignor: 'range', sessionTimeoutMs: 6000 } as const;
    const member = startGroupMember('confluent-python', { ...options, bootstrap: live.bootstrap });
    const kafkaOf = (b: CliBroker) =>
      new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
    const records = () => member.lines.filter((line) => line.type === 'record');
    const send = async (b: CliBroker, prefix: string): Promise<string[]> => {
      const producer = kafkaOf(b).producer();
      await producer.connect();
      const messages = Array.from({ length: 6 }, (_, i) => ({
        partition: i % 3,
        value: `${prefix}-${i}`,
      }));
      await producer.send({ topic: 'live', acks: -1, messages });
      await producer.disconnect();
      return messages.map((m) => m.value);
    };
    try {
      const admin = kafkaOf(live).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'live', numPartitions: 3 }] });
      await member.until(() => heldBy(member).size === 3, 'all three partitions held');
      const before = await send(live, 'before');
      await member.until(() => records().length >= 6, 'the first six records');
      await eventually(
        async () => (await lagOf(admin, group, 'live')).every((p) => p.lag === 0),
        'committed',
      );
      await admin.disconnect();

      await stopCliBroker(live, 'SIGKILL');
      live = await startCliBroker(dir, groupBrokerConfig, live.port);
      const after = await send(live, 'after');
      await member.until(() => records().length >= 12, 'the six records sent after the crash');
      const admin2 = kafkaOf(live).admin();
      await admin2.connect();
      await eventually(
        async () => (await lagOf(admin2, group, 'live')).every((p) => p.lag === 0),
        'committed again',
      );
      expect((await admin2.describeGroups([group])).groups[0]).toMatchObject({ state: 'Stable' });
      await admin2.disconnect();
      await member.stop();
      const values = records().map((line) => String(line['value']));
      expect(values.sort()).toEqual([...before, ...after].sort());
    } finally {
      await member.kill();
      await stopCliBroker(live, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
