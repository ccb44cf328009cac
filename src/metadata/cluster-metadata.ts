/**
 * ClusterMetadata: the broker's view of the cluster (it implements MetadataView for the
 * handlers). Two modes:
 *
 * - Single node (`log`): it is also the controller. Operations (create/delete topics, add
 *   partitions, allocate producer ids) run one at a time, in arrival order, like Kafka's
 *   controller event queue: each is checked against the latest image, its records appended
 *   to the MetadataLog, and the new image published to listeners (the ReplicaManager) before
 *   the operation resolves, so a created topic's logs exist when CreateTopics answers.
 * - Cluster (`forward`): the image comes only from the committed metadata stream
 *   (`applyCommitted`, fed by src/node's MetadataQuorum), applied in order and published to
 *   the listeners, each awaited. Operations are forwarded to the active controller
 *   (CreateTopics v7, DeleteTopics v6, CreatePartitions v3, IncrementalAlterConfigs v1,
 *   AllocateProducerIds v0 in blocks, as Kafka's RPCProducerIdManager) and resolve once this
 *   broker's image shows the controller's answer (the created topic and its partitions, the
 *   configs) and the listeners have seen it, so a client that creates then produces finds
 *   its topic here. Brokers come from the image's registrations; the controller is the
 *   quorum leader.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import type { ApiDescriptor } from '../../protocol/generated/api-table.ts';
import { Apis } from '../../protocol/generated/api-table.ts';
import { MetadataRecordType } from '../../protocol/generated/metadata-record-table.ts';
import type { BrokerEndpoint, MetadataView, TopicView } from '../handlers/metadata-view.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { BrokerError } from '../util/errors.ts';
import type { Random } from '../util/random.ts';
import { brokersFromImage } from './image-view.ts';
import { randomUuid } from './meta-properties.ts';
import { MetadataImage, type TopicImage } from './metadata-image.ts';
import type { MetadataLog } from './metadata-log.ts';
import {
  CONFIG_RESOURCE_TOPIC,
  decodeMetadataRecord,
  type MetadataRecord,
} from './metadata-record.ts';
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

/** Operations waiting for this broker's image to show their effect; past this, refused. */
const IMAGE_WAITERS_MAX = 10_000;
/** IncrementalAlterConfigs operations (Kafka's OpType). */
const CONFIG_OP_SET = 0;
const CONFIG_OP_DELETE = 1;

export type ImageListener = (image: MetadataImage, previous: MetadataImage) => Promise<void>;

/** The requests ClusterMetadata sends to the active controller (src/node's ControllerChannel). */
export interface ControllerRequester {
  send<Req, Res>(api: ApiDescriptor<Req, Res>, version: number, body: Req): Promise<Res>;
}

/** Cluster mode: where operations go and how long to wait for their effect here. */
export interface ForwardingOptions {
  readonly channel: ControllerRequester;
  /** The quorum leader (the active controller), -1 when unknown. */
  readonly controllerId: () => number;
  /** This broker's current epoch (AllocateProducerIds), -1 while unregistered. */
  readonly brokerEpoch: () => number;
  readonly clock: Clock;
  /** How long an operation waits for the image to show the controller's answer. */
  readonly catchUpTimeoutMs: number;
  /** The `timeoutMs` sent in CreateTopics, DeleteTopics and CreatePartitions. */
  readonly requestTimeoutMs: number;
}

/** A committed stretch of the metadata log (src/node's CommittedBatch). */
export interface CommittedRecords {
  readonly records: readonly { readonly offset: number; readonly data: Buffer }[];
  readonly lastOffset: number;
  /** The records are a snapshot's: they replace the image. */
  readonly snapshot?: boolean;
}

export interface ClusterMetadataOptions {
  readonly clusterId: string;
  readonly nodeId: number;
  /** This node's endpoint per listener (known once the listeners are bound). */
  readonly endpoints: () => ReadonlyMap<string, BrokerEndpoint>;
  readonly image: MetadataImage;
  /** Single-node mode: the log this node's own controller appends to. */
  readonly log?: MetadataLog;
  /** Cluster mode (exclusive with `log`). */
  readonly forward?: ForwardingOptions;
  readonly random: Random;
  readonly defaults: () => TopicDefaults;
}

interface ImageWaiter {
  readonly check: (image: MetadataImage) => boolean;
  readonly resolve: (caughtUp: boolean) => void;
  readonly timer: TimerHandle;
}

export type OperationResult<T> =
  | ({ readonly errorCode: 0 } & T)
  | { readonly errorCode: number; readonly errorMessage: string };

export class ClusterMetadata implements MetadataView {
  readonly clusterId: string;
  readonly #nodeId: number;
  readonly #endpoints: () => ReadonlyMap<string, BrokerEndpoint>;
  readonly #log: MetadataLog | undefined;
  readonly #forward: ForwardingOptions | undefined;
  readonly #random: Random;
  readonly #defaults: () => TopicDefaults;
  readonly #listeners: ImageListener[] = [];
  #image: MetadataImage;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #producerIdNext = 0;
  #producerIdEnd = 0;
  /** Cluster mode: the AllocateProducerIds call in flight, shared by concurrent callers. */
  #producerIdBlock: Promise<void> | undefined;
  /** Cluster mode: committed batches are applied one after another on this chain. */
  #applying: Promise<void> = Promise.resolve();
  #imageWaiters: ImageWaiter[] = [];

  constructor(options: ClusterMetadataOptions) {
    if ((options.log === undefined) === (options.forward === undefined)) {
      throw new BrokerError('CLUSTER_METADATA_MODE', 'give exactly one of log and forward');
    }
    this.clusterId = options.clusterId;
    this.#nodeId = options.nodeId;
    this.#endpoints = options.endpoints;
    this.#image = options.image;
    this.#log = options.log;
    this.#forward = options.forward;
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

  /** True in cluster mode (operations forwarded, image from the committed stream). */
  get isClusterMode(): boolean {
    return this.#forward !== undefined;
  }

  /**
   * What Metadata and DescribeCluster name as the controller. In cluster mode clients send
   * admin requests there and brokers forward them, so it must be a live broker they can
   * reach (as in Kafka 4, which names a random live broker): the quorum leader when it is
   * one, else the lowest live broker id; -1 when none is live.
   */
  controllerId(): number {
    if (!this.#forward) return this.#nodeId;
    const leader = this.#forward.controllerId();
    const live = [...this.#image.brokers()].filter((b) => !b.fenced && !b.inControlledShutdown);
    if (live.some((b) => b.id === leader)) return leader;
    return live.reduce((lowest, b) => (lowest === -1 || b.id < lowest ? b.id : lowest), -1);
  }

  /**
   * Cluster mode: the channel to the active controller, for the requests a broker passes on
   * as they came (ElectLeaders, DescribeQuorum); undefined on a single node, which is its own
   * controller.
   */
  get forwardToController(): ControllerRequester | undefined {
    return this.#forward?.channel;
  }

  brokers(listenerName: string): readonly BrokerEndpoint[] {
    if (this.#forward) return brokersFromImage(this.#image, listenerName);
    const endpoint = this.#endpoints().get(listenerName);
    return endpoint ? [endpoint] : [];
  }

  /** Brokers replicas may be placed on: this node alone, or the unfenced registered ones. */
  brokerIds(): readonly number[] {
    if (!this.#forward) return [this.#nodeId];
    const ids: number[] = [];
    for (const broker of this.#image.brokers()) if (!broker.fenced) ids.push(broker.id);
    return ids.sort((a, b) => a - b);
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
    if (this.#forward) return this.#forwardCreateTopic(this.#forward, topic, validateOnly);
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
    if (this.#forward) return this.#forwardDeleteTopic(this.#forward, topicId);
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
    if (this.#forward) {
      return this.#forwardCreatePartitions(
        this.#forward,
        name,
        totalCount,
        assignments,
        validateOnly,
      );
    }
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
    if (this.#forward) return this.#forwardAlterConfigs(this.#forward, name, changes, validateOnly);
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
    if (this.#forward) return this.#forwardAllocateProducerId(this.#forward);
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
    const log = this.#log as MetadataLog;
    const offset = await log.append(records);
    const previous = this.#image;
    this.#image = previous.apply(records, offset);
    for (const listener of this.#listeners) await listener(this.#image, previous);
  }

  // ---- Cluster mode ---------------------------------------------------------------------

  /**
   * Applies one committed stretch of the metadata log (cluster mode): decoded, applied in
   * offset order, published to every listener (each awaited); batches apply one after
   * another in call order. A snapshot's records replace the image. Rejects when a record
   * does not decode or a listener fails: the caller treats that as fatal (the image no
   * longer follows the log).
   */
  applyCommitted(batch: CommittedRecords): Promise<void> {
    const run = this.#applying.then(() => this.#applyCommitted(batch));
    this.#applying = run.catch(() => undefined);
    return run;
  }

  async #applyCommitted(batch: CommittedRecords): Promise<void> {
    const previous = this.#image;
    let next = batch.snapshot ? MetadataImage.EMPTY : previous;
    // The image gives records consecutive offsets: apply each run of consecutive offsets
    // (leader-change entries of the Raft log sit between runs) at its own last offset.
    let run: MetadataRecord[] = [];
    let runEnd = -1;
    for (const { offset, data } of batch.records) {
      const record = decodeMetadataRecord(data);
      if (run.length > 0 && offset !== runEnd + 1 && !batch.snapshot) {
        next = next.apply(run, runEnd);
        run = [];
      }
      run.push(record);
      runEnd = batch.snapshot ? batch.lastOffset : offset;
    }
    if (run.length > 0) next = next.apply(run, batch.snapshot ? batch.lastOffset : runEnd);
    if (batch.lastOffset > next.offset) next = next.apply([], batch.lastOffset);
    if (next === previous) return;
    this.#image = next;
    for (const listener of this.#listeners) await listener(next, previous);
    this.#checkImageWaiters();
  }

  /** Resolves true once `check` holds for the published image, false after the timeout. */
  #whenImage(forward: ForwardingOptions, check: (image: MetadataImage) => boolean) {
    if (check(this.#image)) return Promise.resolve(true);
    if (this.#imageWaiters.length >= IMAGE_WAITERS_MAX) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: ImageWaiter = {
        check,
        resolve,
        timer: forward.clock.setTimer(forward.catchUpTimeoutMs, () => {
          this.#imageWaiters = this.#imageWaiters.filter((w) => w !== waiter);
          resolve(false);
        }),
      };
      this.#imageWaiters.push(waiter);
    });
  }

  #checkImageWaiters(): void {
    if (this.#imageWaiters.length === 0) return;
    const image = this.#image;
    const waiting: ImageWaiter[] = [];
    for (const waiter of this.#imageWaiters) {
      if (!waiter.check(image)) {
        waiting.push(waiter);
        continue;
      }
      waiter.timer.cancel();
      waiter.resolve(true);
    }
    this.#imageWaiters = waiting;
  }

  /** Sends to the controller; a channel that gave up becomes REQUEST_TIMED_OUT. */
  async #send<Req, Res>(
    forward: ForwardingOptions,
    api: ApiDescriptor<Req, Res>,
    version: number,
    body: Req,
  ): Promise<{ readonly response: Res } | { readonly errorCode: number; errorMessage: string }> {
    try {
      return { response: await forward.channel.send(api, version, body) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: message };
    }
  }

  async #forwardCreateTopic(
    forward: ForwardingOptions,
    topic: NewTopic,
    validateOnly: boolean,
  ): Promise<OperationResult<CreatedTopic>> {
    const sent = await this.#send(forward, Apis.CreateTopics, 7, {
      topics: [
        {
          name: topic.name,
          numPartitions: topic.numPartitions,
          replicationFactor: topic.replicationFactor,
          assignments: topic.assignments.map((brokerIds, partitionIndex) => ({
            partitionIndex,
            brokerIds: [...brokerIds],
          })),
          configs: [...topic.configs].map(([name, value]) => ({ name, value })),
        },
      ],
      timeoutMs: forward.requestTimeoutMs,
      validateOnly,
    });
    if (!('response' in sent)) return sent;
    const result = sent.response.topics.find((t) => t.name === topic.name);
    if (!result) return unanswered('CreateTopics');
    if (result.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && !validateOnly) {
      // Created by someone else (auto-creation races): the caller next looks it up here.
      await this.#whenImage(forward, (image) => image.topic(topic.name) !== undefined);
    }
    if (result.errorCode !== ErrorCode.NONE) return refusal(result);
    const requested = new Map<string, string>();
    for (const [name, value] of topic.configs) if (value !== null) requested.set(name, value);
    if (validateOnly) {
      return {
        errorCode: 0,
        topicId: result.topicId,
        numPartitions: result.numPartitions,
        replicationFactor: result.replicationFactor,
        configs: requested,
      };
    }
    const shown = (image: MetadataImage): boolean => {
      const created = image.topicById(result.topicId);
      return created !== undefined && created.partitions.length >= result.numPartitions;
    };
    await this.#whenImage(forward, shown);
    return {
      errorCode: 0,
      topicId: result.topicId,
      numPartitions: result.numPartitions,
      replicationFactor: result.replicationFactor,
      configs: this.#image.topicById(result.topicId)?.configs ?? requested,
    };
  }

  async #forwardDeleteTopic(
    forward: ForwardingOptions,
    topicId: string,
  ): Promise<OperationResult<object>> {
    const sent = await this.#send(forward, Apis.DeleteTopics, 6, {
      topics: [{ name: null, topicId }],
      topicNames: [],
      timeoutMs: forward.requestTimeoutMs,
    });
    if (!('response' in sent)) return sent;
    const result = sent.response.responses[0];
    if (!result) return unanswered('DeleteTopics');
    if (result.errorCode !== ErrorCode.NONE) return refusal(result);
    await this.#whenImage(forward, (image) => image.topicById(topicId) === undefined);
    return { errorCode: 0 };
  }

  async #forwardCreatePartitions(
    forward: ForwardingOptions,
    name: string,
    totalCount: number,
    assignments: readonly (readonly number[])[] | null,
    validateOnly: boolean,
  ): Promise<OperationResult<{ readonly added: number }>> {
    const before = this.#image.topic(name)?.partitions.length ?? 0;
    const sent = await this.#send(forward, Apis.CreatePartitions, 3, {
      topics: [
        {
          name,
          count: totalCount,
          assignments: assignments?.map((brokerIds) => ({ brokerIds: [...brokerIds] })) ?? null,
        },
      ],
      timeoutMs: forward.requestTimeoutMs,
      validateOnly,
    });
    if (!('response' in sent)) return sent;
    const result = sent.response.results.find((r) => r.name === name);
    if (!result) return unanswered('CreatePartitions');
    if (result.errorCode !== ErrorCode.NONE) return refusal(result);
    if (!validateOnly) {
      await this.#whenImage(
        forward,
        (image) => (image.topic(name)?.partitions.length ?? 0) >= totalCount,
      );
    }
    return { errorCode: 0, added: Math.max(0, totalCount - before) };
  }

  async #forwardAlterConfigs(
    forward: ForwardingOptions,
    name: string,
    changes: readonly ConfigChange[],
    validateOnly: boolean,
  ): Promise<OperationResult<object>> {
    const sent = await this.#send(forward, Apis.IncrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: CONFIG_RESOURCE_TOPIC,
          resourceName: name,
          configs: changes.map(([config, value]) => ({
            name: config,
            configOperation: value === null ? CONFIG_OP_DELETE : CONFIG_OP_SET,
            value,
          })),
        },
      ],
      validateOnly,
    });
    if (!('response' in sent)) return sent;
    const result = sent.response.responses[0];
    if (!result) return unanswered('IncrementalAlterConfigs');
    if (result.errorCode !== ErrorCode.NONE) return refusal(result);
    if (!validateOnly) {
      await this.#whenImage(forward, (image) => {
        const configs = image.topic(name)?.configs;
        if (!configs) return true; // deleted meanwhile: nothing left to wait for
        // The last change to a name wins, as the controller applies them in order.
        const last = new Map(changes);
        for (const [config, value] of last) {
          if ((configs.get(config) ?? null) !== value) return false;
        }
        return true;
      });
    }
    return { errorCode: 0 };
  }

  /** Takes a new block of producer ids from the controller; one request at a time. */
  async #forwardAllocateProducerId(forward: ForwardingOptions): Promise<number> {
    for (;;) {
      if (this.#producerIdNext < this.#producerIdEnd) return this.#producerIdNext++;
      this.#producerIdBlock ??= this.#fetchProducerIdBlock(forward).finally(() => {
        this.#producerIdBlock = undefined;
      });
      await this.#producerIdBlock;
    }
  }

  async #fetchProducerIdBlock(forward: ForwardingOptions): Promise<void> {
    const response = await forward.channel.send(Apis.AllocateProducerIds, 0, {
      brokerId: this.#nodeId,
      brokerEpoch: forward.brokerEpoch(),
    });
    if (response.errorCode !== ErrorCode.NONE || response.producerIdLen <= 0) {
      throw new BrokerError(
        'PRODUCER_ID_BLOCK_REFUSED',
        `AllocateProducerIds answered error ${response.errorCode}`,
      );
    }
    this.#producerIdNext = response.producerIdStart;
    this.#producerIdEnd = response.producerIdStart + response.producerIdLen;
  }
}

function refusal(result: {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}): OperationResult<never> {
  return { errorCode: result.errorCode, errorMessage: result.errorMessage ?? '' };
}

function unanswered(api: string): OperationResult<never> {
  return {
    errorCode: ErrorCode.UNKNOWN_SERVER_ERROR,
    errorMessage: `${api}: the controller's answer names no result for the request`,
  };
}
