/**
 * The classic group protocol's requests: JoinGroup, SyncGroup, Heartbeat and LeaveGroup
 * against one group, answered as Kafka answers them (error codes, generations, protocol
 * selection, static membership). The phases and timeouts they set off live in Rebalancer.
 *
 * Requests are answered through callbacks (wrapped in promises by the coordinator), so an
 * answer can wait for other members or for the group metadata to be written.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { Clock } from '../../util/clock.ts';
import type { Random } from '../../util/random.ts';
import { type ClassicGroup, errorJoinResult, errorSyncResult } from './classic-group.ts';
import { type GroupCoordinatorConfig, newMemberJoinTimeoutMs } from './coordinator-config.ts';
import type { GroupLog } from './group-log.ts';
import { GroupState } from './group-state.ts';
import { GroupMember } from './member.ts';
import { generateMemberId } from './member-id.ts';
import type { Rebalancer } from './rebalance.ts';
import type {
  HeartbeatRequest,
  JoinGroupRequest,
  JoinGroupResult,
  LeaveGroupMemberIdentity,
  LeaveGroupMemberResult,
  LeaveGroupResult,
  SyncGroupRequest,
  SyncGroupResult,
} from './types.ts';

type JoinCallback = (result: JoinGroupResult) => void;
type SyncCallback = (result: SyncGroupResult) => void;

export interface MembershipDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly config: GroupCoordinatorConfig;
  readonly log: GroupLog;
  readonly rebalancer: Rebalancer;
  /** The group, created Empty when `create` is set and it does not exist. */
  group(groupId: string, create: boolean): ClassicGroup | undefined;
}

export class Membership {
  readonly #deps: MembershipDeps;
  readonly #rebalancer: Rebalancer;

  constructor(deps: MembershipDeps) {
    this.#deps = deps;
    this.#rebalancer = deps.rebalancer;
  }

  get #now(): number {
    return this.#deps.clock.nowMs();
  }

  // ---- JoinGroup -------------------------------------------------------------------------

  join(req: JoinGroupRequest, respond: JoinCallback): void {
    const isUnknown = req.memberId === '';
    const group = this.#deps.group(req.groupId, isUnknown);
    if (group === undefined) {
      respond(errorJoinResult(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      return;
    }
    if (!this.#acceptJoiningMember(group, req.memberId)) {
      const member = group.members.get(req.memberId);
      if (member) this.#rebalancer.dropMember(group, member, ErrorCode.GROUP_MAX_SIZE_REACHED);
      respond(errorJoinResult('', ErrorCode.GROUP_MAX_SIZE_REACHED));
    } else if (isUnknown) {
      this.#newMemberJoin(group, req, respond);
    } else {
      this.#currentMemberJoin(group, req, respond);
    }
    if (group.is(GroupState.PreparingRebalance)) this.#rebalancer.checkJoinComplete(group);
  }

  /**
   * Kafka's admission rule: in PreparingRebalance only members already waiting, or up to
   * `group.max.size` waiting members (so the last to rejoin of an oversized group is cut);
   * otherwise existing members, or up to `group.max.size` members.
   */
  #acceptJoiningMember(group: ClassicGroup, memberId: string): boolean {
    const maxSize = this.#deps.config['group.max.size'];
    switch (group.state) {
      case GroupState.Empty:
      case GroupState.Dead:
        return true;
      case GroupState.PreparingRebalance:
        return (
          (group.has(memberId) && group.get(memberId).isAwaitingJoin) ||
          group.numAwaitingJoin < maxSize
        );
      default:
        return group.has(memberId) || group.size < maxSize;
    }
  }

  #newMemberJoin(group: ClassicGroup, req: JoinGroupRequest, respond: JoinCallback): void {
    const names = new Set(req.protocols.map((p) => p.name));
    if (group.is(GroupState.Dead)) {
      respond(errorJoinResult('', ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!group.supportsProtocols(req.protocolType, names)) {
      respond(errorJoinResult('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    const newMemberId = generateMemberId(this.#deps.random, req.clientId, req.groupInstanceId);
    if (req.groupInstanceId !== null) {
      const oldMemberId = group.staticMemberId(req.groupInstanceId);
      if (oldMemberId !== undefined) {
        this.#replaceStaticMember(group, oldMemberId, newMemberId, req, respond);
      } else {
        this.#addMemberAndRebalance(group, req, newMemberId, respond);
      }
    } else if (req.apiVersion >= 4) {
      // KIP-394: hand out the id first, so a client that times out and retries its first
      // JoinGroup rejoins as the same member instead of piling up defunct ones.
      if (group.pendingMembers.size >= this.#deps.config['group.max.pending.members']) {
        respond(errorJoinResult('', ErrorCode.GROUP_MAX_SIZE_REACHED));
        return;
      }
      group.pendingMembers.add(newMemberId);
      this.#rebalancer.schedulePendingMemberExpiry(group, newMemberId, req.sessionTimeoutMs);
      respond(errorJoinResult(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.#addMemberAndRebalance(group, req, newMemberId, respond);
    }
  }

  #currentMemberJoin(group: ClassicGroup, req: JoinGroupRequest, respond: JoinCallback): void {
    const memberId = req.memberId;
    const names = new Set(req.protocols.map((p) => p.name));
    if (group.is(GroupState.Dead)) {
      respond(errorJoinResult(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    } else if (!group.supportsProtocols(req.protocolType, names)) {
      respond(errorJoinResult(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    } else if (group.pendingMembers.has(memberId)) {
      // A pending id is only ever handed to a dynamic member; Kafka fails such a request with
      // an internal error, which reaches the client as UNKNOWN_SERVER_ERROR.
      if (req.groupInstanceId !== null) {
        respond(errorJoinResult(memberId, ErrorCode.UNKNOWN_SERVER_ERROR));
      } else {
        this.#addMemberAndRebalance(group, req, memberId, respond);
      }
    } else {
      const error = validateCurrentMember(group, memberId, req.groupInstanceId);
      if (error !== ErrorCode.NONE) respond(errorJoinResult(memberId, error));
      else this.#knownMemberJoin(group, group.get(memberId), req, respond);
    }
  }

  #knownMemberJoin(
    group: ClassicGroup,
    member: GroupMember,
    req: JoinGroupRequest,
    respond: JoinCallback,
  ): void {
    switch (group.state) {
      case GroupState.PreparingRebalance:
        this.#updateMemberAndRebalance(group, member, req, respond);
        return;
      case GroupState.CompletingRebalance:
        // Same metadata: the member most likely lost the JoinGroup answer; repeat it.
        if (member.matches(req.protocols))
          respond(this.#rebalancer.currentGenerationResult(group, member));
        else this.#updateMemberAndRebalance(group, member, req, respond);
        return;
      case GroupState.Stable:
        // A leader's rejoin always rebalances: it is how a leader reacts to changes that do
        // not show in member metadata (e.g. new partitions of a subscribed topic).
        if (group.isLeader(member.memberId) || !member.matches(req.protocols)) {
          this.#updateMemberAndRebalance(group, member, req, respond);
        } else {
          respond({ ...this.#rebalancer.currentGenerationResult(group, member), members: [] });
        }
        return;
      default:
        respond(errorJoinResult(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  #addMemberAndRebalance(
    group: ClassicGroup,
    req: JoinGroupRequest,
    memberId: string,
    respond: JoinCallback,
  ): void {
    const member = new GroupMember({
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      sessionTimeoutMs: req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
    });
    member.isNew = true;
    // Only the first generation's initial delay is extended by arrivals.
    if (group.is(GroupState.PreparingRebalance) && group.generationId === 0) {
      group.newMemberAdded = true;
    }
    group.add(member, respond);
    // A new member cannot heartbeat while its JoinGroup is held; bound the hold instead.
    this.#rebalancer.scheduleHeartbeat(group, member, newMemberJoinTimeoutMs);
    this.#rebalancer.maybePrepareRebalance(group, `new member ${memberId} joined`);
  }

  #updateMemberAndRebalance(
    group: ClassicGroup,
    member: GroupMember,
    req: JoinGroupRequest,
    respond: JoinCallback,
  ): void {
    // A client never has two JoinGroups in flight; if one is superseded, answer it rather
    // than leave its connection waiting (Kafka drops it unanswered).
    group.invokeJoin(member, errorJoinResult(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    group.updateMember(
      member,
      req.protocols,
      req.rebalanceTimeoutMs,
      req.sessionTimeoutMs,
      respond,
    );
    this.#rebalancer.maybePrepareRebalance(group, `member ${member.memberId} rejoined`);
  }

  /**
   * KIP-345: a static member that rejoins without its id takes over the old id's place. In a
   * Stable group whose protocol choice does not change this needs no rebalance: the new id is
   * persisted and the member gets the current generation back.
   */
  #replaceStaticMember(
    group: ClassicGroup,
    oldMemberId: string,
    newMemberId: string,
    req: JoinGroupRequest,
    respond: JoinCallback,
  ): void {
    const instanceId = req.groupInstanceId;
    assert(instanceId !== null);
    const previousLeader = group.leaderId ?? '';
    this.#rebalancer.cancelHeartbeat(group, oldMemberId);
    const member = group.replaceStaticMember(instanceId, oldMemberId, newMemberId);
    this.#rebalancer.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
    const previous = {
      protocols: member.protocols,
      rebalanceTimeoutMs: member.rebalanceTimeoutMs,
      sessionTimeoutMs: member.sessionTimeoutMs,
    };
    group.updateMember(
      member,
      req.protocols,
      req.rebalanceTimeoutMs,
      req.sessionTimeoutMs,
      respond,
    );
    switch (group.state) {
      case GroupState.Stable:
        if (group.protocolName === group.selectProtocol()) {
          this.#persistStaticReplacement(group, member, oldMemberId, previous, previousLeader, req);
        } else {
          this.#rebalancer.maybePrepareRebalance(
            group,
            `static member ${instanceId} changed protocols`,
          );
        }
        return;
      case GroupState.CompletingRebalance:
        // The leader may already be assigning to the old id: start over.
        this.#rebalancer.prepareRebalance(
          group,
          `static member ${instanceId} rejoined during sync`,
        );
        return;
      case GroupState.PreparingRebalance:
        return;
      default:
        assert.fail(`group ${group.groupId} in ${group.state} with static member ${instanceId}`);
    }
  }

  #persistStaticReplacement(
    group: ClassicGroup,
    member: GroupMember,
    oldMemberId: string,
    previous: Pick<GroupMember, 'protocols' | 'rebalanceTimeoutMs' | 'sessionTimeoutMs'>,
    previousLeader: string,
    req: JoinGroupRequest,
  ): void {
    const newMemberId = member.memberId;
    const instanceId = member.groupInstanceId as string;
    const assignment = new Map([...group.members.values()].map((m) => [m.memberId, m.assignment]));
    void this.#deps.log.storeGroup(group, assignment).then((error) => {
      if (error !== ErrorCode.NONE) {
        // Not persisted: give the instance its old id back, as if this join never happened.
        const respond = member.awaitingJoin;
        group.updateMember(
          member,
          previous.protocols,
          previous.rebalanceTimeoutMs,
          previous.sessionTimeoutMs,
          undefined,
        );
        if (group.members.get(newMemberId) === member && !group.is(GroupState.Dead)) {
          this.#rebalancer.cancelHeartbeat(group, newMemberId);
          group.replaceStaticMember(instanceId, newMemberId, oldMemberId);
          this.#rebalancer.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
        }
        respond?.({
          errorCode: error,
          generationId: group.generationId,
          protocolType: group.protocolType ?? null,
          protocolName: group.protocolName ?? null,
          leader: previousLeader,
          skipAssignment: false,
          memberId: '',
          members: [],
        });
        return;
      }
      // JoinGroup v9+ (KIP-814): a static leader learns it leads but skips the assignor,
      // whose result a Stable group would ignore. Older leaders are told the old leader id,
      // so they do not think themselves leader and assign for nothing.
      const isLeader = group.isLeader(newMemberId);
      const skip = req.apiVersion >= 9;
      group.invokeJoin(member, {
        errorCode: ErrorCode.NONE,
        generationId: group.generationId,
        protocolType: group.protocolType ?? null,
        protocolName: group.protocolName ?? null,
        leader: skip ? (group.leaderId ?? '') : previousLeader,
        skipAssignment: skip && isLeader,
        memberId: newMemberId,
        members: skip && isLeader ? group.currentMemberMetadata() : [],
      });
    });
  }

  // ---- SyncGroup -------------------------------------------------------------------------

  sync(req: SyncGroupRequest, respond: SyncCallback): void {
    const group = this.#deps.group(req.groupId, false);
    if (group === undefined) {
      respond(errorSyncResult(ErrorCode.UNKNOWN_MEMBER_ID));
      return;
    }
    const error = validateSync(group, req);
    if (error !== ErrorCode.NONE) {
      respond(errorSyncResult(error));
      return;
    }
    switch (group.state) {
      case GroupState.Empty:
        respond(errorSyncResult(ErrorCode.UNKNOWN_MEMBER_ID));
        return;
      case GroupState.PreparingRebalance:
        respond(errorSyncResult(ErrorCode.REBALANCE_IN_PROGRESS));
        return;
      case GroupState.CompletingRebalance:
        this.#syncWhileCompleting(group, req, respond);
        return;
      case GroupState.Stable: {
        this.#rebalancer.removePendingSyncMember(group, req.memberId);
        const member = group.get(req.memberId);
        respond({
          errorCode: ErrorCode.NONE,
          protocolType: group.protocolType ?? null,
          protocolName: group.protocolName ?? null,
          assignment: member.assignment,
        });
        this.#rebalancer.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
        return;
      }
      default:
        assert.fail(`sync on a Dead group ${group.groupId} passed validation`);
    }
  }

  #syncWhileCompleting(group: ClassicGroup, req: SyncGroupRequest, respond: SyncCallback): void {
    const member = group.get(req.memberId);
    group.invokeSync(member, errorSyncResult(ErrorCode.REBALANCE_IN_PROGRESS));
    member.awaitingSync = respond;
    this.#rebalancer.removePendingSyncMember(group, req.memberId);
    if (!group.isLeader(req.memberId)) return;
    // Members the leader left out get an empty assignment; ids not in the group are ignored.
    const assignment = new Map<string, Buffer>();
    for (const a of req.assignments) assignment.set(a.memberId, a.assignment);
    for (const memberId of group.members.keys()) {
      if (!assignment.has(memberId)) assignment.set(memberId, Buffer.alloc(0));
    }
    const generationId = group.generationId;
    void this.#deps.log.storeGroup(group, assignment).then((error) => {
      // The group may have moved on while the write was in flight; then this is stale.
      if (!group.is(GroupState.CompletingRebalance) || group.generationId !== generationId) return;
      if (error !== ErrorCode.NONE) {
        this.#rebalancer.resetAndPropagateAssignmentError(group, error);
        this.#rebalancer.maybePrepareRebalance(
          group,
          `storing the assignment failed with ${error}`,
        );
        return;
      }
      for (const m of group.members.values()) m.assignment = assignment.get(m.memberId) as Buffer;
      this.#rebalancer.propagateAssignment(group, ErrorCode.NONE);
      group.transitionTo(GroupState.Stable, this.#now);
    });
  }

  // ---- Heartbeat -------------------------------------------------------------------------

  heartbeat(req: HeartbeatRequest): number {
    const group = this.#deps.group(req.groupId, false);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is(GroupState.Dead)) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = validateCurrentMember(group, req.memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (group.state) {
      case GroupState.Empty:
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case GroupState.PreparingRebalance: {
        const member = group.get(req.memberId);
        this.#rebalancer.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      }
      default: {
        // CompletingRebalance or Stable: a member may heartbeat as soon as it has joined.
        const member = group.get(req.memberId);
        this.#rebalancer.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
        return ErrorCode.NONE;
      }
    }
  }

  // ---- LeaveGroup ------------------------------------------------------------------------

  leave(groupId: string, leaving: readonly LeaveGroupMemberIdentity[]): LeaveGroupResult {
    const group = this.#deps.group(groupId, false);
    const result = (m: LeaveGroupMemberIdentity, errorCode: number): LeaveGroupMemberResult => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      errorCode,
    });
    if (group === undefined) {
      return {
        errorCode: ErrorCode.NONE,
        members: leaving.map((m) => result(m, ErrorCode.UNKNOWN_MEMBER_ID)),
      };
    }
    if (group.is(GroupState.Dead))
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const members = leaving.map((m) => result(m, this.#leaveOne(group, m)));
    return { errorCode: ErrorCode.NONE, members };
  }

  #leaveOne(group: ClassicGroup, leaving: LeaveGroupMemberIdentity): number {
    // An administrator may remove a static member by its instance id alone.
    if (leaving.memberId === '') {
      const memberId =
        leaving.groupInstanceId === null
          ? undefined
          : group.staticMemberId(leaving.groupInstanceId);
      if (memberId === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      this.#rebalancer.removeMemberAndUpdateGroup(group, group.get(memberId), 'left the group');
      return ErrorCode.NONE;
    }
    if (group.pendingMembers.has(leaving.memberId)) {
      this.#rebalancer.cancelHeartbeat(group, leaving.memberId);
      this.#rebalancer.removePendingMember(group, leaving.memberId);
      return ErrorCode.NONE;
    }
    const error = validateCurrentMember(group, leaving.memberId, leaving.groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    this.#rebalancer.removeMemberAndUpdateGroup(
      group,
      group.get(leaving.memberId),
      'left the group',
    );
    return ErrorCode.NONE;
  }
}

/**
 * LeaveGroup v0-v2 carry one member and one error code: the top-level error if any, else the
 * first member's error (Kafka's LeaveGroupResponse for old versions).
 */
export function leaveErrorForSingleMemberVersions(result: LeaveGroupResult): number {
  if (result.errorCode !== ErrorCode.NONE) return result.errorCode;
  return result.members.find((m) => m.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
}

/**
 * Kafka's member check: a static member's instance id must map to this member id (else the
 * caller is a fenced zombie), and the member id must be in the group.
 */
export function validateCurrentMember(
  group: ClassicGroup,
  memberId: string,
  groupInstanceId: string | null,
): number {
  if (groupInstanceId !== null) {
    const current = group.staticMemberId(groupInstanceId);
    if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
  }
  return group.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
}

function validateSync(group: ClassicGroup, req: SyncGroupRequest): number {
  if (group.is(GroupState.Dead)) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  const error = validateCurrentMember(group, req.memberId, req.groupInstanceId);
  if (error !== ErrorCode.NONE) return error;
  if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
  if (req.protocolType !== null && req.protocolType !== group.protocolType) {
    return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
  }
  if (req.protocolName !== null && req.protocolName !== group.protocolName) {
    return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
  }
  return ErrorCode.NONE;
}
