/**
 * ReplicaFetcherManager: the partitions this broker follows, fetched from their leaders.
 * One fetcher per source broker (replica-fetcher-loop.ts: Kafka's ReplicaFetcherThread as an
 * async loop with one Fetch in flight), partitions moved between fetchers as the metadata
 * image moves leadership.
 *
 * Contract with the ReplicaManager (which reacts to each image):
 * - `follow(p)` adds a partition, or changes it: a new leader moves it to that leader's
 *   fetcher, a new epoch on the same leader restarts its fetch state (a partition stopped by
 *   FENCED_LEADER_EPOCH or an unusable log resumes only this way; NOT_LEADER_OR_FOLLOWER,
 *   UNKNOWN_TOPIC_ID and UNKNOWN_LEADER_EPOCH are retried after a backoff, because they also
 *   mean a leader still applying the metadata this broker already has:
 *   follower-partition.ts `onPartitionError`).
 *   The same leader and epoch again is a no-op (callbacks are taken from the newest `p`);
 *   an older epoch of the same topic id is ignored (the image only moves forward).
 *   A replaced partition's new fetch state starts only after the old one's change to the
 *   log, if any, finished: one writer per log at any time.
 * - `unfollow(topic, partition)` stops following; it resolves once no fetched answer for the
 *   partition is being applied (appending, truncating). A Fetch still out for it is not
 *   waited for: its answer is dropped. After it resolves the caller owns the log (it may
 *   make it a leader, or delete it).
 * - `onAppended(batches)` runs after each follower append (batches as appended, never
 *   decoded), after the high watermark moved; `onTruncated(logEndOffset)` (optional) after
 *   every truncation, so producer state can be rebuilt.
 *
 * Bounds: partitions per request (`partitionsPerRequestMax`), bytes per partition
 * (`maxBytes`, replica.fetch.max.bytes) and per answer (`responseMaxBytes`,
 * replica.fetch.response.max.bytes), one request in flight per source broker, one change in
 * flight per partition.
 */
import assert from 'node:assert/strict';
import type { ApiDescriptor } from '../../protocol/generated/api-catalogue.ts';
import type { RecordBatchView } from '../../protocol/records/batch.ts';
import type { PartitionLog } from '../../storage/log/partition-log.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { Random } from '../util/random.ts';
import { FollowerPartitionState, type FollowerStatus } from './follower-partition.ts';
import { LeaderFetcher } from './replica-fetcher-loop.ts';

export type { FollowerStatus } from './follower-partition.ts';

/** A NodeClient to the leader's inter-broker listener (or anything that speaks the same). */
export interface LeaderChannel {
  request<Req, Res>(api: ApiDescriptor<Req, Res>, version: number, body: Req): Promise<Res>;
}

export interface FollowedPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly log: PartitionLog;
  /** Called after each follower append (producer state, purgatory). */
  onAppended(batches: readonly RecordBatchView[]): void;
  /** Called after the log was truncated (divergence, reset); its new end is given. */
  onTruncated?(logEndOffset: number): void;
}

export interface ReplicaFetcherSettings {
  /** replica.fetch.max.bytes: per partition (the first batch comes whole, KIP-74). */
  readonly maxBytes: number;
  /** replica.fetch.response.max.bytes. */
  readonly responseMaxBytes: number;
  /** replica.fetch.wait.max.ms. */
  readonly waitMaxMs: number;
  /** replica.fetch.min.bytes. */
  readonly minBytes: number;
  /** replica.fetch.backoff.ms. */
  readonly backoffMs: number;
  /** replica.socket.timeout.ms: a request unanswered this long has failed. */
  readonly requestTimeoutMs: number;
  /** Partitions in one Fetch at most; the rest wait for the next rounds (rotated). */
  readonly partitionsPerRequestMax: number;
}

export const replicaFetcherDefaults = { partitionsPerRequestMax: 1_000 } as const;

export interface ReplicaFetcherOptions {
  readonly nodeId: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly brokerEpoch: () => number;
  readonly channelFor: (brokerId: number) => LeaderChannel | undefined;
  readonly settings: ReplicaFetcherSettings;
}

export type ReplicaFetcherManagerOptions = Omit<ReplicaFetcherOptions, 'settings'> & {
  readonly settings: Omit<ReplicaFetcherSettings, 'partitionsPerRequestMax'> &
    Partial<Pick<ReplicaFetcherSettings, 'partitionsPerRequestMax'>>;
};

/** What a follower partition is doing, for tests, metrics and DescribeQuorum-like tools. */
export interface FollowerInfo {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly status: FollowerStatus;
}

export class ReplicaFetcherManager {
  readonly #options: ReplicaFetcherOptions;
  readonly #states = new Map<string, FollowerPartitionState>();
  readonly #fetchers = new Map<number, LeaderFetcher>();
  #closed = false;

  constructor(options: ReplicaFetcherManagerOptions) {
    this.#options = {
      ...options,
      settings: { ...replicaFetcherDefaults, ...options.settings },
    };
  }

  follow(p: FollowedPartition): void {
    if (this.#closed) return;
    assert(p.leaderId !== this.#options.nodeId, `following ${p.topic}-${p.partition} from self`);
    const key = partitionKey(p.topic, p.partition);
    const current = this.#states.get(key);
    const change = current ? this.#compare(current.followed, p) : 'changed';
    if (change === 'stale') return;
    if (current && change === 'same') {
      current.followed = p;
      return;
    }
    let gate: Promise<void> | undefined;
    if (current) {
      current.removed = true;
      this.#fetchers.get(current.followed.leaderId)?.remove(key);
      gate = current.settled();
    }
    const state = new FollowerPartitionState(p, key, gate);
    this.#states.set(key, state);
    this.#fetcherFor(p.leaderId).add(state);
  }

  /** Whether `next` replaces the fetch state of `current`, is the same, or is older. */
  #compare(current: FollowedPartition, next: FollowedPartition): 'changed' | 'same' | 'stale' {
    if (current.topicId !== next.topicId || current.log !== next.log) return 'changed';
    if (next.leaderEpoch < current.leaderEpoch) {
      const { topic, partition } = next;
      const epochs = { current: current.leaderEpoch, offered: next.leaderEpoch };
      this.#options.logger.warn({ topic, partition, ...epochs }, 'older leader epoch ignored');
      return 'stale';
    }
    const same = next.leaderEpoch === current.leaderEpoch && next.leaderId === current.leaderId;
    return same ? 'same' : 'changed';
  }

  unfollow(topic: string, partition: number): Promise<void> {
    const key = partitionKey(topic, partition);
    const state = this.#states.get(key);
    if (!state) return Promise.resolve();
    state.removed = true;
    this.#states.delete(key);
    this.#fetchers.get(state.followed.leaderId)?.remove(key);
    return state.settled();
  }

  /** The follower state of a partition, if followed. */
  info(topic: string, partition: number): FollowerInfo | undefined {
    const state = this.#states.get(partitionKey(topic, partition));
    if (!state) return undefined;
    const { leaderId, leaderEpoch } = state.followed;
    return { leaderId, leaderEpoch, status: state.status };
  }

  /** Rounds of the fetcher of `leaderId` that failed as a whole since its last success. */
  failedRounds(leaderId: number): number {
    return this.#fetchers.get(leaderId)?.failedRounds ?? 0;
  }

  get followedCount(): number {
    return this.#states.size;
  }

  /** Stops every fetcher; resolves when no request is awaited and no change is running. */
  async close(): Promise<void> {
    this.#closed = true;
    const fetchers = [...this.#fetchers.values()];
    this.#fetchers.clear();
    await Promise.all(fetchers.map((f) => f.stop()));
    const states = [...this.#states.values()];
    this.#states.clear();
    for (const state of states) state.removed = true;
    await Promise.all(states.map((s) => s.settled()));
  }

  #fetcherFor(leaderId: number): LeaderFetcher {
    let fetcher = this.#fetchers.get(leaderId);
    if (!fetcher) {
      // Idle fetchers stay (they cost a pending promise): one per broker ever followed.
      fetcher = new LeaderFetcher(leaderId, this.#options);
      this.#fetchers.set(leaderId, fetcher);
    }
    return fetcher;
  }
}

/** NUL cannot appear in a topic name, so the key is unambiguous. */
function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
