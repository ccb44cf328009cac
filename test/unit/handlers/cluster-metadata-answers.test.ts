/**
 * Metadata, DescribeCluster and DescribeTopicPartitions in cluster mode: a ClusterMetadata
 * whose image holds broker registrations (1 and 3 live, 2 fenced, 4 live without the
 * PLAINTEXT listener, 5 never registered), answered per listener as Kafka 4's
 * KRaftMetadataCache answers, through the real codecs at every served version. A view whose
 * image has no registrations still answers as a single node.
 */
import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { Apis } from '../../../protocol/generated/api-table.ts';
import {
  newDescribeClusterRequest,
  newDescribeTopicPartitionsRequest,
  newMetadataRequest,
} from '../../../protocol/generated/index.ts';
import { Reader } from '../../../protocol/wire/reader.ts';
import { Writer } from '../../../protocol/wire/writer.ts';
import { loadConfig } from '../../../src/config/load-config.ts';
import type { Handler, RequestContext } from '../../../src/handlers/handler.ts';
import type { BrokerEndpoint } from '../../../src/handlers/metadata-view.ts';
import { ClusterMetadata } from '../../../src/metadata/cluster-metadata.ts';
import { brokersFromImage } from '../../../src/metadata/image-view.ts';
import { MetadataImage } from '../../../src/metadata/metadata-image.ts';
import type { MetadataRecord } from '../../../src/metadata/metadata-record.ts';
import { SimClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { partition, register, topic, unfence, uuid } from '../metadata/records.ts';
import { handlerOf } from '../replication/fixture.ts';

const ORDERS = uuid(40, 'O');

function endpoints(id: number, listeners: string[]) {
  return listeners.map((name) => ({
    name,
    host: `b${id}.${name.toLowerCase()}`,
    port: name === 'PLAINTEXT' ? 9092 : 19092,
    securityProtocol: 0,
  }));
}

/** The registrations and topic of every test here. */
const clusterRecords: MetadataRecord[] = [
  register(1, 0, { endPoints: endpoints(1, ['PLAINTEXT', 'INTERNAL']), rack: 'r1' }),
  register(2, 1, { endPoints: endpoints(2, ['PLAINTEXT', 'INTERNAL']), rack: 'r2' }),
  register(3, 2, { endPoints: endpoints(3, ['PLAINTEXT', 'INTERNAL']), rack: null }),
  register(4, 3, { endPoints: endpoints(4, ['INTERNAL']), rack: null }),
  unfence(1, 0),
  unfence(3, 2),
  unfence(4, 3),
  topic('orders', ORDERS),
  // 0: led by a live broker; replica 2 is fenced.
  partition(ORDERS, 0, [1, 2, 3], { isr: [1, 3], eligibleLeaderReplicas: [3], lastKnownElr: [] }),
  // 1: led by the fenced broker 2 (Kafka still names a registered leader).
  partition(ORDERS, 1, [2, 3], { isr: [2], leader: 2, leaderEpoch: 4 }),
  // 2: no leader.
  partition(ORDERS, 2, [2, 1], { isr: [2], leader: -1, leaderEpoch: 5 }),
  // 3: led by broker 4, which has no PLAINTEXT listener.
  partition(ORDERS, 3, [4, 1], { leader: 4 }),
  // 4: led by a broker that never registered.
  partition(ORDERS, 4, [5, 1], { leader: 5 }),
];

function clusterOf(records: readonly MetadataRecord[]): ClusterMetadata {
  return new ClusterMetadata({
    clusterId: 'c1',
    nodeId: 1,
    endpoints: () => new Map([['PLAINTEXT', { nodeId: 1, host: 'self', port: 1, rack: null }]]),
    image: MetadataImage.EMPTY.apply(records, records.length - 1),
    log: {
      append: () => Promise.reject(new Error('these tests only read')),
    },
    random: new SeededRandom(1),
    defaults: () => ({ numPartitions: 1, replicationFactor: 1 }),
  });
}

function context(cluster: ClusterMetadata, apiKey: number, listenerName: string): RequestContext {
  return {
    apiKey,
    version: 0,
    correlationId: 1,
    clientId: 'c',
    listenerName,
    remoteAddress: '127.0.0.1',
    connectionId: 1,
    logger: silentLogger(),
    services: {
      config: loadConfig({ overrides: {} }),
      nodeId: 1,
      clock: new SimClock(),
      metadata: cluster,
      apiVersions: () => [],
    },
  };
}

interface Codec<Req, Res> {
  apiKey: number;
  encodeRequest(w: Writer, m: Req, v: number): void;
  decodeRequest(r: Reader, v: number): Req;
  encodeResponse(w: Writer, m: Res, v: number): void;
  decodeResponse(r: Reader, v: number): Res;
}

/** The request and the response through the codecs at `version`, as on the wire. */
async function call<Req, Res>(
  cluster: ClusterMetadata,
  api: Codec<Req, Res>,
  request: Req,
  version: number,
  listenerName = 'PLAINTEXT',
): Promise<Res> {
  const handler: Handler = handlerOf(api.apiKey);
  const w = new Writer();
  api.encodeRequest(w, request, version);
  const reader = new Reader(w.finish());
  const decoded = api.decodeRequest(reader, version);
  const ctx = context(cluster, api.apiKey, listenerName);
  const response = (await handler.handle(ctx, decoded, version)) as Res;
  const out = new Writer();
  api.encodeResponse(out, response, version);
  const back = new Reader(out.finish());
  const result = api.decodeResponse(back, version);
  expect(back.error).toBeUndefined();
  return result;
}

const nodes = (brokers: readonly { nodeId?: number; brokerId?: number }[]) =>
  brokers.map((b) => b.nodeId ?? b.brokerId);

describe('cluster mode', () => {
  const cluster = clusterOf(clusterRecords);

  test('brokersFromImage: unfenced registrations with an endpoint on the listener', () => {
    const image = cluster.image;
    expect(brokersFromImage(image, 'PLAINTEXT')).toEqual<BrokerEndpoint[]>([
      { nodeId: 1, host: 'b1.plaintext', port: 9092, rack: 'r1' },
      { nodeId: 3, host: 'b3.plaintext', port: 9092, rack: null },
    ]);
    expect(nodes(brokersFromImage(image, 'INTERNAL'))).toEqual([1, 3, 4]);
    expect(brokersFromImage(image, 'NONE')).toEqual([]);
  });

  test.each(Array.from({ length: 13 }, (_, v) => v))('Metadata v%i', async (v) => {
    const request = { ...newMetadataRequest(), topics: v === 0 ? [] : null };
    const response = await call(cluster, Apis.Metadata, request, v);
    expect(nodes(response.brokers)).toEqual([1, 3]);
    const [orders] = response.topics;
    expect(orders?.errorCode).toBe(ErrorCode.NONE);
    const answer = orders?.partitions.map((p) => ({
      error: p.errorCode,
      leader: p.leaderId,
      replicas: p.replicaNodes,
      isr: p.isrNodes,
      offline: p.offlineReplicas,
    }));
    // Before v5 offlineReplicas is not on the wire.
    const offline = (ids: number[]) => (v >= 5 ? ids : []);
    const noListener = v >= 6 ? ErrorCode.LISTENER_NOT_FOUND : ErrorCode.LEADER_NOT_AVAILABLE;
    if (v === 0) {
      // v0 lists only live replicas, and says when it left one out.
      expect(answer).toEqual([
        {
          error: ErrorCode.REPLICA_NOT_AVAILABLE,
          leader: 1,
          replicas: [1, 3],
          isr: [1, 3],
          offline: [],
        },
        { error: ErrorCode.REPLICA_NOT_AVAILABLE, leader: 2, replicas: [3], isr: [], offline: [] },
        { error: ErrorCode.LEADER_NOT_AVAILABLE, leader: -1, replicas: [1], isr: [], offline: [] },
        { error: noListener, leader: -1, replicas: [1], isr: [1], offline: [] },
        { error: ErrorCode.LEADER_NOT_AVAILABLE, leader: -1, replicas: [1], isr: [1], offline: [] },
      ]);
      return;
    }
    expect(answer).toEqual([
      { error: 0, leader: 1, replicas: [1, 2, 3], isr: [1, 3], offline: offline([2]) },
      { error: 0, leader: 2, replicas: [2, 3], isr: [2], offline: offline([2]) },
      {
        error: ErrorCode.LEADER_NOT_AVAILABLE,
        leader: -1,
        replicas: [2, 1],
        isr: [2],
        offline: offline([2]),
      },
      { error: noListener, leader: -1, replicas: [4, 1], isr: [4, 1], offline: offline([4]) },
      {
        error: ErrorCode.LEADER_NOT_AVAILABLE,
        leader: -1,
        replicas: [5, 1],
        isr: [5, 1],
        offline: offline([5]),
      },
    ]);
    if (v >= 7) expect(orders?.partitions.map((p) => p.leaderEpoch)).toEqual([0, 4, 5, 0, 0]);
  });

  test('Metadata on another listener: its endpoints, its live replicas', async () => {
    const request = { ...newMetadataRequest(), topics: null };
    const response = await call(cluster, Apis.Metadata, request, 12, 'INTERNAL');
    expect(response.brokers.map((b) => [b.nodeId, b.host, b.port])).toEqual([
      [1, 'b1.internal', 19092],
      [3, 'b3.internal', 19092],
      [4, 'b4.internal', 19092],
    ]);
    const p3 = response.topics[0]?.partitions[3];
    expect(p3).toMatchObject({ errorCode: 0, leaderId: 4, offlineReplicas: [] });
  });

  test.each([0, 1])('DescribeCluster v%i lists the live brokers of the listener', async (v) => {
    const response = await call(cluster, Apis.DescribeCluster, newDescribeClusterRequest(), v);
    expect(response.errorCode).toBe(0);
    expect(response.brokers.map((b) => [b.brokerId, b.host, b.port, b.rack])).toEqual([
      [1, 'b1.plaintext', 9092, 'r1'],
      [3, 'b3.plaintext', 9092, null],
    ]);
  });

  test('DescribeTopicPartitions: leaders with an endpoint, offline replicas, ELR', async () => {
    const request = newDescribeTopicPartitionsRequest();
    request.topics = [{ name: 'orders' }, { name: 'missing' }, { name: 'bad name' }];
    const response = await call(cluster, Apis.DescribeTopicPartitions, request, 0);
    expect(response.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['bad name', ErrorCode.INVALID_TOPIC_EXCEPTION],
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['orders', ErrorCode.NONE],
    ]);
    const partitions = response.topics[2]?.partitions.map((p) => ({
      error: p.errorCode,
      leader: p.leaderId,
      replicas: p.replicaNodes,
      offline: p.offlineReplicas,
      elr: p.eligibleLeaderReplicas,
    }));
    expect(partitions).toEqual([
      { error: 0, leader: 1, replicas: [1, 2, 3], offline: [2], elr: [3] },
      { error: 0, leader: 2, replicas: [2, 3], offline: [2], elr: [] },
      { error: 0, leader: -1, replicas: [2, 1], offline: [2], elr: [] },
      { error: 0, leader: -1, replicas: [4, 1], offline: [4], elr: [] },
      { error: 0, leader: -1, replicas: [5, 1], offline: [5], elr: [] },
    ]);
  });
});

describe('an image without registrations (single node)', () => {
  const cluster = clusterOf([topic('orders', ORDERS), partition(ORDERS, 0, [1], { leader: 9 })]);

  test('answers from the view: its own endpoint, partitions as stored', async () => {
    const metadata = await call(
      cluster,
      Apis.Metadata,
      { ...newMetadataRequest(), topics: null },
      12,
    );
    expect(metadata.brokers.map((b) => [b.nodeId, b.host])).toEqual([[1, 'self']]);
    expect(metadata.topics[0]?.partitions[0]).toMatchObject({
      errorCode: 0,
      leaderId: 9,
      offlineReplicas: [],
    });
    const described = await call(cluster, Apis.DescribeCluster, newDescribeClusterRequest(), 1);
    expect(described.brokers.map((b) => b.brokerId)).toEqual([1]);
    const request = newDescribeTopicPartitionsRequest();
    const partitions = await call(cluster, Apis.DescribeTopicPartitions, request, 0);
    expect(partitions.topics[0]?.partitions[0]).toMatchObject({ leaderId: 9, offlineReplicas: [] });
  });
});
