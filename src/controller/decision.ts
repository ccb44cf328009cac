/**
 * What a command decides with: the latest state (committed records plus those decided and not
 * yet committed), the offset the next record will take, and `emit`, which appends a record to
 * the command's output and applies it to the latest state at once, so later steps of the same
 * command (and later commands) decide on top of it — Kafka's active-controller pattern.
 */

import { MetadataRecordType } from '../../protocol/generated/metadata-record-table.ts';
import { CONFIG_RESOURCE_TOPIC } from '../metadata/metadata-record.ts';
import type { TopicDefaults } from '../metadata/topic-commands.ts';
import type { Random } from '../util/random.ts';
import type { ControllerRecord } from './controller-record.ts';
import type { ControllerState, PartitionState } from './controller-state.ts';
import { type PartitionChangeRequest, partitionChange } from './partition-change.ts';

export interface ControllerConfig {
  readonly clusterId: string;
  /** broker.session.timeout.ms: a broker not heard from for this long is fenced. */
  readonly brokerSessionTimeoutMs: number;
  /** unclean.leader.election.enable, the cluster default; a topic config overrides it. */
  readonly uncleanLeaderElectionEnable: boolean;
  /** num.partitions and default.replication.factor. */
  readonly topicDefaults: TopicDefaults;
  /** Producer ids handed to a broker per AllocateProducerIds (Kafka: 1000). */
  readonly producerIdBlockSize: number;
  /**
   * Records a topic command may write: a request needing more is refused (POLICY_VIOLATION).
   * Fencing and elections are not capped: they write at most one record per partition.
   */
  readonly recordsPerCommandMax: number;
}

export const DEFAULT_CONTROLLER_CONFIG: Omit<ControllerConfig, 'clusterId'> = {
  brokerSessionTimeoutMs: 9_000,
  uncleanLeaderElectionEnable: false,
  topicDefaults: { numPartitions: 1, replicationFactor: 1 },
  producerIdBlockSize: 1000,
  recordsPerCommandMax: 50_000,
};

export interface Decision {
  readonly state: ControllerState;
  readonly config: ControllerConfig;
  readonly random: Random;
  /** The offset the next emitted record will have. */
  readonly nextOffset: number;
  /** How many more records this command may write under recordsPerCommandMax. */
  readonly recordsLeft: number;
  emit(record: ControllerRecord): void;
}

/** unclean.leader.election.enable for `topicName`. */
export function uncleanAllowed(decision: Decision, topicName: string): boolean {
  const value = decision.state
    .configs(CONFIG_RESOURCE_TOPIC, topicName)
    .get('unclean.leader.election.enable');
  return value === undefined ? decision.config.uncleanLeaderElectionEnable : value === 'true';
}

/** Emits the PartitionChangeRecord for `request`, if anything changes; true if it did. */
export function changePartition(
  decision: Decision,
  partition: PartitionState,
  request: PartitionChangeRequest,
): boolean {
  const state = decision.state;
  const record = partitionChange(partition, request, (id) => state.isActive(id));
  if (record === null) return false;
  decision.emit({ type: MetadataRecordType.PartitionChangeRecord, data: record });
  return true;
}
