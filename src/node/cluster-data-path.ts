import { ClusterMetadata } from '../metadata/cluster-metadata.ts';
import { MetadataImage } from '../metadata/metadata-image.ts';
import {
  type DataPath,
  type DataPathOptions,
  newReplicaManager,
  openNodeLogs,
  topicDefaultsOf,
} from '../replication/data-path.ts';
import { ReplicaFetcherManager } from '../replication/replica-fetcher.ts';
import type { BrokerLifecycleManager } from './broker-lifecycle.ts';
import { HostingGate } from './hosting-gate.ts';
import type { NodeRuntime } from './node-runtime.ts';

export interface ClusterDataPathOptions extends DataPathOptions {
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
  const { config, clock, random, logger, node, clusterId } = options;
  let cluster: ClusterMetadata | undefined;
  const logs = await openNodeLogs({
    ...options,
    metadataLog: 'quorum',
    topicOf: (topic) => cluster?.image.topic(topic),
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
    defaults: topicDefaultsOf(config),
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
  const replicas = newReplicaManager({
    ...options,
    logs,
    fetchers,
    alterPartition: node.alterPartitionSender(),
    brokerEpoch,
  });
  const fatal = (error: unknown): void => {
    options.onFatal(error instanceof Error ? error : new Error(String(error)));
  };
  const gate = new HostingGate({ nodeId: config['node.id'], brokerEpoch, replicas, logger });
  opened.onImage((next) => gate.onImage(next));
  const listener = {
    onCommitted: (batch: Parameters<ClusterMetadata['applyCommitted']>[0]) => {
      opened.applyCommitted(batch).catch(fatal);
    },
  };
  node.quorum.addListener(listener);
  lifecycle = node.lifecycle({
    metadataOffset: () => opened.image.offset,
    // Unfenced (so given leaderships) only once the replicas follow the caught-up image.
    readyToUnfence: () => {
      gate.catchUp(opened.image)?.catch(fatal);
      return gate.hosting;
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
