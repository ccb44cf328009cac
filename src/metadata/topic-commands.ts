/**
 * Topic operations as the controller decides them: checked against an image, turned into the
 * metadata records that carry them out, or refused with Kafka's error code and message. Pure:
 * the caller appends the records (through a MetadataLog) and applies them.
 *
 * Replicas: the live brokers are the nodes in `brokerIds`; a topic asks for a replication
 * factor no larger than their count (INVALID_REPLICATION_FACTOR otherwise, as Kafka answers
 * when too few brokers are registered). Leaders go round-robin from a partition-based start.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { MetadataRecordType } from '../../protocol/generated/metadata-record-table.ts';
import { newPartitionRecord } from '../../protocol/generated/metadata-records/partition-record.ts';
import { topicConfigProblem } from '../config/topic-config.ts';
import type { MetadataImage } from './metadata-image.ts';
import { CONFIG_RESOURCE_TOPIC, type MetadataRecord } from './metadata-record.ts';

/** Kafka's limit on a topic name's length and its character set. */
export function isValidTopicName(name: string): boolean {
  return /^[a-zA-Z0-9._-]{1,249}$/.test(name) && name !== '.' && name !== '..';
}

/** Partitions one request may create in total; the log of each costs descriptors and memory. */
export const PARTITIONS_PER_TOPIC_MAX = 10_000;

export interface NewTopic {
  readonly name: string;
  /** -1: the broker's num.partitions. */
  readonly numPartitions: number;
  /** -1: the broker's default.replication.factor. */
  readonly replicationFactor: number;
  readonly configs: ReadonlyMap<string, string | null>;
  /** Explicit replica lists by partition; empty: the controller assigns. */
  readonly assignments: readonly (readonly number[])[];
}

export interface TopicDefaults {
  readonly numPartitions: number;
  readonly replicationFactor: number;
}

export type CommandResult<T> =
  | ({ readonly errorCode: 0; readonly records: MetadataRecord[] } & T)
  | { readonly errorCode: number; readonly errorMessage: string };

export interface CreatedTopic {
  readonly topicId: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly configs: ReadonlyMap<string, string>;
}

const refuse = (errorCode: number, errorMessage: string) => ({ errorCode, errorMessage });

/** Records that create `topic`, or why it cannot be created. */
export function createTopicRecords(
  image: MetadataImage,
  topic: NewTopic,
  context: { defaults: TopicDefaults; brokerIds: readonly number[]; topicId: string },
): CommandResult<CreatedTopic> {
  const { name } = topic;
  if (!isValidTopicName(name)) {
    return refuse(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic name "${name}" is illegal.`);
  }
  if (image.topic(name)) {
    return refuse(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
  }
  const collides = [...image.topics()].find(
    (t) => t.name.replaceAll('.', '_') === name.replaceAll('.', '_'),
  );
  if (collides) {
    return refuse(
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      `Topic '${name}' collides with existing topic: ${collides.name}`,
    );
  }
  const configs = new Map<string, string>();
  for (const [key, value] of topic.configs) {
    const problem = topicConfigProblem(key, value);
    if (problem) return refuse(ErrorCode.INVALID_CONFIG, problem);
    configs.set(key, value as string);
  }
  const replicas = replicaAssignment(topic, context.defaults, context.brokerIds);
  if (!Array.isArray(replicas)) return replicas;
  const records: MetadataRecord[] = [
    { type: MetadataRecordType.TopicRecord, data: { name, topicId: context.topicId } },
  ];
  for (const [key, value] of configs) {
    records.push({
      type: MetadataRecordType.ConfigRecord,
      data: { resourceType: CONFIG_RESOURCE_TOPIC, resourceName: name, name: key, value },
    });
  }
  replicas.forEach((nodes, partitionId) => {
    records.push(partitionRecord(context.topicId, partitionId, nodes));
  });
  return {
    errorCode: 0,
    records,
    topicId: context.topicId,
    numPartitions: replicas.length,
    replicationFactor: replicas[0]?.length ?? 0,
    configs,
  };
}

function partitionRecord(topicId: string, partitionId: number, nodes: readonly number[]) {
  const data = newPartitionRecord();
  data.partitionId = partitionId;
  data.topicId = topicId;
  data.replicas = [...nodes];
  data.isr = [...nodes];
  data.leader = nodes[0] ?? -1;
  data.leaderEpoch = 0;
  data.partitionEpoch = 0;
  return { type: MetadataRecordType.PartitionRecord, data } as const;
}

type Refusal = { readonly errorCode: number; readonly errorMessage: string };

function replicaAssignment(
  topic: NewTopic,
  defaults: TopicDefaults,
  brokerIds: readonly number[],
): number[][] | Refusal {
  if (topic.assignments.length > 0) {
    if (topic.numPartitions !== -1 || topic.replicationFactor !== -1) {
      return refuse(
        ErrorCode.INVALID_REQUEST,
        'Both numPartitions or replicationFactor and replicasAssignments were set.',
      );
    }
    return explicitAssignment(topic.assignments, brokerIds);
  }
  const count = topic.numPartitions === -1 ? defaults.numPartitions : topic.numPartitions;
  const factor =
    topic.replicationFactor === -1 ? defaults.replicationFactor : topic.replicationFactor;
  if (count <= 0 || count > PARTITIONS_PER_TOPIC_MAX) {
    return refuse(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
  }
  if (factor <= 0) {
    return refuse(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      'Replication factor must be larger than 0, or -1 to use the default value.',
    );
  }
  if (factor > brokerIds.length) {
    return refuse(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Unable to replicate the partition ${factor} time(s): The target replication factor ` +
        `of ${factor} cannot be reached because only ${brokerIds.length} broker(s) are registered.`,
    );
  }
  return assignRoundRobin(0, count, factor, brokerIds);
}

/** Replica lists for partitions `first`..`first + count - 1`. */
export function assignRoundRobin(
  first: number,
  count: number,
  factor: number,
  brokerIds: readonly number[],
): number[][] {
  const out: number[][] = [];
  for (let p = first; p < first + count; p++) {
    const nodes: number[] = [];
    for (let r = 0; r < factor; r++) nodes.push(brokerIds[(p + r) % brokerIds.length] as number);
    out.push(nodes);
  }
  return out;
}

function explicitAssignment(
  assignments: readonly (readonly number[])[],
  brokerIds: readonly number[],
): number[][] | Refusal {
  if (assignments.length > PARTITIONS_PER_TOPIC_MAX) {
    return refuse(ErrorCode.INVALID_PARTITIONS, 'Too many partitions.');
  }
  const factor = assignments[0]?.length ?? 0;
  for (const nodes of assignments) {
    if (nodes.length === 0 || nodes.length !== factor) {
      return refuse(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        'All partitions should have the same number of replicas.',
      );
    }
    if (new Set(nodes).size !== nodes.length) {
      return refuse(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Duplicate brokers in an assignment.');
    }
    const unknown = nodes.find((n) => !brokerIds.includes(n));
    if (unknown !== undefined) {
      return refuse(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `The manual partition assignment includes broker ${unknown}, which is not registered.`,
      );
    }
  }
  return assignments.map((nodes) => [...nodes]);
}

/** Records that remove a topic. */
export function deleteTopicRecords(topicId: string): MetadataRecord[] {
  return [{ type: MetadataRecordType.RemoveTopicRecord, data: { topicId } }];
}

/** Records that grow `name` to `totalCount` partitions. */
export function createPartitionsRecords(
  image: MetadataImage,
  name: string,
  totalCount: number,
  assignments: readonly (readonly number[])[] | null,
  brokerIds: readonly number[],
): CommandResult<{ readonly added: number }> {
  const topic = image.topic(name);
  if (!topic) {
    return refuse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic.');
  }
  const current = topic.partitions.length;
  if (totalCount < current) {
    return refuse(
      ErrorCode.INVALID_PARTITIONS,
      `The topic ${name} currently has ${current} partition(s); ` +
        `${totalCount} would not be an increase.`,
    );
  }
  if (totalCount === current) {
    return refuse(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`);
  }
  if (totalCount > current + PARTITIONS_PER_TOPIC_MAX) {
    return refuse(ErrorCode.INVALID_PARTITIONS, 'Too many partitions.');
  }
  const added = totalCount - current;
  let replicas: number[][];
  if (assignments !== null) {
    if (assignments.length !== added) {
      return refuse(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Attempted to add ${added} additional partition(s), but only ${assignments.length} ` +
          'assignment(s) were specified.',
      );
    }
    const checked = explicitAssignment(assignments, brokerIds);
    if (!Array.isArray(checked)) return checked;
    replicas = checked;
  } else {
    const factor = topic.partitions[0]?.replicaNodes.length ?? 1;
    replicas = assignRoundRobin(current, added, Math.min(factor, brokerIds.length), brokerIds);
  }
  const records = replicas.map((nodes, i) => partitionRecord(topic.topicId, current + i, nodes));
  return { errorCode: 0, records, added };
}

/** A change to one topic config: a value to set, or null to remove the override. */
export type ConfigChange = readonly [name: string, value: string | null];

/** ConfigRecords applying `changes` to `name`'s overrides, or why they are refused. */
export function alterTopicConfigRecords(
  image: MetadataImage,
  name: string,
  changes: readonly ConfigChange[],
): CommandResult<object> {
  const topic = image.topic(name);
  if (!topic) {
    return refuse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${name} does not exist.`);
  }
  const records: MetadataRecord[] = [];
  for (const [key, value] of changes) {
    if (value !== null) {
      const problem = topicConfigProblem(key, value);
      if (problem) return refuse(ErrorCode.INVALID_CONFIG, problem);
    } else if (topicConfigProblem(key, '') === `Unknown topic config name: ${key}`) {
      return refuse(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${key}`);
    }
    records.push({
      type: MetadataRecordType.ConfigRecord,
      data: { resourceType: CONFIG_RESOURCE_TOPIC, resourceName: name, name: key, value },
    });
  }
  return { errorCode: 0, records };
}
