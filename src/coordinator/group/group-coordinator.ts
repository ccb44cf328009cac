/**
 * Brook's classic group coordinator: the entry point the group and offset request handlers
 * call. It owns the partitions of __consumer_offsets this broker leads, answers
 * NOT_COORDINATOR for groups of other partitions and COORDINATOR_LOAD_IN_PROGRESS while a
 * partition is being replayed, and delegates to Membership (join/sync/heartbeat/leave) and
 * Offsets (commit/fetch/delete/expiry). It never touches sockets: every answer is a value or
 * a promise of one, and time, timers and randomness are injected.
 *
 * What the request handlers do around it (version details the core leaves to them):
 * - JoinGroup v0 has no rebalance timeout: pass the session timeout (Kafka does). Pass the
 *   request version; below v7 a null protocolName goes out as ''.
 * - SyncGroup below v5 has no protocolType/protocolName: pass null to skip those checks.
 * - LeaveGroup v0-v2 carry one member: use leaveErrorForSingleMemberVersions for the answer.
 * - OffsetCommit v1 carries per-partition commit timestamps, v2-v4 a retention time; topic
 *   existence and authorization (UNKNOWN_TOPIC_OR_PARTITION, TOPIC_AUTHORIZATION_FAILED)
 *   are checked by the handler before calling in, as for OffsetDelete.
 * - DescribeGroups' authorizedOperations and the throttle times are the handler's.
 */

import { ErrorCode } from '../../../protocol/errors.ts';
import type { Clock, TimerHandle } from '../../util/clock.ts';
import { BrokerError } from '../../util/errors.ts';
import { type Logger, silentLogger } from '../../util/logger.ts';
import type { Random } from '../../util/random.ts';
import { ClassicGroup, errorJoinResult, errorSyncResult } from './classic-group.ts';
import {
  defaultGroupCoordinatorConfig,
  type GroupCoordinatorConfig,
} from './coordinator-config.ts';
import { GroupLog } from './group-log.ts';
import { GroupState } from './group-state.ts';
import type { GroupStore } from './group-store.ts';
import { replayRecords } from './loader.ts';
import { Membership } from './membership.ts';
import { commitErrors, Offsets, removeAllOffsets } from './offsets.ts';
import { Rebalancer } from './rebalance.ts';
import { fitsRecordString, type GroupRecord } from './records.ts';
import type {
  DeleteGroupResult,
  DescribedGroup,
  HeartbeatRequest,
  JoinGroupRequest,
  JoinGroupResult,
  LeaveGroupMemberIdentity,
  LeaveGroupResult,
  ListGroupsResult,
  OffsetCommitRequest,
  OffsetCommitResult,
  OffsetDeleteRequest,
  OffsetDeleteResult,
  OffsetFetchRequest,
  OffsetFetchResult,
  SyncGroupRequest,
  SyncGroupResult,
} from './types.ts';

export interface GroupCoordinatorOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly store: GroupStore;
  readonly config?: Partial<GroupCoordinatorConfig>;
  readonly logger?: Logger;
}

/** The group type ListGroups reports for every group this coordinator runs (KIP-848 naming). */
export const classicGroupType = 'classic';

export class GroupCoordinator {
  readonly config: GroupCoordinatorConfig;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #log: GroupLog;
  readonly #membership: Membership;
  readonly #rebalancer: Rebalancer;
  readonly #offsets: Offsets;
  readonly #groups = new Map<string, ClassicGroup>();
  readonly #ownedPartitions = new Set<number>();
  /** Partitions being replayed, each with its load's token (a newer load replaces it). */
  readonly #loadingPartitions = new Map<number, object>();
  #active = true;
  #expiryTimer: TimerHandle | undefined;

  constructor(options: GroupCoordinatorOptions) {
    this.config = { ...defaultGroupCoordinatorConfig, ...options.config };
    this.#clock = options.clock;
    this.#logger = options.logger ?? silentLogger();
    this.#log = new GroupLog(options.store, this.config['offsets.topic.num.partitions']);
    const group = (groupId: string, create: boolean): ClassicGroup | undefined =>
      this.#group(groupId, create);
    this.#rebalancer = new Rebalancer({
      clock: this.#clock,
      config: this.config,
      log: this.#log,
      logger: this.#logger,
    });
    this.#membership = new Membership({
      clock: this.#clock,
      random: options.random,
      config: this.config,
      log: this.#log,
      rebalancer: this.#rebalancer,
      group,
    });
    this.#offsets = new Offsets({
      clock: this.#clock,
      config: this.config,
      log: this.#log,
      logger: this.#logger,
      rebalancer: this.#rebalancer,
      group,
      removeGroup: (g) => {
        if (this.#groups.get(g.groupId) === g) this.#groups.delete(g.groupId);
      },
    });
    this.#scheduleExpiry();
  }

  partitionFor(groupId: string): number {
    return this.#log.partitionFor(groupId);
  }

  #group(groupId: string, create: boolean): ClassicGroup | undefined {
    let group = this.#groups.get(groupId);
    if (group === undefined && create) {
      group = new ClassicGroup(groupId, GroupState.Empty, this.#clock.nowMs());
      this.#groups.set(groupId, group);
    }
    return group;
  }

  // ---- partition ownership ---------------------------------------------------------------

  /**
   * Becomes coordinator for `partition`: replays its records, then serves its groups. Until
   * the replay ends its groups are answered COORDINATOR_LOAD_IN_PROGRESS. A record that cannot
   * be decoded fails the load (BrokerError GROUP_RECORD_CORRUPT) and leaves it unowned. A load
   * overtaken by `unloadPartition` (and perhaps a newer load, leadership having come back)
   * installs nothing: only the partition's latest load may.
   */
  async loadPartition(
    partition: number,
    records: Iterable<GroupRecord> | AsyncIterable<GroupRecord>,
  ): Promise<void> {
    if (this.#ownedPartitions.has(partition) || this.#loadingPartitions.has(partition)) return;
    const token = {};
    this.#loadingPartitions.set(partition, token);
    try {
      const { groups, unknownRecords } = await replayRecords(records, this.#clock.nowMs());
      // Unloaded meanwhile, or replaced by a newer load: its groups are not ours to install.
      if (this.#loadingPartitions.get(partition) !== token) return;
      for (const group of groups) {
        if (this.partitionFor(group.groupId) !== partition) {
          throw new BrokerError(
            'GROUP_RECORD_MISPLACED',
            `group ${group.groupId} found in partition ${partition}`,
          );
        }
      }
      for (const group of groups) {
        this.#groups.set(group.groupId, group);
        this.#rebalancer.onGroupLoaded(group);
      }
      this.#ownedPartitions.add(partition);
      this.#logger.info({ partition, groups: groups.length, unknownRecords }, 'offsets loaded');
    } finally {
      if (this.#loadingPartitions.get(partition) === token) {
        this.#loadingPartitions.delete(partition);
      }
    }
  }

  /** Stops coordinating `partition` (leadership moved): its groups are forgotten. */
  unloadPartition(partition: number): void {
    this.#loadingPartitions.delete(partition);
    this.#ownedPartitions.delete(partition);
    for (const group of [...this.#groups.values()]) {
      if (this.partitionFor(group.groupId) !== partition) continue;
      this.#rebalancer.onGroupUnloaded(group);
      this.#groups.delete(group.groupId);
    }
  }

  isLoading(partition: number): boolean {
    return this.#loadingPartitions.has(partition);
  }

  ownsPartition(partition: number): boolean {
    return this.#ownedPartitions.has(partition);
  }

  /** Shuts down: cancels every timer; later requests get COORDINATOR_NOT_AVAILABLE. */
  close(): void {
    this.#active = false;
    this.#expiryTimer?.cancel();
    for (const partition of [...this.#ownedPartitions]) this.unloadPartition(partition);
  }

  /**
   * Kafka's validateGroupStatus. The offset APIs, DescribeGroups and DeleteGroups accept the
   * empty group id (old clients commit under it); the rest do not.
   */
  #groupStatus(groupId: string, allowEmptyId: boolean): number {
    if (!allowEmptyId && groupId === '') return ErrorCode.INVALID_GROUP_ID;
    if (!this.#active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const partition = this.partitionFor(groupId);
    if (this.#loadingPartitions.has(partition)) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    if (!this.#ownedPartitions.has(partition)) return ErrorCode.NOT_COORDINATOR;
    return ErrorCode.NONE;
  }

  // ---- membership ------------------------------------------------------------------------

  join(req: JoinGroupRequest): Promise<JoinGroupResult> {
    const status = this.#groupStatus(req.groupId, false);
    if (status !== ErrorCode.NONE) return Promise.resolve(errorJoinResult(req.memberId, status));
    const sessionTimeoutMs = req.sessionTimeoutMs;
    if (
      sessionTimeoutMs < this.config['group.min.session.timeout.ms'] ||
      sessionTimeoutMs > this.config['group.max.session.timeout.ms']
    ) {
      return Promise.resolve(errorJoinResult(req.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    // Brook's own check: these would go into int16-length record strings (Kafka fails later).
    const unstorable = unstorableJoinField(req);
    if (unstorable !== ErrorCode.NONE) {
      return Promise.resolve(errorJoinResult(req.memberId, unstorable));
    }
    return new Promise((resolve) => this.#membership.join(req, resolve));
  }

  sync(req: SyncGroupRequest): Promise<SyncGroupResult> {
    const status = this.#groupStatus(req.groupId, false);
    // A loading coordinator has lost the rebalance in flight: send the member back to
    // JoinGroup. Old clients do not expect COORDINATOR_LOAD_IN_PROGRESS here.
    if (status === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
      return Promise.resolve(errorSyncResult(ErrorCode.REBALANCE_IN_PROGRESS));
    }
    if (status !== ErrorCode.NONE) return Promise.resolve(errorSyncResult(status));
    return new Promise((resolve) => this.#membership.sync(req, resolve));
  }

  heartbeat(req: HeartbeatRequest): number {
    const status = this.#groupStatus(req.groupId, false);
    // While loading, the member's session cannot be checked; Kafka lets it through.
    if (status === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return ErrorCode.NONE;
    if (status !== ErrorCode.NONE) return status;
    return this.#membership.heartbeat(req);
  }

  leave(groupId: string, members: readonly LeaveGroupMemberIdentity[]): LeaveGroupResult {
    const status = this.#groupStatus(groupId, false);
    if (status !== ErrorCode.NONE) return { errorCode: status, members: [] };
    return this.#membership.leave(groupId, members);
  }

  // ---- offsets ---------------------------------------------------------------------------

  commitOffsets(req: OffsetCommitRequest): Promise<OffsetCommitResult> {
    let status = this.#groupStatus(req.groupId, true);
    // A group id too long for the records could never be stored (Brook's own check).
    if (status === ErrorCode.NONE && !fitsRecordString(req.groupId)) {
      status = ErrorCode.INVALID_GROUP_ID;
    }
    if (status !== ErrorCode.NONE) return Promise.resolve(commitErrors(req, status));
    return this.#offsets.commit(req);
  }

  /** Resolves once the group's commits in flight now have settled; undefined when none are. */
  offsetCommitsSettled(groupId: string): Promise<void> | undefined {
    return this.#offsets.commitsSettled(groupId);
  }

  fetchOffsets(req: OffsetFetchRequest): OffsetFetchResult {
    const status = this.#groupStatus(req.groupId, true);
    if (status !== ErrorCode.NONE) return { errorCode: status, topics: [] };
    return this.#offsets.fetch(req);
  }

  deleteOffsets(req: OffsetDeleteRequest): Promise<OffsetDeleteResult> {
    const status = this.#groupStatus(req.groupId, false);
    if (status !== ErrorCode.NONE) return Promise.resolve({ errorCode: status, topics: [] });
    return this.#offsets.delete(req);
  }

  /** One expiry pass over every group (also run every offsets.retention.check.interval.ms). */
  expireOffsets(): Promise<number> {
    return this.#offsets.expire([...this.#groups.values()]);
  }

  #scheduleExpiry(): void {
    this.#expiryTimer = this.#clock.setTimer(
      this.config['offsets.retention.check.interval.ms'],
      () => {
        if (!this.#active) return;
        void this.expireOffsets();
        this.#scheduleExpiry();
      },
    );
  }

  // ---- groups ----------------------------------------------------------------------------

  describeGroups(groupIds: readonly string[]): DescribedGroup[] {
    return groupIds.map((groupId) => this.#describe(groupId));
  }

  #describe(groupId: string): DescribedGroup {
    const status = this.#groupStatus(groupId, true);
    const summary = { errorCode: status, groupId, protocolType: '', protocolData: '', members: [] };
    if (status !== ErrorCode.NONE) return { ...summary, groupState: '' };
    const group = this.#groups.get(groupId);
    if (group === undefined) return { ...summary, groupState: GroupState.Dead };
    // Member metadata and assignments are meaningful only for the settled generation.
    const protocol = group.is(GroupState.Stable) ? group.protocolName : undefined;
    const members = [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberMetadata: protocol === undefined ? Buffer.alloc(0) : m.metadata(protocol),
      memberAssignment: protocol === undefined ? Buffer.alloc(0) : m.assignment,
    }));
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      groupState: group.state,
      protocolType: group.protocolType ?? '',
      protocolData: protocol ?? '',
      members,
    };
  }

  /** ListGroups; states and types match case-insensitively, an empty filter matches all. */
  listGroups(
    statesFilter: readonly string[] = [],
    typesFilter: readonly string[] = [],
  ): ListGroupsResult {
    if (!this.#active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((t) => t.toLowerCase()));
    if (types.size > 0 && !types.has(classicGroupType)) {
      return { errorCode: this.#listError(), groups: [] };
    }
    const groups = [...this.#groups.values()]
      .filter((g) => states.size === 0 || states.has(g.state.toLowerCase()))
      .map((g) => ({
        groupId: g.groupId,
        protocolType: g.protocolType ?? '',
        groupState: g.state,
        groupType: classicGroupType,
      }));
    return { errorCode: this.#listError(), groups };
  }

  #listError(): number {
    return this.#loadingPartitions.size > 0
      ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
      : ErrorCode.NONE;
  }

  /** DeleteGroups: only Empty groups go; their offsets and metadata are tombstoned. */
  async deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupResult[]> {
    const results = new Map<string, number>();
    const eligible: ClassicGroup[] = [];
    // A group named twice is deleted once and answered once, as Kafka does.
    const distinct = [...new Set(groupIds)];
    for (const groupId of distinct) {
      const status = this.#groupStatus(groupId, true);
      const group = this.#groups.get(groupId);
      if (status !== ErrorCode.NONE) {
        results.set(groupId, status);
      } else if (group === undefined || group.is(GroupState.Dead)) {
        results.set(groupId, ErrorCode.GROUP_ID_NOT_FOUND);
      } else if (group.is(GroupState.Empty)) {
        group.transitionTo(GroupState.Dead, this.#clock.nowMs());
        eligible.push(group);
        results.set(groupId, ErrorCode.NONE);
      } else {
        results.set(groupId, ErrorCode.NON_EMPTY_GROUP);
      }
    }
    await Promise.all(eligible.map((g) => this.#offsets.cleanupGroup(g, removeAllOffsets)));
    return distinct.map((groupId) => ({ groupId, errorCode: results.get(groupId) as number }));
  }

  /** The group's state, for operators and tests; undefined when unknown here. */
  groupState(groupId: string): string | undefined {
    return this.#groups.get(groupId)?.state;
  }

  /** A read-only view of a group, for tests and introspection. */
  inspectGroup(groupId: string): ClassicGroup | undefined {
    return this.#groups.get(groupId);
  }
}

/** Fields that would have to go into an int16-length record string but are too long. */
function unstorableJoinField(req: JoinGroupRequest): number {
  if (!fitsRecordString(req.groupId)) return ErrorCode.INVALID_GROUP_ID;
  if (req.groupInstanceId !== null && !fitsRecordString(req.groupInstanceId)) {
    return ErrorCode.INVALID_GROUP_ID;
  }
  if (!fitsRecordString(req.protocolType) || !fitsRecordString(req.clientHost)) {
    return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
  }
  if (!fitsRecordString(req.clientId)) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
  for (const p of req.protocols) {
    if (!fitsRecordString(p.name)) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
  }
  return ErrorCode.NONE;
}
