/**
 * ReplicaManager: the partitions this node hosts, kept in step with the metadata image.
 *
 * - On each image: opens (or creates) the log of every partition this node leads, closes and
 *   deletes the logs of topics that left the image (a re-created topic of the same name is a
 *   new topic: its id differs, its old log goes), and rebuilds a partition's state when its
 *   topic configs change (the log itself keeps the config it was opened with until restart;
 *   produce-side checks use the new one at once).
 * - Appends (produce): checked by produce-validation.ts and the partition's idempotent
 *   producer state, written with `appendAsLeader`, which assigns offsets at once, so the
 *   check-then-write is atomic. With one replica the high watermark is the durable end:
 *   it moves when the append resolves, then fetchers waiting in the purgatory are woken.
 * - Producer state is rebuilt on open from the latest snapshot plus the batch headers after
 *   it, and a snapshot is written on close.
 */
import type { RecordBatchView } from '../../protocol/records/batch.ts';
import type { LogConfig } from '../../storage/log/log-config.ts';
import type { LogManager } from '../../storage/log/log-manager.ts';
import type { PartitionLog } from '../../storage/log/partition-log.ts';
import { logConfigOverrides } from '../config/topic-config.ts';
import { logBatches } from '../metadata/log-batches.ts';
import type { MetadataImage, TopicImage } from '../metadata/metadata-image.ts';
import { METADATA_TOPIC } from '../metadata/metadata-log.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { Random } from '../util/random.ts';
import { FetchPurgatory } from './fetch-purgatory.ts';
import { FetchSessionCache } from './fetch-sessions.ts';
import { ProducerStateTable } from './producer-state.ts';

export interface HostedPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly log: PartitionLog;
  readonly producers: ProducerStateTable;
  /** Effective config: broker defaults with the topic's overrides. */
  readonly config: LogConfig;
  readonly topicConfigs: ReadonlyMap<string, string>;
}

export interface ReplicaManagerOptions {
  readonly logs: LogManager;
  readonly nodeId: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** Broker-level LogConfig (topic overrides apply on top). */
  readonly defaults: LogConfig;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export class ReplicaManager {
  readonly purgatory: FetchPurgatory;
  readonly fetchSessions: FetchSessionCache;
  readonly #logs: LogManager;
  readonly #nodeId: number;
  readonly #logger: Logger;
  readonly #defaults: LogConfig;
  readonly #partitions = new Map<string, HostedPartition>();
  readonly #topicIds = new Map<string, string>();

  constructor(options: ReplicaManagerOptions) {
    this.#logs = options.logs;
    this.#nodeId = options.nodeId;
    this.#logger = options.logger;
    this.#defaults = options.defaults;
    this.purgatory = new FetchPurgatory(options.clock);
    this.fetchSessions = new FetchSessionCache(options.clock, options.random);
  }

  get logs(): LogManager {
    return this.#logs;
  }

  /** Every partition hosted now (the cleaner walks them on each run). */
  hosted(): IterableIterator<HostedPartition> {
    return this.#partitions.values();
  }

  partition(topic: string, partition: number): HostedPartition | undefined {
    return this.#partitions.get(partitionKey(topic, partition));
  }

  configFor(topic: TopicImage): LogConfig {
    return Object.freeze({ ...this.#defaults, ...logConfigOverrides(topic.configs) });
  }

  /** Brings hosted partitions in line with `image` (startup: also removes stray logs). */
  async applyImage(image: MetadataImage): Promise<void> {
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
      if (!topic || log.partition >= topic.partitions.length) {
        this.#logger.info({ topic: log.topic, partition: log.partition }, 'deleting stray log');
        await this.#logs.deleteLog(log.topic, log.partition);
      }
    }
    for (const topic of image.topics()) await this.#host(topic);
  }

  async #host(topic: TopicImage): Promise<void> {
    this.#topicIds.set(topic.name, topic.topicId);
    const config = this.configFor(topic);
    for (const p of topic.partitions) {
      if (p.leaderId !== this.#nodeId) continue;
      const key = partitionKey(topic.name, p.partitionIndex);
      const current = this.#partitions.get(key);
      if (
        current &&
        current.leaderEpoch === p.leaderEpoch &&
        current.topicConfigs === topic.configs
      ) {
        continue;
      }
      const log = current?.log ?? (await this.#logs.createLog(topic.name, p.partitionIndex));
      const producers = current?.producers ?? (await loadProducerState(log));
      log.setHighWatermark(log.logEndOffset);
      this.#partitions.set(key, {
        topic: topic.name,
        topicId: topic.topicId,
        partition: p.partitionIndex,
        leaderEpoch: p.leaderEpoch,
        log,
        producers,
        config,
        topicConfigs: topic.configs,
      });
    }
  }

  async #removeTopic(name: string): Promise<void> {
    this.#topicIds.delete(name);
    for (const [key, hosted] of [...this.#partitions]) {
      if (hosted.topic !== name) continue;
      this.#partitions.delete(key);
      await this.#logs.deleteLog(hosted.topic, hosted.partition);
      // Fetchers parked on it answer now (with the error their next lookup finds).
      this.purgatory.appended(key, Number.MAX_SAFE_INTEGER);
    }
  }

  /**
   * Writes one validated batch as leader. Synchronous up to the storage call, so producer
   * state is checked and updated in offset order; resolves once durable.
   */
  appendBatch(hosted: HostedPartition, batch: RecordBatchView, nowMs: number) {
    const appended = hosted.log.appendAsLeader(batch.buf, {
      leaderEpoch: hosted.leaderEpoch,
      crcVerified: true,
    });
    // The offsets are assigned once appendAsLeader returns (it patched the header).
    hosted.producers.update(batch, nowMs);
    return appended.then(
      (info) => {
        const end = info.lastOffset + 1;
        if (end > hosted.log.highWatermark) hosted.log.setHighWatermark(end);
        this.purgatory.appended(partitionKey(hosted.topic, hosted.partition), info.sizeBytes);
        return info;
      },
      (error: unknown) => {
        // Not written: a retry of this batch must not be taken for a duplicate.
        hosted.producers.forget(batch.producerId);
        throw error;
      },
    );
  }

  /** Writes producer snapshots and releases waiting fetches; the LogManager closes the logs. */
  async close(): Promise<void> {
    this.purgatory.close();
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
