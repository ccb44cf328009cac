/**
 * The group coordinator as the broker runs it: a GroupCoordinator over a GroupStore on the
 * partitions of __consumer_offsets.
 *
 * Lifecycle, as in Kafka:
 * - __consumer_offsets is created lazily, by the first FindCoordinator for a group
 *   (`ensureCoordinator`), with offsets.topic.num.partitions partitions, compacted. A broker
 *   that never sees a consumer group has no such topic.
 * - When the topic exists (at start, once created, or once an image shows it: another broker
 *   created it) the coordinator is built for its actual partition count (the topic's, not the
 *   config's, if they differ).
 * - The coordinator serves exactly the partitions this broker LEADS, each at the leader epoch
 *   it was loaded at. `leadershipChanged()` (called after each metadata image, once the
 *   ReplicaManager applied it) compares: a partition led at a new epoch (gained, or regained
 *   after another leader) is unloaded if it was loaded and loaded again from its log; a
 *   partition no longer led is unloaded (its groups answer NOT_COORDINATOR, and members
 *   waiting in JoinGroup/SyncGroup get NOT_COORDINATOR at once, so clients look the
 *   coordinator up again). Until a partition's replay ends its groups are answered
 *   COORDINATOR_LOAD_IN_PROGRESS, which clients retry. `loaded` settles when every load
 *   started so far has ended; a partition whose records cannot be read is logged and stays
 *   unowned (NOT_COORDINATOR rather than state rebuilt from half a log) until its next epoch.
 * - A load reads the log to its END, not to the high watermark, as Kafka's classic
 *   GroupMetadataManager does: the new leader was in the ISR, its log is what every replica
 *   converges to (followers truncate to it), so a suffix above the HW becomes committed as
 *   the HW advances rather than being lost; the coordinator's own writes are answered only
 *   once committed (the store waits for the HW), which is what makes an acknowledged commit
 *   survive a failover.
 *
 * Single node: every partition is led here at one epoch; nothing moves.
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
import type { GroupStore } from './group-store.ts';
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
  /**
   * The leader epoch of `partition` when this broker leads it, else undefined. Absent: every
   * partition with a log (`log`) is led here at epoch 0 (a single node over plain logs).
   */
  leaderEpoch?(partition: number): number | undefined;
  /**
   * The store the coordinator appends through, told the epoch each partition was loaded at
   * (undefined: not coordinated here). Absent: a LogGroupStore appending to `log` directly.
   */
  store?(loadedEpoch: (partition: number) => number | undefined): GroupStore;
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
  /** Partitions coordinated here (loading or loaded), with the leader epoch of their load. */
  readonly #epochs = new Map<number, number>();
  /** Loads not yet ended (each removes itself). */
  readonly #loads = new Set<Promise<void>>();
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

  /** Settles once every load started so far has ended (a failure is logged, not thrown). */
  get loaded(): Promise<void> {
    return Promise.all([...this.#loads]).then(() => undefined);
  }

  /** The partition of __consumer_offsets holding `groupId`; undefined before the topic. */
  partitionFor(groupId: string): number | undefined {
    return this.#coordinator?.partitionFor(groupId);
  }

  /** The leader epoch `partition` was loaded at; undefined when not coordinated here. */
  coordinatedEpoch(partition: number): number | undefined {
    return this.#epochs.get(partition);
  }

  /**
   * Follows leadership: to be called after each metadata image, once the ReplicaManager has
   * applied it (partitions led here are hosted as leader). Starts coordinating when the
   * topic appeared; loads partitions led here at a new epoch; unloads those no longer led.
   * Synchronous: loads run in the background (their groups answer
   * COORDINATOR_LOAD_IN_PROGRESS meanwhile), so images are not held up by a long replay.
   */
  leadershipChanged(): void {
    if (this.#closed) return;
    if (this.#coordinator === undefined) {
      const count = this.#options.host.partitionCount();
      if (count !== undefined) this.#activate(count);
      return;
    }
    this.#reconcile(this.#coordinator);
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
    const store =
      host.store?.((partition) => this.#epochs.get(partition)) ??
      new LogGroupStore({ clock, logFor: (p) => host.log(p) });
    const coordinator = new GroupCoordinator({
      clock,
      random,
      store,
      logger: this.#logger,
      config: { ...this.#config, 'offsets.topic.num.partitions': partitionCount },
    });
    this.#coordinator = coordinator;
    this.#reconcile(coordinator);
  }

  #reconcile(coordinator: GroupCoordinator): void {
    const { host } = this.#options;
    const exists = host.partitionCount() !== undefined;
    const count = coordinator.config['offsets.topic.num.partitions'];
    for (let partition = 0; partition < count; partition++) {
      const epoch = exists ? this.#leaderEpochOf(partition) : undefined;
      const current = this.#epochs.get(partition);
      if (epoch === current) continue;
      if (current !== undefined) {
        // Before any new load: the groups and waiters of the old epoch go first.
        coordinator.unloadPartition(partition);
        this.#epochs.delete(partition);
        this.#logger.info(
          { topic: offsetsTopicName, partition, leaderEpoch: current },
          'no longer coordinating: groups unloaded',
        );
      }
      const log = epoch === undefined ? undefined : host.log(partition);
      if (epoch === undefined || log === undefined) continue;
      this.#epochs.set(partition, epoch);
      this.#load(coordinator, partition, epoch, log);
    }
  }

  #leaderEpochOf(partition: number): number | undefined {
    const host = this.#options.host;
    if (host.leaderEpoch) return host.leaderEpoch(partition);
    return host.log(partition) === undefined ? undefined : 0;
  }

  #load(coordinator: GroupCoordinator, partition: number, epoch: number, log: PartitionLog) {
    // loadPartition marks the partition loading before its first await: no gap.
    const load = coordinator
      .loadPartition(partition, readGroupRecords(log, this.#options.host.fs))
      .catch((error: unknown) => {
        const current = this.#epochs.get(partition) === epoch;
        // A load overtaken by a leadership change may fail on a log that moved under it.
        this.#logger[current ? 'error' : 'info'](
          { err: error, topic: offsetsTopicName, partition, leaderEpoch: epoch },
          current
            ? 'loading group state failed; its groups are not served'
            : 'a load abandoned by a leadership change ended',
        );
      })
      .finally(() => this.#loads.delete(load));
    this.#loads.add(load);
  }

  /**
   * Stops answering (COORDINATOR_NOT_AVAILABLE) and cancels the coordinator's timers; the
   * logs stay open (their owner closes them). Loads in flight end first: a load finishing
   * after the close would arm session timers nobody cancels.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#creating;
    await this.loaded;
    this.#coordinator?.close();
  }
}
