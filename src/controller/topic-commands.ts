/**
 * CreateTopics, DeleteTopics and CreatePartitions as the cluster controller decides them. Names
 * and configs are checked as on a single node (src/metadata/topic-commands.ts); what differs is
 * placement: replicas go to the active brokers through the ReplicaPlacer (leaders and
 * replicas spread, racks preferred distinct), and an explicit assignment is accepted when its
 * brokers are registered, with the active ones as the first ISR.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { MetadataRecordType } from '../../protocol/generated/metadata-record-table.ts';
import { newPartitionRecord } from '../../protocol/generated/metadata-records/partition-record.ts';
import { topicConfigProblem } from '../config/topic-config.ts';
import { CONFIG_RESOURCE_TOPIC } from '../metadata/metadata-record.ts';
import {
  isValidTopicName,
  type NewTopic,
  PARTITIONS_PER_TOPIC_MAX,
} from '../metadata/topic-commands.ts';
import { NO_LEADER } from './controller-record.ts';
import type { TopicState } from './controller-state.ts';
import type { Decision } from './decision.ts';
import { ReplicaPlacer } from './replica-placement.ts';

export interface TopicResult {
  readonly name: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly topicId: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
}

type Refusal = { readonly errorCode: number; readonly errorMessage: string };
const refuse = (errorCode: number, errorMessage: string): Refusal => ({ errorCode, errorMessage });

const tooManyRecords = (): Refusal =>
  refuse(ErrorCode.POLICY_VIOLATION, 'The request creates more partitions than one request may.');

function failed(name: string, refusal: Refusal): TopicResult {
  return { name, ...refusal, topicId: '', numPartitions: -1, replicationFactor: -1 };
}

/** 16 random bytes as Kafka prints a Uuid; never zero nor starting with '-' (as Kafka). */
export function newTopicId(decision: Decision): string {
  const bytes = new Uint8Array(16);
  for (;;) {
    decision.random.fill(bytes);
    const id = Buffer.from(bytes).toString('base64url');
    if (bytes.some((b) => b !== 0) && !id.startsWith('-') && !decision.state.topic(id)) return id;
  }
}

export function createTopic(decision: Decision, topic: NewTopic): TopicResult {
  const problem = nameProblem(decision, topic.name) ?? configProblem(topic);
  if (problem) return failed(topic.name, problem);
  const assignment = assignReplicas(decision, topic);
  if (!Array.isArray(assignment)) return failed(topic.name, assignment);
  if (1 + topic.configs.size + assignment.length > decision.recordsLeft) {
    return failed(topic.name, tooManyRecords());
  }
  const topicId = newTopicId(decision);
  decision.emit({ type: MetadataRecordType.TopicRecord, data: { name: topic.name, topicId } });
  for (const [name, value] of topic.configs) {
    if (value === null) continue;
    decision.emit({
      type: MetadataRecordType.ConfigRecord,
      data: { resourceType: CONFIG_RESOURCE_TOPIC, resourceName: topic.name, name, value },
    });
  }
  assignment.forEach((replicas, partitionId) => {
    emitPartition(decision, topicId, partitionId, replicas);
  });
  return {
    name: topic.name,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topicId,
    numPartitions: assignment.length,
    replicationFactor: assignment[0]?.length ?? 0,
  };
}

function nameProblem(decision: Decision, name: string): Refusal | undefined {
  if (!isValidTopicName(name)) {
    return refuse(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic name "${name}" is illegal.`);
  }
  if (decision.state.topicByName(name)) {
    return refuse(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
  }
  const folded = name.replaceAll('.', '_');
  for (const other of decision.state.topics()) {
    if (other.name.replaceAll('.', '_') === folded) {
      return refuse(
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `Topic '${name}' collides with existing topic: ${other.name}`,
      );
    }
  }
  return undefined;
}

function configProblem(topic: NewTopic): Refusal | undefined {
  for (const [key, value] of topic.configs) {
    const problem = topicConfigProblem(key, value);
    if (problem) return refuse(ErrorCode.INVALID_CONFIG, problem);
  }
  return undefined;
}

function assignReplicas(decision: Decision, topic: NewTopic): number[][] | Refusal {
  if (topic.assignments.length > 0) {
    if (topic.numPartitions !== -1 || topic.replicationFactor !== -1) {
      return refuse(
        ErrorCode.INVALID_REQUEST,
        'Both numPartitions or replicationFactor and replicasAssignments were set.',
      );
    }
    return checkAssignment(decision, topic.assignments);
  }
  const defaults = decision.config.topicDefaults;
  const count = topic.numPartitions === -1 ? defaults.numPartitions : topic.numPartitions;
  const factor =
    topic.replicationFactor === -1 ? defaults.replicationFactor : topic.replicationFactor;
  if (count <= 0 || count > PARTITIONS_PER_TOPIC_MAX) {
    return refuse(
      ErrorCode.INVALID_PARTITIONS,
      `Number of partitions must be between 1 and ${PARTITIONS_PER_TOPIC_MAX}.`,
    );
  }
  if (factor <= 0) {
    return refuse(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      'Replication factor must be larger than 0, or -1 to use the default value.',
    );
  }
  return place(decision, count, factor);
}

function place(decision: Decision, count: number, factor: number): number[][] | Refusal {
  const active = [...decision.state.brokers()]
    .filter((b) => decision.state.isActive(b.brokerId))
    .sort((a, b) => a.brokerId - b.brokerId);
  if (factor > active.length) {
    return refuse(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Unable to replicate the partition ${factor} time(s): The target replication factor ` +
        `of ${factor} cannot be reached because only ${active.length} broker(s) are registered.`,
    );
  }
  const placer = new ReplicaPlacer(decision.state, active, decision.random);
  const out: number[][] = [];
  for (let p = 0; p < count; p++) out.push(placer.place(factor));
  return out;
}

function checkAssignment(
  decision: Decision,
  assignments: readonly (readonly number[])[],
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
    const unknown = nodes.find((id) => !decision.state.broker(id));
    if (unknown !== undefined) {
      return refuse(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `The manual partition assignment includes broker ${unknown}, which is not registered.`,
      );
    }
    if (!nodes.some((id) => decision.state.isActive(id))) {
      return refuse(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        'All brokers specified in the manual partition assignment are fenced or shutting down.',
      );
    }
  }
  return assignments.map((nodes) => [...nodes]);
}

function emitPartition(
  decision: Decision,
  topicId: string,
  partitionId: number,
  replicas: readonly number[],
): void {
  const data = newPartitionRecord();
  data.topicId = topicId;
  data.partitionId = partitionId;
  data.replicas = [...replicas];
  data.isr = replicas.filter((id) => decision.state.isActive(id));
  data.leader = data.isr[0] ?? NO_LEADER;
  data.leaderEpoch = 0;
  data.partitionEpoch = 0;
  decision.emit({ type: MetadataRecordType.PartitionRecord, data });
}

/** Deletes a topic named by id (when `topicId` is given) or by name. */
export function deleteTopic(
  decision: Decision,
  ref: { readonly name: string | null; readonly topicId: string | null },
): TopicResult | Refusal {
  const topic: TopicState | undefined =
    ref.topicId !== null
      ? decision.state.topic(ref.topicId)
      : decision.state.topicByName(ref.name ?? '');
  if (!topic) {
    return ref.topicId !== null
      ? refuse(ErrorCode.UNKNOWN_TOPIC_ID, 'This server does not host this topic ID.')
      : refuse(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          'This server does not host this topic-partition.',
        );
  }
  decision.emit({ type: MetadataRecordType.RemoveTopicRecord, data: { topicId: topic.topicId } });
  return {
    name: topic.name,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topicId: topic.topicId,
    numPartitions: topic.partitions.length,
    replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
  };
}

/** Grows `name` to `totalCount` partitions, placed automatically or as `assignments` say. */
export function createPartitions(
  decision: Decision,
  name: string,
  totalCount: number,
  assignments: readonly (readonly number[])[] | null,
): Refusal {
  const topic = decision.state.topicByName(name);
  if (!topic) {
    return refuse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic.');
  }
  const current = topic.partitions.length;
  if (totalCount <= current || totalCount > current + PARTITIONS_PER_TOPIC_MAX) {
    return refuse(
      ErrorCode.INVALID_PARTITIONS,
      `The topic ${name} currently has ${current} partition(s); ${totalCount} is not a valid ` +
        'increase.',
    );
  }
  const added = totalCount - current;
  let replicas: number[][] | Refusal;
  if (assignments !== null) {
    if (assignments.length !== added) {
      return refuse(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Attempted to add ${added} additional partition(s), but only ${assignments.length} ` +
          'assignment(s) were specified.',
      );
    }
    const factor = topic.partitions[0]?.replicas.length;
    if (assignments.some((nodes) => nodes.length !== factor)) {
      return refuse(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Inconsistent replication factor between partitions, partition 0 has ${factor}.`,
      );
    }
    replicas = checkAssignment(decision, assignments);
  } else {
    replicas = place(decision, added, topic.partitions[0]?.replicas.length ?? 1);
  }
  if (!Array.isArray(replicas)) return replicas;
  if (replicas.length > decision.recordsLeft) return tooManyRecords();
  replicas.forEach((nodes, i) => {
    emitPartition(decision, topic.topicId, current + i, nodes);
  });
  return { errorCode: ErrorCode.NONE, errorMessage: '' };
}
