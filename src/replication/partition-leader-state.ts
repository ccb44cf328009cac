/**
 * The leader's view of one partition it leads (Kafka's Partition.scala, leader half): each
 * follower's progress, the in-sync replica set (ISR), and the high watermark (HW). Pure: time
 * and timers come from the injected Clock, the controller is reached through an injected
 * AlterPartitionSender, and the log is seen only through `logEndOffset()`.
 *
 * Rules (Kafka 4):
 * - Follower progress: each fetch reports the follower's log end (its fetchOffset). Its last
 *   caught-up time is the time of the last fetch at which it was at the leader's log end, or
 *   the time of its previous fetch when this fetch reaches the leader's end as of that one
 *   (Replica.updateFetchStateOrThrow). A follower is caught up when it is at the leader's log
 *   end or caught up within `lagTimeMaxMs`.
 * - HW = the smallest log end among the leader (its acknowledged end: durable with fsync
 *   durability, written with Kafka's flush) and every follower that is in the *maximal* ISR
 *   (committed ISR plus a pending expansion; a pending shrink still counts the removed
 *   replicas) or that is caught up and eligible (so it can join rather than fall behind).
 *   The HW never decreases. There is no "own epoch first" rule as in Raft: Kafka's leader may
 *   advance the HW over offsets of earlier epochs, divergence being settled by KIP-101/320
 *   truncation at the followers.
 * - ISR expansion: a follower not in the ISR, eligible (not fenced, not in controlled
 *   shutdown, fetching with its registered broker epoch), whose log end is >= the HW and >=
 *   the start offset of the leader's epoch.
 * - ISR shrink: checked on a timer every lagTimeMaxMs / 2; ISR followers not caught up are
 *   removed.
 * - Changes are proposed to the controller with AlterPartition (v3, newIsrWithEpochs), one in
 *   flight at a time; while pending, the maximal ISR rule applies. The answer's ISR and
 *   partition epoch are taken; FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION and
 *   UNKNOWN_TOPIC_OR_PARTITION leave the proposal pending until a metadata image settles it
 *   (`updateFromImage`); OPERATION_NOT_ATTEMPTED, INELIGIBLE_REPLICA, other errors and a
 *   failed send drop it (the next fetch or check proposes again).
 */
import { ErrorCode } from '../../protocol/errors.ts';
import type {
  AlterPartitionRequest,
  AlterPartitionResponse,
} from '../../protocol/generated/apis/56-alter-partition.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';

/** Sends AlterPartition to the active controller (NODE's ControllerChannel behind it). */
export interface AlterPartitionSender {
  send(request: AlterPartitionRequest): Promise<AlterPartitionResponse>;
}

/** What the leader needs to know of a broker (the metadata image's broker registration). */
export interface IsrBrokerView {
  readonly epoch: number;
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
}

export interface FollowerProgress {
  /** The follower's log end (its last fetchOffset); -1 until it fetched in this epoch. */
  readonly logEndOffset: number;
  readonly lastCaughtUpTimeMs: number;
  readonly lastFetchTimeMs: number;
  readonly lastFetchLeaderLogEndOffset: number;
  /** The broker epoch the follower fetched with; -1 when unknown (Fetch before v15). */
  readonly brokerEpoch: number;
}

export interface PartitionLeaderStateOptions {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  /** This node (the leader). */
  readonly nodeId: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** The log end when this epoch started (first offset of the epoch). */
  readonly epochStartOffset: number;
  /** The leader's acknowledged end now (every append so far durable or written). */
  readonly leaderEndOffset: number;
  /** The high watermark the log has (never lowered). */
  readonly highWatermark: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly lagTimeMaxMs: number;
  /** The leader's written log end, read at each fetch and check. */
  logEndOffset(): number;
  /**
   * The leader's own end as the HW counts it, read at each computation (durable end with
   * fsync durability, written end with Kafka's flush); covers appends made around
   * `leaderAppended` (internal topics written straight to the log). Absent: only
   * `leaderAppended` moves it.
   */
  acknowledgedEndOffset?(): number;
  /** This broker's epoch (its registration's offset), sent in AlterPartition. */
  brokerEpoch(): number;
  /** A broker's registration; undefined when unknown (single-node: no registrations). */
  brokerState(brokerId: number): IsrBrokerView | undefined;
  /** Absent in single-node mode: the ISR never changes there. */
  readonly sender?: AlterPartitionSender | undefined;
  /** The HW moved to `highWatermark`; `visibleBytes` approximate the bytes it uncovered. */
  onHighWatermark(highWatermark: number, visibleBytes: number): void;
  /** The ISR (committed or maximal) changed: pending acks=-1 produces re-check min ISR. */
  onIsrChange?(): void;
}

/** Appends not yet below the HW whose sizes are remembered (wake-up estimates only). */
const APPENDS_TRACKED_MAX = 10_000;

interface MutableProgress {
  logEndOffset: number;
  lastCaughtUpTimeMs: number;
  lastFetchTimeMs: number;
  lastFetchLeaderLogEndOffset: number;
  brokerEpoch: number;
}

export class PartitionLeaderState {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly epochStartOffset: number;
  readonly #o: PartitionLeaderStateOptions;
  readonly #followers = new Map<number, MutableProgress>();
  #replicas: readonly number[];
  #isr: readonly number[];
  #partitionEpoch: number;
  /** The proposed ISR in flight, with a generation so a late answer to an old one is dropped. */
  #pending: { readonly isr: readonly number[]; readonly generation: number } | undefined;
  #generation = 0;
  #leaderEnd: number;
  #highWatermark: number;
  #appendedBytes = 0;
  #visibleBytes = 0;
  #appends: { endOffset: number; cumulativeBytes: number }[] = [];
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(options: PartitionLeaderStateOptions) {
    this.#o = options;
    this.topic = options.topic;
    this.topicId = options.topicId;
    this.partition = options.partition;
    this.leaderEpoch = options.leaderEpoch;
    this.epochStartOffset = options.epochStartOffset;
    this.#replicas = [...options.replicas];
    this.#isr = [...options.isr];
    this.#partitionEpoch = options.partitionEpoch;
    this.#leaderEnd = options.leaderEndOffset;
    this.#highWatermark = options.highWatermark;
    const nowMs = options.clock.nowMs();
    for (const id of this.#replicas) {
      if (id === options.nodeId) continue;
      this.#followers.set(id, this.#newFollower(id, nowMs));
    }
    this.#armShrinkCheck();
    this.#maybeIncrementHighWatermark();
  }

  get highWatermark(): number {
    return this.#highWatermark;
  }
  get partitionEpoch(): number {
    return this.#partitionEpoch;
  }
  /** The ISR the controller committed (what min.insync.replicas is checked against). */
  get isr(): readonly number[] {
    return this.#isr;
  }
  get replicas(): readonly number[] {
    return this.#replicas;
  }
  /** Committed ISR plus a pending expansion (a pending shrink still counts the removed). */
  get maximalIsr(): readonly number[] {
    const pending = this.#pending;
    if (!pending) return this.#isr;
    const out = [...this.#isr];
    for (const id of pending.isr) if (!out.includes(id)) out.push(id);
    return out;
  }
  get isAlterPending(): boolean {
    return this.#pending !== undefined;
  }
  follower(id: number): FollowerProgress | undefined {
    return this.#followers.get(id);
  }

  /** The leader's appends up to `endOffset` are acknowledged (durable or written). */
  leaderAppended(endOffset: number, sizeBytes: number): void {
    if (this.#closed || endOffset <= this.#leaderEnd) return;
    this.#leaderEnd = endOffset;
    this.#appendedBytes += sizeBytes;
    this.#appends.push({ endOffset, cumulativeBytes: this.#appendedBytes });
    if (this.#appends.length > APPENDS_TRACKED_MAX) this.#appends.shift();
    this.#maybeIncrementHighWatermark();
  }

  /**
   * Records a follower's fetch at `fetchOffset` (the leader's log end read now). Returns
   * false when `replicaId` is not a replica of this partition (the fetch is refused).
   */
  followerFetched(replicaId: number, fetchOffset: number, brokerEpoch: number): boolean {
    const state = this.#followers.get(replicaId);
    if (!state || this.#closed) return false;
    const nowMs = this.#o.clock.nowMs();
    const leaderEnd = this.#o.logEndOffset();
    if (fetchOffset >= leaderEnd) {
      state.lastCaughtUpTimeMs = Math.max(state.lastCaughtUpTimeMs, nowMs);
    } else if (fetchOffset >= state.lastFetchLeaderLogEndOffset) {
      state.lastCaughtUpTimeMs = Math.max(state.lastCaughtUpTimeMs, state.lastFetchTimeMs);
    }
    state.logEndOffset = fetchOffset;
    state.lastFetchTimeMs = nowMs;
    state.lastFetchLeaderLogEndOffset = leaderEnd;
    state.brokerEpoch = brokerEpoch;
    this.#maybeExpandIsr(replicaId, state);
    this.#maybeIncrementHighWatermark();
    return true;
  }

  /**
   * A newer image of this partition in the same leader epoch: its ISR and partition epoch
   * override ours (and settle a pending proposal). An older or equal partition epoch is
   * ignored, as Kafka ignores a stale LeaderAndIsr.
   */
  updateFromImage(image: {
    readonly partitionEpoch: number;
    readonly isr: readonly number[];
    readonly replicas: readonly number[];
  }): void {
    if (this.#closed || image.partitionEpoch <= this.#partitionEpoch) return;
    this.#partitionEpoch = image.partitionEpoch;
    this.#isr = [...image.isr];
    this.#pending = undefined;
    this.#replicas = [...image.replicas];
    const nowMs = this.#o.clock.nowMs();
    for (const id of [...this.#followers.keys()]) {
      if (!this.#replicas.includes(id)) this.#followers.delete(id);
    }
    for (const id of this.#replicas) {
      if (id === this.#o.nodeId || this.#followers.has(id)) continue;
      this.#followers.set(id, this.#newFollower(id, nowMs));
    }
    this.#o.onIsrChange?.();
    this.#maybeIncrementHighWatermark();
  }

  /** Stops the shrink timer; answers to proposals in flight are ignored from now on. */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Runs the ISR shrink check now (the timer does this every lagTimeMaxMs / 2). */
  checkShrink(): void {
    if (this.#closed || this.#pending || !this.#o.sender) return;
    const nowMs = this.#o.clock.nowMs();
    const leaderEnd = this.#o.logEndOffset();
    const out = this.#isr.filter((id) => {
      const state = this.#followers.get(id);
      return state !== undefined && !isCaughtUp(state, leaderEnd, nowMs, this.#o.lagTimeMaxMs);
    });
    if (out.length === 0) return;
    this.#o.logger.info(
      { topic: this.topic, partition: this.partition, outOfSync: out, isr: this.#isr },
      'shrinking ISR',
    );
    this.#propose(this.#isr.filter((id) => !out.includes(id)));
  }

  /**
   * A follower not heard from yet. One in the ISR is trusted for one lag period; others start
   * as never caught up, so they do not hold back the HW (Partition.resetReplicaState).
   */
  #newFollower(id: number, nowMs: number): MutableProgress {
    return {
      logEndOffset: -1,
      lastCaughtUpTimeMs: this.#isr.includes(id) ? nowMs : 0,
      lastFetchTimeMs: 0,
      lastFetchLeaderLogEndOffset: -1,
      brokerEpoch: -1,
    };
  }

  #armShrinkCheck(): void {
    if (!this.#o.sender || this.#followers.size === 0) return;
    const periodMs = Math.max(1, Math.floor(this.#o.lagTimeMaxMs / 2));
    this.#timer = this.#o.clock.setTimer(periodMs, () => {
      this.#timer = undefined;
      if (this.#closed) return;
      this.checkShrink();
      this.#armShrinkCheck();
    });
  }

  #isEligible(id: number, state: MutableProgress): boolean {
    const broker = this.#o.brokerState(id);
    if (!broker) return true;
    if (broker.fenced || broker.inControlledShutdown) return false;
    // KIP-903: a replica that fetched with another broker epoch (an earlier incarnation, or
    // a new one whose registration we have not seen) may hold a log that lost data.
    return state.brokerEpoch < 0 || state.brokerEpoch === broker.epoch;
  }

  #maybeExpandIsr(id: number, state: MutableProgress): void {
    if (this.#pending || !this.#o.sender || this.#isr.includes(id)) return;
    if (state.logEndOffset < this.#highWatermark) return;
    if (state.logEndOffset < this.epochStartOffset) return;
    if (!this.#isEligible(id, state)) return;
    this.#o.logger.info(
      { topic: this.topic, partition: this.partition, replica: id, isr: this.#isr },
      'expanding ISR',
    );
    this.#propose([...this.#isr, id]);
  }

  #propose(isr: readonly number[]): void {
    const sender = this.#o.sender;
    if (!sender) return;
    const generation = ++this.#generation;
    this.#pending = { isr, generation };
    this.#o.onIsrChange?.();
    const request: AlterPartitionRequest = {
      brokerId: this.#o.nodeId,
      brokerEpoch: this.#o.brokerEpoch(),
      topics: [
        {
          topicName: this.topic,
          topicId: this.topicId,
          partitions: [
            {
              partitionIndex: this.partition,
              leaderEpoch: this.leaderEpoch,
              newIsr: [],
              newIsrWithEpochs: isr.map((brokerId) => ({
                brokerId,
                brokerEpoch:
                  brokerId === this.#o.nodeId
                    ? this.#o.brokerEpoch()
                    : (this.#followers.get(brokerId)?.brokerEpoch ?? -1),
              })),
              leaderRecoveryState: 0,
              partitionEpoch: this.#partitionEpoch,
            },
          ],
        },
      ],
    };
    sender.send(request).then(
      (response) => this.#answered(generation, response),
      (error: unknown) => {
        this.#o.logger.warn(
          { err: error, topic: this.topic, partition: this.partition },
          'AlterPartition failed',
        );
        this.#drop(generation);
      },
    );
  }

  #drop(generation: number): void {
    if (this.#closed || this.#pending?.generation !== generation) return;
    this.#pending = undefined;
    this.#o.onIsrChange?.();
    this.#maybeIncrementHighWatermark();
  }

  #answered(generation: number, response: AlterPartitionResponse): void {
    if (this.#closed || this.#pending?.generation !== generation) return;
    const answer = response.topics
      .find((t) => t.topicId === this.topicId || t.topicName === this.topic)
      ?.partitions.find((p) => p.partitionIndex === this.partition);
    const errorCode =
      response.errorCode !== ErrorCode.NONE ? response.errorCode : answer?.errorCode;
    if (errorCode === undefined || answer === undefined) {
      this.#drop(generation);
      return;
    }
    switch (errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.FENCED_LEADER_EPOCH:
      case ErrorCode.INVALID_UPDATE_VERSION:
      case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
        // Our view is stale: the image that supersedes it will settle the proposal.
        return;
      default:
        this.#o.logger.info(
          { topic: this.topic, partition: this.partition, errorCode },
          'AlterPartition refused',
        );
        this.#drop(generation);
        return;
    }
    if (answer.leaderEpoch !== this.leaderEpoch || answer.partitionEpoch < this.#partitionEpoch) {
      this.#drop(generation);
      return;
    }
    this.#pending = undefined;
    this.#partitionEpoch = answer.partitionEpoch;
    this.#isr = [...answer.isr];
    this.#o.onIsrChange?.();
    this.#maybeIncrementHighWatermark();
  }

  #maybeIncrementHighWatermark(): void {
    if (this.#closed) return;
    const nowMs = this.#o.clock.nowMs();
    const leaderLogEnd = this.#o.logEndOffset();
    const maximal = this.maximalIsr;
    let hw = Math.max(this.#leaderEnd, this.#o.acknowledgedEndOffset?.() ?? -1);
    for (const [id, state] of this.#followers) {
      if (state.logEndOffset >= hw) continue;
      const waitFor =
        maximal.includes(id) ||
        (isCaughtUp(state, leaderLogEnd, nowMs, this.#o.lagTimeMaxMs) &&
          this.#isEligible(id, state));
      if (waitFor) hw = state.logEndOffset;
    }
    if (hw <= this.#highWatermark) return;
    this.#highWatermark = hw;
    let cumulative = this.#visibleBytes;
    while (this.#appends.length > 0 && (this.#appends[0]?.endOffset ?? hw + 1) <= hw) {
      cumulative = this.#appends.shift()?.cumulativeBytes ?? cumulative;
    }
    const visible = cumulative - this.#visibleBytes;
    this.#visibleBytes = cumulative;
    this.#o.onHighWatermark(hw, visible);
  }
}

/** Kafka's ReplicaState.isCaughtUp. */
function isCaughtUp(
  state: MutableProgress,
  leaderEnd: number,
  nowMs: number,
  lagTimeMaxMs: number,
): boolean {
  return state.logEndOffset === leaderEnd || nowMs - state.lastCaughtUpTimeMs <= lagTimeMaxMs;
}
