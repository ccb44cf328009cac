/**
 * Three brokers in one process, each with its own MemoryFileSystem, LogManager, ReplicaManager,
 * ClusterMetadata in cluster mode (images only from the committed stream) and the broker's
 * GroupService exactly as startBrokerGroups wires it, on one simulated clock. The test plays
 * the controller: it commits KRaft records (broker registrations, __consumer_offsets and its
 * PartitionRecord / PartitionChangeRecord) to every node through `applyCommitted`, framed as
 * the metadata log carries them, and answers the CreateTopics a FindCoordinator forwards.
 * Followers replicate when the test says so (`replicate`: the leader's batches appended as a
 * follower appends them, then the fetch reported to the leader's PartitionLeaderState).
 */
import { ErrorCode } from '../../../../protocol/errors.ts';
import { ApiKey } from '../../../../protocol/generated/api-catalogue.ts';
import type { ApiDescriptor } from '../../../../protocol/generated/api-table.ts';
import type { CreateTopicsRequest } from '../../../../protocol/generated/apis/19-create-topics.ts';
import {
  newCreateTopicsResponse,
  newCreateTopicsResponseCreatableTopicResult,
} from '../../../../protocol/generated/apis/19-create-topics.ts';
import { iterateBatches } from '../../../../protocol/records/batch.ts';
import { loadConfig } from '../../../../src/config/load-config.ts';
import { startBrokerGroups } from '../../../../src/coordinator/group/broker-groups.ts';
import type { GroupService } from '../../../../src/coordinator/group/group-service.ts';
import type { GroupCoordinator } from '../../../../src/coordinator/group/index.ts';
import { offsetsTopicName } from '../../../../src/coordinator/group/log-group-store.ts';
import { partitionForGroup } from '../../../../src/coordinator/group/partition-for.ts';
import { ClusterMetadata } from '../../../../src/metadata/cluster-metadata.ts';
import { MetadataImage } from '../../../../src/metadata/metadata-image.ts';
import {
  CONFIG_RESOURCE_TOPIC,
  encodeMetadataRecord,
  type MetadataRecord,
} from '../../../../src/metadata/metadata-record.ts';
import type {
  FollowedPartition,
  HostedPartition,
  PartitionFetchers,
} from '../../../../src/replication/replica-manager.ts';
import { ReplicaManager } from '../../../../src/replication/replica-manager.ts';
import { SimClock } from '../../../../src/util/clock.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import { SeededRandom } from '../../../../src/util/random.ts';
import { MemoryFileSystem } from '../../../../storage/io/memory-file-system.ts';
import { LOG_CONFIG_DEFAULTS } from '../../../../storage/log/log-config.ts';
import { LogManager } from '../../../../storage/log/log-manager.ts';
import {
  change,
  config,
  partition,
  register,
  topic,
  unfence,
  uuid,
} from '../../metadata/records.ts';
import { testContext } from '../../replication/fixture.ts';
import { materialize } from '../../storage/log-harness.ts';

export const OFFSETS_ID = uuid(7, 'C');
export const PARTITIONS = 3;
const brokerEpoch = (id: number): number => id - 1;

/** A stand-in fetcher: remembers what the ReplicaManager told it to follow. */
class RecordingFetchers implements PartitionFetchers {
  readonly followed = new Map<number, FollowedPartition>();
  follow(p: FollowedPartition): void {
    if (p.topic === offsetsTopicName) this.followed.set(p.partition, p);
  }
  async unfollow(topicName: string, partitionIndex: number): Promise<void> {
    if (topicName === offsetsTopicName) this.followed.delete(partitionIndex);
  }
}

export interface GroupNode {
  readonly id: number;
  readonly fs: MemoryFileSystem;
  readonly logs: LogManager;
  readonly replicas: ReplicaManager;
  readonly cluster: ClusterMetadata;
  readonly groups: GroupService;
  readonly fetchers: RecordingFetchers;
  /** What a probe saw right after each image reached the group service (see `probe`). */
  readonly probed: number[];
  probe: ((node: GroupNode) => number) | undefined;
}

export interface GroupClusterOptions {
  readonly seed: number;
  /** Broker config overrides for every node. */
  readonly config?: Record<string, string | number>;
}

export class GroupCluster {
  readonly clock = new SimClock();
  readonly nodes: GroupNode[] = [];
  /** CreateTopics requests the nodes forwarded to the (test) controller. */
  readonly createRequests: CreateTopicsRequest[] = [];
  /** Leaders given to the partitions of a topic the test controller creates. */
  leadersOnCreate: readonly number[] = [1, 2, 3];
  #offset = 0;
  readonly #created = new Set<string>();

  static async start(options: GroupClusterOptions): Promise<GroupCluster> {
    const c = new GroupCluster();
    for (const id of [1, 2, 3]) c.nodes.push(await c.#startNode(id, options));
    await c.commit([
      ...[1, 2, 3].map((id) =>
        register(id, brokerEpoch(id), {
          endPoints: [
            { name: 'PLAINTEXT', host: `b${id}.plain`, port: 9000 + id, securityProtocol: 0 },
            { name: 'INTERNAL', host: `b${id}.internal`, port: 19000 + id, securityProtocol: 0 },
          ],
        }),
      ),
      ...[1, 2, 3].map((id) => unfence(id, brokerEpoch(id))),
    ]);
    return c;
  }

  async #startNode(id: number, options: GroupClusterOptions): Promise<GroupNode> {
    const random = new SeededRandom(options.seed + id);
    const fs = new MemoryFileSystem(random, () => this.clock.nowMs());
    const logs = await LogManager.open({
      fs,
      clock: this.clock,
      random,
      logDirs: [`/node${id}`],
      defaultConfig: LOG_CONFIG_DEFAULTS,
    });
    const fetchers = new RecordingFetchers();
    const replicas = new ReplicaManager({
      logs,
      nodeId: id,
      clock: this.clock,
      random,
      logger: silentLogger(),
      defaults: LOG_CONFIG_DEFAULTS,
      fetchers,
      brokerEpoch: () => brokerEpoch(id),
    });
    const cluster = new ClusterMetadata({
      clusterId: 'group-cluster',
      nodeId: id,
      endpoints: () => new Map(),
      image: MetadataImage.EMPTY,
      forward: {
        channel: { send: (api, version, body) => this.#controller(api, version, body) },
        controllerId: () => 1,
        brokerEpoch: () => brokerEpoch(id),
        clock: this.clock,
        catchUpTimeoutMs: 30_000,
        requestTimeoutMs: 30_000,
      },
      random,
      defaults: () => ({ numPartitions: 1, replicationFactor: 3 }),
    });
    // As openDataPath registers it: the ReplicaManager sees each image first.
    cluster.onImage((image) => replicas.applyImage(image));
    const brokerConfig = loadConfig({
      dataDir: `/node${id}`,
      overrides: {
        'node.id': id,
        'offsets.topic.num.partitions': PARTITIONS,
        'offsets.topic.replication.factor': 3,
        'group.initial.rebalance.delay.ms': 0,
        ...options.config,
      },
    });
    const groups = startBrokerGroups({
      data: { cluster, replicas },
      fs,
      config: brokerConfig,
      clock: this.clock,
      random: new SeededRandom(options.seed * 31 + id),
      logger: silentLogger(),
    });
    const node: GroupNode = {
      id,
      fs,
      logs,
      replicas,
      cluster,
      groups,
      fetchers,
      probed: [],
      probe: undefined,
    };
    // Registered after the group service's listener: sees what a client would right then.
    cluster.onImage(async () => {
      if (node.probe) node.probed.push(node.probe(node));
    });
    return node;
  }

  node(id: number): GroupNode {
    const found = this.nodes.find((n) => n.id === id);
    if (!found) throw new Error(`no node ${id}`);
    return found;
  }

  /** Commits `records` as one stretch of the metadata log and applies it on every node. */
  async commit(records: readonly MetadataRecord[]): Promise<void> {
    const framed = records.map((record) => ({
      offset: this.#offset++,
      data: encodeMetadataRecord(record),
    }));
    const batch = { records: framed, lastOffset: this.#offset - 1 };
    await Promise.all(this.nodes.map((n) => n.cluster.applyCommitted(batch)));
  }

  /**
   * __consumer_offsets with partition p led by leaders[p], replicas 1-3, ISR `isrOf(leader)`
   * (default: all three).
   */
  offsetsTopicRecords(
    leaders: readonly number[],
    isrOf: (leader: number) => number[] = () => [1, 2, 3],
  ): MetadataRecord[] {
    return [
      topic(offsetsTopicName, OFFSETS_ID),
      ...leaders.map((leader, p) =>
        partition(OFFSETS_ID, p, [1, 2, 3], { leader, isr: isrOf(leader) }),
      ),
      config(CONFIG_RESOURCE_TOPIC, offsetsTopicName, 'cleanup.policy', 'compact'),
    ];
  }

  /** A leader election or ISR change of partition `p`, as the controller writes it. */
  async change(p: number, fields: { leader?: number; isr?: number[] }): Promise<void> {
    await this.commit([change(OFFSETS_ID, p, fields)]);
  }

  /** The test controller: CreateTopics for __consumer_offsets; nothing else is expected. */
  async #controller<Req, Res>(api: ApiDescriptor<Req, Res>, _v: number, body: Req): Promise<Res> {
    if (api.apiKey !== ApiKey.CreateTopics) throw new Error(`unexpected API ${api.apiKey}`);
    const request = body as unknown as CreateTopicsRequest;
    this.createRequests.push(request);
    const asked = request.topics[0];
    const response = newCreateTopicsResponse();
    const result = newCreateTopicsResponseCreatableTopicResult();
    result.name = asked?.name ?? '';
    // The controller decides on its own image: a topic it already created exists.
    if (this.#created.has(result.name)) {
      result.errorCode = ErrorCode.TOPIC_ALREADY_EXISTS;
    } else {
      const leaders = Array.from(
        { length: asked?.numPartitions ?? 0 },
        (_, p) => this.leadersOnCreate[p % this.leadersOnCreate.length] as number,
      );
      this.#created.add(result.name);
      // Committed later, as a controller's records are: the caller waits for the image.
      setImmediate(() => void this.commit(this.offsetsTopicRecords(leaders)));
      result.topicId = OFFSETS_ID;
      result.numPartitions = leaders.length;
      result.replicationFactor = 3;
    }
    response.topics = [result];
    return response as unknown as Res;
  }

  hosted(id: number, p: number): HostedPartition {
    const hosted = this.node(id).replicas.partition(offsetsTopicName, p);
    if (!hosted) throw new Error(`node ${id} does not host ${offsetsTopicName}-${p}`);
    return hosted;
  }

  /**
   * One fetch of follower `to` for partition `p` from the leader `from`: the leader's batches
   * past the follower's end appended as a follower appends them, then the fetch reported to
   * the leader (which may advance its high watermark).
   */
  async replicate(from: number, to: number, p: number): Promise<void> {
    const leader = this.hosted(from, p);
    const follower = this.hosted(to, p);
    const source = this.node(from).fs;
    while (follower.log.logEndOffset < leader.log.logEndOffset) {
      const read = await leader.log.read(follower.log.logEndOffset, { maxBytes: 1 << 20 });
      if (read.sizeBytes === 0) break;
      for (const batch of iterateBatches(await materialize(source, read))) {
        if (batch.baseOffset < follower.log.logEndOffset) continue;
        await follower.log.appendAsFollower(Buffer.from(batch.buf));
      }
    }
    await follower.log.flush();
    leader.leader?.followerFetched(to, follower.log.logEndOffset, brokerEpoch(to));
    follower.log.setHighWatermark(
      Math.min(leader.leader?.highWatermark ?? 0, follower.log.logEndOffset),
    );
  }

  coordinator(id: number): GroupCoordinator {
    const coordinator = this.node(id).groups.coordinator;
    if (!coordinator) throw new Error(`node ${id} runs no coordinator`);
    return coordinator;
  }

  /** A request context on node `id` as a client on `listenerName` reaches it. */
  context(id: number, apiKey: number, version: number, listenerName = 'PLAINTEXT') {
    const node = this.node(id);
    return testContext(
      apiKey,
      version,
      {
        config: loadConfig({ dataDir: `/node${id}`, overrides: { 'node.id': id } }),
        nodeId: id,
        clock: this.clock,
        metadata: node.cluster,
        data: { cluster: node.cluster, replicas: node.replicas },
        groups: node.groups,
        apiVersions: () => [],
      },
      listenerName,
    );
  }

  async close(): Promise<void> {
    for (const node of this.nodes) {
      await node.groups.close();
      await node.replicas.close();
      await node.logs.close();
    }
  }
}

/** A group id whose partition of __consumer_offsets (of PARTITIONS) is `p`. */
export function groupOn(p: number, prefix = 'g'): string {
  for (let i = 0; i < 10_000; i++) {
    const id = `${prefix}-${i}`;
    if (partitionForGroup(id, PARTITIONS) === p) return id;
  }
  throw new Error(`no group id on partition ${p}`);
}
