/**
 * The fetcher of one source broker (Kafka's ReplicaFetcherThread, as an async loop on the
 * event loop): each round sends one Fetch for every ready partition it follows from that
 * leader, applies the answer partition by partition (in parallel: they are different logs),
 * and only then starts the next round, so exactly one request per fetcher is in flight.
 *
 * A round, in order:
 * 1. partitions that need local truncation (`truncating`) or an out-of-range reset
 *    (`resetting`, follower-reset.ts) are handled, one query at a time on the same channel;
 * 2. the ready partitions (not delayed, not behind a previous owner's change) go into one
 *    Fetch v17, sessionless (sessionId 0, epoch -1), by topic id, at most
 *    `partitionsPerRequestMax` of them, the start rotated each round so that under
 *    `responseMaxBytes` every partition gets its turn;
 * 3. the answer is applied (follower-partition.ts).
 * Nothing ready: the loop waits for the earliest partition delay or for `wake()`.
 *
 * Failure of the whole request (no channel, disconnect, timeout, a top-level error): the
 * fetcher waits replica.fetch.backoff.ms, jittered +-20% by the injected Random so that the
 * followers of a restarted leader do not come back in lockstep, then retries. Every wait and
 * the request timeout run on the injected Clock. `stop()` cuts any wait or request short.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import type { ApiDescriptor } from '../../protocol/generated/api-catalogue.ts';
import {
  type FetchRequest,
  type FetchResponse,
  newFetchRequest,
  newFetchRequestFetchPartition,
  newFetchRequestReplicaState,
} from '../../protocol/generated/apis/01-fetch.ts';
import type { TimerHandle } from '../util/clock.ts';
import { BrokerError } from '../util/errors.ts';
import {
  type ApplyEnv,
  applyFetched,
  type FollowerPartitionState,
  onLogError,
  truncateLog,
} from './follower-partition.ts';
import {
  type EpochEndAnswer,
  type LeaderQueries,
  type OffsetAnswer,
  resetOutOfRange,
} from './follower-reset.ts';
import type { LeaderChannel, ReplicaFetcherOptions } from './replica-fetcher.ts';
import {
  FetchApi,
  ListOffsetsApi,
  OffsetForLeaderEpochApi,
  replicaFetchVersions,
} from './replica-fetcher-apis.ts';

/** What a round asked of one partition, to match the answer against. */
interface Asked {
  readonly state: FollowerPartitionState;
  readonly fetchOffset: number;
}

export class LeaderFetcher {
  readonly leaderId: number;
  readonly #options: ReplicaFetcherOptions;
  readonly #partitions = new Map<string, FollowerPartitionState>();
  readonly #env: ApplyEnv;
  #rotation = 0;
  #stopped = false;
  /** wake() was called since the current round began. */
  #woken = false;
  /** Ends the current wait early (wake or stop); set only while waiting. */
  #interrupt: ((byStop: boolean) => void) | undefined;
  /** Ends the request in flight as "stopped". */
  #abort: (() => void) | undefined;
  readonly #done: Promise<void>;
  #failedRounds = 0;

  constructor(leaderId: number, options: ReplicaFetcherOptions) {
    this.leaderId = leaderId;
    this.#options = options;
    this.#env = {
      logger: options.logger,
      nowMs: () => options.clock.monotonicMs(),
      backoffMs: () => this.#jitteredBackoffMs(),
    };
    this.#done = this.#run();
  }

  /** Rounds whose Fetch failed as a whole since the last success (tests, metrics). */
  get failedRounds(): number {
    return this.#failedRounds;
  }

  get partitionCount(): number {
    return this.#partitions.size;
  }

  add(state: FollowerPartitionState): void {
    this.#partitions.set(state.key, state);
    state.gated?.then(() => this.wake());
    this.wake();
  }

  remove(key: string): void {
    this.#partitions.delete(key);
  }

  /** Something changed (a partition added or ungated): a waiting loop looks again. */
  wake(): void {
    // Remembered when the loop is not waiting yet, so a wake between its look at the
    // partitions and its wait is not lost.
    this.#woken = true;
    this.#interrupt?.(false);
  }

  /** Ends the loop; resolves once it returned (a request in flight is abandoned). */
  stop(): Promise<void> {
    this.#stopped = true;
    this.#interrupt?.(true);
    this.#abort?.();
    return this.#done;
  }

  #jitteredBackoffMs(): number {
    const base = this.#options.settings.backoffMs;
    return Math.round(base * (0.8 + 0.4 * this.#options.random.next()));
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#round();
      } catch (error) {
        // Our bug or a callback's: keep replicating the other partitions, loudly.
        this.#options.logger.error({ err: error, leaderId: this.leaderId }, 'fetcher round');
        await this.#wait(this.#jitteredBackoffMs(), false);
      }
    }
  }

  async #round(): Promise<void> {
    this.#woken = false;
    await this.#prepare(this.#env.nowMs());
    if (this.#stopped) return;
    const now = this.#env.nowMs();
    const ready = this.#pickReady(now);
    if (ready.length === 0) {
      await this.#wait(this.#nextDelayMs(now), true);
      return;
    }
    const channel = this.#options.channelFor(this.leaderId);
    if (!channel) {
      this.#options.logger.debug({ leaderId: this.leaderId }, 'no channel to the leader yet');
      await this.#failedRound();
      return;
    }
    const asked = new Map<string, Asked>();
    const request = this.#fetchRequest(ready, asked);
    let response: FetchResponse | undefined;
    try {
      response = await this.#send(channel, FetchApi, replicaFetchVersions.fetch, request);
    } catch (error) {
      this.#logFailure(error, 'Fetch');
      await this.#failedRound();
      return;
    }
    if (response === undefined) return;
    if (response.errorCode !== ErrorCode.NONE) {
      const code = response.errorCode;
      this.#options.logger.warn({ leaderId: this.leaderId, code }, 'fetch refused as a whole');
      await this.#failedRound();
      return;
    }
    this.#failedRounds = 0;
    await this.#apply(response, asked);
  }

  async #failedRound(): Promise<void> {
    this.#failedRounds++;
    await this.#wait(this.#jitteredBackoffMs(), false);
  }

  /** Local truncations and out-of-range resets, before the partitions fetch again. */
  async #prepare(now: number): Promise<void> {
    for (const state of [...this.#partitions.values()]) {
      if (this.#stopped) return;
      if (!state.isReady(now)) continue;
      try {
        if (state.status === 'truncating') {
          await state.mutate(() => truncateLog(state, state.log.highWatermark));
          if (state.status === 'truncating') state.status = 'fetching';
        } else if (state.status === 'resetting') {
          await resetOutOfRange(state, this.#queries(), this.#env);
        }
      } catch (error) {
        onLogError(state, error, this.#env);
      }
    }
  }

  #pickReady(now: number): FollowerPartitionState[] {
    const ready: FollowerPartitionState[] = [];
    for (const state of this.#partitions.values()) {
      if (state.log.isClosed && state.status !== 'stopped') state.status = 'stopped';
      if (state.isReady(now) && state.status === 'fetching') ready.push(state);
    }
    if (ready.length === 0) return ready;
    // The next round starts where this one stopped (more partitions than one request takes),
    // or one further (all fit, but the answer's byte budget is filled in request order): so
    // every partition gets its turn at the front.
    const start = this.#rotation % ready.length;
    const taken = Math.min(ready.length, this.#options.settings.partitionsPerRequestMax);
    this.#rotation = (start + (taken < ready.length ? taken : 1)) % ready.length;
    const rotated = [...ready.slice(start), ...ready.slice(0, start)];
    return rotated.slice(0, taken);
  }

  /**
   * Milliseconds until a partition may be ready again; undefined: none will be without a
   * wake (stopped ones, and gated ones, whose gate wakes the loop). Never 0, and never
   * undefined while a partition could become ready by itself: a timer may fire a fraction
   * early, and a partition due but not taken must be looked at again, not forgotten.
   */
  #nextDelayMs(now: number): number | undefined {
    let earliest: number | undefined;
    for (const state of this.#partitions.values()) {
      if (state.removed || state.status === 'stopped' || state.gated !== undefined) continue;
      const dueMs = Math.max(state.delayUntilMs, now + 1);
      if (earliest === undefined || dueMs < earliest) earliest = dueMs;
    }
    return earliest === undefined ? undefined : earliest - now;
  }

  #fetchRequest(ready: readonly FollowerPartitionState[], asked: Map<string, Asked>): FetchRequest {
    const { settings, nodeId } = this.#options;
    const topics = new Map<string, FetchRequest['topics'][number]>();
    for (const state of ready) {
      const { topicId, partition, leaderEpoch } = state.followed;
      const log = state.log;
      let topic = topics.get(topicId);
      if (!topic) {
        topic = { topic: '', topicId, partitions: [] };
        topics.set(topicId, topic);
      }
      const fetchOffset = log.logEndOffset;
      topic.partitions.push({
        ...newFetchRequestFetchPartition(),
        partition,
        currentLeaderEpoch: leaderEpoch,
        fetchOffset,
        lastFetchedEpoch: log.leaderEpochs.latest?.epoch ?? -1,
        logStartOffset: log.logStartOffset,
        partitionMaxBytes: settings.maxBytes,
      });
      asked.set(answerKey(topicId, partition), { state, fetchOffset });
    }
    return {
      ...newFetchRequest(),
      replicaState: {
        ...newFetchRequestReplicaState(),
        replicaId: nodeId,
        replicaEpoch: this.#options.brokerEpoch(),
      },
      maxWaitMs: settings.waitMaxMs,
      minBytes: settings.minBytes,
      maxBytes: settings.responseMaxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...topics.values()],
    };
  }

  async #apply(response: FetchResponse, asked: ReadonlyMap<string, Asked>): Promise<void> {
    const work: Promise<void>[] = [];
    for (const topic of response.responses) {
      for (const data of topic.partitions) {
        const entry = asked.get(answerKey(topic.topicId, data.partitionIndex));
        // Unasked partitions, and partitions unfollowed or replaced while the request was
        // out, are ignored: the log belongs to someone else now.
        if (!entry || entry.state.removed) continue;
        const { state, fetchOffset } = entry;
        const applied = applyFetched(state, data, fetchOffset, this.#env);
        work.push(applied.catch((error: unknown) => onLogError(state, error, this.#env)));
      }
    }
    await Promise.all(work);
  }

  #queries(): LeaderQueries {
    return {
      endOffsetForEpoch: (state, epoch) => this.#endOffsetForEpoch(state, epoch),
      offsetForTimestamp: (state, timestamp) => this.#offsetForTimestamp(state, timestamp),
    };
  }

  async #endOffsetForEpoch(
    state: FollowerPartitionState,
    epoch: number,
  ): Promise<EpochEndAnswer | undefined> {
    const channel = this.#options.channelFor(this.leaderId);
    if (!channel) return undefined;
    const { topic, partition, leaderEpoch } = state.followed;
    const request = {
      ...OffsetForLeaderEpochApi.newRequest(),
      replicaId: this.#options.nodeId,
      topics: [
        { topic, partitions: [{ partition, currentLeaderEpoch: leaderEpoch, leaderEpoch: epoch }] },
      ],
    };
    const version = replicaFetchVersions.offsetForLeaderEpoch;
    const response = await this.#sendQuietly(channel, OffsetForLeaderEpochApi, version, request);
    const found = response?.topics
      .find((t) => t.topic === topic)
      ?.partitions.find((p) => p.partition === partition);
    return found && { ...found };
  }

  async #offsetForTimestamp(
    state: FollowerPartitionState,
    timestamp: number,
  ): Promise<OffsetAnswer | undefined> {
    const channel = this.#options.channelFor(this.leaderId);
    if (!channel) return undefined;
    const { topic, partition, leaderEpoch } = state.followed;
    const asked = { partitionIndex: partition, currentLeaderEpoch: leaderEpoch, timestamp };
    const request = {
      ...ListOffsetsApi.newRequest(),
      replicaId: this.#options.nodeId,
      topics: [{ name: topic, partitions: [{ ...asked, maxNumOffsets: 1 }] }],
    };
    const version = replicaFetchVersions.listOffsets;
    const response = await this.#sendQuietly(channel, ListOffsetsApi, version, request);
    const found = response?.topics
      .find((t) => t.name === topic)
      ?.partitions.find((p) => p.partitionIndex === partition);
    return found && { errorCode: found.errorCode, offset: found.offset };
  }

  /** A query's failure is an absent answer: the partition backs off and asks again. */
  async #sendQuietly<Req, Res>(
    channel: LeaderChannel,
    api: ApiDescriptor<Req, Res>,
    version: number,
    body: Req,
  ): Promise<Res | undefined> {
    try {
      return await this.#send(channel, api, version, body);
    } catch (error) {
      this.#logFailure(error, api.name);
      return undefined;
    }
  }

  /**
   * A lost connection or a timeout is routine (debug); anything else, such as an encoder
   * assertion on a value the image gave us, is our bug and must be seen.
   */
  #logFailure(error: unknown, what: string): void {
    const routine = error instanceof Error && error.name === 'BrokerError';
    const fields = { leaderId: this.leaderId, err: error };
    if (routine) this.#options.logger.debug(fields, `${what} failed`);
    else this.#options.logger.error(fields, `${what} failed: not a network error`);
  }

  /**
   * One request, bounded by requestTimeoutMs on the injected clock; undefined when the
   * fetcher stopped meanwhile. A late answer of an abandoned request is dropped.
   */
  #send<Req, Res>(
    channel: LeaderChannel,
    api: ApiDescriptor<Req, Res>,
    version: number,
    body: Req,
  ): Promise<Res | undefined> {
    if (this.#stopped) return Promise.resolve(undefined);
    return new Promise<Res | undefined>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const finish = (settle: () => void): void => {
        if (timer === undefined) return;
        timer.cancel();
        timer = undefined;
        this.#abort = undefined;
        settle();
      };
      const timeoutMs = this.#options.settings.requestTimeoutMs;
      timer = this.#options.clock.setTimer(timeoutMs, () => {
        const message = `${api.name} to broker ${this.leaderId}: no answer in ${timeoutMs} ms`;
        finish(() => reject(new BrokerError('REPLICA_FETCH_TIMEOUT', message)));
      });
      this.#abort = () => finish(() => resolve(undefined));
      let sent: Promise<Res>;
      try {
        sent = channel.request(api, version, body);
      } catch (error) {
        finish(() => reject(error)); // encoding failed before anything was sent
        return;
      }
      sent.then(
        (response) => finish(() => resolve(response)),
        (error: unknown) => finish(() => reject(error)),
      );
    });
  }

  /** Waits `delayMs` (undefined: until woken); `wakeable` waits also end on `wake()`. */
  #wait(delayMs: number | undefined, wakeable: boolean): Promise<void> {
    if (this.#stopped || (wakeable && this.#woken)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: TimerHandle | undefined;
      const done = (): void => {
        timer?.cancel();
        this.#interrupt = undefined;
        resolve();
      };
      if (delayMs !== undefined) timer = this.#options.clock.setTimer(delayMs, done);
      this.#interrupt = (byStop) => {
        if (byStop || wakeable) done();
      };
    });
  }
}

function answerKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}
