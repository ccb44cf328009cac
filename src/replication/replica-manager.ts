/**
 * ReplicaManager: the partitions this node hosts, kept in step with the metadata image
 * (Kafka's ReplicaManager with the role half of Partition.scala).
 *
 * - On each image (applied one at a time, in order): hosts every partition whose replicas
 *   include this node, as leader (the image names this node leader) or follower; closes and
 *   deletes the logs of partitions that left this node and of topics that left the image (a
 *   re-created topic of the same name is a new topic: its id differs, its old log goes); and
 *   rebuilds a partition's object when its topic configs change (the log keeps the config it
 *   was opened with until restart; produce-side checks use the new one at once).
 * - Becoming leader (new, from follower, or a new leader epoch): the follower fetcher lets go
 *   of the partition first (`unfollow` resolves when no fetch of it is appending), pending
 *   appends are flushed, then the new epoch is assigned at the log end in the leader-epoch
 *   cache (it starts there, as Kafka records it at election) and a PartitionLeaderState
 *   tracks followers, ISR and high watermark from there.
 * - Becoming follower: the leader state stops, acks=-1 produces waiting on it answer
 *   NOT_LEADER_OR_FOLLOWER, its queued appends are written, and the partition is handed to
 *   the fetchers (absent in single-node mode). Each follower append updates producer state
 *   (so a later leader deduplicates retries) and wakes waiting fetches.
 * - Appends (produce): checked by produce-validation.ts and the partition's idempotent
 *   producer state, written with `appendAsLeader`, which assigns offsets at once, so the
 *   check-then-write is atomic. The leader's own end counts for the high watermark once the
 *   append resolves (durable with fsync durability): with the leader alone in the ISR the HW
 *   is that end, as in single-node mode.
 * - Waiting rooms: `purgatory` holds long-poll fetches (consumers woken when the HW uncovers
 *   bytes, followers when the leader's log grows: keys `partitionKey` / `replicaWaitKey`),
 *   `delayedProduce` holds acks=-1 produces until the HW passes them.
 * - Producer state is rebuilt on open from the latest snapshot plus the batch headers after
 *   it, and a snapshot is written on close.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import type { RecordBatchView } from '../../protocol/records/batch.ts';
import { forEachLimited } from '../../storage/log/for-each-limited.ts';
import type { LogConfig } from '../../storage/log/log-config.ts';
import type { LogManager } from '../../storage/log/log-manager.ts';
import type { PartitionLog } from '../../storage/log/partition-log.ts';
import { logConfigOverrides } from '../config/topic-config.ts';
import { logBatches } from '../metadata/log-batches.ts';
import type { MetadataImage, PartitionImage, TopicImage } from '../metadata/metadata-image.ts';
import { METADATA_TOPIC } from '../metadata/metadata-log.ts';
import type { Clock } from '../util/clock.ts';
import { BrokerError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import type { Random } from '../util/random.ts';
import { DelayedProducePurgatory } from './delayed-produce.ts';
import { FetchPurgatory } from './fetch-purgatory.ts';
import { FetchSessionCache } from './fetch-sessions.ts';
import {
  type AlterPartitionSender,
  type IsrBrokerView,
  PartitionLeaderState,
} from './partition-leader-state.ts';
import { ProducerStateTable } from './producer-state.ts';
import type { FollowedPartition } from './replica-fetcher.ts';

/** A partition handed to the follower fetchers: replica-fetcher.ts owns the shape. */
export type { FollowedPartition } from './replica-fetcher.ts';

export type PartitionRole = 'leader' | 'follower';

export interface HostedPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly role: PartitionRole;
  /** The leader the image names (-1: none). */
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly log: PartitionLog;
  readonly producers: ProducerStateTable;
  /** Effective config: broker defaults with the topic's overrides. */
  readonly config: LogConfig;
  readonly topicConfigs: ReadonlyMap<string, string>;
  /** Followers, ISR and HW while this node leads the partition (role 'leader'). */
  readonly leader: PartitionLeaderState | undefined;
}

/** What ReplicaManager uses of the ReplicaFetcherManager. */
export interface PartitionFetchers {
  follow(partition: FollowedPartition): void;
  unfollow(topic: string, partition: number): Promise<void>;
}

export interface ReplicaManagerOptions {
  readonly logs: LogManager;
  readonly nodeId: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** Broker-level LogConfig (topic overrides apply on top). */
  readonly defaults: LogConfig;
  /** The follower fetchers (cluster mode); absent in single-node mode. */
  readonly fetchers?: PartitionFetchers | undefined;
  /** ISR changes to the controller (cluster mode); absent: the ISR never changes. */
  readonly alterPartition?: AlterPartitionSender | undefined;
  /** This broker's epoch (cluster mode: the offset of its registration); -1 by default. */
  readonly brokerEpoch?: (() => number) | undefined;
  /** replica.lag.time.max.ms (30000 by default). */
  readonly replicaLagTimeMaxMs?: number | undefined;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** The purgatory key follower fetches wait on (woken by leader appends, not the HW). */
export function replicaWaitKey(topic: string, partition: number): string {
  // ':' cannot occur in a topic name, so these never collide with partitionKey.
  return `${topic}-${partition}:replica`;
}

const REPLICA_LAG_TIME_MAX_MS_DEFAULT = 30_000;

/** Partitions of one topic hosted at once when an image changes many of them. */
const HOST_CONCURRENCY = 32;

export class ReplicaManager {
  readonly purgatory: FetchPurgatory;
  readonly delayedProduce: DelayedProducePurgatory;
  readonly fetchSessions: FetchSessionCache;
  readonly #o: ReplicaManagerOptions;
  readonly #logs: LogManager;
  readonly #nodeId: number;
  readonly #logger: Logger;
  readonly #defaults: LogConfig;
  readonly #partitions = new Map<string, HostedPartition>();
  readonly #topicIds = new Map<string, string>();
  #image: MetadataImage | undefined;
  /** Followed partitions truncated since their producer state was built: rebuilt on lead. */
  readonly #producersStale = new Set<string>();
  #applying: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: ReplicaManagerOptions) {
    this.#o = options;
    this.#logs = options.logs;
    this.#nodeId = options.nodeId;
    this.#logger = options.logger;
    this.#defaults = options.defaults;
    this.purgatory = new FetchPurgatory(options.clock);
    this.delayedProduce = new DelayedProducePurgatory(options.clock);
    this.fetchSessions = new FetchSessionCache(options.clock, options.random);
  }

  get logs(): LogManager {
    return this.#logs;
  }

  get nodeId(): number {
    return this.#nodeId;
  }

  /** Every partition hosted now, led or followed (the cleaner walks them on each run). */
  hosted(): IterableIterator<HostedPartition> {
    return this.#partitions.values();
  }

  partition(topic: string, partition: number): HostedPartition | undefined {
    return this.#partitions.get(partitionKey(topic, partition));
  }

  configFor(topic: TopicImage): LogConfig {
    return Object.freeze({ ...this.#defaults, ...logConfigOverrides(topic.configs) });
  }

  /**
   * Brings hosted partitions in line with `image` (startup: also removes stray logs). Images
   * are applied one at a time in call order, each after the previous one finished.
   */
  applyImage(image: MetadataImage): Promise<void> {
    const run = this.#applying.then(() => this.#apply(image));
    this.#applying = run.catch(() => undefined);
    return run;
  }

  async #apply(image: MetadataImage): Promise<void> {
    if (this.#closed) return;
    this.#image = image;
    for (const [name, topicId] of [...this.#topicIds]) {
      if (image.topic(name)?.topicId !== topicId) await this.#removeTopic(name);
    }
    for (const log of [...this.#logs.logs()]) {
      if (
        log.topic === METADATA_TOPIC ||
        this.#partitions.has(partitionKey(log.topic, log.partition))
      ) {
        continue;
      }
      const topic = image.topic(log.topic);
      const p = topic?.partitions[log.partition];
      if (!topic || !p || !this.#hostsHere(p)) {
        this.#logger.info({ topic: log.topic, partition: log.partition }, 'deleting stray log');
        await this.#logs.deleteLog(log.topic, log.partition);
      }
    }
    for (const topic of image.topics()) {
      this.#topicIds.set(topic.name, topic.topicId);
      const config = this.configFor(topic);
      // Partitions are independent: a topic of thousands of new partitions creates their logs
      // with overlapping fsyncs instead of one after another (about 3 ms each here).
      await forEachLimited(topic.partitions, HOST_CONCURRENCY, async (p) => {
        const key = partitionKey(topic.name, p.partitionIndex);
        if (this.#hostsHere(p)) await this.#host(topic, p, config);
        else if (this.#partitions.has(key)) await this.#unhost(key, true);
      });
    }
  }

  #hostsHere(p: PartitionImage): boolean {
    return p.replicaNodes.includes(this.#nodeId) || p.leaderId === this.#nodeId;
  }

  async #host(topic: TopicImage, p: PartitionImage, config: LogConfig): Promise<void> {
    const key = partitionKey(topic.name, p.partitionIndex);
    const current = this.#partitions.get(key);
    const role: PartitionRole = p.leaderId === this.#nodeId ? 'leader' : 'follower';
    const sameRole =
      current !== undefined &&
      current.role === role &&
      current.leaderEpoch === p.leaderEpoch &&
      current.leaderId === p.leaderId;
    if (sameRole) {
      current.leader?.updateFromImage({
        partitionEpoch: p.partitionEpoch,
        isr: p.isrNodes,
        replicas: p.replicaNodes,
      });
      if (current.topicConfigs !== topic.configs) {
        this.#partitions.set(key, { ...current, config, topicConfigs: topic.configs });
      }
      return;
    }
    if (current) this.#stopLeading(key, current);
    const log = current?.log ?? (await this.#logs.createLog(topic.name, p.partitionIndex));
    let producers = current?.producers ?? (await loadProducerState(log));
    const replica = {
      topic: topic.name,
      topicId: topic.topicId,
      partition: p.partitionIndex,
      leaderId: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      log,
    };
    const base = { ...replica, producers, config, topicConfigs: topic.configs };
    if (role === 'follower') {
      this.#partitions.set(key, { ...base, role, leader: undefined });
      const fetchers = this.#o.fetchers;
      if (!fetchers) return;
      // Leader appends still queued must be written before the fetcher appends after them
      // (a failed log refuses both; the fetcher reports that on its own).
      if (current?.leader) await log.flush().catch(() => undefined);
      if (p.leaderId < 0) {
        await fetchers.unfollow(topic.name, p.partitionIndex);
        return;
      }
      fetchers.follow({
        ...replica,
        onAppended: (batches) => this.#followerAppended(key, producers, batches),
        onTruncated: () => this.#producersStale.add(key),
      });
      return;
    }
    // Not yet leader while the fetcher may still append, nor before what it appended is
    // written: the new epoch must start after every batch of the old ones.
    this.#partitions.set(key, { ...base, role: 'follower', leader: undefined });
    await this.#o.fetchers?.unfollow(topic.name, p.partitionIndex);
    await log.flush();
    if (this.#closed) return;
    if (this.#producersStale.delete(key)) {
      // Truncation removed batches the table had seen: a retry of one must not be taken
      // for a duplicate, so the table is rebuilt from what the log holds now.
      producers = await loadProducerState(log);
    }
    log.leaderEpochs.assign(p.leaderEpoch, log.logEndOffset);
    const leader: PartitionLeaderState = new PartitionLeaderState({
      topic: topic.name,
      topicId: topic.topicId,
      partition: p.partitionIndex,
      nodeId: this.#nodeId,
      leaderEpoch: p.leaderEpoch,
      partitionEpoch: p.partitionEpoch,
      replicas: p.replicaNodes,
      isr: p.isrNodes.length > 0 ? p.isrNodes : [this.#nodeId],
      epochStartOffset: log.logEndOffset,
      leaderEndOffset: log.logEndOffset,
      highWatermark: log.highWatermark,
      clock: this.#o.clock,
      logger: this.#logger,
      lagTimeMaxMs: this.#o.replicaLagTimeMaxMs ?? REPLICA_LAG_TIME_MAX_MS_DEFAULT,
      logEndOffset: () => log.logEndOffset,
      acknowledgedEndOffset: () =>
        log.config.durability === 'fsync' ? log.durableEndOffset : log.logEndOffset,
      brokerEpoch: this.#o.brokerEpoch ?? (() => -1),
      brokerState: (id) => this.#brokerState(id),
      sender: this.#o.alterPartition,
      onHighWatermark: (hw, visibleBytes) => {
        // Never lowered: internal-topic writers (group store) may have set it past ours.
        if (hw > log.highWatermark) log.setHighWatermark(hw);
        // Consumers read below the HW: what it uncovered may satisfy them now.
        this.purgatory.appended(key, Math.max(1, visibleBytes));
        this.delayedProduce.poke(key);
      },
      onIsrChange: () => this.delayedProduce.poke(key),
    });
    this.#partitions.set(key, { ...base, producers, role, leader });
  }

  /** The broker's registration in the image (none on a single node: every broker eligible). */
  #brokerState(id: number): IsrBrokerView | undefined {
    return this.#image?.broker(id);
  }

  #stopLeading(key: string, hosted: HostedPartition): void {
    if (!hosted.leader) return;
    hosted.leader.close();
    this.delayedProduce.release(key, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  }

  #followerAppended(
    key: string,
    producers: ProducerStateTable,
    batches: readonly RecordBatchView[],
  ): void {
    let bytes = 0;
    for (const batch of batches) {
      bytes += batch.sizeBytes;
      if (batch.producerId >= 0) producers.update(batch, batch.maxTimestamp);
    }
    this.purgatory.appended(key, bytes);
  }

  /** Stops leading or following `key`; deletes its log when asked (replica moved away). */
  async #unhost(key: string, deleteLog: boolean): Promise<void> {
    const hosted = this.#partitions.get(key);
    if (!hosted) return;
    this.#partitions.delete(key);
    this.#producersStale.delete(key);
    this.#stopLeading(key, hosted);
    await this.#o.fetchers?.unfollow(hosted.topic, hosted.partition);
    if (deleteLog) {
      this.#logger.info(
        { topic: hosted.topic, partition: hosted.partition },
        'replica moved away: deleting its log',
      );
      await this.#logs.deleteLog(hosted.topic, hosted.partition);
    }
    // Fetchers parked on it answer now (with the error their next lookup finds).
    this.purgatory.appended(key, Number.MAX_SAFE_INTEGER);
    this.purgatory.appended(
      replicaWaitKey(hosted.topic, hosted.partition),
      Number.MAX_SAFE_INTEGER,
    );
  }

  async #removeTopic(name: string): Promise<void> {
    this.#topicIds.delete(name);
    for (const [key, hosted] of [...this.#partitions]) {
      if (hosted.topic === name) await this.#unhost(key, true);
    }
  }

  /**
   * Writes one validated batch as leader. Synchronous up to the storage call, so producer
   * state is checked and updated in offset order; resolves once durable (or written, with
   * Kafka's flush), when the leader's own end counts for the high watermark.
   */
  appendBatch(hosted: HostedPartition, batch: RecordBatchView, nowMs: number) {
    const leader = hosted.leader;
    if (hosted.role !== 'leader' || !leader) {
      return Promise.reject(
        new BrokerError('not-leader', `${hosted.topic}-${hosted.partition} is not led here`),
      );
    }
    const appended = hosted.log.appendAsLeader(batch.buf, {
      leaderEpoch: hosted.leaderEpoch,
      crcVerified: true,
    });
    // The offsets are assigned once appendAsLeader returns (it patched the header).
    hosted.producers.update(batch, nowMs);
    return appended.then(
      (info) => {
        this.purgatory.appended(replicaWaitKey(hosted.topic, hosted.partition), info.sizeBytes);
        leader.leaderAppended(info.lastOffset + 1, info.sizeBytes);
        return info;
      },
      (error: unknown) => {
        // Not written: a retry of this batch must not be taken for a duplicate.
        hosted.producers.forget(batch.producerId);
        throw error;
      },
    );
  }

  /**
   * acks=-1: resolves with the partition's error code once the HW reaches `requiredOffset`
   * (NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR fell below `minInsyncReplicas`),
   * REQUEST_TIMED_OUT after `timeoutMs`, NOT_LEADER_OR_FOLLOWER if leadership moves first.
   */
  awaitReplication(
    hosted: HostedPartition,
    requiredOffset: number,
    minInsyncReplicas: number,
    timeoutMs: number,
  ): Promise<number> {
    const leader = hosted.leader;
    const key = partitionKey(hosted.topic, hosted.partition);
    return this.delayedProduce.wait(key, timeoutMs, () => {
      if (!leader || this.#partitions.get(key)?.leader !== leader) {
        return ErrorCode.NOT_LEADER_OR_FOLLOWER;
      }
      if (leader.highWatermark < requiredOffset) return undefined;
      return leader.maximalIsr.length >= minInsyncReplicas
        ? ErrorCode.NONE
        : ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
    });
  }

  /**
   * Stops leading and following (waiting for follower appends in flight), writes producer
   * snapshots and releases waiting requests; the LogManager closes the logs.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#applying;
    this.purgatory.close();
    this.delayedProduce.close();
    for (const [key, hosted] of this.#partitions) {
      this.#stopLeading(key, hosted);
      if (hosted.role === 'follower') {
        await this.#o.fetchers?.unfollow(hosted.topic, hosted.partition);
      }
    }
    for (const hosted of this.#partitions.values()) {
      if (hosted.log.isClosed) continue;
      try {
        await hosted.log.writeProducerSnapshot(
          hosted.log.logEndOffset,
          hosted.producers.snapshotEntries(),
        );
      } catch (error) {
        this.#logger.warn({ err: error, topic: hosted.topic }, 'producer snapshot failed');
      }
    }
  }
}

/** Producer state as of the log end: latest snapshot, then the batch headers after it. */
async function loadProducerState(log: PartitionLog): Promise<ProducerStateTable> {
  const table = new ProducerStateTable();
  const snapshot = await log.latestProducerSnapshot();
  if (snapshot) table.load(snapshot.entries);
  const from = snapshot?.offset ?? log.logStartOffset;
  if (from >= log.logEndOffset) return table;
  for await (const batch of logBatches(log, from)) {
    if (batch.baseOffset >= from && batch.producerId >= 0) {
      table.update(batch, batch.maxTimestamp);
    }
  }
  return table;
}
