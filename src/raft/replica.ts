/**
 * One KRaft-style quorum replica as a pure state machine. It never performs I/O, reads a clock
 * or draws randomness on its own: the driver passes `nowMs` into every call, routes the messages
 * and performs the storage actions it takes from `takeOutput()`, and confirms those actions with
 * `handleQuorumStatePersisted` / `handleLogFlushed`.
 *
 * Persistence order (what makes a crash safe):
 * - Every outgoing message waits until the quorum state requested before it is durable (see
 *   Outbox), so no peer ever sees a vote or an epoch this replica could forget in a crash.
 * - The replica counts only log entries confirmed durable: a leader counts its flushed end
 *   offset toward the majority, a follower fetches (and so reports) only its flushed end.
 *
 * Role-specific state lives in the role objects (roles.ts), so a transition discards it.
 */
import assert from 'node:assert';
import { BrokerError } from '../util/errors.ts';
import type { Random } from '../util/random.ts';
import type { ReplicaProgress } from './leader-progress.ts';
import { describeProgress, newProgress, nextHighWatermark } from './leader-progress.ts';
import { truncationOffset, validateFetchPosition } from './log-validation.ts';
import type {
  BeginQuorumEpochRequest,
  DescribeQuorumPartition,
  EndQuorumEpochRequest,
  FetchRequest,
  FetchResponse,
  FetchSnapshotRequest,
  FetchSnapshotResponse,
  OffsetAndEpoch,
  RaftEntry,
  RaftEnvelope,
  VoteRequest,
  VoteResponse,
} from './messages.ts';
import { RaftErrorCode } from './messages.ts';
import { Outbox } from './outbox.ts';
import type { ElectionState, RaftLog, RaftSnapshot } from './raft-log.ts';
import type {
  AppendResult,
  LeaderAndEpoch,
  RaftConfig,
  RaftListener,
  RaftOutput,
} from './replica-config.ts';
import {
  assertTransition,
  CandidateRole,
  FollowerRole,
  type InFlightFetch,
  LeaderRole,
  ProspectiveRole,
  ResignedRole,
  type RoleState,
  UnattachedRole,
} from './roles.ts';
import { answerFetchSnapshot, SnapshotFetch } from './snapshot-transfer.ts';
import { canGrantVote, isLogUpToDate } from './vote-rules.ts';

export class RaftReplica {
  readonly #config: RaftConfig;
  readonly #log: RaftLog;
  readonly #random: Random;
  readonly #isVoter: boolean;
  readonly #majority: number;
  readonly #outbox: Outbox;
  readonly #listeners: RaftListener[] = [];
  #role: RoleState;
  #durableEndOffset: number;
  /** Counts truncations, so a flush confirmation that crossed one is recognised as stale. */
  #truncations = 0;
  #highWatermark: number;

  /**
   * Starts from the durable state a restart finds: the stored quorum state and the log's
   * contents (which after a crash hold only what was flushed).
   */
  constructor(
    config: RaftConfig,
    log: RaftLog,
    stored: ElectionState | undefined,
    random: Random,
    nowMs: number,
  ) {
    assert.ok(config.voterIds.length > 0, 'a quorum needs voters');
    this.#config = config;
    this.#log = log;
    this.#random = random;
    this.#isVoter = config.voterIds.includes(config.nodeId);
    this.#majority = Math.floor(config.voterIds.length / 2) + 1;
    const state = stored ?? { epoch: 0, votedId: -1, leaderId: -1 };
    this.#outbox = new Outbox(config.nodeId, config.heldMessagesMax, state);
    this.#durableEndOffset = log.endOffset();
    this.#highWatermark = log.startOffset();
    this.#role = this.#initialRole(state, nowMs);
    if (this.#role instanceof FollowerRole) this.#sendFetch(this.#role, nowMs);
  }

  #initialRole(state: ElectionState, nowMs: number): RoleState {
    const id = this.#config.nodeId;
    if (state.leaderId === id) {
      // A leader never resumes leadership after a restart: its epoch's in-memory state is gone.
      return new ResignedRole(state.epoch, id, [], this.#electionDeadline(nowMs));
    }
    if (state.leaderId >= 0) {
      const deadline = nowMs + this.#config.fetchTimeoutMs;
      return new FollowerRole(state.epoch, state.votedId, state.leaderId, deadline);
    }
    return new UnattachedRole(state.epoch, state.votedId, this.#electionDeadline(nowMs));
  }

  // ---- Queries ----------------------------------------------------------------------------

  get nodeId(): number {
    return this.#config.nodeId;
  }
  get role(): RoleState {
    return this.#role;
  }
  get epoch(): number {
    return this.#role.epoch;
  }
  get leaderId(): number {
    return this.#role.leaderId;
  }
  get isLeader(): boolean {
    return this.#role instanceof LeaderRole;
  }
  /** Every entry below this offset is committed. */
  get highWatermark(): number {
    return this.#highWatermark;
  }
  /** One past the last entry this replica has been told is durable. */
  get durableEndOffset(): number {
    return this.#durableEndOffset;
  }
  /** The quorum state the replica has been told is durable. */
  get durableElectionState(): ElectionState {
    return this.#outbox.durableState;
  }

  addListener(listener: RaftListener): void {
    this.#listeners.push(listener);
  }

  /**
   * Whether the entry appended at (offset, epoch) committed, is still pending, or was lost;
   * `compacted` once a snapshot replaced the offset and its epoch is no longer known.
   */
  commitStatus(offset: number, epoch: number): 'committed' | 'pending' | 'lost' | 'compacted' {
    if (offset < this.#log.startOffset()) return 'compacted';
    const found = this.#log.epochAt(offset);
    if (found >= 0 && found !== epoch) return 'lost';
    if (found < 0) return this.#log.lastEpoch() > epoch ? 'lost' : 'pending';
    return offset < this.#highWatermark ? 'committed' : 'pending';
  }

  /** Committed entries from `fromOffset`, or the snapshot to load first if they are gone. */
  readCommitted(
    fromOffset: number,
    maxEntries: number,
  ):
    | { readonly kind: 'entries'; readonly entries: readonly RaftEntry[] }
    | { readonly kind: 'snapshot'; readonly snapshot: RaftSnapshot } {
    const snapshot = this.#log.latestSnapshot();
    if (fromOffset < this.#log.startOffset() && snapshot) return { kind: 'snapshot', snapshot };
    const count = Math.min(maxEntries, this.#highWatermark - fromOffset);
    if (count <= 0) return { kind: 'entries', entries: [] };
    return { kind: 'entries', entries: this.#log.read(fromOffset, count) };
  }

  describeQuorum(): DescribeQuorumPartition {
    const role = this.#role;
    const leader = role instanceof LeaderRole ? role : undefined;
    return {
      errorCode: leader ? RaftErrorCode.none : RaftErrorCode.notLeaderOrFollower,
      leaderId: role.leaderId,
      leaderEpoch: role.epoch,
      highWatermark: leader ? this.#highWatermark : -1,
      currentVoters: [...(leader?.voters ?? [])].map(([id, p]) => describeProgress(id, p)),
      observers: [...(leader?.observers ?? [])].map(([id, p]) => describeProgress(id, p)),
    };
  }

  /** Messages to send and storage actions to perform since the last call. */
  takeOutput(): RaftOutput {
    return this.#outbox.take();
  }

  /** The next time `poll` has work to do. */
  nextDeadlineMs(): number {
    const role = this.#role;
    const requestTimeoutMs = this.#config.requestTimeoutMs;
    if (role instanceof FollowerRole) return this.#nextFollowerDeadlineMs(role);
    if (role instanceof LeaderRole) {
      let next = role.checkQuorumDeadlineMs;
      for (const parked of role.parked.values()) next = Math.min(next, parked.deadlineMs);
      for (const sentMs of role.beginUnacknowledged.values()) {
        next = Math.min(next, sentMs + requestTimeoutMs);
      }
      return next;
    }
    let next = role.electionDeadlineMs;
    const resends =
      role instanceof ResignedRole
        ? role.unacknowledged.values()
        : role instanceof UnattachedRole
          ? [role.discovery?.sentMs ?? Number.POSITIVE_INFINITY]
          : role.ballot.lastAskedMs.values();
    for (const sentMs of resends) next = Math.min(next, sentMs + requestTimeoutMs);
    return next;
  }

  #nextFollowerDeadlineMs(role: FollowerRole): number {
    let next = role.fetchDeadlineMs;
    if (role.snapshotFetch) {
      next = Math.min(next, role.snapshotFetch.sentMs + this.#config.requestTimeoutMs);
    } else if (role.fetch) {
      next = Math.min(next, role.fetch.sentMs + this.#fetchRequestTimeoutMs());
    } else if (this.#durableEndOffset >= this.#log.endOffset()) {
      next = Math.min(next, role.fetchBackoffUntilMs);
    }
    return next;
  }

  // ---- Driver entry points ----------------------------------------------------------------

  poll(nowMs: number): void {
    const role = this.#role;
    if (role instanceof FollowerRole) this.#pollFollower(role, nowMs);
    else if (role instanceof LeaderRole) this.#pollLeader(role, nowMs);
    else if (role instanceof UnattachedRole) this.#pollUnattached(role, nowMs);
    else if (role instanceof ResignedRole) this.#pollResigned(role, nowMs);
    else this.#pollElection(role, nowMs);
  }

  handle(envelope: RaftEnvelope, nowMs: number): void {
    assert.equal(envelope.destination, this.#config.nodeId, 'message routed to the wrong replica');
    const message = envelope.message;
    switch (message.type) {
      case 'vote-request':
        this.#handleVoteRequest(envelope, message, nowMs);
        break;
      case 'vote-response':
        this.#handleVoteResponse(envelope, message, nowMs);
        break;
      case 'begin-quorum-epoch-request':
        this.#handleBeginQuorumEpoch(envelope, message, nowMs);
        break;
      case 'end-quorum-epoch-request':
        this.#handleEndQuorumEpoch(envelope, message, nowMs);
        break;
      case 'begin-quorum-epoch-response':
      case 'end-quorum-epoch-response':
        this.#handleQuorumEpochResponse(envelope, message, nowMs);
        break;
      case 'fetch-request':
        this.#handleFetchRequest(envelope, message, nowMs);
        break;
      case 'fetch-response':
        this.#handleFetchResponse(envelope, message, nowMs);
        break;
      case 'fetch-snapshot-request':
        this.#handleFetchSnapshotRequest(envelope, message);
        break;
      case 'fetch-snapshot-response':
        this.#handleFetchSnapshotResponse(envelope, message, nowMs);
        break;
    }
  }

  /** The driver wrote and fsynced the quorum state of `version` (and all before it). */
  handleQuorumStatePersisted(version: number, nowMs: number): void {
    if (!this.#outbox.persisted(version)) return;
    if (this.#role instanceof CandidateRole) this.#maybeWinElection(this.#role, nowMs);
  }

  /** The driver flushed the log up to `durableEndOffset` for a request of `generation`. */
  handleLogFlushed(durableEndOffset: number, generation: number, nowMs: number): void {
    this.#outbox.flushed();
    if (generation !== this.#truncations) {
      // A truncation came between the request and the flush: ask again rather than guess.
      this.#requestFlush();
      return;
    }
    const durable = Math.min(durableEndOffset, this.#log.endOffset());
    if (durable > this.#durableEndOffset) this.#durableEndOffset = durable;
    if (this.#durableEndOffset < this.#log.endOffset()) this.#requestFlush();
    const role = this.#role;
    if (role instanceof LeaderRole) {
      const self = role.voters.get(this.#config.nodeId);
      if (self) self.endOffset = this.#durableEndOffset;
      this.#updateLeaderHighWatermark(role);
    } else if (role instanceof FollowerRole) {
      this.#updateFollowerHighWatermark(role);
      if (!role.fetch && !role.snapshotFetch) this.#sendFetch(role, nowMs);
    }
  }

  /** Appends records as leader; they commit once the high watermark passes their offsets. */
  append(records: readonly Uint8Array[]): AppendResult {
    const role = this.#role;
    if (!(role instanceof LeaderRole)) {
      return { kind: 'not-leader', leaderId: role.leaderId, epoch: role.epoch };
    }
    assert.ok(records.length > 0, 'append needs records');
    const backlog = this.#log.endOffset() - this.#highWatermark + records.length;
    if (backlog > this.#config.uncommittedEntriesMax) return { kind: 'backlog-full' };
    const baseOffset = this.#appendAsLeader(role, records, 'data');
    return { kind: 'appended', baseOffset, epoch: role.epoch };
  }

  /** Graceful resignation of a leader; returns false if this replica is not the leader. */
  resign(nowMs: number): boolean {
    const role = this.#role;
    if (!(role instanceof LeaderRole)) return false;
    this.#resign(role, nowMs);
    return true;
  }

  /**
   * Stores the state machine's state at `endOffset` (committed and durable here) and drops the
   * log below it. Returns the snapshot id, or undefined when the offset does not qualify.
   */
  createSnapshot(endOffset: number, data: Uint8Array): OffsetAndEpoch | undefined {
    const limit = Math.min(this.#highWatermark, this.#durableEndOffset);
    if (endOffset <= this.#log.startOffset() || endOffset > limit) return undefined;
    const id = { endOffset, epoch: this.#log.epochAt(endOffset - 1) };
    this.#log.storeSnapshot({ id, data });
    return id;
  }

  // ---- Transitions ------------------------------------------------------------------------

  #transition(next: RoleState): void {
    const previous = this.#role;
    assertTransition(previous, next);
    this.#role = next;
    this.#outbox.persist({ epoch: next.epoch, votedId: next.votedId, leaderId: next.leaderId });
    if (previous.epoch !== next.epoch || previous.leaderId !== next.leaderId) {
      const leader: LeaderAndEpoch = { leaderId: next.leaderId, epoch: next.epoch };
      for (const listener of this.#listeners) listener.onLeaderChange?.(leader);
    }
  }

  #electionDeadline(nowMs: number): number {
    const timeoutMs = this.#config.electionTimeoutMs;
    return nowMs + timeoutMs + this.#random.int(0, timeoutMs - 1);
  }

  #becomeUnattached(epoch: number, votedId: number, nowMs: number): void {
    this.#transition(new UnattachedRole(epoch, votedId, this.#electionDeadline(nowMs)));
  }

  #becomeFollower(epoch: number, leaderId: number, nowMs: number): void {
    const votedId = epoch === this.#role.epoch ? this.#role.votedId : -1;
    const deadline = nowMs + this.#config.fetchTimeoutMs;
    const role = new FollowerRole(epoch, votedId, leaderId, deadline);
    this.#transition(role);
    this.#sendFetch(role, nowMs);
  }

  #becomeProspective(nowMs: number): void {
    const { epoch, votedId } = this.#role;
    // A former leader stops naming itself: peers must not follow a replica that stepped down.
    const leaderId = this.#role.leaderId === this.#config.nodeId ? -1 : this.#role.leaderId;
    const role = new ProspectiveRole(epoch, votedId, leaderId, this.#electionDeadline(nowMs));
    this.#transition(role);
    if (this.#majority === 1) {
      this.#becomeCandidate(nowMs);
      return;
    }
    this.#askForVotes(role, true, nowMs);
  }

  #becomeCandidate(nowMs: number): void {
    const epoch = this.#role.epoch + 1;
    const role = new CandidateRole(epoch, this.#config.nodeId, this.#electionDeadline(nowMs));
    this.#transition(role);
    this.#askForVotes(role, false, nowMs);
    this.#maybeWinElection(role, nowMs);
  }

  #askForVotes(role: ProspectiveRole | CandidateRole, preVote: boolean, nowMs: number): void {
    for (const voterId of this.#config.voterIds) {
      const settled =
        role.ballot.granted.has(voterId) || (!preVote && role.ballot.rejected.has(voterId));
      if (voterId === this.#config.nodeId || settled) {
        role.ballot.lastAskedMs.delete(voterId);
        continue;
      }
      role.ballot.lastAskedMs.set(voterId, nowMs);
      this.#outbox.request(voterId, {
        type: 'vote-request',
        clusterId: this.#config.clusterId,
        voterId,
        candidateEpoch: preVote ? role.epoch + 1 : role.epoch,
        candidateId: this.#config.nodeId,
        lastOffsetEpoch: this.#log.lastEpoch(),
        lastOffset: this.#log.endOffset(),
        preVote,
      });
    }
  }

  /** A candidate wins with a majority, its own vote counting only once it is durable. */
  #maybeWinElection(role: CandidateRole, nowMs: number): void {
    const selfDurable = this.#outbox.durableState.epoch === role.epoch;
    const votes = role.ballot.granted.size + (selfDurable ? 1 : 0);
    if (selfDurable && votes >= this.#majority) this.#becomeLeader(role, nowMs);
  }

  #becomeLeader(candidate: CandidateRole, nowMs: number): void {
    const role = new LeaderRole(candidate.epoch, this.#config.nodeId, this.#log.endOffset());
    this.#transition(role);
    for (const voterId of this.#config.voterIds) role.voters.set(voterId, newProgress());
    const self = role.voters.get(this.#config.nodeId) as ReplicaProgress;
    self.endOffset = this.#durableEndOffset;
    self.lastFetchMs = nowMs;
    // A lone voter is its own majority: there is nothing to check.
    if (this.#majority > 1) role.checkQuorumDeadlineMs = nowMs + this.#checkQuorumTimeoutMs();
    // The leader-change entry is what lets this epoch commit: earlier entries commit under it.
    this.#appendAsLeader(role, [new Uint8Array(0)], 'leader-change');
    for (const voterId of this.#config.voterIds) {
      if (voterId !== this.#config.nodeId) this.#sendBeginQuorumEpoch(role, voterId, nowMs);
    }
  }

  #sendBeginQuorumEpoch(role: LeaderRole, voterId: number, nowMs: number): void {
    role.beginUnacknowledged.set(voterId, nowMs);
    this.#outbox.request(voterId, {
      type: 'begin-quorum-epoch-request',
      clusterId: this.#config.clusterId,
      voterId,
      leaderId: this.#config.nodeId,
      leaderEpoch: role.epoch,
    });
  }

  #resign(role: LeaderRole, nowMs: number): void {
    const successors = [...role.voters]
      .filter(([id]) => id !== this.#config.nodeId)
      .sort(([idA, a], [idB, b]) => b.endOffset - a.endOffset || idA - idB)
      .map(([id]) => id);
    const deadline = this.#electionDeadline(nowMs);
    const resigned = new ResignedRole(role.epoch, this.#config.nodeId, successors, deadline);
    this.#transition(resigned);
    for (const voterId of successors) this.#sendEndQuorumEpoch(resigned, voterId, nowMs);
  }

  #sendEndQuorumEpoch(role: ResignedRole, voterId: number, nowMs: number): void {
    role.unacknowledged.set(voterId, nowMs);
    this.#outbox.request(voterId, {
      type: 'end-quorum-epoch-request',
      clusterId: this.#config.clusterId,
      leaderId: this.#config.nodeId,
      leaderEpoch: role.epoch,
      preferredSuccessors: role.preferredSuccessors,
    });
  }

  /**
   * Reacts to an epoch or leader learned from any peer: a higher epoch always wins; in the same
   * epoch a replica that knew no leader follows the one named. Returns whether it moved.
   */
  #maybeAdvanceEpoch(leaderId: number, epoch: number, nowMs: number): boolean {
    const role = this.#role;
    const named = leaderId >= 0 && leaderId !== this.#config.nodeId;
    if (epoch > role.epoch) {
      if (named) this.#becomeFollower(epoch, leaderId, nowMs);
      else this.#becomeUnattached(epoch, -1, nowMs);
      return true;
    }
    if (epoch === role.epoch && named && role.leaderId < 0 && !(role instanceof LeaderRole)) {
      this.#becomeFollower(epoch, leaderId, nowMs);
      return true;
    }
    return false;
  }

  // ---- Polling ----------------------------------------------------------------------------

  #pollUnattached(role: UnattachedRole, nowMs: number): void {
    if (nowMs < role.electionDeadlineMs) return;
    if (this.#isVoter) {
      this.#becomeProspective(nowMs);
      return;
    }
    // An observer finds the leader by asking any voter: non-leaders answer with the leader.
    role.electionDeadlineMs = nowMs + this.#config.requestTimeoutMs;
    role.discovery = this.#fetchFrom(this.#random.pick(this.#config.voterIds), nowMs);
  }

  #pollElection(role: ProspectiveRole | CandidateRole, nowMs: number): void {
    if (nowMs >= role.electionDeadlineMs) {
      // A prospective replica that lost its leader tries it once more before another round:
      // as a follower that has not fetched yet, it also grants pre-votes to others meanwhile.
      const formerLeader = role instanceof ProspectiveRole ? role.leaderId : -1;
      if (formerLeader >= 0) this.#becomeFollower(role.epoch, formerLeader, nowMs);
      else this.#becomeProspective(nowMs);
      return;
    }
    const due = [...role.ballot.lastAskedMs.values()].some(
      (askedMs) => nowMs >= askedMs + this.#config.requestTimeoutMs,
    );
    if (due) this.#askForVotes(role, role instanceof ProspectiveRole, nowMs);
  }

  #pollResigned(role: ResignedRole, nowMs: number): void {
    if (nowMs >= role.electionDeadlineMs) {
      this.#becomeProspective(nowMs);
      return;
    }
    for (const [voterId, sentMs] of role.unacknowledged) {
      if (nowMs >= sentMs + this.#config.requestTimeoutMs) {
        this.#sendEndQuorumEpoch(role, voterId, nowMs);
      }
    }
  }

  #pollLeader(role: LeaderRole, nowMs: number): void {
    if (nowMs >= role.checkQuorumDeadlineMs) {
      // Check-quorum: a leader a majority has not fetched from may be partitioned away.
      this.#resign(role, nowMs);
      return;
    }
    for (const [voterId, sentMs] of role.beginUnacknowledged) {
      if (nowMs >= sentMs + this.#config.requestTimeoutMs) {
        this.#sendBeginQuorumEpoch(role, voterId, nowMs);
      }
    }
    for (const [replicaId, parked] of role.parked) {
      if (nowMs >= parked.deadlineMs) {
        role.parked.delete(replicaId);
        this.#answerFetch(parked.envelope, parked.request);
      }
    }
  }

  #pollFollower(role: FollowerRole, nowMs: number): void {
    if (nowMs >= role.fetchDeadlineMs) {
      if (this.#isVoter) this.#becomeProspective(nowMs);
      else this.#becomeUnattached(role.epoch, role.votedId, nowMs);
      return;
    }
    const snapshotFetch = role.snapshotFetch;
    if (snapshotFetch) {
      if (nowMs >= snapshotFetch.sentMs + this.#config.requestTimeoutMs) {
        this.#sendFetchSnapshot(role, snapshotFetch, nowMs);
      }
      return;
    }
    const fetch = role.fetch;
    if (fetch && nowMs >= fetch.sentMs + this.#fetchRequestTimeoutMs()) role.fetch = undefined;
    if (!role.fetch && nowMs >= role.fetchBackoffUntilMs) this.#sendFetch(role, nowMs);
  }

  #fetchRequestTimeoutMs(): number {
    return this.#config.requestTimeoutMs + this.#config.fetchMaxWaitMs;
  }

  #checkQuorumTimeoutMs(): number {
    return Math.floor(this.#config.fetchTimeoutMs * 1.5);
  }

  // ---- Votes ------------------------------------------------------------------------------

  #handleVoteRequest(envelope: RaftEnvelope, request: VoteRequest, nowMs: number): void {
    let errorCode: RaftErrorCode = RaftErrorCode.none;
    if (request.clusterId !== this.#config.clusterId) {
      errorCode = RaftErrorCode.inconsistentClusterId;
    } else if (!this.#isVoter || !this.#config.voterIds.includes(request.candidateId)) {
      errorCode = RaftErrorCode.inconsistentVoterSet;
    }
    let granted = false;
    if (errorCode === RaftErrorCode.none && request.candidateEpoch >= this.#role.epoch) {
      if (!request.preVote && request.candidateEpoch > this.#role.epoch) {
        this.#becomeUnattached(request.candidateEpoch, -1, nowMs);
      }
      const upToDate =
        this.#config.bugs?.grantVoteWithoutLogCheck === true ||
        isLogUpToDate(this.#log, request.lastOffsetEpoch, request.lastOffset);
      granted = canGrantVote(this.#role, request, upToDate);
      if (granted && !request.preVote && this.#role.votedId !== request.candidateId) {
        this.#becomeUnattached(this.#role.epoch, request.candidateId, nowMs);
      }
    }
    const response: VoteResponse = {
      type: 'vote-response',
      errorCode,
      leaderId: this.#advertisedLeaderId(),
      leaderEpoch: this.#role.epoch,
      voteGranted: granted,
      preVote: request.preVote,
    };
    const early = this.#config.bugs?.answerVoteBeforePersisting === true;
    this.#outbox.respond(envelope, response, early);
  }

  #handleVoteResponse(envelope: RaftEnvelope, response: VoteResponse, nowMs: number): void {
    if (response.errorCode !== RaftErrorCode.none) return;
    if (this.#maybeAdvanceEpoch(response.leaderId, response.leaderEpoch, nowMs)) return;
    const role = this.#role;
    const voterId = envelope.source;
    if (!this.#config.voterIds.includes(voterId)) return;
    if (role instanceof ProspectiveRole && response.preVote) {
      if (response.voteGranted) role.ballot.granted.add(voterId);
      else role.ballot.rejected.add(voterId);
      if (role.ballot.granted.size + 1 >= this.#majority) this.#becomeCandidate(nowMs);
    } else if (role instanceof CandidateRole && !response.preVote) {
      if (response.leaderEpoch !== role.epoch) return;
      if (response.voteGranted) role.ballot.granted.add(voterId);
      else role.ballot.rejected.add(voterId);
      role.ballot.lastAskedMs.delete(voterId);
      this.#maybeWinElection(role, nowMs);
    }
  }

  // ---- BeginQuorumEpoch / EndQuorumEpoch --------------------------------------------------

  #epochRequestError(request: { clusterId: string; leaderEpoch: number }): RaftErrorCode {
    if (request.clusterId !== this.#config.clusterId) return RaftErrorCode.inconsistentClusterId;
    if (request.leaderEpoch < this.#role.epoch) return RaftErrorCode.fencedLeaderEpoch;
    return RaftErrorCode.none;
  }

  #handleBeginQuorumEpoch(envelope: RaftEnvelope, request: BeginQuorumEpochRequest, nowMs: number) {
    const errorCode = this.#epochRequestError(request);
    if (errorCode === RaftErrorCode.none) {
      this.#maybeAdvanceEpoch(request.leaderId, request.leaderEpoch, nowMs);
    }
    this.#outbox.respond(envelope, {
      type: 'begin-quorum-epoch-response',
      errorCode,
      leaderId: this.#advertisedLeaderId(),
      leaderEpoch: this.#role.epoch,
    });
  }

  #handleEndQuorumEpoch(envelope: RaftEnvelope, request: EndQuorumEpochRequest, nowMs: number) {
    const errorCode = this.#epochRequestError(request);
    if (errorCode === RaftErrorCode.none) {
      this.#maybeAdvanceEpoch(request.leaderId, request.leaderEpoch, nowMs);
      const role = this.#role;
      if (role instanceof FollowerRole && role.leaderId === request.leaderId && this.#isVoter) {
        // The leader stepped down: its best-placed successor stands first, the rest back off.
        const rank = request.preferredSuccessors.indexOf(this.#config.nodeId);
        const stepMs = this.#config.electionBackoffMs;
        const backoffMs =
          rank < 0 ? this.#config.electionTimeoutMs : rank * stepMs + this.#random.int(0, stepMs);
        role.fetchDeadlineMs = Math.min(role.fetchDeadlineMs, nowMs + backoffMs);
      }
    }
    this.#outbox.respond(envelope, {
      type: 'end-quorum-epoch-response',
      errorCode,
      leaderId: this.#advertisedLeaderId(),
      leaderEpoch: this.#role.epoch,
    });
  }

  #handleQuorumEpochResponse(
    envelope: RaftEnvelope,
    response: { readonly type: string; leaderId: number; leaderEpoch: number },
    nowMs: number,
  ): void {
    if (this.#maybeAdvanceEpoch(response.leaderId, response.leaderEpoch, nowMs)) return;
    const role = this.#role;
    if (response.leaderEpoch !== role.epoch) return;
    if (response.type === 'begin-quorum-epoch-response' && role instanceof LeaderRole) {
      role.beginUnacknowledged.delete(envelope.source);
    } else if (response.type === 'end-quorum-epoch-response' && role instanceof ResignedRole) {
      role.unacknowledged.delete(envelope.source);
    }
  }

  // ---- Fetch (leader side) ----------------------------------------------------------------

  #fetchError(request: { clusterId: string; currentLeaderEpoch: number }): RaftErrorCode {
    if (request.clusterId !== this.#config.clusterId) return RaftErrorCode.inconsistentClusterId;
    if (request.currentLeaderEpoch < this.#role.epoch) return RaftErrorCode.fencedLeaderEpoch;
    if (request.currentLeaderEpoch > this.#role.epoch) return RaftErrorCode.unknownLeaderEpoch;
    if (!(this.#role instanceof LeaderRole)) return RaftErrorCode.notLeaderOrFollower;
    return RaftErrorCode.none;
  }

  #handleFetchRequest(envelope: RaftEnvelope, request: FetchRequest, nowMs: number): void {
    const role = this.#role;
    const malformed =
      request.fetchOffset < 0 ||
      request.lastFetchedEpoch < 0 ||
      request.replicaId < 0 ||
      request.replicaId === this.#config.nodeId;
    const errorCode = malformed ? RaftErrorCode.invalidRequest : this.#fetchError(request);
    if (errorCode !== RaftErrorCode.none || !(role instanceof LeaderRole)) {
      this.#outbox.respond(envelope, this.#fetchResponse({ errorCode }));
      return;
    }
    const isVoter = role.voters.has(request.replicaId);
    const progress = this.#progressFor(role, request.replicaId);
    if (progress) progress.lastFetchMs = nowMs;
    if (isVoter) this.#noteVoterFetch(role, request.replicaId, nowMs);
    const { fetchOffset, lastFetchedEpoch } = request;
    const position = validateFetchPosition(this.#log, fetchOffset, lastFetchedEpoch);
    if (position.kind !== 'valid') {
      const answer =
        position.kind === 'diverging'
          ? { divergingEpoch: position.divergingEpoch }
          : { snapshotId: position.snapshotId };
      this.#outbox.respond(envelope, this.#fetchResponse(answer));
      return;
    }
    const caughtUp = fetchOffset >= this.#log.endOffset();
    if (progress) {
      progress.endOffset = fetchOffset;
      if (caughtUp) progress.lastCaughtUpMs = nowMs;
    }
    if (isVoter) this.#updateLeaderHighWatermark(role);
    // Long poll (only for replicas it tracks, so the parked set stays bounded): answered when
    // an append or a high-watermark change gives it news. A replica whose last answer carried
    // an older high watermark already has news: parking it would delay its commits (and every
    // broker's view of the metadata) by a whole wait.
    const knowsHighWatermark = progress?.highWatermarkSent === this.#highWatermark;
    if (caughtUp && progress && knowsHighWatermark && this.#config.fetchMaxWaitMs > 0) {
      const deadlineMs = nowMs + this.#config.fetchMaxWaitMs;
      role.parked.set(request.replicaId, { envelope, request, deadlineMs });
      return;
    }
    this.#answerFetch(envelope, request);
  }

  #progressFor(role: LeaderRole, replicaId: number): ReplicaProgress | undefined {
    const voter = role.voters.get(replicaId);
    if (voter) return voter;
    let observer = role.observers.get(replicaId);
    if (!observer && role.observers.size < this.#config.observersMax) {
      observer = newProgress();
      role.observers.set(replicaId, observer);
    }
    return observer;
  }

  #noteVoterFetch(role: LeaderRole, voterId: number, nowMs: number): void {
    role.beginUnacknowledged.delete(voterId);
    role.fetchedSinceCheck.add(voterId);
    role.fetchedSinceCheck.add(this.#config.nodeId);
    if (role.fetchedSinceCheck.size >= this.#majority) {
      role.fetchedSinceCheck.clear();
      role.checkQuorumDeadlineMs = nowMs + this.#checkQuorumTimeoutMs();
    }
  }

  #answerFetch(envelope: RaftEnvelope, request: FetchRequest): void {
    const maxEntries = Math.max(1, Math.min(request.maxEntries, this.#config.fetchMaxEntries));
    const records =
      request.fetchOffset < this.#log.endOffset()
        ? this.#log.read(request.fetchOffset, maxEntries)
        : [];
    const role = this.#role;
    if (role instanceof LeaderRole) {
      const progress = role.voters.get(request.replicaId) ?? role.observers.get(request.replicaId);
      if (progress) progress.highWatermarkSent = this.#highWatermark;
    }
    this.#outbox.respond(envelope, this.#fetchResponse({ records }));
  }

  #fetchResponse(fields: Partial<FetchResponse>): FetchResponse {
    return {
      type: 'fetch-response',
      errorCode: RaftErrorCode.none,
      highWatermark: this.#highWatermark,
      logStartOffset: this.#log.startOffset(),
      divergingEpoch: null,
      leaderId: this.#advertisedLeaderId(),
      leaderEpoch: this.#role.epoch,
      snapshotId: null,
      records: [],
      ...fields,
    };
  }

  #completeParkedFetches(role: LeaderRole): void {
    const parked = [...role.parked.values()];
    role.parked.clear();
    for (const p of parked) this.#answerFetch(p.envelope, p.request);
  }

  #appendAsLeader(
    role: LeaderRole,
    records: readonly Uint8Array[],
    kind: RaftEntry['kind'],
  ): number {
    const baseOffset = this.#log.endOffset();
    const epoch = role.epoch;
    this.#log.append(records.map((data, i) => ({ offset: baseOffset + i, epoch, kind, data })));
    this.#requestFlush();
    if (this.#config.bugs?.advanceHighWatermarkWithoutMajority === true) {
      this.#updateLeaderHighWatermark(role);
    }
    this.#completeParkedFetches(role);
    return baseOffset;
  }

  #updateLeaderHighWatermark(role: LeaderRole): void {
    const bugs = this.#config.bugs;
    let next: number;
    if (bugs?.advanceHighWatermarkWithoutMajority === true) {
      next = Math.max(this.#highWatermark, this.#log.endOffset());
    } else {
      const offsets = [...role.voters.values()].map((p) => p.endOffset);
      const startOffset = bugs?.commitPriorEpochEntries === true ? -1 : role.epochStartOffset;
      next = nextHighWatermark(this.#highWatermark, offsets, startOffset);
    }
    if (next > this.#highWatermark) {
      this.#setHighWatermark(next);
      this.#completeParkedFetches(role);
    }
  }

  #setHighWatermark(next: number): void {
    assert.ok(next > this.#highWatermark, 'the high watermark only rises');
    this.#highWatermark = next;
    for (const listener of this.#listeners) listener.onCommit?.(next);
  }

  #requestFlush(): void {
    this.#outbox.requestFlush(this.#truncations);
  }

  // ---- Fetch (follower side) --------------------------------------------------------------

  #sendFetch(role: FollowerRole, nowMs: number): void {
    // Only a durable log end is reported: the leader may count it toward a majority.
    if (this.#durableEndOffset < this.#log.endOffset()) {
      this.#requestFlush();
      return;
    }
    role.fetch = this.#fetchFrom(role.leaderId, nowMs);
  }

  #fetchFrom(destination: number, nowMs: number): InFlightFetch {
    const fetchOffset = this.#log.endOffset();
    const correlationId = this.#outbox.request(destination, {
      type: 'fetch-request',
      clusterId: this.#config.clusterId,
      replicaId: this.#config.nodeId,
      currentLeaderEpoch: this.#role.epoch,
      fetchOffset,
      lastFetchedEpoch: this.#log.lastEpoch(),
      maxEntries: this.#config.fetchMaxEntries,
    });
    return { correlationId, fetchOffset, sentMs: nowMs };
  }

  #handleFetchResponse(envelope: RaftEnvelope, response: FetchResponse, nowMs: number): void {
    const role = this.#role;
    const awaited =
      role instanceof FollowerRole ? role.fetch : role instanceof UnattachedRole && role.discovery;
    if (!awaited || awaited.correlationId !== envelope.correlationId) return;
    if (role instanceof UnattachedRole) role.discovery = undefined;
    if (!(role instanceof FollowerRole)) {
      this.#maybeAdvanceEpoch(response.leaderId, response.leaderEpoch, nowMs);
      return;
    }
    role.fetch = undefined;
    if (this.#maybeAdvanceEpoch(response.leaderId, response.leaderEpoch, nowMs)) return;
    if (envelope.source !== role.leaderId) return;
    if (response.errorCode !== RaftErrorCode.none || response.leaderEpoch !== role.epoch) {
      role.fetchBackoffUntilMs = nowMs + this.#config.electionBackoffMs;
      return;
    }
    role.fetchDeadlineMs = nowMs + this.#config.fetchTimeoutMs;
    role.hasFetchedFromLeader = true;
    if (response.divergingEpoch) {
      this.#truncateDiverging(response.divergingEpoch);
      this.#sendFetch(role, nowMs);
    } else if (response.snapshotId) {
      if (response.snapshotId.endOffset <= this.#highWatermark) {
        // A snapshot behind what this replica knows committed would lose entries: not taken.
        role.fetchBackoffUntilMs = nowMs + this.#config.electionBackoffMs;
        return;
      }
      const snapshotBytesMax = this.#config.snapshotBytesMax;
      role.snapshotFetch = new SnapshotFetch(response.snapshotId, snapshotBytesMax, nowMs);
      this.#sendFetchSnapshot(role, role.snapshotFetch, nowMs);
    } else {
      this.#acceptRecords(role, awaited, response, nowMs);
    }
  }

  #truncateDiverging(diverging: OffsetAndEpoch): void {
    const offset = Math.max(truncationOffset(this.#log, diverging), this.#log.startOffset());
    if (offset < this.#highWatermark) {
      // Entries below the high watermark are committed: a sound leader never asks to drop
      // them. This is a peer's word, so not an assertion, but the operator must hear of it.
      throw new BrokerError(
        'RAFT_COMMITTED_TRUNCATION',
        `leader asked to truncate to ${offset}, below the high watermark ${this.#highWatermark}`,
      );
    }
    if (offset >= this.#log.endOffset()) return;
    this.#log.truncateTo(offset);
    this.#truncations++;
    this.#durableEndOffset = Math.min(this.#durableEndOffset, offset);
  }

  #acceptRecords(
    role: FollowerRole,
    fetch: InFlightFetch,
    response: FetchResponse,
    nowMs: number,
  ): void {
    const records = response.records;
    if (fetch.fetchOffset !== this.#log.endOffset()) return;
    if (!this.#recordsContinueLog(records, fetch.fetchOffset, role.epoch)) return;
    if (records.length > 0) this.#log.append(records);
    // The leader vouches only for the prefix it validated for this fetch.
    const validatedEnd = fetch.fetchOffset + records.length;
    const leaderHighWatermark = Math.min(response.highWatermark, validatedEnd);
    role.leaderHighWatermark = Math.max(role.leaderHighWatermark, leaderHighWatermark);
    this.#updateFollowerHighWatermark(role);
    if (records.length > 0) this.#requestFlush();
    else this.#sendFetch(role, nowMs);
  }

  /** Peer input is checked, not asserted: offsets must continue the log, epochs never fall. */
  #recordsContinueLog(records: readonly RaftEntry[], fromOffset: number, epoch: number): boolean {
    if (records.length > this.#config.fetchMaxEntries) return false;
    let lastEpoch = this.#log.lastEpoch();
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as RaftEntry;
      if (record.offset !== fromOffset + i) return false;
      if (record.epoch < lastEpoch || record.epoch > epoch) return false;
      lastEpoch = record.epoch;
    }
    return true;
  }

  #updateFollowerHighWatermark(role: FollowerRole): void {
    const next = Math.min(role.leaderHighWatermark, this.#durableEndOffset);
    if (next > this.#highWatermark) this.#setHighWatermark(next);
  }

  // ---- FetchSnapshot ----------------------------------------------------------------------

  #sendFetchSnapshot(role: FollowerRole, snapshotFetch: SnapshotFetch, nowMs: number): void {
    snapshotFetch.sentMs = nowMs;
    snapshotFetch.correlationId = this.#outbox.request(role.leaderId, {
      type: 'fetch-snapshot-request',
      clusterId: this.#config.clusterId,
      replicaId: this.#config.nodeId,
      currentLeaderEpoch: role.epoch,
      snapshotId: snapshotFetch.id,
      position: snapshotFetch.position,
      maxBytes: this.#config.snapshotChunkBytes,
    });
  }

  #handleFetchSnapshotRequest(envelope: RaftEnvelope, request: FetchSnapshotRequest): void {
    const leader = { leaderId: this.#advertisedLeaderId(), leaderEpoch: this.#role.epoch };
    const errorCode = this.#fetchError(request);
    const chunkBytesMax = this.#config.snapshotChunkBytes;
    const response = answerFetchSnapshot(this.#log, request, errorCode, leader, chunkBytesMax);
    this.#outbox.respond(envelope, response);
  }

  #handleFetchSnapshotResponse(
    envelope: RaftEnvelope,
    response: FetchSnapshotResponse,
    nowMs: number,
  ): void {
    const role = this.#role;
    if (!(role instanceof FollowerRole)) return;
    const snapshotFetch = role.snapshotFetch;
    if (!snapshotFetch || snapshotFetch.correlationId !== envelope.correlationId) return;
    if (this.#maybeAdvanceEpoch(response.leaderId, response.leaderEpoch, nowMs)) return;
    const progress = response.leaderEpoch === role.epoch ? snapshotFetch.accept(response) : null;
    if (progress === null || progress === 'unusable') {
      // Start over from a plain fetch: the leader names the snapshot it holds now.
      role.snapshotFetch = undefined;
      role.fetchBackoffUntilMs = nowMs + this.#config.electionBackoffMs;
      return;
    }
    role.fetchDeadlineMs = nowMs + this.#config.fetchTimeoutMs;
    if (progress === 'more') this.#sendFetchSnapshot(role, snapshotFetch, nowMs);
    else this.#installSnapshot(role, snapshotFetch.assemble(), nowMs);
  }

  #installSnapshot(role: FollowerRole, snapshot: RaftSnapshot, nowMs: number): void {
    role.snapshotFetch = undefined;
    this.#log.installSnapshot(snapshot);
    this.#truncations++;
    this.#durableEndOffset = snapshot.id.endOffset;
    // A leader snapshots only committed state, so the snapshot's end is committed.
    role.leaderHighWatermark = Math.max(role.leaderHighWatermark, snapshot.id.endOffset);
    for (const listener of this.#listeners) listener.onSnapshotInstalled?.(snapshot.id);
    this.#updateFollowerHighWatermark(role);
    this.#sendFetch(role, nowMs);
  }

  /** The leader named in answers: a resigned leader names none, so no one follows it. */
  #advertisedLeaderId(): number {
    return this.#role instanceof ResignedRole ? -1 : this.#role.leaderId;
  }
}
