/**
 * ClusterMetadata: the broker's view of the cluster (it implements MetadataView for the
 * handlers) and, on a single node, its controller. Operations (create/delete topics, add
 * partitions, allocate producer ids) run one at a time, in arrival order, like Kafka's
 * controller event queue: each is checked against the latest image, its records appended to
 * the MetadataLog, and the new image published to listeners (the ReplicaManager) before the
 * operation resolves, so a created topic's logs exist when CreateTopics answers.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { MetadataRecordType } from '../../protocol/generated/metadata-record-table.ts';
import type { BrokerEndpoint, MetadataView, TopicView } from '../handlers/metadata-view.ts';
import type { Random } from '../util/random.ts';
import { randomUuid } from './meta-properties.ts';
import type { MetadataImage, TopicImage } from './metadata-image.ts';
import type { MetadataLog } from './metadata-log.ts';
import type { MetadataRecord } from './metadata-record.ts';
import {
  alterTopicConfigRecords,
  type CommandResult,
  type ConfigChange,
  type CreatedTopic,
  createPartitionsRecords,
  createTopicRecords,
  deleteTopicRecords,
  type NewTopic,
  type TopicDefaults,
} from './topic-commands.ts';

/** Producer ids are reserved this many at a time (Kafka's block size). */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
/** Operations waiting for the controller; past this new ones are refused. */
const PENDING_OPERATIONS_MAX = 10_000;

export type ImageListener = (image: MetadataImage, previous: MetadataImage) => Promise<void>;

export interface ClusterMetadataOptions {
  readonly clusterId: string;
  readonly nodeId: number;
  /** This node's endpoint per listener (known once the listeners are bound). */
  readonly endpoints: () => ReadonlyMap<string, BrokerEndpoint>;
  readonly image: MetadataImage;
  readonly log: MetadataLog;
  readonly random: Random;
  readonly defaults: () => TopicDefaults;
}

export type OperationResult<T> =
  | ({ readonly errorCode: 0 } & T)
  | { readonly errorCode: number; readonly errorMessage: string };

export class ClusterMetadata implements MetadataView {
  readonly clusterId: string;
  readonly #nodeId: number;
  readonly #endpoints: () => ReadonlyMap<string, BrokerEndpoint>;
  readonly #log: MetadataLog;
  readonly #random: Random;
  readonly #defaults: () => TopicDefaults;
  readonly #listeners: ImageListener[] = [];
  #image: MetadataImage;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #producerIdNext = 0;
  #producerIdEnd = 0;

  constructor(options: ClusterMetadataOptions) {
    this.clusterId = options.clusterId;
    this.#nodeId = options.nodeId;
    this.#endpoints = options.endpoints;
    this.#image = options.image;
    this.#log = options.log;
    this.#random = options.random;
    this.#defaults = options.defaults;
  }

  get image(): MetadataImage {
    return this.#image;
  }

  /** Called with each new image, awaited before the operation that made it resolves. */
  onImage(listener: ImageListener): void {
    this.#listeners.push(listener);
  }

  controllerId(): number {
    return this.#nodeId;
  }

  brokers(listenerName: string): readonly BrokerEndpoint[] {
    const endpoint = this.#endpoints().get(listenerName);
    return endpoint ? [endpoint] : [];
  }

  brokerIds(): readonly number[] {
    return [this.#nodeId];
  }

  topics(): Iterable<TopicView> {
    return this.#image.topics();
  }

  topic(name: string): TopicImage | undefined {
    return this.#image.topic(name);
  }

  topicById(topicId: string): TopicImage | undefined {
    return this.#image.topicById(topicId);
  }

  readonly autoCreateTopic = async (name: string): Promise<number> => {
    const result = await this.createTopic({
      name,
      numPartitions: -1,
      replicationFactor: -1,
      configs: new Map(),
      assignments: [],
    });
    return result.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS ? ErrorCode.NONE : result.errorCode;
  };

  /** Creates a topic (or, with `validateOnly`, says whether it could be). */
  createTopic(topic: NewTopic, validateOnly = false): Promise<OperationResult<CreatedTopic>> {
    return this.#run(() => {
      const result = createTopicRecords(this.#image, topic, {
        defaults: this.#defaults(),
        brokerIds: this.brokerIds(),
        topicId: this.#newTopicId(),
      });
      return validateOnly && result.errorCode === 0 ? { ...result, records: [] } : result;
    });
  }

  deleteTopic(topicId: string): Promise<OperationResult<object>> {
    return this.#run((): CommandResult<object> => {
      const topic = this.#image.topicById(topicId);
      if (!topic) {
        return {
          errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
          errorMessage: 'This server does not host this topic ID.',
        };
      }
      return { errorCode: 0, records: deleteTopicRecords(topicId) };
    });
  }

  createPartitions(
    name: string,
    totalCount: number,
    assignments: readonly (readonly number[])[] | null,
    validateOnly = false,
  ): Promise<OperationResult<{ readonly added: number }>> {
    return this.#run(() => {
      const result = createPartitionsRecords(
        this.#image,
        name,
        totalCount,
        assignments,
        this.brokerIds(),
      );
      return validateOnly && result.errorCode === 0 ? { ...result, records: [] } : result;
    });
  }

  /** Sets (value) or removes (null) topic config overrides, all or none. */
  alterTopicConfigs(
    name: string,
    changes: readonly ConfigChange[],
    validateOnly = false,
  ): Promise<OperationResult<object>> {
    return this.#run(() => {
      const result = alterTopicConfigRecords(this.#image, name, changes);
      return validateOnly && result.errorCode === 0 ? { ...result, records: [] } : result;
    });
  }

  /** A new producer id; blocks of ids are reserved durably so none is handed out twice. */
  allocateProducerId(): Promise<number> {
    if (this.#producerIdNext < this.#producerIdEnd) {
      return Promise.resolve(this.#producerIdNext++);
    }
    return this.#run(() => {
      if (this.#producerIdNext < this.#producerIdEnd) {
        return { errorCode: 0, records: [], id: this.#producerIdNext++, end: -1 };
      }
      // The block is used only once its record is committed (below), never before.
      const start = this.#image.nextProducerId;
      const end = start + PRODUCER_ID_BLOCK_SIZE;
      const record: MetadataRecord = {
        type: MetadataRecordType.ProducerIdsRecord,
        data: { brokerId: this.#nodeId, brokerEpoch: -1, nextProducerId: end },
      };
      return { errorCode: 0, records: [record], id: start, end };
    }).then((result) => {
      if (result.errorCode !== 0 || !('id' in result)) throw new Error('no producer id');
      if (result.end > this.#producerIdEnd) {
        this.#producerIdNext = result.id + 1;
        this.#producerIdEnd = result.end;
      }
      return result.id;
    });
  }

  #newTopicId(): string {
    for (;;) {
      const id = randomUuid(this.#random);
      if (!this.#image.topicById(id)) return id;
    }
  }

  /** Runs `decide` after every earlier operation; appends and publishes its records. */
  #run<T extends object>(decide: () => CommandResult<T>): Promise<OperationResult<T>> {
    if (this.#pending >= PENDING_OPERATIONS_MAX) {
      return Promise.resolve({
        errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED,
        errorMessage: 'Too many pending metadata operations.',
      });
    }
    this.#pending++;
    const run = this.#queue.then(async (): Promise<OperationResult<T>> => {
      const result = decide();
      if (result.errorCode !== 0 || !('records' in result)) return result;
      try {
        if (result.records.length > 0) await this.#commit(result.records);
      } catch (error) {
        // Not committed: the image is unchanged, and the client may retry.
        const message = error instanceof Error ? error.message : String(error);
        return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: message };
      }
      const { records: _records, ...rest } = result;
      return rest as OperationResult<T>;
    });
    this.#queue = run.catch(() => undefined).finally(() => this.#pending--);
    return run;
  }

  async #commit(records: readonly MetadataRecord[]): Promise<void> {
    const offset = await this.#log.append(records);
    const previous = this.#image;
    this.#image = previous.apply(records, offset);
    for (const listener of this.#listeners) await listener(this.#image, previous);
  }
}
