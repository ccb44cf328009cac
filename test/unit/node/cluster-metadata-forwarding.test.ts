/**
 * ClusterMetadata in cluster mode, against real controllers over TCP: three voters with a
 * ControllerRuntime each, node 4 a broker (quorum observer) whose ClusterMetadata takes its
 * image from its quorum's committed stream and forwards operations through a
 * ControllerChannel. Each operation resolves only once node 4's image (and its image
 * listener) shows the result. A snapshot batch replaces the image.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { Apis } from '../../../protocol/generated/api-table.ts';
import { MetadataRecordType } from '../../../protocol/generated/metadata-record-table.ts';
import { ClusterMetadata } from '../../../src/metadata/cluster-metadata.ts';
import { MetadataImage } from '../../../src/metadata/metadata-image.ts';
import { encodeMetadataRecord } from '../../../src/metadata/metadata-record.ts';
import { BrokerLifecycleManager } from '../../../src/node/broker-lifecycle.ts';
import {
  ControllerChannel,
  controllerChannelDefaults,
} from '../../../src/node/controller-channel.ts';
import { SystemClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { clusterId, startCluster, type TestCluster, until } from './quorum-harness.ts';

const seed = Number(process.env.BROOK_SEED ?? 23);
console.log(`cluster-metadata-forwarding seed ${seed}`);

const clock = new SystemClock();
const logger = silentLogger();
let cluster: TestCluster | undefined;
const closers: (() => void)[] = [];

afterAll(async () => {
  for (const close of closers) close();
  await cluster?.stop();
});

interface Broker {
  readonly metadata: ClusterMetadata;
  readonly channel: ControllerChannel;
  readonly lifecycle: BrokerLifecycleManager;
  /** Offsets of the images the listener was handed, in order. */
  readonly published: number[];
  /** Topic names each published image held. */
  readonly seen: Set<string>;
}

let broker: Broker | undefined;
const applyErrors: unknown[] = [];

function newTopic(name: string, numPartitions: number, configs = new Map<string, string>()) {
  return { name, numPartitions, replicationFactor: 1, configs, assignments: [] };
}

async function startBroker(c: TestCluster): Promise<Broker> {
  const node = c.node(4);
  const quorum = node.quorum;
  if (!quorum) throw new Error('no quorum on node 4');
  const channel = new ControllerChannel({
    ...controllerChannelDefaults,
    nodeId: 4,
    voters: quorum.voters,
    leaderId: () => quorum.leader().leaderId,
    clock,
    random: new SeededRandom(seed),
    logger,
    requestTimeoutMs: 1_000,
    callTimeoutMs: 10_000,
  });
  closers.push(() => channel.close());
  let lifecycle: BrokerLifecycleManager | undefined;
  const metadata = new ClusterMetadata({
    clusterId,
    nodeId: 4,
    endpoints: () => new Map(),
    image: MetadataImage.EMPTY,
    forward: {
      channel,
      controllerId: () => quorum.leader().leaderId,
      brokerEpoch: () => lifecycle?.brokerEpoch ?? -1,
      clock,
      catchUpTimeoutMs: 10_000,
      requestTimeoutMs: 5_000,
    },
    random: new SeededRandom(seed + 4),
    defaults: () => ({ numPartitions: 1, replicationFactor: 1 }),
  });
  const published: number[] = [];
  const seen = new Set<string>();
  metadata.onImage(async (image) => {
    published.push(image.offset);
    for (const topic of image.topics()) seen.add(topic.name);
  });
  quorum.addListener({
    onCommitted: (batch) => {
      metadata.applyCommitted(batch).catch((error: unknown) => applyErrors.push(error));
    },
  });
  lifecycle = new BrokerLifecycleManager({
    nodeId: 4,
    clusterId,
    channel,
    clock,
    random: new SeededRandom(seed + 5),
    logger,
    listeners: () => [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 29092 }],
    rack: null,
    heartbeatIntervalMs: 100,
    metadataOffset: () => metadata.image.offset,
  });
  closers.push(() => lifecycle?.close());
  lifecycle.start();
  await lifecycle.whenUnfenced();
  return { metadata, channel, lifecycle, published, seen };
}

describe('ClusterMetadata forwarding to the controller', () => {
  it('follows the committed stream: brokers from registrations, a live controller', async () => {
    cluster = await startCluster(3, 1, seed, { controllers: true });
    broker = await startBroker(cluster);
    const { metadata } = broker;
    expect(metadata.isClusterMode).toBe(true);
    await until('broker 4 unfenced in the image', () => metadata.brokerIds().includes(4));
    expect(metadata.brokers('PLAINTEXT')).toEqual([
      { nodeId: 4, host: '127.0.0.1', port: 29092, rack: null },
    ]);
    expect(metadata.brokers('OTHER')).toEqual([]);
    // The controllers here are controller-only nodes clients cannot reach: Metadata names the
    // only live broker, which forwards admin requests to them (Kafka 4 does the same).
    expect(metadata.controllerId()).toBe(4);
  });

  it('creates a topic and resolves once the image and its listener show it', async () => {
    const { metadata, seen } = broker as Broker;
    const configs = new Map([['cleanup.policy', 'compact']]);
    const result = await metadata.createTopic(newTopic('orders', 3, configs));
    expect(result.errorCode).toBe(0);
    if (result.errorCode !== 0 || !('topicId' in result)) throw new Error('not created');
    // No waiting here: the answer came after the image.
    const topic = metadata.topic('orders');
    expect(topic?.topicId).toBe(result.topicId);
    expect(topic?.partitions.map((p) => p.leaderId)).toEqual([4, 4, 4]);
    expect(topic?.configs.get('cleanup.policy')).toBe('compact');
    expect(seen.has('orders')).toBe(true);
    expect(result.numPartitions).toBe(3);

    const again = await metadata.createTopic(newTopic('orders', 1));
    expect(again.errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    const validated = await metadata.createTopic(newTopic('dry', 2), true);
    expect(validated.errorCode).toBe(0);
    expect(metadata.topic('dry')).toBeUndefined();
    expect(await metadata.autoCreateTopic('auto')).toBe(0);
    expect(metadata.topic('auto')?.partitions.length).toBe(1);
    // Created by another broker a moment before: auto-creation answers 0 once it shows here.
    const other = (broker as Broker).channel.send(Apis.CreateTopics, 7, {
      topics: [
        { name: 'raced', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] },
      ],
      timeoutMs: 5_000,
      validateOnly: false,
    });
    const [otherAnswer, ours] = await Promise.all([other, metadata.autoCreateTopic('raced')]);
    expect(ours).toBe(0);
    expect(metadata.topic('raced')?.partitions.length).toBe(2);
    // Sent first on the same connection, the other one is normally the creator.
    expect([0, ErrorCode.TOPIC_ALREADY_EXISTS]).toContain(otherAnswer.topics[0]?.errorCode);
  });

  it('adds partitions, alters configs and deletes, each visible on return', async () => {
    const { metadata } = broker as Broker;
    const added = await metadata.createPartitions('orders', 5, null);
    expect(added).toEqual({ errorCode: 0, added: 2 });
    expect(metadata.topic('orders')?.partitions.length).toBe(5);
    const shrink = await metadata.createPartitions('orders', 2, null);
    expect(shrink.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);

    const altered = await metadata.alterTopicConfigs('orders', [
      ['retention.ms', '1000'],
      ['cleanup.policy', null],
    ]);
    expect(altered.errorCode).toBe(0);
    const configs = metadata.topic('orders')?.configs;
    expect(configs?.get('retention.ms')).toBe('1000');
    expect(configs?.has('cleanup.policy')).toBe(false);
    const bad = await metadata.alterTopicConfigs('orders', [['no.such.config', '1']]);
    expect(bad.errorCode).not.toBe(0);

    const id = metadata.topic('orders')?.topicId as string;
    expect((await metadata.deleteTopic(id)).errorCode).toBe(0);
    expect(metadata.topic('orders')).toBeUndefined();
    const gone = await metadata.deleteTopic(id);
    expect(gone.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });

  it('hands out producer ids from blocks the controller allocates', async () => {
    const { metadata } = broker as Broker;
    const ids = await Promise.all(
      Array.from({ length: 1_005 }, () => metadata.allocateProducerId()),
    );
    expect(new Set(ids).size).toBe(ids.length);
    const sorted = [...ids].sort((a, b) => a - b);
    // Two blocks of 1000, back to back: the controller's records moved nextProducerId.
    expect(sorted[0]).toBe(0);
    expect(sorted.at(-1)).toBe(1_004);
    await until('image saw both blocks', () => metadata.image.nextProducerId === 2_000);
  });

  it('published every image once, in offset order, up to the committed end', async () => {
    const c = cluster as TestCluster;
    const { published, metadata } = broker as Broker;
    for (let i = 1; i < published.length; i++) {
      expect(published[i]).toBeGreaterThan(published[i - 1] as number);
    }
    await until('image at the committed end', () => {
      return metadata.image.offset === c.node(4).collector.lastOffset;
    });
    expect(applyErrors).toEqual([]);
  });
});

describe('ClusterMetadata.applyCommitted', () => {
  it('replaces the image with a snapshot and skips offsets between record runs', async () => {
    const metadata = new ClusterMetadata({
      clusterId,
      nodeId: 1,
      endpoints: () => new Map(),
      image: MetadataImage.EMPTY,
      forward: {
        channel: {
          send: () => Promise.reject(new Error('no controller in this test')),
        },
        controllerId: () => -1,
        brokerEpoch: () => -1,
        clock,
        catchUpTimeoutMs: 100,
        requestTimeoutMs: 100,
      },
      random: new SeededRandom(seed),
      defaults: () => ({ numPartitions: 1, replicationFactor: 1 }),
    });
    const topic = (name: string, topicId: string) =>
      encodeMetadataRecord({ type: MetadataRecordType.TopicRecord, data: { name, topicId } });
    // Offset 0 is a leader-change entry: the stretch's records sit at 1 and 3.
    await metadata.applyCommitted({
      records: [
        { offset: 1, data: topic('a', 'AAAAAAAAAAAAAAAAAAAAAQ') },
        { offset: 3, data: topic('b', 'AAAAAAAAAAAAAAAAAAAAAg') },
      ],
      lastOffset: 4,
    });
    expect([...metadata.topics()].map((t) => t.name).sort()).toEqual(['a', 'b']);
    expect(metadata.image.offset).toBe(4);
    await metadata.applyCommitted({
      records: [{ offset: 9, data: topic('c', 'AAAAAAAAAAAAAAAAAAAAAw') }],
      lastOffset: 9,
      snapshot: true,
    });
    expect([...metadata.topics()].map((t) => t.name)).toEqual(['c']);
    expect(metadata.image.offset).toBe(9);
    // An operation that cannot reach a controller answers REQUEST_TIMED_OUT.
    const refused = await metadata.createTopic(newTopic('x', 1));
    expect(refused.errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT);
  });
});
