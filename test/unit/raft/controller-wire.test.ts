/**
 * The quorum's wire path on loopback, with real parts: NodeClient (src/server) against a
 * KafkaServer serving the controller handler registry (src/handlers/controller), and RaftRpc
 * mapping the replica's messages onto the generated codecs. The raft service behind the
 * handlers is scripted per test; the replica itself is covered elsewhere.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Apis } from '../../../protocol/generated/api-table.ts';
import type { ControllerRaft } from '../../../src/handlers/controller/controller-services.ts';
import { controllerRegistry } from '../../../src/handlers/controller/index.ts';
import { ControlRegistry } from '../../../src/handlers/controls.ts';
import type { BrokerServices } from '../../../src/handlers/handler.ts';
import type { RaftEnvelope, RaftRequest, RaftResponse } from '../../../src/raft/messages.ts';
import { RaftRpc } from '../../../src/raft/raft-rpc.ts';
import * as codec from '../../../src/raft/transport-codec.ts';
import { KafkaServer } from '../../../src/server/kafka-server.ts';
import {
  NodeClient,
  type NodeClientOptions,
  nodeClientDefaults,
} from '../../../src/server/node-client.ts';
import { RequestDispatcher, schemaRangeOf } from '../../../src/server/request-dispatcher.ts';
import { SystemClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';

const clock = new SystemClock();
const logger = silentLogger();
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function controllerServer(raft: ControllerRaft, port = 0): Promise<KafkaServer> {
  const registry = controllerRegistry(schemaRangeOf);
  const services = { nodeId: 1, clock, apiVersions: () => registry.apiVersions(), raft };
  const server = new KafkaServer({
    listenerName: 'CONTROLLER',
    host: '127.0.0.1',
    port,
    processor: new RequestDispatcher({
      registry,
      controls: new ControlRegistry(),
      services: services as unknown as BrokerServices,
      clock,
      logger,
    }),
    limits: { frameSizeBytesMax: 1 << 20, inFlightMax: 16, idleMs: 60_000, connectionsMax: 16 },
    logger,
    clock,
  });
  await server.listen();
  cleanups.push(() => server.stop(100));
  return server;
}

function client(port: number, overrides: Partial<NodeClientOptions> = {}): NodeClient {
  const c = new NodeClient({
    ...nodeClientDefaults,
    host: '127.0.0.1',
    port,
    clientId: 'wire-test',
    clock,
    logger,
    ...overrides,
  });
  cleanups.push(() => c.close());
  return c;
}

const quorum = {
  errorCode: 0 as const,
  leaderId: 1,
  leaderEpoch: 4,
  highWatermark: 17,
  currentVoters: [
    { replicaId: 1, logEndOffset: 17, lastFetchTimestamp: -1, lastCaughtUpTimestamp: -1 },
  ],
  observers: [],
};

function scripted(answer: (source: number, m: RaftRequest) => RaftResponse | undefined) {
  const seen: { source: number; message: RaftRequest }[] = [];
  const raft: ControllerRaft = {
    fetchMaxEntries: 16,
    call: async (source, message) => {
      seen.push({ source, message });
      return answer(source, message);
    },
    describeQuorum: () => quorum,
  };
  return { raft, seen };
}

describe('controller listener and node client', () => {
  it('answers DescribeQuorum and advertises exactly the controller APIs', async () => {
    const server = await controllerServer(scripted(() => undefined).raft);
    const c = client(server.address.port);
    const topics = [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }];
    const described = await c.request(Apis.DescribeQuorum, 2, { topics });
    expect(described.topics[0]?.partitions[0]).toMatchObject({
      errorCode: 0,
      leaderId: 1,
      leaderEpoch: 4,
      highWatermark: 17,
    });
    const other = await c.request(Apis.DescribeQuorum, 2, {
      topics: [{ topicName: 'orders', partitions: [{ partitionIndex: 0 }] }],
    });
    expect(other.errorCode).toBe(42);
    const versions = await c.request(Apis.ApiVersions, 3, {
      clientSoftwareName: 'test',
      clientSoftwareVersion: '1',
    });
    expect(versions.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion])).toEqual([
      [1, 13, 17],
      [18, 0, 4],
      [52, 0, 2],
      [53, 0, 1],
      [54, 0, 1],
      [55, 0, 2],
      [59, 0, 1],
    ]);
  });

  it('carries a pre-vote as Vote v2 and gives the answer back under the request id', async () => {
    const { raft, seen } = scripted((_source, m) => ({
      type: 'vote-response',
      errorCode: 0,
      leaderId: -1,
      leaderEpoch: m.type === 'vote-request' ? m.candidateEpoch - 1 : 0,
      voteGranted: true,
      preVote: false, // the wire has no PreVote in responses: the requester restores it
    }));
    const server = await controllerServer(raft);
    const delivered: RaftEnvelope[] = [];
    const rpc = new RaftRpc({
      nodeId: 2,
      peers: new Map([[1, client(server.address.port)]]),
      clock,
      logger,
      fetchMaxWaitMs: 100,
      inboundTimeoutMs: 1_000,
      inboundMax: 4,
    });
    const arrived = new Promise<void>((resolve) => {
      rpc.attach({
        stopped: false,
        deliver: (envelope) => {
          delivered.push(envelope);
          resolve();
        },
      });
    });
    const request: RaftRequest = {
      type: 'vote-request',
      clusterId: 'c',
      voterId: 1,
      candidateEpoch: 6,
      candidateId: 2,
      lastOffsetEpoch: 5,
      lastOffset: 40,
      preVote: true,
    };
    rpc.send({ source: 2, destination: 1, correlationId: 77, message: request });
    await arrived;
    expect(seen).toEqual([{ source: 2, message: request }]);
    expect(delivered).toEqual([
      {
        source: 1,
        destination: 2,
        correlationId: 77,
        message: {
          type: 'vote-response',
          errorCode: 0,
          leaderId: -1,
          leaderEpoch: 5,
          voteGranted: true,
          preVote: true,
        },
      },
    ]);
  });

  it('times out an unanswered request, then reconnects for the next one', async () => {
    let hold = true;
    const never = new Promise<undefined>(() => {});
    const raft: ControllerRaft = {
      fetchMaxEntries: 16,
      call: () => (hold ? never : Promise.resolve(undefined)),
      describeQuorum: () => quorum,
    };
    const server = await controllerServer(raft);
    const c = client(server.address.port, { requestTimeoutMs: 200 });
    const vote = {
      clusterId: 'c',
      voterId: 1,
      topics: [
        {
          topicName: '__cluster_metadata',
          partitions: [
            {
              partitionIndex: 0,
              candidateEpoch: 1,
              candidateId: 2,
              candidateDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
              voterDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
              lastOffsetEpoch: 0,
              lastOffset: 0,
              preVote: false,
            },
          ],
        },
      ],
    };
    await expect(c.request(Apis.Vote, 2, vote)).rejects.toMatchObject({
      code: 'NODE_CLIENT_TIMEOUT',
    });
    hold = false;
    const answered = await c.request(Apis.Vote, 2, vote);
    expect(answered.errorCode).toBe(7); // REQUEST_TIMED_OUT: the replica gave no answer
  });

  it('waits for a peer that is not up yet, bounded by its queue', async () => {
    const probe = await controllerServer(scripted(() => undefined).raft);
    const port = probe.address.port;
    await probe.stop(100);
    const c = client(port, { queuedMax: 2, backoffMsMin: 20, backoffMsMax: 40 });
    const topics = [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }];
    const first = c.request(Apis.DescribeQuorum, 2, { topics });
    const second = c.request(Apis.DescribeQuorum, 2, { topics });
    await expect(c.request(Apis.DescribeQuorum, 2, { topics })).rejects.toMatchObject({
      code: 'NODE_CLIENT_QUEUE_FULL',
    });
    // The peer comes up on the same port: the queued requests go out on reconnect.
    await controllerServer(scripted(() => undefined).raft, port);
    const answers = await Promise.all([first, second]);
    expect(answers.map((a) => a.topics[0]?.partitions[0]?.highWatermark)).toEqual([17, 17]);
  });

  it('serves a replica fetch of the metadata partition, and nothing else', async () => {
    const records = [
      { offset: 5, epoch: 2, kind: 'leader-change' as const, data: new Uint8Array([1]) },
      { offset: 6, epoch: 2, kind: 'data' as const, data: new Uint8Array([7, 7]) },
    ];
    const { raft, seen } = scripted(() => ({
      type: 'fetch-response',
      errorCode: 0,
      highWatermark: 6,
      logStartOffset: 0,
      divergingEpoch: null,
      leaderId: 1,
      leaderEpoch: 2,
      snapshotId: null,
      records,
    }));
    const server = await controllerServer(raft);
    const c = client(server.address.port);
    const fetch = {
      type: 'fetch-request' as const,
      clusterId: 'c',
      replicaId: 2,
      currentLeaderEpoch: 2,
      fetchOffset: 5,
      lastFetchedEpoch: 1,
      maxEntries: 16,
    };
    const answer = await c.request(Apis.Fetch, 17, codec.fetchRequestToWire(fetch, 10, 17));
    expect(seen).toEqual([{ source: 2, message: fetch }]);
    const decoded = codec.fetchResponseFromWire(answer);
    expect(decoded?.records).toEqual(records);
    expect(decoded?.highWatermark).toBe(6);
    // A consumer (replica id -1) or another topic is not the quorum's business.
    const consumer = codec.fetchRequestToWire({ ...fetch, replicaId: -1 }, 10, 17);
    expect((await c.request(Apis.Fetch, 17, consumer)).errorCode).toBe(42);
    const orders = codec.fetchRequestToWire(fetch, 10, 17);
    const topic = orders.topics[0] as (typeof orders.topics)[number];
    orders.topics = [{ ...topic, topic: 'orders', topicId: 'AAAAAAAAAAAAAAAAAAAAAg' }];
    expect((await c.request(Apis.Fetch, 17, orders)).errorCode).toBe(42);
    expect(seen).toHaveLength(1);
  });
});
