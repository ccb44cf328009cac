/**
 * Group administration with two admin clients (kafkajs, @platformatic/kafka) against a group
 * whose members are real consumers (kafkajs, separate processes): describe and list groups,
 * lag from committed offsets and log end offsets (both clients must agree with what was
 * produced), OffsetDelete (refused while a member is subscribed to the topic), and
 * DeleteGroups (refused while the group has members).
 */
import { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import { startGroupMember } from '../harness/group-members.ts';
import { type LiveDriver, untilAny } from '../harness/live-driver.ts';
import { groupBrokerConfig } from './group-broker.ts';
import { eventually, lagOf } from './rebalance-scenario.ts';

const topic = 'admin-lag';
const group = 'admin-group';
const partitions = 3;
let broker: RunningBroker;
const started: LiveDriver[] = [];

beforeAll(async () => {
  broker = await startBroker({ config: groupBrokerConfig });
});
afterAll(async () => {
  await Promise.all(started.map((m) => m.kill()));
  await broker?.stop();
});

function member(): LiveDriver {
  const options = { bootstrap: broker.bootstrap, topic, group, sessionTimeoutMs: 6000 };
  const m = startGroupMember('kafkajs', { ...options, assignor: 'roundrobin' });
  started.push(m);
  return m;
}

function recordsOf(members: readonly LiveDriver[]): number {
  return members.flatMap((m) => m.lines).filter((line) => line.type === 'record').length;
}

/** Lag per partition as @platformatic/kafka's admin sees it: ListOffsets latest - committed. */
async function platformaticLag(admin: PlatformaticAdmin): Promise<number[]> {
  const [offsets] = await admin.listConsumerGroupOffsets({ groups: [group] });
  const committed = offsets?.topics.find((t) => t.name === topic)?.partitions ?? [];
  const ends = await admin.listOffsets({
    topics: [
      { name: topic, partitions: [0, 1, 2].map((p) => ({ partitionIndex: p, timestamp: -1n })) },
    ],
  });
  const endOf = (p: number) => ends[0]?.partitions.find((e) => e.partitionIndex === p)?.offset;
  return [0, 1, 2].map((p) => {
    const c = committed.find((x) => x.partitionIndex === p)?.committedOffset ?? -1n;
    return Number((endOf(p) ?? 0n) - (c < 0n ? 0n : c));
  });
}

describe('group administration', () => {
  test('describe, list, lag, OffsetDelete and DeleteGroups', async () => {
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const padmin = new PlatformaticAdmin({
      clientId: 'brook-admin',
      bootstrapBrokers: [broker.bootstrap],
    });
    const producer = kafka.producer();
    await producer.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
      const send = (prefix: string, count: number) =>
        producer.send({
          topic,
          acks: -1,
          messages: Array.from({ length: count }, (_, i) => ({
            partition: i % partitions,
            value: `${prefix}-${i}`,
          })),
        });
      await send('a', 12);
      const members = [member(), member()];
      await untilAny(members, () => recordsOf(members) >= 12, '12 records consumed');
      await eventually(
        async () => (await lagOf(admin, group, topic)).every((p) => p.lag === 0),
        'lag 0',
      );

      // Describe: both members, and their assignments split the partitions between them.
      await eventually(async () => {
        const [g] = (await admin.describeGroups([group])).groups;
        return g?.state === 'Stable' && g.members.length === 2;
      }, 'a stable group of two');
      const [described] = (await admin.describeGroups([group])).groups;
      expect(described).toMatchObject({ protocolType: 'consumer', protocol: 'RoundRobinAssigner' });
      const owned = (described?.members ?? []).flatMap(
        (m) =>
          AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[topic] ?? [],
      );
      expect(owned.sort()).toEqual([0, 1, 2]);
      const pdescribed = (await padmin.describeGroups({ groups: [group] })).get(group);
      expect(pdescribed?.state).toBe('STABLE');
      expect(pdescribed?.members.size).toBe(2);
      expect([...(await padmin.listGroups()).keys()]).toContain(group);

      // Neither the offsets of a subscribed topic nor a group with members can be deleted.
      const subscribed = await padmin
        .deleteConsumerGroupOffsets({
          groupId: group,
          topics: [{ name: topic, partitionIndexes: [0] }],
        })
        .catch((e: unknown) => e);
      const [refusal] = (subscribed as { errors?: { response?: unknown }[] }).errors ?? [];
      expect(refusal?.response).toMatchObject({
        errorCode: 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, errorCode: 86 }] }],
      });
      const refused = await admin
        .deleteGroups([group])
        .catch((e: { groups?: unknown }) => e.groups);
      expect(refused).toMatchObject([{ groupId: group, errorCode: 68 }]);

      await Promise.all(members.map((m) => m.stop()));
      await send('b', 6);
      // 4 records per partition were committed, 2 more per partition since.
      const lag = await lagOf(admin, group, topic);
      expect(lag.map((p) => [p.committedOffset, p.endOffset, p.lag])).toEqual([
        [4, 6, 2],
        [4, 6, 2],
        [4, 6, 2],
      ]);
      expect(await platformaticLag(padmin)).toEqual([2, 2, 2]);
      expect((await admin.describeGroups([group])).groups[0]?.state).toBe('Empty');

      // OffsetDelete of partition 0 once nobody is subscribed: the others keep theirs.
      await padmin.deleteConsumerGroupOffsets({
        groupId: group,
        topics: [{ name: topic, partitionIndexes: [0] }],
      });
      expect((await lagOf(admin, group, topic)).map((p) => p.committedOffset)).toEqual([-1, 4, 4]);
      expect(await platformaticLag(padmin)).toEqual([6, 2, 2]);

      expect(await admin.deleteGroups([group])).toEqual([{ groupId: group, errorCode: 0 }]);
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(group);
      expect((await lagOf(admin, group, topic)).map((p) => p.committedOffset)).toEqual([
        -1, -1, -1,
      ]);
    } finally {
      await producer.disconnect();
      await padmin.close();
      await admin.disconnect();
    }
  }, 60_000);
});
