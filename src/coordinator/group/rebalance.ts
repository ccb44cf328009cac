/**
 * The phases and timeouts of a classic group's rebalance, driven only by the injected Clock:
 *
 * - join phase: held JoinGroups are answered when every member has rejoined, or when the
 *   rebalance timeout (the largest of the members') expires; dynamic members that did not
 *   rejoin are then removed. A group leaving Empty first waits
 *   `group.initial.rebalance.delay.ms`, extended while new members keep arriving (first
 *   generation only), up to the rebalance timeout.
 * - sync phase: members that do not send SyncGroup within the rebalance timeout are removed
 *   and the group rebalances again.
 * - sessions: a member that neither heartbeats nor waits in a rebalance within its session
 *   timeout is removed; a new member's held JoinGroup expires after five minutes; an id
 *   handed out with MEMBER_ID_REQUIRED expires after the session timeout.
 *
 * Membership (the request side) calls into this; so do offset commits (a commit restarts the
 * member's session) and partition loading and unloading.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { Clock } from '../../util/clock.ts';
import type { Logger } from '../../util/logger.ts';
import { type ClassicGroup, errorJoinResult, errorSyncResult } from './classic-group.ts';
import type { GroupCoordinatorConfig } from './coordinator-config.ts';
import type { GroupLog } from './group-log.ts';
import { GroupState } from './group-state.ts';
import type { GroupMember } from './member.ts';
import type { JoinGroupResult } from './types.ts';

export interface RebalancerDeps {
  readonly clock: Clock;
  readonly config: GroupCoordinatorConfig;
  readonly log: GroupLog;
  readonly logger: Logger;
}

export class Rebalancer {
  readonly #deps: RebalancerDeps;

  constructor(deps: RebalancerDeps) {
    this.#deps = deps;
  }

  get #now(): number {
    return this.#deps.clock.nowMs();
  }

  /** The JoinGroup answer for the current generation; only the leader gets the members. */
  currentGenerationResult(group: ClassicGroup, member: GroupMember): JoinGroupResult {
    const isLeader = group.isLeader(member.memberId);
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType ?? null,
      protocolName: group.protocolName ?? null,
      leader: group.leaderId ?? '',
      skipAssignment: false,
      memberId: member.memberId,
      members: isLeader ? group.currentMemberMetadata() : [],
    };
  }

  // ---- rebalance phases ------------------------------------------------------------------

  maybePrepareRebalance(group: ClassicGroup, reason: string): void {
    if (
      group.is(GroupState.Stable) ||
      group.is(GroupState.CompletingRebalance) ||
      group.is(GroupState.Empty)
    ) {
      this.prepareRebalance(group, reason);
    }
  }

  prepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.is(GroupState.CompletingRebalance)) {
      this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    }
    this.#removeSyncExpiration(group);
    const wasEmpty = group.is(GroupState.Empty);
    const rebalanceTimeoutMs = group.rebalanceTimeoutMs();
    group.transitionTo(GroupState.PreparingRebalance, this.#now);
    this.#deps.logger.info(
      { groupId: group.groupId, generationId: group.generationId, reason },
      'preparing to rebalance group',
    );
    if (wasEmpty) {
      const delayMs = this.#deps.config['group.initial.rebalance.delay.ms'];
      this.#scheduleInitialJoin(group, delayMs, Math.max(rebalanceTimeoutMs - delayMs, 0));
    } else {
      this.#scheduleJoin(group, rebalanceTimeoutMs);
    }
  }

  #scheduleInitialJoin(group: ClassicGroup, delayMs: number, remainingMs: number): void {
    const configuredDelayMs = this.#deps.config['group.initial.rebalance.delay.ms'];
    group.joinTimer?.cancel();
    group.joinTimerIsInitialDelay = true;
    group.joinTimer = this.#deps.clock.setTimer(delayMs, () => {
      group.joinTimer = undefined;
      if (group.newMemberAdded && remainingMs !== 0) {
        group.newMemberAdded = false;
        const nextDelayMs = Math.min(configuredDelayMs, remainingMs);
        this.#scheduleInitialJoin(group, nextDelayMs, Math.max(remainingMs - delayMs, 0));
      } else {
        this.#completeJoin(group);
      }
    });
  }

  #scheduleJoin(group: ClassicGroup, timeoutMs: number): void {
    group.joinTimer?.cancel();
    group.joinTimer = undefined;
    if (group.hasAllMembersJoined()) {
      this.#completeJoin(group);
      return;
    }
    group.joinTimerIsInitialDelay = false;
    group.joinTimer = this.#deps.clock.setTimer(timeoutMs, () => {
      group.joinTimer = undefined;
      this.#completeJoin(group);
    });
  }

  /** Ends the join phase early once everyone is in (never during the initial delay). */
  checkJoinComplete(group: ClassicGroup): void {
    if (group.joinTimer === undefined || group.joinTimerIsInitialDelay) return;
    if (!group.hasAllMembersJoined()) return;
    group.joinTimer.cancel();
    group.joinTimer = undefined;
    this.#completeJoin(group);
  }

  #completeJoin(group: ClassicGroup): void {
    for (const member of [...group.members.values()]) {
      // Static members that missed the rebalance keep their place until their session ends.
      if (!member.isAwaitingJoin && !member.isStatic) this.dropMember(group, member);
    }
    if (group.is(GroupState.Dead)) return;
    if (!group.maybeElectNewJoinedLeader() && group.size > 0) {
      // Nobody rejoined: wait another round for sessions to clear the silent members.
      this.#scheduleJoin(group, group.rebalanceTimeoutMs());
      return;
    }
    group.initNextGeneration(this.#now);
    if (group.is(GroupState.Empty)) {
      void this.#deps.log.storeGroup(group, new Map()).then((error) => {
        // Harmless if lost: an empty generation has no members to confuse.
        if (error !== ErrorCode.NONE) {
          this.#deps.logger.warn({ groupId: group.groupId, error }, 'empty group not written');
        }
      });
      return;
    }
    for (const member of group.members.values()) {
      group.invokeJoin(member, this.currentGenerationResult(group, member));
      this.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
      member.isNew = false;
      group.pendingSyncMembers.add(member.memberId);
    }
    this.#schedulePendingSync(group);
  }

  #schedulePendingSync(group: ClassicGroup): void {
    group.syncTimer?.cancel();
    const generationId = group.generationId;
    group.syncTimer = this.#deps.clock.setTimer(group.rebalanceTimeoutMs(), () => {
      group.syncTimer = undefined;
      this.#expirePendingSync(group, generationId);
    });
  }

  #expirePendingSync(group: ClassicGroup, generationId: number): void {
    if (generationId !== group.generationId) return;
    if (!group.is(GroupState.CompletingRebalance) && !group.is(GroupState.Stable)) return;
    if (group.pendingSyncMembers.size === 0) return;
    const late = [...group.pendingSyncMembers];
    for (const memberId of late) {
      const member = group.members.get(memberId);
      if (member) this.dropMember(group, member);
    }
    this.prepareRebalance(group, `members ${late.join(', ')} did not sync in time`);
  }

  #removeSyncExpiration(group: ClassicGroup): void {
    group.pendingSyncMembers.clear();
    group.syncTimer?.cancel();
    group.syncTimer = undefined;
  }

  removePendingSyncMember(group: ClassicGroup, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) {
      group.syncTimer?.cancel();
      group.syncTimer = undefined;
    }
  }

  resetAndPropagateAssignmentError(group: ClassicGroup, errorCode: number): void {
    assert(group.is(GroupState.CompletingRebalance));
    for (const member of group.members.values()) member.assignment = Buffer.alloc(0);
    this.propagateAssignment(group, errorCode);
  }

  propagateAssignment(group: ClassicGroup, errorCode: number): void {
    const ok = errorCode === ErrorCode.NONE;
    for (const member of group.members.values()) {
      const answered = group.invokeSync(member, {
        errorCode,
        protocolType: ok ? (group.protocolType ?? null) : null,
        protocolName: ok ? (group.protocolName ?? null) : null,
        assignment: member.assignment,
      });
      // A session may have lapsed while the member waited for the assignment; restart it.
      if (answered) this.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
    }
  }

  // ---- sessions --------------------------------------------------------------------------

  /** Restarts `member`'s session: it must be heard from again within `timeoutMs`. */
  scheduleHeartbeat(group: ClassicGroup, member: GroupMember, timeoutMs: number): void {
    const memberId = member.memberId;
    group.heartbeatTimers.get(memberId)?.cancel();
    const timer = this.#deps.clock.setTimer(timeoutMs, () => {
      group.heartbeatTimers.delete(memberId);
      this.#expireHeartbeat(group, memberId);
    });
    group.heartbeatTimers.set(memberId, timer);
  }

  cancelHeartbeat(group: ClassicGroup, memberId: string): void {
    group.heartbeatTimers.get(memberId)?.cancel();
    group.heartbeatTimers.delete(memberId);
  }

  schedulePendingMemberExpiry(group: ClassicGroup, memberId: string, timeoutMs: number): void {
    group.heartbeatTimers.get(memberId)?.cancel();
    const timer = this.#deps.clock.setTimer(timeoutMs, () => {
      group.heartbeatTimers.delete(memberId);
      if (!group.is(GroupState.Dead) && group.pendingMembers.has(memberId)) {
        this.removePendingMember(group, memberId);
      }
    });
    group.heartbeatTimers.set(memberId, timer);
  }

  #expireHeartbeat(group: ClassicGroup, memberId: string): void {
    if (group.is(GroupState.Dead)) return;
    const member = group.members.get(memberId);
    if (member === undefined || member.hasSatisfiedHeartbeat()) return;
    this.removeMemberAndUpdateGroup(group, member, 'session timed out');
  }

  removePendingMember(group: ClassicGroup, memberId: string): void {
    group.pendingMembers.delete(memberId);
    if (group.is(GroupState.PreparingRebalance)) this.checkJoinComplete(group);
  }

  removeMemberAndUpdateGroup(group: ClassicGroup, member: GroupMember, reason: string): void {
    this.#deps.logger.info(
      { groupId: group.groupId, memberId: member.memberId, reason },
      'removing member',
    );
    this.dropMember(group, member);
    switch (group.state) {
      case GroupState.Stable:
      case GroupState.CompletingRebalance:
        this.maybePrepareRebalance(group, `member ${member.memberId} ${reason}`);
        return;
      case GroupState.PreparingRebalance:
        this.checkJoinComplete(group);
        return;
      default:
    }
  }

  /**
   * Removes a member, first answering a JoinGroup or SyncGroup it still waits on (with
   * UNKNOWN_MEMBER_ID unless told otherwise, so the client rejoins if it is still alive).
   */
  dropMember(
    group: ClassicGroup,
    member: GroupMember,
    errorCode: number = ErrorCode.UNKNOWN_MEMBER_ID,
  ): void {
    group.invokeJoin(member, errorJoinResult('', errorCode));
    group.invokeSync(member, errorSyncResult(errorCode));
    group.remove(member.memberId);
    this.cancelHeartbeat(group, member.memberId);
  }

  // ---- loading and unloading -------------------------------------------------------------

  onGroupLoaded(group: ClassicGroup): void {
    assert(group.is(GroupState.Stable) || group.is(GroupState.Empty));
    if (group.size > this.#deps.config['group.max.size']) {
      // Let the members commit once more before the rebalance cuts the group down to size.
      this.prepareRebalance(group, 'loaded group is over group.max.size');
    }
    for (const member of group.members.values()) {
      this.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
    }
  }

  /** The partition moved away: answer everyone waiting with NOT_COORDINATOR. */
  onGroupUnloaded(group: ClassicGroup): void {
    const previous = group.state;
    group.transitionTo(GroupState.Dead, this.#now);
    for (const member of group.members.values()) {
      if (previous === GroupState.PreparingRebalance) {
        group.invokeJoin(member, errorJoinResult(member.memberId, ErrorCode.NOT_COORDINATOR));
      } else {
        group.invokeSync(member, errorSyncResult(ErrorCode.NOT_COORDINATOR));
      }
    }
    this.cancelTimers(group);
  }

  cancelTimers(group: ClassicGroup): void {
    group.joinTimer?.cancel();
    group.joinTimer = undefined;
    this.#removeSyncExpiration(group);
    for (const timer of group.heartbeatTimers.values()) timer.cancel();
    group.heartbeatTimers.clear();
  }
}
