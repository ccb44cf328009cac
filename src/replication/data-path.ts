/**
 * Opens a node's data: meta.properties (cluster id), the LogManager over `log.dirs`, the
 * metadata log replayed into an image, the ReplicaManager hosting what the image assigns here,
 * and ClusterMetadata publishing later changes to it. `close()` undoes it in reverse order
 * (producer snapshots, then every log flushed and the clean-shutdown marker written).
 */
import { resolve } from 'node:path';
import type { FileSystem } from '../../storage/io/file-system.ts';
import { LogManager } from '../../storage/log/log-manager.ts';
import type { BrokerConfig } from '../config/catalogue.ts';
import { brokerLogConfig, logConfigOverrides } from '../config/topic-config.ts';
import type { BrokerEndpoint } from '../handlers/metadata-view.ts';
import { ClusterMetadata } from '../metadata/cluster-metadata.ts';
import { loadOrFormat } from '../metadata/meta-properties.ts';
import { MetadataImage, type TopicImage } from '../metadata/metadata-image.ts';
import { LocalMetadataLog, METADATA_TOPIC } from '../metadata/metadata-log.ts';
import type { TopicDefaults } from '../metadata/topic-commands.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { Random } from '../util/random.ts';
import { ReplicaManager, type ReplicaManagerOptions } from './replica-manager.ts';

export interface DataPathOptions {
  readonly config: BrokerConfig;
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly endpoints: () => ReadonlyMap<string, BrokerEndpoint>;
}

export interface DataPath {
  readonly clusterId: string;
  readonly cluster: ClusterMetadata;
  readonly replicas: ReplicaManager;
  readonly logs: LogManager;
  close(): Promise<void>;
}

/** What the LogManager and ReplicaManager of a node are built from (both modes). */
export interface NodeStorageOptions {
  readonly config: BrokerConfig;
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
}

/**
 * The LogManager over `log.dirs`, each topic's log configured by the overrides of the topic
 * `topicOf` finds (the current image's). `metadataLog` says who owns `__cluster_metadata-0`:
 * 'local' keeps it here, never expired (the only copy of the cluster's topics); 'quorum'
 * leaves it to the Raft log (StorageRaftLog).
 */
export function openNodeLogs(
  options: NodeStorageOptions & {
    readonly metadataLog: 'local' | 'quorum';
    readonly topicOf: (topic: string) => TopicImage | undefined;
  },
): Promise<LogManager> {
  const { config, fs, clock, random, logger } = options;
  const local = options.metadataLog === 'local';
  return LogManager.open({
    fs,
    clock,
    random,
    logDirs: logDirsOf(config),
    defaultConfig: brokerLogConfig(config),
    ...(local ? {} : { foreignTopics: new Set([METADATA_TOPIC]) }),
    topicConfig: (topic) => {
      if (local && topic === METADATA_TOPIC) {
        return {
          durability: 'fsync',
          cleanupPolicy: 'delete',
          retentionMs: -1,
          retentionBytes: -1,
        };
      }
      const image = options.topicOf(topic);
      return image ? logConfigOverrides(image.configs) : undefined;
    },
    onBackgroundError: (error) => logger.error({ err: error }, 'storage background error'),
  });
}

/** The ReplicaManager over `logs`; cluster mode adds fetchers, AlterPartition, broker epoch. */
export function newReplicaManager(
  options: NodeStorageOptions &
    Pick<ReplicaManagerOptions, 'logs' | 'fetchers' | 'alterPartition' | 'brokerEpoch'>,
): ReplicaManager {
  const { config, clock, random, logger } = options;
  return new ReplicaManager({
    logs: options.logs,
    nodeId: config['node.id'],
    clock,
    random,
    logger,
    defaults: brokerLogConfig(config),
    fetchers: options.fetchers,
    alterPartition: options.alterPartition,
    brokerEpoch: options.brokerEpoch,
    replicaLagTimeMaxMs: config['replica.lag.time.max.ms'],
  });
}

/** ClusterMetadata's `defaults`: what an auto-created or CreateTopics(-1) topic gets. */
export function topicDefaultsOf(config: BrokerConfig): () => TopicDefaults {
  return () => ({
    numPartitions: config['num.partitions'],
    replicationFactor: config['default.replication.factor'],
  });
}

export function logDirsOf(config: BrokerConfig): string[] {
  return config['log.dirs'].map((dir) => resolve(dir));
}

export async function openDataPath(options: DataPathOptions): Promise<DataPath> {
  const { config, fs, clock, random, logger } = options;
  const firstDir = logDirsOf(config)[0] as string;
  await fs.mkdir(firstDir);
  const meta = await loadOrFormat(fs, firstDir, {
    clusterId: config['cluster.id'],
    nodeId: config['node.id'],
    random,
  });
  let cluster: ClusterMetadata | undefined;
  const logs = await openNodeLogs({
    ...options,
    metadataLog: 'local',
    topicOf: (topic) => cluster?.image.topic(topic),
  });
  try {
    const metadataLog = await LocalMetadataLog.open(logs, clock);
    const replayed = await metadataLog.replay();
    const image = MetadataImage.EMPTY.apply(replayed.records, replayed.lastOffset);
    cluster = new ClusterMetadata({
      clusterId: meta.clusterId,
      nodeId: config['node.id'],
      endpoints: options.endpoints,
      image,
      log: metadataLog,
      random,
      defaults: topicDefaultsOf(config),
    });
    const replicas = newReplicaManager({ ...options, logs });
    await replicas.applyImage(image);
    cluster.onImage((next) => replicas.applyImage(next));
    logger.info(
      { clusterId: meta.clusterId, topics: image.topicCount, metadataOffset: image.offset },
      'metadata loaded',
    );
    const opened = cluster;
    return {
      clusterId: meta.clusterId,
      cluster: opened,
      replicas,
      logs,
      close: async () => {
        await replicas.close();
        await logs.close();
      },
    };
  } catch (error) {
    await logs.close().catch(() => undefined);
    throw error;
  }
}
