/**
 * Several ReplicaManagers in one process, each over its own MemoryFileSystem, sharing one
 * clock and one topic (`t`, one partition). Requests go to a node's real handlers through the
 * generated codecs (encoded, decoded, answered, encoded, decoded: real bytes, regions read from
 * that node's file system). A stand-in controller answers AlterPartition the way the
 * QuorumController does (epoch checks, then a PartitionChangeRecord) and publishes each new
 * image to every node, as the metadata quorum would.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import type { ApiDescriptor } from '../../../protocol/generated/api-catalogue.ts';
import { Apis } from '../../../protocol/generated/api-table.ts';
import { newProduceRequest } from '../../../protocol/generated/apis/00-produce.ts';
import {
  type FetchRequest,
  type FetchResponse,
  newFetchRequest,
} from '../../../protocol/generated/apis/01-fetch.ts';
import type {
  AlterPartitionRequest,
  AlterPartitionResponse,
} from '../../../protocol/generated/apis/56-alter-partition.ts';
import { newPartitionChangeRecord, newPartitionRecord } from '../../../protocol/generated/index.ts';
import { MetadataRecordType } from '../../../protocol/generated/metadata-record-table.ts';
import { buildBatch } from '../../../protocol/records/batch-builder.ts';
import { loadConfig } from '../../../src/config/load-config.ts';
import { produceHandler } from '../../../src/handlers/00-produce.ts';
import { fetchHandler } from '../../../src/handlers/01-fetch.ts';
import { listOffsetsHandler } from '../../../src/handlers/02-list-offsets.ts';
import { offsetForLeaderEpochHandler } from '../../../src/handlers/23-offset-for-leader-epoch.ts';
import type { DataServices, Handler, RequestContext } from '../../../src/handlers/handler.ts';
import { ClusterMetadata } from '../../../src/metadata/cluster-metadata.ts';
import { MetadataImage } from '../../../src/metadata/metadata-image.ts';
import type { MetadataRecord } from '../../../src/metadata/metadata-record.ts';
import {
  type PartitionFetchers,
  ReplicaManager,
} from '../../../src/replication/replica-manager.ts';
import type { Clock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';
import { LOG_CONFIG_DEFAULTS } from '../../../storage/log/log-config.ts';
import { LogManager } from '../../../storage/log/log-manager.ts';
import type { PartitionLog } from '../../../storage/log/partition-log.ts';
import { type Codec, callHandler, testContext } from './fixture.ts';

export const NOW = 1_700_000_000_000;
export const TOPIC = 't';
export const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';
const config = loadConfig({ dataDir: '/unused', overrides: {} });

export interface ClusterNode {
  readonly id: number;
  readonly fs: MemoryFileSystem;
  readonly logs: LogManager;
  readonly replicas: ReplicaManager;
  data: DataServices;
}

export type { Codec } from './fixture.ts';

export type FetchedPartition = FetchResponse['responses'][number]['partitions'][number];

/** The handlers a follower's requests reach on its leader. */
const replicationHandlers = new Map<number, Handler>([
  [1, fetchHandler],
  [2, listOffsetsHandler],
  [23, offsetForLeaderEpochHandler],
]);

export interface ClusterOptions {
  readonly ids: readonly number[];
  readonly isr: readonly number[];
  readonly clock: Clock;
  readonly seed: number;
  readonly lagTimeMaxMs: number;
  readonly configs?: Record<string, string>;
  /** The fetchers of node `id` (absent: the node never follows). */
  fetchersFor(id: number, cluster: LeaderCluster): PartitionFetchers | undefined;
}

export class LeaderCluster {
  readonly nodes: ClusterNode[] = [];
  readonly alterRequests: AlterPartitionRequest[] = [];
  readonly clock: Clock;
  image = MetadataImage.EMPTY;
  #offset = 0;

  private constructor(clock: Clock) {
    this.clock = clock;
  }

  static async start(options: ClusterOptions): Promise<LeaderCluster> {
    const cluster = new LeaderCluster(options.clock);
    const { clock, ids } = options;
    for (const id of ids) {
      const random = new SeededRandom(options.seed + id);
      const fs = new MemoryFileSystem(random, () => clock.nowMs());
      const logs = await LogManager.open({
        fs,
        clock,
        random,
        logDirs: [`/node${id}`],
        defaultConfig: LOG_CONFIG_DEFAULTS,
      });
      const replicas = new ReplicaManager({
        logs,
        nodeId: id,
        clock,
        random,
        logger: silentLogger(),
        defaults: LOG_CONFIG_DEFAULTS,
        fetchers: options.fetchersFor(id, cluster),
        alterPartition: { send: (request) => cluster.#alterPartition(request) },
        brokerEpoch: () => 100 + id,
        replicaLagTimeMaxMs: options.lagTimeMaxMs,
      });
      // The handlers read topics from `cluster`; it is set once the first image exists.
      cluster.nodes.push({ id, fs, logs, replicas, data: { replicas } as DataServices });
    }
    const records: MetadataRecord[] = [
      { type: MetadataRecordType.TopicRecord, data: { name: TOPIC, topicId: TOPIC_ID } },
      {
        type: MetadataRecordType.PartitionRecord,
        data: {
          ...newPartitionRecord(),
          partitionId: 0,
          topicId: TOPIC_ID,
          replicas: [...ids],
          isr: [...options.isr],
          leader: ids[0] as number,
          leaderEpoch: 0,
          partitionEpoch: 0,
        },
      },
      ...Object.entries(options.configs ?? {}).map(
        ([name, value]): MetadataRecord => ({
          type: MetadataRecordType.ConfigRecord,
          data: { resourceType: 2, resourceName: TOPIC, name, value },
        }),
      ),
    ];
    cluster.#offset += records.length;
    cluster.image = cluster.image.apply(records, cluster.#offset);
    for (const node of cluster.nodes) {
      node.data = {
        replicas: node.replicas,
        cluster: new ClusterMetadata({
          clusterId: 'test',
          nodeId: node.id,
          endpoints: () => new Map(),
          image: cluster.image,
          log: { append: async () => 0 },
          random: new SeededRandom(options.seed),
          defaults: () => ({ numPartitions: 1, replicationFactor: ids.length }),
        }),
      };
    }
    for (const node of cluster.nodes) await node.replicas.applyImage(cluster.image);
    return cluster;
  }

  async close(): Promise<void> {
    for (const node of this.nodes) {
      await node.replicas.close();
      await node.logs.close();
    }
  }

  node(id: number): ClusterNode {
    const found = this.nodes.find((n) => n.id === id);
    if (!found) throw new Error(`no node ${id}`);
    return found;
  }

  logOf(id: number): PartitionLog {
    const log = this.node(id).replicas.partition(TOPIC, 0)?.log;
    if (!log) throw new Error(`node ${id} hosts no log`);
    return log;
  }

  leaderState(id: number) {
    const state = this.node(id).replicas.partition(TOPIC, 0)?.leader;
    if (!state) throw new Error(`node ${id} does not lead`);
    return state;
  }

  /** The partition as the latest image has it. */
  get partitionImage() {
    const p = this.image.topicById(TOPIC_ID)?.partitions[0];
    if (!p) throw new Error('no partition in the image');
    return p;
  }

  async publish(records: MetadataRecord[]): Promise<void> {
    this.#offset += records.length;
    this.image = this.image.apply(records, this.#offset);
    for (const node of this.nodes) await node.replicas.applyImage(this.image);
  }

  /** The controller's side of AlterPartition: checks epochs, commits, publishes, answers. */
  async #alterPartition(request: AlterPartitionRequest): Promise<AlterPartitionResponse> {
    this.alterRequests.push(request);
    await new Promise((resolve) => setImmediate(resolve));
    const asked = request.topics[0]?.partitions[0];
    const current = this.partitionImage;
    if (!asked) throw new Error('bad AlterPartition');
    const answer = (errorCode: number, isr: number[], partitionEpoch: number) => ({
      throttleTimeMs: 0,
      errorCode: 0,
      topics: [
        {
          topicName: '',
          topicId: TOPIC_ID,
          partitions: [
            {
              partitionIndex: 0,
              errorCode,
              leaderId: current.leaderId,
              leaderEpoch: current.leaderEpoch,
              isr,
              leaderRecoveryState: 0,
              partitionEpoch,
            },
          ],
        },
      ],
    });
    if (asked.leaderEpoch !== current.leaderEpoch) {
      return answer(ErrorCode.FENCED_LEADER_EPOCH, [], -1);
    }
    if (asked.partitionEpoch !== current.partitionEpoch) {
      return answer(ErrorCode.INVALID_UPDATE_VERSION, [], -1);
    }
    await this.publish([change({ isr: asked.newIsrWithEpochs.map((b) => b.brokerId) })]);
    const after = this.partitionImage;
    return answer(ErrorCode.NONE, [...after.isrNodes], after.partitionEpoch);
  }

  context(target: ClusterNode, apiKey: number, version: number): RequestContext {
    return testContext(apiKey, version, {
      config,
      nodeId: target.id,
      clock: this.clock,
      metadata: target.data.cluster,
      data: target.data,
      apiVersions: () => [],
    });
  }

  /** One request through the real codecs to `target`'s handler, and its response back. */
  async call<Req, Res>(
    target: ClusterNode,
    api: Codec<Req, Res>,
    handler: Handler,
    request: Req,
    version: number,
  ): Promise<Res> {
    const context = (apiKey: number) => this.context(target, apiKey, version);
    const response = await callHandler(context, target.fs, api, handler, request, version);
    if (response === null) throw new Error(`no response to API ${api.apiKey}`);
    return response;
  }

  /** A LeaderChannel to node `id`'s replication handlers (FOLLOWER's fetcher speaks it). */
  channelTo(id: number) {
    return {
      request: <Req, Res>(api: ApiDescriptor<Req, Res>, version: number, body: Req) => {
        const handler = replicationHandlers.get(api.apiKey);
        if (!handler) return Promise.reject(new Error(`no handler for API ${api.apiKey}`));
        return this.call(this.node(id), api, handler, body, version);
      },
    };
  }

  produce(target: ClusterNode, records: Buffer, acks = -1, timeoutMs = 60_000) {
    const request = newProduceRequest();
    request.acks = acks;
    request.timeoutMs = timeoutMs;
    request.topicData = [{ name: TOPIC, partitionData: [{ index: 0, records }] }];
    return this.call(target, Apis.Produce, produceHandler, request, 11).then(
      (r) => r.responses[0]?.partitionResponses[0],
    );
  }

  async fetchFrom(target: ClusterNode, request: FetchRequest): Promise<FetchedPartition> {
    const response = await this.call(target, Apis.Fetch, fetchHandler, request, 17);
    const partition = response.responses[0]?.partitions[0];
    if (!partition) throw new Error('no partition in the fetch answer');
    return partition;
  }
}

export function change(fields: { isr?: number[]; leader?: number }): MetadataRecord {
  return {
    type: MetadataRecordType.PartitionChangeRecord,
    data: {
      ...newPartitionChangeRecord(),
      topicId: TOPIC_ID,
      partitionId: 0,
      isr: fields.isr ?? null,
      leader: fields.leader ?? -2,
    },
  };
}

/** An idempotent batch of `count` records from `producerId` starting at `sequence`. */
export function batch(count: number, sequence: number, producerId: number): Buffer {
  return buildBatch({
    producerId,
    producerEpoch: 0,
    baseSequence: sequence,
    records: Array.from({ length: count }, (_, i) => ({
      key: Buffer.from(`k${sequence + i}`),
      value: Buffer.from(`v${sequence + i}`),
      timestamp: NOW + i,
    })),
  });
}

export function fetchRequest(
  partition: { fetchOffset: number; currentLeaderEpoch: number; lastFetchedEpoch?: number },
  replicaId: number,
): FetchRequest {
  const request = newFetchRequest();
  request.maxWaitMs = 0;
  request.minBytes = 0;
  request.replicaState = { replicaId, replicaEpoch: replicaId < 0 ? -1 : 100 + replicaId };
  request.topics = [
    {
      topic: '',
      topicId: TOPIC_ID,
      partitions: [
        {
          partition: 0,
          currentLeaderEpoch: partition.currentLeaderEpoch,
          fetchOffset: partition.fetchOffset,
          lastFetchedEpoch: partition.lastFetchedEpoch ?? -1,
          logStartOffset: -1,
          partitionMaxBytes: 1 << 20,
          replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
        },
      ],
    },
  ];
  return request;
}

export function recordsOf(partition: FetchedPartition): Buffer {
  const records = partition.records;
  return Buffer.isBuffer(records) ? records : Buffer.alloc(0);
}

export const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Waits (event-loop turns, or real time with a real clock) until `condition` holds. */
export async function until(
  condition: () => boolean,
  what: string,
  options: { turns?: number; realMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.realMs ?? 0);
  for (let i = 0; ; i++) {
    if (condition()) return;
    if (i >= (options.turns ?? 1000) && Date.now() >= deadline) break;
    if (options.realMs) await new Promise((resolve) => setTimeout(resolve, 5));
    else await tick();
  }
  throw new Error(`timed out waiting for ${what}`);
}

export { logBytes } from '../storage/log-harness.ts';
