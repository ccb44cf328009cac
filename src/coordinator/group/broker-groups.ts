/**
 * The group coordinator wired into a broker's data path: __consumer_offsets is created through
 * the cluster metadata (so it is in the image, listed by Metadata as internal, and its logs
 * are hosted by the ReplicaManager like any partition's), the coordinator appends to and
 * loads from those logs, and its settings come from the broker config (Kafka's names).
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
    host: dataPathOffsetsHost(
      options.data.cluster,
      options.data.replicas,
      options.fs,
      config['offsets.topic.replication.factor'],
    ),
    clock: options.clock,
    random: options.random,
    config: groupCoordinatorConfigOf(config),
    logger: options.logger.child({ component: 'group-coordinator' }),
  });
  service.start();
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
  cluster: ClusterMetadata,
  replicas: ReplicaManager,
  fs: FileSystem,
  replicationFactor: number,
): OffsetsTopicHost {
  return {
    fs,
    partitionCount: () => cluster.topic(offsetsTopicName)?.partitions.length,
    createTopic: async (numPartitions) => {
      const result = await cluster.createTopic({
        name: offsetsTopicName,
        numPartitions,
        replicationFactor,
        configs: offsetsTopicConfigs,
        assignments: [],
      });
      return result.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS
        ? ErrorCode.NONE
        : result.errorCode;
    },
    log: (partition) => replicas.partition(offsetsTopicName, partition)?.log,
  };
}
