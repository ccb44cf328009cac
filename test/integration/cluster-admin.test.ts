/**
 * Admin APIs a broker of a three-node cluster (startCluster) answers for the whole cluster:
 * DescribeQuorum and ElectLeaders, passed on to the active controller, asked of any broker
 * with a real client where one supports the API (@platformatic/kafka's DescribeQuorum; no
 * Node client sends ElectLeaders, so Brook's NodeClient does, on the wire); DeleteRecords and
 * DescribeProducers on a replicated topic (kafkajs), which only its leader answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, describeQuorumV2 } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ErrorCode } from '../../protocol/errors.ts';
import { type ApiDescriptor, Apis } from '../../protocol/generated/api-table.ts';
import {
  newDeleteRecordsRequest,
  newDescribeLogDirsRequest,
  newDescribeProducersRequest,
  newElectLeadersRequest,
} from '../../protocol/generated/index.ts';
import {
  type RunningBroker,
  type RunningCluster,
  startBroker,
  startCluster,
} from '../../src/index.ts';
import { NodeClient, nodeClientDefaults } from '../../src/server/node-client.ts';
import { SystemClock } from '../../src/util/clock.ts';
import { silentLogger } from '../../src/util/logger.ts';

let dataDir: string;
let cluster: RunningCluster;
/** Nodes by id, replaced when a test restarts one. */
const nodes = new Map<number, RunningBroker>();
const stopped = new Set<number>();

beforeAll(async () => {
  // A data directory kept across a node's stop, so the node can start again on its data.
  dataDir = mkdtempSync(join(tmpdir(), 'brook-cluster-admin-'));
  cluster = await startCluster({
    nodes: 3,
    dataDir,
    config: { 'broker.session.timeout.ms': 3_000, 'broker.heartbeat.interval.ms': 250 },
  });
  for (const node of cluster.nodes) nodes.set(node.broker.nodeId, node);
}, 60_000);

afterAll(async () => {
  await Promise.all([...nodes.values()].map((n) => n.stop()));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function node(id: number): RunningBroker {
  const found = nodes.get(id);
  if (!found) throw new Error(`no node ${id}`);
  return found;
}

function live(): RunningBroker[] {
  return [...nodes.entries()].filter(([id]) => !stopped.has(id)).map(([, n]) => n);
}

/** Resolves once `check` holds, polling every 20 ms; fails after `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One request on the wire to one broker's client listener. */
async function ask<Req, Res>(
  to: RunningBroker,
  api: ApiDescriptor<Req, Res>,
  version: number,
  body: Req,
): Promise<Res> {
  const client = new NodeClient({
    ...nodeClientDefaults,
    host: '127.0.0.1',
    port: to.port,
    clientId: 'cluster-admin-test',
    clock: new SystemClock(),
    logger: silentLogger(),
    requestTimeoutMs: 30_000,
  });
  try {
    return await client.request(api, version, body);
  } finally {
    client.close();
  }
}

function kafkaOf(brokers: readonly RunningBroker[]): Kafka {
  return new Kafka({
    clientId: 'cluster-admin-test',
    brokers: brokers.map((b) => b.bootstrap),
    logLevel: logLevel.NOTHING,
  });
}

async function createTopic(topic: string): Promise<void> {
  const admin = kafkaOf(live()).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
  } finally {
    await admin.disconnect();
  }
  // Every broker hosts its replica once its image shows the topic.
  await eventually(() => live().every((n) => n.broker.data.replicas.partition(topic, 0)));
}

function partitionOn(on: RunningBroker, topic: string) {
  const partition = on.broker.metadata.topic(topic)?.partitions[0];
  if (!partition) throw new Error(`${on.broker.nodeId} does not know ${topic}-0`);
  return partition;
}

async function describeQuorumThrough(through: RunningBroker) {
  const connection = new Connection('cluster-admin-test');
  await connection.connect('127.0.0.1', through.port);
  try {
    return await describeQuorumV2.api.async(connection, [
      { topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] },
    ]);
  } finally {
    await connection.close();
  }
}

test('DescribeQuorum through any broker: the controller names three voters', async () => {
  const answers = await Promise.all(live().map((n) => describeQuorumThrough(n)));
  const leaders = new Set<number>();
  for (const answer of answers) {
    expect(answer.errorCode).toBe(0);
    const partition = answer.topics[0]?.partitions[0];
    expect(partition?.errorCode).toBe(0);
    expect(partition?.leaderEpoch).toBeGreaterThanOrEqual(1);
    expect(partition?.highWatermark).toBeGreaterThan(0n);
    expect(partition?.currentVoters.map((v) => v.replicaId).sort()).toEqual([1, 2, 3]);
    leaders.add(partition?.leaderId ?? -1);
  }
  // One controller answered all three: the quorum leader, one of the voters.
  expect(leaders.size).toBe(1);
  expect([1, 2, 3]).toContain([...leaders][0]);
});

test('DeleteRecords: the leader trims, followers follow; only the leader answers', async () => {
  const topic = 'trimmed';
  await createTopic(topic);
  const kafka = kafkaOf(live());
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < 10; i++) {
    await producer.send({ topic, acks: -1, messages: [{ key: `k${i}`, value: `v${i}` }] });
  }
  await producer.disconnect();
  const leaderId = partitionOn(node(1), topic).leaderId;
  const leader = node(leaderId);
  const followers = live().filter((n) => n !== leader);
  expect(followers).toHaveLength(2);

  const admin = kafka.admin();
  await admin.connect();
  try {
    // kafkajs finds the leader in the metadata it has loaded: load the topic's first.
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] });
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets[0]).toMatchObject({ partition: 0, low: '4', high: '10' });
  } finally {
    await admin.disconnect();
  }
  expect(leader.broker.data.replicas.partition(topic, 0)?.log.logStartOffset).toBe(4);
  // Followers take the leader's log start from their next fetch answer.
  await eventually(() =>
    followers.every((f) => f.broker.data.replicas.partition(topic, 0)?.log.logStartOffset === 4),
  );

  const deleteRequest = newDeleteRecordsRequest();
  deleteRequest.topics = [{ name: topic, partitions: [{ partitionIndex: 0, offset: 6 }] }];
  const producersRequest = newDescribeProducersRequest();
  producersRequest.topics = [{ name: topic, partitionIndexes: [0] }];
  for (const follower of followers) {
    const deleted = await ask(follower, Apis.DeleteRecords, 2, deleteRequest);
    expect(deleted.topics[0]?.partitions[0]).toMatchObject({
      errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
      lowWatermark: -1,
    });
    const described = await ask(follower, Apis.DescribeProducers, 0, producersRequest);
    expect(described.topics[0]?.partitions[0]).toMatchObject({
      errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
      activeProducers: [],
    });
    expect(follower.broker.data.replicas.partition(topic, 0)?.log.logStartOffset).toBe(4);
    // Its replica is listed in its log dir all the same, with the bytes it holds.
    const dirs = await ask(follower, Apis.DescribeLogDirs, 4, {
      ...newDescribeLogDirsRequest(),
      topics: [{ topic, partitions: [0] }],
    });
    const size = follower.broker.data.replicas.partition(topic, 0)?.log.sizeBytes;
    expect(size).toBeGreaterThan(0);
    expect(dirs.results[0]?.topics).toEqual([
      expect.objectContaining({
        name: topic,
        partitions: [expect.objectContaining({ partitionIndex: 0, partitionSize: size })],
      }),
    ]);
  }
  const described = await ask(leader, Apis.DescribeProducers, 0, producersRequest);
  expect(described.topics[0]?.partitions[0]?.errorCode).toBe(0);
  // The one idempotent producer, after its ten sends (sequences 0-9).
  expect(described.topics[0]?.partitions[0]?.activeProducers).toEqual([
    expect.objectContaining({ lastSequence: 9 }),
  ]);
  const deleted = await ask(leader, Apis.DeleteRecords, 2, deleteRequest);
  expect(deleted.topics[0]?.partitions[0]).toMatchObject({ errorCode: 0, lowWatermark: 6 });
  await eventually(() =>
    followers.every((f) => f.broker.data.replicas.partition(topic, 0)?.log.logStartOffset === 6),
  );
});

test('ElectLeaders through a broker: the preferred replica, restarted, leads again', async () => {
  const topic = 'elected';
  await createTopic(topic);
  const before = partitionOn(node(1), topic);
  const preferred = before.replicaNodes[0] as number;
  expect(before.leaderId).toBe(preferred);
  const elect = (electionType: number) => {
    const request = newElectLeadersRequest();
    request.electionType = electionType;
    request.timeoutMs = 10_000;
    request.topicPartitions = [
      { topic, partitions: [0] },
      { topic: 'no-such-topic', partitions: [0] },
    ];
    return request;
  };

  // Leading already: nothing to do (v0 reports it per partition, as v1 and v2 do).
  const notNeeded = await ask(node(preferred), Apis.ElectLeaders, 0, elect(0));
  expect(notNeeded.replicaElectionResults).toEqual([
    expect.objectContaining({
      topic,
      partitionResult: [expect.objectContaining({ errorCode: ErrorCode.ELECTION_NOT_NEEDED })],
    }),
    expect.objectContaining({
      topic: 'no-such-topic',
      partitionResult: [
        expect.objectContaining({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }),
      ],
    }),
  ]);

  // The preferred replica stops: another ISR member leads, and it cannot be elected.
  const restartConfig = { ...node(preferred).config };
  const restartDir = node(preferred).dataDir;
  stopped.add(preferred);
  await node(preferred).stop();
  const survivor = live()[0] as RunningBroker;
  await eventually(() => {
    const leaderId = partitionOn(survivor, topic).leaderId;
    return leaderId !== -1 && leaderId !== preferred;
  });
  const unavailable = await ask(survivor, Apis.ElectLeaders, 2, elect(0));
  expect(unavailable.errorCode).toBe(0);
  expect(unavailable.replicaElectionResults[0]?.partitionResult[0]?.errorCode).toBe(
    ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
  );

  // Back on its data, it catches up and rejoins the ISR; the election moves leadership to it.
  const restarted = await startBroker({ config: restartConfig, dataDir: restartDir });
  nodes.set(preferred, restarted);
  stopped.delete(preferred);
  await eventually(() => partitionOn(survivor, topic).isrNodes.includes(preferred), 30_000);
  const elected = await ask(survivor, Apis.ElectLeaders, 1, elect(0));
  expect(elected.errorCode).toBe(0);
  expect(elected.replicaElectionResults[0]?.partitionResult[0]?.errorCode).toBe(ErrorCode.NONE);
  await eventually(() => live().every((n) => partitionOn(n, topic).leaderId === preferred));
  expect(restarted.broker.data.replicas.partition(topic, 0)?.role).toBe('leader');

  // The restarted broker passes DescribeQuorum on too; every voter is back.
  const quorum = await describeQuorumThrough(restarted);
  expect(quorum.topics[0]?.partitions[0]?.currentVoters.map((v) => v.replicaId).sort()).toEqual([
    1, 2, 3,
  ]);
}, 60_000);
