/**
 * A broker's data path in cluster mode: the same `DataPath` the handlers use in single-node
 * mode, built over the node runtime instead of a local metadata log:
 *
 * - the LogManager leaves `__cluster_metadata-0` to the quorum (its StorageRaftLog owns it);
 * - ClusterMetadata starts empty and follows the quorum's committed stream (replayed from the
 *   log on start); topic commands are forwarded to the active controller;
 * - the ReplicaManager leads or follows what each image assigns here: followers fetch through
 *   a ReplicaFetcherManager over connections to the other brokers, leaders change ISRs with
 *   AlterPartition through the controller channel;
 * - the BrokerLifecycleManager registers once the listeners are bound (`register()`), and
 *   heartbeats with the offset of the applied image.
 *
 * A failure to apply a committed batch is fatal (`onFatal`): the image would no longer follow
 * the log, and serving from it could contradict the controller.
 */
import { resolve } from 'node:path';
import type { FileSystem } from '../../storage/io/file-system.ts';
import { LogManager } from '../../storage/log/log-manager.ts';
import type { BrokerConfig } from '../config/catalogue.ts';
import { brokerLogConfig, logConfigOverrides } from '../config/topic-config.ts';
import type { BrokerEndpoint } from '../handlers/metadata-view.ts';
import { ClusterMetadata } from '../metadata/cluster-metadata.ts';
import { MetadataImage } from '../metadata/metadata-image.ts';
import { METADATA_TOPIC } from '../metadata/metadata-log.ts';
import type { DataPath } from '../replication/data-path.ts';
import { ReplicaFetcherManager } from '../replication/replica-fetcher.ts';
import { ReplicaManager } from '../replication/replica-manager.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { Random } from '../util/random.ts';
import type { BrokerLifecycleManager } from './broker-lifecycle.ts';
import type { NodeRuntime } from './node-runtime.ts';

export interface ClusterDataPathOptions {
  readonly config: BrokerConfig;
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly endpoints: () => ReadonlyMap<string, BrokerEndpoint>;
  readonly node: NodeRuntime;
  readonly clusterId: string;
  readonly onFatal: (error: Error) => void;
}

export interface ClusterDataPath extends DataPath {
  readonly lifecycle: BrokerLifecycleManager;
}

export async function openClusterDataPath(
  options: ClusterDataPathOptions,
): Promise<ClusterDataPath> {
  const { config, fs, clock, random, logger, node, clusterId } = options;
  const logDirs = config['log.dirs'].map((dir) => resolve(dir));
  const defaults = brokerLogConfig(config);
  let cluster: ClusterMetadata | undefined;
  const logs = await LogManager.open({
    fs,
    clock,
    random,
    logDirs,
    defaultConfig: defaults,
    foreignTopics: new Set([METADATA_TOPIC]),
    topicConfig: (topic) => {
      const image = cluster?.image.topic(topic);
      return image ? logConfigOverrides(image.configs) : undefined;
    },
    onBackgroundError: (error) => logger.error({ err: error }, 'storage background error'),
  });
  // The lifecycle needs the image's offset and the image's forwarding needs the broker epoch.
  let lifecycle: BrokerLifecycleManager | undefined;
  const brokerEpoch = (): number => lifecycle?.brokerEpoch ?? -1;
  cluster = new ClusterMetadata({
    clusterId,
    nodeId: config['node.id'],
    endpoints: options.endpoints,
    image: MetadataImage.EMPTY,
    forward: node.forwarding(brokerEpoch),
    random,
    defaults: () => ({
      numPartitions: config['num.partitions'],
      replicationFactor: config['default.replication.factor'],
    }),
  });
  const opened = cluster;
  const channels = node.brokerChannels(() => opened.image);
  const fetchers = new ReplicaFetcherManager({
    nodeId: config['node.id'],
    clock,
    random,
    logger: logger.child({ component: 'replica-fetcher' }),
    brokerEpoch,
    channelFor: (brokerId) => channels.channelFor(brokerId),
    settings: {
      maxBytes: config['replica.fetch.max.bytes'],
      responseMaxBytes: config['replica.fetch.response.max.bytes'],
      waitMaxMs: config['replica.fetch.wait.max.ms'],
      minBytes: config['replica.fetch.min.bytes'],
      backoffMs: config['replica.fetch.backoff.ms'],
      requestTimeoutMs: config['replica.socket.timeout.ms'],
    },
  });
  const replicas = new ReplicaManager({
    logs,
    nodeId: config['node.id'],
    clock,
    random,
    logger,
    defaults,
    fetchers,
    alterPartition: node.alterPartitionSender(),
    brokerEpoch,
    replicaLagTimeMaxMs: config['replica.lag.time.max.ms'],
  });
  // Until the image holds this broker's own registration (so every record before it), an
  // image may be a prefix of the log: applying it would delete the logs of topics it does not
  // show yet. Kafka's broker waits for the same catch-up before its ReplicaManager starts.
  // The registration may reach the image before its answer gives us the epoch, so the check
  // runs on each image and again when the lifecycle asks whether it may be unfenced.
  const nodeId = config['node.id'];
  const holdsOwnRegistration = (image: MetadataImage): boolean => {
    const epoch = brokerEpoch();
    return epoch >= 0 && image.offset >= epoch && image.broker(nodeId)?.epoch === epoch;
  };
  let caughtUp = false;
  let hosting = false;
  let applied: Promise<void> = Promise.resolve();
  const host = (image: MetadataImage): Promise<void> => {
    applied = applied.then(() => replicas.applyImage(image));
    return applied;
  };
  const catchUp = (image: MetadataImage): Promise<void> | undefined => {
    if (caughtUp || !holdsOwnRegistration(image)) return undefined;
    caughtUp = true;
    logger.info({ metadataOffset: image.offset }, 'metadata caught up: hosting replicas');
    return host(image).then(() => {
      hosting = true;
    });
  };
  opened.onImage(async (next) => {
    if (caughtUp) await host(next);
    else await catchUp(next);
  });
  const listener = {
    onCommitted: (batch: Parameters<ClusterMetadata['applyCommitted']>[0]) => {
      opened.applyCommitted(batch).catch((error: unknown) => {
        options.onFatal(error instanceof Error ? error : new Error(String(error)));
      });
    },
  };
  node.quorum.addListener(listener);
  lifecycle = node.lifecycle({
    metadataOffset: () => opened.image.offset,
    // Unfenced (so given leaderships) only once the replicas follow the caught-up image.
    readyToUnfence: () => {
      catchUp(opened.image)?.catch((error: unknown) => {
        options.onFatal(error instanceof Error ? error : new Error(String(error)));
      });
      return hosting;
    },
  });
  const registered = lifecycle;
  return {
    clusterId,
    cluster: opened,
    replicas,
    logs,
    lifecycle: registered,
    close: async () => {
      node.quorum.removeListener(listener);
      registered.close();
      await fetchers.close();
      await replicas.close();
      channels.close();
      await logs.close();
    },
  };
}
