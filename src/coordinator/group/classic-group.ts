/**
 * A classic group's membership state and committed offsets. This class keeps the invariants
 * of its data (member counts, the static-member map, protocol votes, legal transitions); the
 * rules about who may do what and when live in the coordinator that drives it.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { TimerHandle } from '../../util/clock.ts';
import { consumerProtocolType, subscribedTopicsOf } from './consumer-subscription.ts';
import { assertTransition, GroupState, type GroupStateName } from './group-state.ts';
import type { GroupMember } from './member.ts';
import type { JoinGroupResponseMember, JoinGroupResult, SyncGroupResult } from './types.ts';

export interface CommittedOffset {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestampMs: number;
  /** -1 unless the commit set an explicit retention. */
  readonly expireTimestampMs: number;
  /** Order of the append that wrote it (0: loaded), so a late append never wins over a newer. */
  readonly logSequence: number;
}

export class ClassicGroup {
  readonly groupId: string;
  #state: GroupStateName;
  /** When the group entered its current state; undefined if unknown (old records). */
  currentStateTimestampMs: number | undefined;
  generationId = 0;
  protocolType: string | undefined = undefined;
  protocolName: string | undefined = undefined;
  leaderId: string | undefined = undefined;
  /** Insertion-ordered, so protocol votes and leader fallback are deterministic. */
  readonly members = new Map<string, GroupMember>();
  readonly #staticMembers = new Map<string, string>();
  /** Ids handed out with MEMBER_ID_REQUIRED whose owners have not joined yet. */
  readonly pendingMembers = new Set<string>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  #numMembersAwaitingJoin = 0;
  readonly #protocolVotes = new Map<string, number>();
  /** Set when a member joins during the initial delay, which then extends it. */
  newMemberAdded = false;
  /** Topics of the selected consumer protocol; undefined when unknown. */
  subscribedTopics: ReadonlySet<string> | undefined = undefined;

  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  /** In-flight commit appends per topic-partition, by commit sequence number. */
  readonly pendingOffsetCommits = new Map<string, Map<number, Set<number>>>();

  joinTimer: TimerHandle | undefined = undefined;
  /** Whether joinTimer is the initial delay, which all-joined does not cut short. */
  joinTimerIsInitialDelay = false;
  syncTimer: TimerHandle | undefined = undefined;
  readonly heartbeatTimers = new Map<string, TimerHandle>();

  constructor(groupId: string, state: GroupStateName, nowMs: number) {
    this.groupId = groupId;
    this.#state = state;
    this.currentStateTimestampMs = nowMs;
  }

  get state(): GroupStateName {
    return this.#state;
  }

  is(state: GroupStateName): boolean {
    return this.#state === state;
  }

  transitionTo(state: GroupStateName, nowMs: number): void {
    assertTransition(this.groupId, this.#state, state);
    this.#state = state;
    this.currentStateTimestampMs = nowMs;
  }

  get size(): number {
    return this.members.size;
  }

  get numAwaitingJoin(): number {
    return this.#numMembersAwaitingJoin;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): GroupMember {
    const member = this.members.get(memberId);
    assert(member, `group ${this.groupId} has no member ${memberId}`);
    return member;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  staticMemberId(groupInstanceId: string): string | undefined {
    return this.#staticMembers.get(groupInstanceId);
  }

  staticMemberCount(): number {
    return this.#staticMembers.size;
  }

  /** Kafka's supportsProtocols: an Empty group takes any type; else it must fit everyone. */
  supportsProtocols(protocolType: string, names: ReadonlySet<string>): boolean {
    if (this.is(GroupState.Empty)) return protocolType !== '' && names.size > 0;
    if (this.protocolType !== protocolType) return false;
    for (const name of names) {
      if ((this.#protocolVotes.get(name) ?? 0) === this.members.size) return true;
    }
    return false;
  }

  add(member: GroupMember, onJoin?: (result: JoinGroupResult) => void): void {
    if (member.groupInstanceId !== null) {
      this.#staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (this.members.size === 0) this.protocolType = member.protocolType;
    assert(this.protocolType === member.protocolType, 'member protocol type differs');
    assert(this.supportsProtocols(member.protocolType, member.protocolNames()), 'no protocol');
    if (this.leaderId === undefined) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.#countVotes(member, 1);
    member.awaitingJoin = onJoin;
    if (member.isAwaitingJoin) this.#numMembersAwaitingJoin++;
    this.pendingMembers.delete(member.memberId);
  }

  remove(memberId: string): GroupMember | undefined {
    const member = this.members.get(memberId);
    if (member) {
      this.members.delete(memberId);
      this.#countVotes(member, -1);
      if (member.isAwaitingJoin) this.#numMembersAwaitingJoin--;
      if (member.groupInstanceId !== null) this.#staticMembers.delete(member.groupInstanceId);
    }
    if (this.isLeader(memberId)) {
      const next = this.members.keys().next();
      this.leaderId = next.done ? undefined : next.value;
    }
    this.pendingMembers.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
    return member;
  }

  /**
   * Gives a static member a new id, answering anything the old id still waits for with
   * FENCED_INSTANCE_ID so the instance that lost its id learns of it at once.
   */
  replaceStaticMember(
    groupInstanceId: string,
    oldMemberId: string,
    newMemberId: string,
  ): GroupMember {
    const member = this.get(oldMemberId);
    this.members.delete(oldMemberId);
    this.invokeJoin(member, errorJoinResult(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    this.invokeSync(member, errorSyncResult(ErrorCode.FENCED_INSTANCE_ID));
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.isLeader(oldMemberId)) this.leaderId = newMemberId;
    this.#staticMembers.set(groupInstanceId, newMemberId);
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    return member;
  }

  updateMember(
    member: GroupMember,
    protocols: GroupMember['protocols'],
    rebalanceTimeoutMs: number,
    sessionTimeoutMs: number,
    onJoin: ((result: JoinGroupResult) => void) | undefined,
  ): void {
    this.#countVotes(member, -1);
    member.protocols = protocols;
    this.#countVotes(member, 1);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    if (onJoin !== undefined && !member.isAwaitingJoin) this.#numMembersAwaitingJoin++;
    else if (onJoin === undefined && member.isAwaitingJoin) this.#numMembersAwaitingJoin--;
    member.awaitingJoin = onJoin;
  }

  #countVotes(member: GroupMember, delta: number): void {
    for (const name of member.protocolNames()) {
      const count = (this.#protocolVotes.get(name) ?? 0) + delta;
      if (count === 0) this.#protocolVotes.delete(name);
      else this.#protocolVotes.set(name, count);
    }
  }

  invokeJoin(member: GroupMember, result: JoinGroupResult): void {
    const callback = member.awaitingJoin;
    if (callback === undefined) return;
    member.awaitingJoin = undefined;
    this.#numMembersAwaitingJoin--;
    callback(result);
  }

  invokeSync(member: GroupMember, result: SyncGroupResult): boolean {
    const callback = member.awaitingSync;
    if (callback === undefined) return false;
    member.awaitingSync = undefined;
    callback(result);
    return true;
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.#numMembersAwaitingJoin && this.pendingMembers.size === 0;
  }

  /** The largest rebalance timeout among members: how long a join phase may take. */
  rebalanceTimeoutMs(): number {
    let timeoutMs = 0;
    for (const m of this.members.values()) timeoutMs = Math.max(timeoutMs, m.rebalanceTimeoutMs);
    return timeoutMs;
  }

  /** If the leader did not rejoin, hands leadership to a member that did; false if none did. */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === undefined) return false;
    if (this.get(this.leaderId).isAwaitingJoin) return true;
    for (const [memberId, member] of this.members) {
      if (member.isAwaitingJoin) {
        this.leaderId = memberId;
        return true;
      }
    }
    return false;
  }

  /**
   * Kafka's protocol choice: among the protocols every member supports, each member votes for
   * the first in its own preference order and the most votes win. Kafka leaves ties to hash
   * order; here the protocol that reached the top count first (in member order) wins.
   */
  selectProtocol(): string {
    assert(this.members.size > 0, 'cannot select a protocol for an empty group');
    const candidates = new Set<string>();
    for (const [name, count] of this.#protocolVotes) {
      if (count === this.members.size) candidates.add(name);
    }
    const votes = new Map<string, number>();
    let best: string | undefined;
    let bestVotes = 0;
    for (const member of this.members.values()) {
      const choice = member.vote(candidates);
      const count = (votes.get(choice) ?? 0) + 1;
      votes.set(choice, count);
      if (count > bestVotes) {
        best = choice;
        bestVotes = count;
      }
    }
    assert(best !== undefined);
    return best;
  }

  initNextGeneration(nowMs: number): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo(GroupState.CompletingRebalance, nowMs);
    } else {
      this.protocolName = undefined;
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo(GroupState.Empty, nowMs);
    }
    this.pendingSyncMembers.clear();
  }

  computeSubscribedTopics(): ReadonlySet<string> | undefined {
    if (this.protocolType !== consumerProtocolType) return undefined;
    if (this.members.size === 0) return new Set();
    if (this.protocolName === undefined) return undefined;
    const topics = new Set<string>();
    for (const member of this.members.values()) {
      const parsed = subscribedTopicsOf(member.metadata(this.protocolName));
      if (parsed === undefined) return undefined;
      for (const t of parsed) topics.add(t);
    }
    return topics;
  }

  /** Whether the group may be consuming `topic` (an unknown subscription counts as yes). */
  isSubscribedToTopic(topic: string): boolean {
    return this.subscribedTopics === undefined || this.subscribedTopics.has(topic);
  }

  /** The JoinGroup `members` list a leader receives. */
  currentMemberMetadata(): JoinGroupResponseMember[] {
    assert(!this.is(GroupState.Dead) && !this.is(GroupState.PreparingRebalance));
    const protocolName = this.protocolName;
    assert(protocolName !== undefined, 'no protocol selected');
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadata(protocolName),
    }));
  }

  offset(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition);
  }

  hasOffsets(): boolean {
    return this.offsets.size > 0 || this.pendingOffsetCommits.size > 0;
  }

  hasPendingCommit(topic: string, partition: number): boolean {
    return (this.pendingOffsetCommits.get(topic)?.get(partition)?.size ?? 0) > 0;
  }

  setOffset(topic: string, partition: number, value: CommittedOffset): void {
    let byPartition = this.offsets.get(topic);
    if (byPartition === undefined) this.offsets.set(topic, (byPartition = new Map()));
    byPartition.set(partition, value);
  }

  deleteOffset(topic: string, partition: number): boolean {
    const byPartition = this.offsets.get(topic);
    const existed = byPartition?.delete(partition) ?? false;
    if (byPartition?.size === 0) this.offsets.delete(topic);
    const pending = this.pendingOffsetCommits.get(topic);
    pending?.delete(partition);
    if (pending?.size === 0) this.pendingOffsetCommits.delete(topic);
    return existed;
  }
}

export function errorJoinResult(memberId: string, errorCode: number): JoinGroupResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

export function errorSyncResult(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
}
