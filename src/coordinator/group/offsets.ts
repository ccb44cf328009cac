/**
 * Committed offsets of classic and simple groups: OffsetCommit (validated against the group's
 * generation and members exactly as Kafka does), OffsetFetch, OffsetDelete, and expiry.
 *
 * A commit is acknowledged only after its records are appended; until then the partition is
 * "pending", which OffsetFetch with requireStable reports as UNSTABLE_OFFSET_COMMIT.
 *
 * Expiry (Kafka 2.1+, KIP-211): offsets of a group with no members expire
 * `offsets.retention.minutes` after the group became Empty; offsets of a Stable consumer
 * group expire that long after their commit only for topics it no longer subscribes to; a
 * simple group's (no protocol type) expire that long after their commit. An offset committed
 * with an explicit retention (OffsetCommit v2-v4) expires at its own deadline instead.
 */

import { ErrorCode } from '../../../protocol/errors.ts';
import type { Clock } from '../../util/clock.ts';
import type { Logger } from '../../util/logger.ts';
import type { ClassicGroup, CommittedOffset } from './classic-group.ts';
import { consumerProtocolType } from './consumer-subscription.ts';
import type { GroupCoordinatorConfig } from './coordinator-config.ts';
import { type GroupLog, groupTombstone, offsetCommitRecord, offsetTombstone } from './group-log.ts';
import { GroupState } from './group-state.ts';
import { offsetAppendError } from './group-store.ts';
import { validateCurrentMember } from './membership.ts';
import type { Rebalancer } from './rebalance.ts';
import { fitsRecordString } from './records.ts';
import type {
  OffsetCommitRequest,
  OffsetCommitResult,
  OffsetDeleteRequest,
  OffsetDeleteResult,
  OffsetFetchPartitionResult,
  OffsetFetchRequest,
  OffsetFetchResult,
  TopicErrorResult,
} from './types.ts';

export interface OffsetsDeps {
  readonly clock: Clock;
  readonly config: GroupCoordinatorConfig;
  readonly log: GroupLog;
  readonly logger: Logger;
  readonly rebalancer: Rebalancer;
  group(groupId: string, create: boolean): ClassicGroup | undefined;
  /** Forgets a group that went Dead. */
  removeGroup(group: ClassicGroup): void;
}

interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

interface PendingWrite extends TopicPartition {
  readonly value: CommittedOffset;
}

export function commitErrors(req: OffsetCommitRequest, errorCode: number): OffsetCommitResult {
  return {
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
    })),
  };
}

export class Offsets {
  readonly #deps: OffsetsDeps;
  #logSequence = 0;

  constructor(deps: OffsetsDeps) {
    this.#deps = deps;
  }

  /** Commits being appended, by group: bounded by the requests in flight on connections. */
  readonly #inFlight = new Map<string, Set<Promise<unknown>>>();

  async commit(req: OffsetCommitRequest): Promise<OffsetCommitResult> {
    let group = this.#deps.group(req.groupId, false);
    if (group === undefined) {
      // Generation -1: a simple consumer (or an admin) that stores offsets without joining.
      if (req.generationIdOrMemberEpoch >= 0) {
        const error =
          req.apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION;
        return commitErrors(req, error);
      }
      group = this.#deps.group(req.groupId, true) as ClassicGroup;
    }
    const error = validateOffsetCommit(group, req);
    if (error !== ErrorCode.NONE) return commitErrors(req, error);
    const member = group.members.get(req.memberId);
    if (member && (group.is(GroupState.Stable) || group.is(GroupState.PreparingRebalance))) {
      // A commit shows the member is alive; in PreparingRebalance it still learns of the
      // rebalance from its next heartbeat.
      this.#deps.rebalancer.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
    }
    return this.#store(group, req);
  }

  async #store(group: ClassicGroup, req: OffsetCommitRequest): Promise<OffsetCommitResult> {
    const nowMs = this.#deps.clock.nowMs();
    const retentionTimeMs = req.retentionTimeMs ?? -1;
    const expireTimestampMs = retentionTimeMs === -1 ? -1 : nowMs + retentionTimeMs;
    const logSequence = ++this.#logSequence;
    const writes: PendingWrite[] = [];
    const entryErrors: number[][] = req.topics.map((t) =>
      t.partitions.map((p) => {
        const metadata = p.committedMetadata ?? '';
        if (!fitsRecordString(t.name)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        if (
          metadata.length > this.#deps.config['offset.metadata.max.bytes'] ||
          !fitsRecordString(metadata)
        ) {
          return ErrorCode.OFFSET_METADATA_TOO_LARGE;
        }
        const commitTimestamp = p.commitTimestamp ?? -1;
        writes.push({
          topic: t.name,
          partition: p.partitionIndex,
          value: {
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch,
            metadata,
            commitTimestampMs: commitTimestamp === -1 ? nowMs : commitTimestamp,
            expireTimestampMs,
            logSequence,
          },
        });
        return -2; // filled in once the append is done
      }),
    );
    let appendError: number = ErrorCode.NONE;
    if (writes.length > 0)
      appendError = await this.#tracked(group.groupId, this.#append(group, writes, logSequence));
    return {
      topics: req.topics.map((t, ti) => ({
        name: t.name,
        partitions: t.partitions.map((p, pi) => {
          const error = entryErrors[ti]?.[pi] as number;
          return {
            partitionIndex: p.partitionIndex,
            errorCode: error === -2 ? appendError : error,
          };
        }),
      })),
    };
  }

  /**
   * Resolves once every commit of the group in flight now has settled (or undefined when none
   * is). Kafka answers one request of a connection at a time, so a client that commits and
   * then fetches offsets reads its own commit; Brook pipelines, so OffsetFetch waits for this.
   */
  commitsSettled(groupId: string): Promise<void> | undefined {
    const inFlight = this.#inFlight.get(groupId);
    if (inFlight === undefined) return undefined;
    return Promise.allSettled([...inFlight]).then(() => undefined);
  }

  #tracked<T>(groupId: string, work: Promise<T>): Promise<T> {
    let inFlight = this.#inFlight.get(groupId);
    if (inFlight === undefined) this.#inFlight.set(groupId, (inFlight = new Set()));
    inFlight.add(work);
    const done = (): void => {
      inFlight.delete(work);
      if (inFlight.size === 0 && this.#inFlight.get(groupId) === inFlight) {
        this.#inFlight.delete(groupId);
      }
    };
    work.then(done, done);
    return work;
  }

  async #append(group: ClassicGroup, writes: PendingWrite[], logSequence: number): Promise<number> {
    for (const w of writes) {
      let byPartition = group.pendingOffsetCommits.get(w.topic);
      if (byPartition === undefined)
        group.pendingOffsetCommits.set(w.topic, (byPartition = new Map()));
      let sequences = byPartition.get(w.partition);
      if (sequences === undefined) byPartition.set(w.partition, (sequences = new Set()));
      sequences.add(logSequence);
    }
    const records = writes.map((w) =>
      offsetCommitRecord(group.groupId, w.topic, w.partition, w.value),
    );
    const error = offsetAppendError(await this.#deps.log.append(group.groupId, records));
    for (const w of writes) {
      const byPartition = group.pendingOffsetCommits.get(w.topic);
      const sequences = byPartition?.get(w.partition);
      // Not pending any more: the offset was deleted while the write was in flight.
      const stillPending = sequences?.delete(logSequence) ?? false;
      if (sequences?.size === 0) byPartition?.delete(w.partition);
      if (byPartition?.size === 0) group.pendingOffsetCommits.delete(w.topic);
      if (error !== ErrorCode.NONE || !stillPending) continue;
      const current = group.offset(w.topic, w.partition);
      if (current === undefined || current.logSequence <= logSequence) {
        group.setOffset(w.topic, w.partition, w.value);
      }
    }
    return error;
  }

  fetch(req: OffsetFetchRequest): OffsetFetchResult {
    const group = this.#deps.group(req.groupId, false);
    const none = (partitionIndex: number, errorCode: number): OffsetFetchPartitionResult => ({
      partitionIndex,
      committedOffset: -1,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode,
    });
    if (group === undefined || group.is(GroupState.Dead)) {
      const topics = (req.topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => none(p, ErrorCode.NONE)),
      }));
      return { errorCode: ErrorCode.NONE, topics };
    }
    const wanted =
      req.topics ??
      [...group.offsets].map(([name, byPartition]) => ({
        name,
        partitionIndexes: [...byPartition.keys()],
      }));
    const topics = wanted.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((p) => {
        if (req.requireStable && group.hasPendingCommit(t.name, p)) {
          return none(p, ErrorCode.UNSTABLE_OFFSET_COMMIT);
        }
        const committed = group.offset(t.name, p);
        if (committed === undefined) return none(p, ErrorCode.NONE);
        return {
          partitionIndex: p,
          committedOffset: committed.offset,
          committedLeaderEpoch: committed.leaderEpoch,
          metadata: committed.metadata,
          errorCode: ErrorCode.NONE,
        };
      }),
    }));
    return { errorCode: ErrorCode.NONE, topics };
  }

  async delete(req: OffsetDeleteRequest): Promise<OffsetDeleteResult> {
    const group = this.#deps.group(req.groupId, false);
    if (group === undefined || group.is(GroupState.Dead)) {
      return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    }
    const activeConsumer = !group.is(GroupState.Empty);
    if (activeConsumer && group.protocolType !== consumerProtocolType) {
      return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
    }
    const eligible: TopicPartition[] = [];
    const topics: TopicErrorResult[] = req.topics.map((t) => {
      const subscribed = activeConsumer && group.isSubscribedToTopic(t.name);
      return {
        name: t.name,
        partitions: t.partitionIndexes.map((partition) => {
          if (subscribed)
            return { partitionIndex: partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
          eligible.push({ topic: t.name, partition });
          return { partitionIndex: partition, errorCode: ErrorCode.NONE };
        }),
      };
    });
    if (eligible.length > 0) {
      await this.cleanupGroup(group, (g) => removeOffsets(g, eligible));
    }
    return { errorCode: ErrorCode.NONE, topics };
  }

  /**
   * Removes the offsets `select` picks, retires an Empty group left without offsets (Dead,
   * forgotten, and tombstoned if it ever had a generation), and appends the tombstones.
   * Kafka does not wait for these tombstones to replicate: a lost one is rewritten by the
   * next expiry pass. Returns how many offsets were removed.
   */
  async cleanupGroup(
    group: ClassicGroup,
    select: (group: ClassicGroup) => TopicPartition[],
  ): Promise<number> {
    const removed = select(group);
    if (group.is(GroupState.Empty) && !group.hasOffsets()) {
      group.transitionTo(GroupState.Dead, this.#deps.clock.nowMs());
    }
    const tombstones = removed.map((tp) => offsetTombstone(group.groupId, tp.topic, tp.partition));
    if (group.is(GroupState.Dead)) {
      this.#deps.rebalancer.cancelTimers(group);
      this.#deps.removeGroup(group);
      // Generation 0: a simple group that only stored offsets never wrote group metadata.
      if (group.generationId > 0) tombstones.push(groupTombstone(group.groupId));
    }
    if (tombstones.length > 0) {
      const error = await this.#deps.log.append(group.groupId, tombstones);
      if (error !== ErrorCode.NONE) {
        this.#deps.logger.warn({ groupId: group.groupId, error }, 'tombstones not written');
      }
    }
    return removed.length;
  }

  /** One expiry pass over `groups`; returns how many offsets expired. */
  async expire(groups: readonly ClassicGroup[]): Promise<number> {
    const nowMs = this.#deps.clock.nowMs();
    const retentionMs = this.#deps.config['offsets.retention.minutes'] * 60_000;
    const counts = await Promise.all(
      groups.map((g) => this.cleanupGroup(g, (group) => expiredOffsets(group, nowMs, retentionMs))),
    );
    return counts.reduce((a, b) => a + b, 0);
  }
}

/**
 * Kafka's OffsetCommit check (as of 4.0). Generation -1 into an Empty group is a simple or
 * admin commit and needs no membership; anything carrying a generation, member id or instance
 * id must match the current member and generation; a non-empty group takes commits from its
 * members only; and during CompletingRebalance a member must first sync.
 */
export function validateOffsetCommit(group: ClassicGroup, req: OffsetCommitRequest): number {
  if (group.is(GroupState.Dead)) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  const generationId = req.generationIdOrMemberEpoch;
  if (generationId < 0 && group.is(GroupState.Empty)) return ErrorCode.NONE;
  if (generationId >= 0 || req.memberId !== '' || req.groupInstanceId !== null) {
    const error = validateCurrentMember(group, req.memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
  } else if (!group.is(GroupState.Empty)) {
    return ErrorCode.UNKNOWN_MEMBER_ID;
  }
  if (group.is(GroupState.CompletingRebalance)) return ErrorCode.REBALANCE_IN_PROGRESS;
  return ErrorCode.NONE;
}

function removeOffsets(
  group: ClassicGroup,
  partitions: readonly TopicPartition[],
): TopicPartition[] {
  return partitions.filter((tp) => group.deleteOffset(tp.topic, tp.partition));
}

export function removeAllOffsets(group: ClassicGroup): TopicPartition[] {
  const all: TopicPartition[] = [];
  for (const source of [group.offsets, group.pendingOffsetCommits]) {
    for (const [topic, byPartition] of source) {
      for (const partition of byPartition.keys()) all.push({ topic, partition });
    }
  }
  return removeOffsets(group, all);
}

function expiredOffsets(group: ClassicGroup, nowMs: number, retentionMs: number): TopicPartition[] {
  let baseTimestamp: (committed: CommittedOffset) => number;
  let keep: ReadonlySet<string> = new Set();
  if (group.protocolType !== undefined && group.is(GroupState.Empty)) {
    // No members: retention runs from when the group became empty (or, for groups written
    // before that was recorded, from the commit).
    const emptySinceMs = group.currentStateTimestampMs;
    baseTimestamp = (c) => emptySinceMs ?? c.commitTimestampMs;
  } else if (
    group.protocolType === consumerProtocolType &&
    group.subscribedTopics !== undefined &&
    group.is(GroupState.Stable)
  ) {
    baseTimestamp = (c) => c.commitTimestampMs;
    keep = group.subscribedTopics;
  } else if (group.protocolType === undefined) {
    baseTimestamp = (c) => c.commitTimestampMs;
  } else {
    return [];
  }
  const expired: TopicPartition[] = [];
  for (const [topic, byPartition] of group.offsets) {
    if (keep.has(topic)) continue;
    for (const [partition, committed] of byPartition) {
      if (group.hasPendingCommit(topic, partition)) continue;
      const due =
        committed.expireTimestampMs >= 0
          ? nowMs >= committed.expireTimestampMs
          : nowMs - baseTimestamp(committed) >= retentionMs;
      if (due) expired.push({ topic, partition });
    }
  }
  return removeOffsets(group, expired);
}
