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
import { MetadataImage } from '../metadata/metadata-image.ts';
import { LocalMetadataLog, METADATA_TOPIC } from '../metadata/metadata-log.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { Random } from '../util/random.ts';
import { ReplicaManager } from './replica-manager.ts';

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

export async function openDataPath(options: DataPathOptions): Promise<DataPath> {
  const { config, fs, clock, random, logger } = options;
  const logDirs = config['log.dirs'].map((dir) => resolve(dir));
  const firstDir = logDirs[0] as string;
  await fs.mkdir(firstDir);
  const meta = await loadOrFormat(fs, firstDir, {
    clusterId: config['cluster.id'],
    nodeId: config['node.id'],
    random,
  });
  const defaults = brokerLogConfig(config);
  let cluster: ClusterMetadata | undefined;
  const logs = await LogManager.open({
    fs,
    clock,
    random,
    logDirs,
    defaultConfig: defaults,
    topicConfig: (topic) => {
      // The metadata log is the only copy of the cluster's topics: never expire it.
      if (topic === METADATA_TOPIC) {
        return {
          durability: 'fsync',
          cleanupPolicy: 'delete',
          retentionMs: -1,
          retentionBytes: -1,
        };
      }
      const image = cluster?.image.topic(topic);
      return image ? logConfigOverrides(image.configs) : undefined;
    },
    onBackgroundError: (error) => logger.error({ err: error }, 'storage background error'),
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
      defaults: () => ({
        numPartitions: config['num.partitions'],
        replicationFactor: config['default.replication.factor'],
      }),
    });
    const replicas = new ReplicaManager({
      logs,
      nodeId: config['node.id'],
      clock,
      random,
      logger,
      defaults,
      replicaLagTimeMaxMs: config['replica.lag.time.max.ms'],
    });
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
