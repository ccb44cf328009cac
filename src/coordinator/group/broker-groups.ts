/**
 * The group coordinator wired into a broker's data path: __consumer_offsets is created through
 * the cluster metadata (so it is in the image, listed by Metadata as internal, and its logs
 * are hosted by the ReplicaManager like any partition's), the coordinator loads from those
 * logs and appends through the ReplicaManager's leader path, answering a write once it is
 * committed (ReplicatedGroupStore), and its settings come from the broker config (Kafka's
 * names).
 *
 * Leadership: the coordinator serves the partitions this broker leads (the ReplicaManager's
 * hosted role), at their leader epoch. After each image (ClusterMetadata awaits its
 * listeners in order, and the ReplicaManager registered first when the data path opened, so
 * a partition the image makes ours is hosted as leader by then) the service loads what it
 * gained and unloads what it lost. On a single node nothing ever moves.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import type { FileSystem } from '../../../storage/io/file-system.ts';
import type { BrokerConfig } from '../../config/catalogue.ts';
import type { ClusterMetadata } from '../../metadata/cluster-metadata.ts';
import type { ReplicaManager } from '../../replication/replica-manager.ts';
import type { Clock } from '../../util/clock.ts';
import type { Logger } from '../../util/logger.ts';
import type { Random } from '../../util/random.ts';
import type { GroupCoordinatorConfig } from './coordinator-config.ts';
import { GroupService, type OffsetsTopicHost, offsetsTopicConfigs } from './group-service.ts';
import { offsetsTopicName } from './log-group-store.ts';
import { ReplicatedGroupStore } from './replicated-group-store.ts';

export interface BrokerGroupsOptions {
  readonly data: { readonly cluster: ClusterMetadata; readonly replicas: ReplicaManager };
  readonly fs: FileSystem;
  readonly config: BrokerConfig;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
}

/** Builds the broker's GroupService and starts it (loading __consumer_offsets if it exists). */
export function startBrokerGroups(options: BrokerGroupsOptions): GroupService {
  const { config } = options;
  const service = new GroupService({
    host: dataPathOffsetsHost(options.data, options.fs, config, options.clock),
    clock: options.clock,
    random: options.random,
    config: groupCoordinatorConfigOf(config),
    logger: options.logger.child({ component: 'group-coordinator' }),
  });
  service.start();
  // After the ReplicaManager's own listener (registered when the data path opened).
  options.data.cluster.onImage(async () => service.leadershipChanged());
  return service;
}

export function groupCoordinatorConfigOf(config: BrokerConfig): Partial<GroupCoordinatorConfig> {
  return {
    'group.initial.rebalance.delay.ms': config['group.initial.rebalance.delay.ms'],
    'group.min.session.timeout.ms': config['group.min.session.timeout.ms'],
    'group.max.session.timeout.ms': config['group.max.session.timeout.ms'],
    'group.max.size': config['group.max.size'],
    'offsets.topic.num.partitions': config['offsets.topic.num.partitions'],
    'offsets.retention.minutes': config['offsets.retention.minutes'],
    'offsets.retention.check.interval.ms': config['offsets.retention.check.interval.ms'],
    'offset.metadata.max.bytes': config['offset.metadata.max.bytes'],
  };
}

export function dataPathOffsetsHost(
  data: BrokerGroupsOptions['data'],
  fs: FileSystem,
  config: BrokerConfig,
  clock: Clock,
): OffsetsTopicHost {
  const { cluster, replicas } = data;
  const ledHere = (partition: number) => {
    const hosted = replicas.partition(offsetsTopicName, partition);
    return hosted?.role === 'leader' && hosted.leader !== undefined ? hosted : undefined;
  };
  // A single node answers as it always did: its ISR is itself, whatever the config says.
  const enforceMinIsr = cluster.isClusterMode;
  return {
    fs,
    partitionCount: () => cluster.topic(offsetsTopicName)?.partitions.length,
    createTopic: async (numPartitions) => {
      const result = await cluster.createTopic({
        name: offsetsTopicName,
        numPartitions,
        replicationFactor: config['offsets.topic.replication.factor'],
        configs: offsetsTopicConfigs,
        assignments: [],
      });
      return result.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS
        ? ErrorCode.NONE
        : result.errorCode;
    },
    log: (partition) => ledHere(partition)?.log,
    leaderEpoch: (partition) => ledHere(partition)?.leaderEpoch,
    store: (loadedEpoch) =>
      new ReplicatedGroupStore({
        clock,
        replicas,
        loadedEpoch,
        commitTimeoutMs: config['offsets.commit.timeout.ms'],
        minInsyncReplicas: (hosted) =>
          enforceMinIsr ? minInsyncReplicasOf(hosted.topicConfigs, config) : 1,
      }),
  };
}

/** The topic's min.insync.replicas, else the broker's. */
function minInsyncReplicasOf(topicConfigs: ReadonlyMap<string, string>, config: BrokerConfig) {
  const own = Number(topicConfigs.get('min.insync.replicas'));
  return Number.isSafeInteger(own) && own > 0 ? own : config['min.insync.replicas'];
}
