/**
 * The group coordinator as the broker runs it: a GroupCoordinator over a LogGroupStore on the
 * partitions of __consumer_offsets.
 *
 * Lifecycle, as in Kafka:
 * - __consumer_offsets is created lazily, by the first FindCoordinator for a group
 *   (`ensureCoordinator`), with offsets.topic.num.partitions partitions, compacted. A broker
 *   that never sees a consumer group has no such topic.
 * - When the topic exists (at start, or once created) the coordinator is built for its
 *   actual partition count (the topic's, not the config's, if they differ) and every
 *   partition led here starts loading at once. Until a partition's replay ends its groups are
 *   answered COORDINATOR_LOAD_IN_PROGRESS, which clients retry. `loaded` settles when every
 *   load has ended; a partition whose records cannot be read is logged and stays unowned (its
 *   groups get NOT_COORDINATOR rather than state rebuilt from half a log).
 *
 * Single node: this broker leads every partition. With replication the broker will call
 * loadPartition / unloadPartition on the coordinator as leadership moves.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import type { FileSystem } from '../../../storage/io/file-system.ts';
import type { PartitionLog } from '../../../storage/log/partition-log.ts';
import type { Clock } from '../../util/clock.ts';
import { type Logger, silentLogger } from '../../util/logger.ts';
import type { Random } from '../../util/random.ts';
import {
  defaultGroupCoordinatorConfig,
  type GroupCoordinatorConfig,
} from './coordinator-config.ts';
import { GroupCoordinator } from './group-coordinator.ts';
import { LogGroupStore, offsetsTopicName, readGroupRecords } from './log-group-store.ts';

/** Where __consumer_offsets lives: the broker's metadata and partition logs. */
export interface OffsetsTopicHost {
  /** The file system the logs' file regions are read through. */
  readonly fs: FileSystem;
  /** The topic's partition count, or undefined while it does not exist. */
  partitionCount(): number | undefined;
  /**
   * Creates the topic (compacted, `offsetsTopicConfigs`) with `numPartitions` partitions;
   * resolves to a Kafka error code, NONE also when it already existed.
   */
  createTopic(numPartitions: number): Promise<number>;
  /** The log of a partition this broker leads, else undefined. */
  log(partition: number): PartitionLog | undefined;
}

/**
 * Kafka's fixed topic configs of __consumer_offsets: compacted, 100 MiB segments
 * (offsets.topic.segment.bytes), so old commits are compacted away and loads stay short.
 */
export const offsetsTopicConfigs: ReadonlyMap<string, string> = new Map([
  ['cleanup.policy', 'compact'],
  ['segment.bytes', String(100 * 1024 * 1024)],
]);

export interface GroupServiceOptions {
  readonly host: OffsetsTopicHost;
  readonly clock: Clock;
  readonly random: Random;
  readonly config?: Partial<GroupCoordinatorConfig>;
  readonly logger?: Logger;
}

export class GroupService {
  readonly #options: GroupServiceOptions;
  readonly #config: GroupCoordinatorConfig;
  readonly #logger: Logger;
  #coordinator: GroupCoordinator | undefined;
  #loaded: Promise<void> = Promise.resolve();
  #creating: Promise<number> | undefined;
  #closed = false;

  constructor(options: GroupServiceOptions) {
    this.#options = options;
    this.#config = { ...defaultGroupCoordinatorConfig, ...options.config };
    this.#logger = options.logger ?? silentLogger();
  }

  /** Starts coordinating if __consumer_offsets exists already (a restart). */
  start(): void {
    const count = this.#options.host.partitionCount();
    if (count !== undefined) this.#activate(count);
  }

  /** The coordinator, once __consumer_offsets exists; undefined before. */
  get coordinator(): GroupCoordinator | undefined {
    return this.#coordinator;
  }

  /** Settles once every partition known so far was replayed (or failed to, which is logged). */
  get loaded(): Promise<void> {
    return this.#loaded;
  }

  /**
   * FindCoordinator's step: creates __consumer_offsets when missing and starts coordinating.
   * Resolves to NONE when a coordinator runs, else the error to answer (retriable).
   */
  ensureCoordinator(): Promise<number> {
    if (this.#closed) return Promise.resolve(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (this.#coordinator !== undefined) return Promise.resolve(ErrorCode.NONE);
    this.#creating ??= this.#create().finally(() => {
      this.#creating = undefined;
    });
    return this.#creating;
  }

  async #create(): Promise<number> {
    const host = this.#options.host;
    let errorCode: number;
    try {
      errorCode = await host.createTopic(this.#config['offsets.topic.num.partitions']);
    } catch (error) {
      this.#logger.error({ err: error, topic: offsetsTopicName }, 'creating the topic failed');
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    if (errorCode !== ErrorCode.NONE) {
      this.#logger.warn({ topic: offsetsTopicName, errorCode }, 'creating the topic failed');
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    const count = host.partitionCount();
    if (count === undefined || this.#closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.#coordinator === undefined) this.#activate(count);
    return ErrorCode.NONE;
  }

  #activate(partitionCount: number): void {
    const { host, clock, random } = this.#options;
    const store = new LogGroupStore({ clock, logFor: (p) => host.log(p) });
    const coordinator = new GroupCoordinator({
      clock,
      random,
      store,
      logger: this.#logger,
      config: { ...this.#config, 'offsets.topic.num.partitions': partitionCount },
    });
    this.#coordinator = coordinator;
    const loads: Promise<void>[] = [];
    for (let partition = 0; partition < partitionCount; partition++) {
      const log = host.log(partition);
      if (log === undefined) continue; // led elsewhere: NOT_COORDINATOR for its groups
      // loadPartition marks the partition loading before its first await: no gap.
      const load = coordinator.loadPartition(partition, readGroupRecords(log, host.fs));
      loads.push(
        load.catch((error: unknown) => {
          this.#logger.error(
            { err: error, topic: offsetsTopicName, partition },
            'loading group state failed; its groups are not served',
          );
        }),
      );
    }
    this.#loaded = Promise.all(loads).then(() => undefined);
  }

  /**
   * Stops answering (COORDINATOR_NOT_AVAILABLE) and cancels the coordinator's timers; the
   * logs stay open (their owner closes them). Loads in flight end first: a load finishing
   * after the close would arm session timers nobody cancels.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#creating;
    await this.#loaded;
    this.#coordinator?.close();
  }
}
