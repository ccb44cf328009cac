/**
 * Request translation shared by the single-node topic handlers (src/handlers/19, 20, 37, 43, 44)
 * and the controller listener's (this directory): the request's topics as the commands take
 * them, and the answers' per-topic parts. One place, so both paths answer alike.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import { newCreateTopicsResponse } from '../../../protocol/generated/apis/19-create-topics.ts';
import { newElectLeadersResponse } from '../../../protocol/generated/apis/43-elect-leaders.ts';
import type {
  AlterConfigsRequest,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  ElectLeadersRequest,
  ElectLeadersResponse,
  IncrementalAlterConfigsRequest,
} from '../../../protocol/generated/index.ts';
import { ZERO_UUID } from '../../../protocol/wire/codec-support.ts';
import type { BrokerConfig } from '../../config/catalogue.ts';
import { describeTopicConfigs, TOPIC_CONFIGS } from '../../config/topic-config.ts';
import type { ConfigChange, NewTopic } from '../../metadata/topic-commands.ts';

type CreateTopicResult = CreateTopicsResponse['topics'][number];
type RequestTopic = CreateTopicsRequest['topics'][number];

/** The names that occur more than once in a request (each is refused INVALID_REQUEST). */
export function repeatedNames(names: readonly string[]): ReadonlySet<string> {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const name of names) (seen.has(name) ? repeated : seen).add(name);
  return repeated;
}

/** A CreateTopics topic refused: -1 counts and null configs, as Kafka answers. */
export function refusedTopic(
  name: string,
  errorCode: number,
  errorMessage: string | null,
): CreateTopicResult {
  return {
    name,
    topicId: ZERO_UUID,
    errorCode,
    errorMessage,
    topicConfigErrorCode: 0,
    numPartitions: -1,
    replicationFactor: -1,
    configs: null,
  };
}

/** A CreateTopics topic named more than once in the request. */
export function repeatedTopic(name: string): CreateTopicResult {
  return refusedTopic(name, ErrorCode.INVALID_REQUEST, 'Found multiple entries for this topic.');
}

/** A CreateTopics topic created (validateOnly: it would be, and Kafka then gives no id). */
export function createdTopic(
  name: string,
  created: {
    readonly topicId: string;
    readonly numPartitions: number;
    readonly replicationFactor: number;
  },
  validateOnly: boolean,
  configs: CreateTopicResult['configs'],
): CreateTopicResult {
  return {
    name,
    topicId: validateOnly ? ZERO_UUID : created.topicId,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topicConfigErrorCode: 0,
    numPartitions: created.numPartitions,
    replicationFactor: created.replicationFactor,
    configs,
  };
}

/** CreateTopics with every topic refused `errorCode` (a handler's errorResponse). */
export function refusedCreateTopics(
  request: CreateTopicsRequest,
  _version: number,
  errorCode: number,
): CreateTopicsResponse {
  const topics = request.topics.map((t) => refusedTopic(t.name, errorCode, null));
  return { ...newCreateTopicsResponse(), topics };
}

/** ElectLeaders reporting one error: top level from v1, for each named partition in v0. */
export function refusedElections(
  request: ElectLeadersRequest,
  version: number,
  errorCode: number,
): ElectLeadersResponse {
  const response = newElectLeadersResponse();
  if (version >= 1) return { ...response, errorCode };
  response.replicaElectionResults = (request.topicPartitions ?? []).map((t) => ({
    topic: t.topic,
    partitionResult: t.partitions.map((partitionId) => ({
      partitionId,
      errorCode,
      errorMessage: null,
    })),
  }));
  return response;
}

/** A CreateTopics request topic as the topic commands take it. */
export function newTopicOf(topic: RequestTopic): NewTopic {
  const assignments = [...topic.assignments]
    .sort((a, b) => a.partitionIndex - b.partitionIndex)
    .map((a) => a.brokerIds);
  return {
    name: topic.name,
    numPartitions: topic.numPartitions,
    replicationFactor: topic.replicationFactor,
    configs: new Map(topic.configs.map((c) => [c.name, c.value])),
    assignments,
  };
}

/** CreateTopics v5+: every topic config of a created topic, with value and source. */
export function createdTopicConfigs(
  overrides: ReadonlyMap<string, string>,
  config: BrokerConfig,
): NonNullable<CreateTopicResult['configs']> {
  return describeTopicConfigs(overrides, config).map((c) => ({
    name: c.name,
    value: c.value,
    readOnly: c.readOnly,
    configSource: c.source,
    isSensitive: c.isSensitive,
  }));
}

/** DeleteTopics' topics, by name before v6 and by name or id from v6. */
export function requestedDeletions(
  request: DeleteTopicsRequest,
  version: number,
): readonly { readonly name: string | null; readonly topicId: string }[] {
  return version >= 6
    ? request.topics
    : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
}

/** DeleteTopics with every topic refused `errorCode` (a handler's errorResponse). */
export function refusedDeletions(
  request: DeleteTopicsRequest,
  version: number,
  errorCode: number,
): DeleteTopicsResponse['responses'] {
  return requestedDeletions(request, version).map((t) => ({
    name: t.name,
    topicId: t.topicId,
    errorCode,
    errorMessage: null,
  }));
}

/** The changes a resource's configs plan, or why they are refused. */
export type Planned =
  | readonly ConfigChange[]
  | { readonly errorCode: number; readonly message: string };

const Operation = { set: 0, delete: 1, append: 2, subtract: 3 } as const;

type IncrementalConfig = IncrementalAlterConfigsRequest['resources'][number]['configs'][number];

export function duplicated(names: readonly string[]): string | undefined {
  return names.find((name, i) => names.indexOf(name) !== i);
}

/**
 * IncrementalAlterConfigs' operations on one resource as a plan over its current overrides:
 * SET, DELETE, and APPEND/SUBTRACT on the effective value of a list config.
 */
export function incrementalPlan(
  configs: readonly IncrementalConfig[],
  config: BrokerConfig,
): (current: ReadonlyMap<string, string>) => Planned {
  return (current) => {
    const twice = duplicated(configs.map((c) => c.name));
    if (twice) return { errorCode: ErrorCode.INVALID_REQUEST, message: `Duplicate ${twice}` };
    const changes: ConfigChange[] = [];
    for (const c of configs) {
      if (c.configOperation === Operation.set) changes.push([c.name, c.value]);
      else if (c.configOperation === Operation.delete) changes.push([c.name, null]);
      else if (c.configOperation === Operation.append || c.configOperation === Operation.subtract) {
        const def = TOPIC_CONFIGS[c.name];
        if (def?.kind !== 'list') {
          return { errorCode: ErrorCode.INVALID_CONFIG, message: `${c.name} is not a list` };
        }
        const effective = current.get(c.name) ?? def.brokerDefault(config);
        const items = effective.split(',').filter((s) => s !== '');
        const given = (c.value ?? '').split(',').filter((s) => s !== '');
        const next =
          c.configOperation === Operation.append
            ? [...items, ...given.filter((g) => !items.includes(g))]
            : items.filter((i) => !given.includes(i));
        changes.push([c.name, next.join(',')]);
      } else {
        return {
          errorCode: ErrorCode.INVALID_CONFIG,
          message: `Bad operation ${c.configOperation}`,
        };
      }
    }
    return changes;
  };
}

type WholeConfig = AlterConfigsRequest['resources'][number]['configs'][number];

/** AlterConfigs' whole set for one resource as a plan: overrides not named are removed. */
export function replacementPlan(
  configs: readonly WholeConfig[],
): (current: ReadonlyMap<string, string>) => Planned {
  return (current) => {
    const names = configs.map((c) => c.name);
    const twice = duplicated(names);
    if (twice) return { errorCode: ErrorCode.INVALID_REQUEST, message: `Duplicate ${twice}` };
    const removed = [...current.keys()].filter((k) => !names.includes(k));
    return [
      ...configs.map((c): ConfigChange => [c.name, c.value]),
      ...removed.map((k): ConfigChange => [k, null]),
    ];
  };
}
