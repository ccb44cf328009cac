/**
 * One class per role a replica can be in, and the table of allowed transitions between them
 * (Kafka's QuorumState). Every transition goes through `assertTransition`: a move the table does
 * not list is a bug in this module, never a reaction to input.
 *
 * - unattached: knows an epoch but no leader; may have voted in it.
 * - prospective: a voter asking for pre-votes (KIP-996) without bumping the epoch.
 * - candidate: a voter that bumped the epoch, voted for itself and asks for votes.
 * - leader: serves fetches, appends, advances the high watermark.
 * - follower: fetches from the known leader of its epoch.
 * - resigned: a former leader of this epoch that stepped down (graceful or check-quorum).
 */
import assert from 'node:assert';
import type { ReplicaProgress } from './leader-progress.ts';
import type { FetchRequest, RaftEnvelope } from './messages.ts';
import type { SnapshotFetch } from './snapshot-transfer.ts';

export const RoleName = {
  unattached: 'unattached',
  prospective: 'prospective',
  candidate: 'candidate',
  leader: 'leader',
  follower: 'follower',
  resigned: 'resigned',
} as const;
export type RoleName = (typeof RoleName)[keyof typeof RoleName];

/** From each role, the roles a replica may move to. */
export const allowedTransitions: Readonly<Record<RoleName, readonly RoleName[]>> = {
  unattached: ['unattached', 'prospective', 'follower'],
  prospective: ['unattached', 'prospective', 'candidate', 'follower'],
  candidate: ['unattached', 'prospective', 'leader', 'follower'],
  leader: ['unattached', 'resigned', 'follower'],
  follower: ['unattached', 'prospective', 'follower'],
  resigned: ['unattached', 'prospective', 'follower'],
};

export function isTransitionAllowed(from: RoleName, to: RoleName): boolean {
  return allowedTransitions[from].includes(to);
}

export function assertTransition(from: RoleState, to: RoleState): void {
  assert.ok(
    isTransitionAllowed(from.name, to.name),
    `illegal transition ${from.name} -> ${to.name}`,
  );
  assert.ok(to.epoch >= from.epoch, `epoch regressed ${from.epoch} -> ${to.epoch}`);
  if (to.epoch === from.epoch) {
    // Within one epoch a vote, once cast, never changes; a known leader may be forgotten (an
    // observer that lost it) but never replaced.
    if (from.votedId >= 0) assert.equal(to.votedId, from.votedId, 'vote changed within an epoch');
    if (from.leaderId >= 0 && to.leaderId >= 0) {
      assert.equal(to.leaderId, from.leaderId, 'leader changed within an epoch');
    }
  }
}

/** What every role knows: its epoch, its vote in that epoch, and that epoch's leader. */
abstract class BaseRole {
  abstract readonly name: RoleName;
  readonly epoch: number;
  readonly votedId: number;
  readonly leaderId: number;

  constructor(epoch: number, votedId: number, leaderId: number) {
    this.epoch = epoch;
    this.votedId = votedId;
    this.leaderId = leaderId;
  }
}

/** A Fetch this replica sent and still waits for. */
export interface InFlightFetch {
  readonly correlationId: number;
  readonly fetchOffset: number;
  readonly sentMs: number;
}

/** A Fetch the leader holds until it has news (long poll) or the wait ends. */
export interface ParkedFetch {
  readonly envelope: RaftEnvelope;
  readonly request: FetchRequest;
  readonly deadlineMs: number;
}

export class UnattachedRole extends BaseRole {
  readonly name = RoleName.unattached;
  /** When a voter turns prospective; when an observer next asks a voter for the leader. */
  electionDeadlineMs: number;
  /** An observer's question to a voter about who leads. */
  discovery: InFlightFetch | undefined;

  constructor(epoch: number, votedId: number, electionDeadlineMs: number) {
    super(epoch, votedId, -1);
    this.electionDeadlineMs = electionDeadlineMs;
  }
}

/** Votes gathered by a prospective or candidate replica, and when each voter was last asked. */
export class Ballot {
  readonly granted = new Set<number>();
  readonly rejected = new Set<number>();
  readonly lastAskedMs = new Map<number, number>();
}

export class ProspectiveRole extends BaseRole {
  readonly name = RoleName.prospective;
  readonly ballot = new Ballot();
  electionDeadlineMs: number;

  constructor(epoch: number, votedId: number, leaderId: number, electionDeadlineMs: number) {
    super(epoch, votedId, leaderId);
    this.electionDeadlineMs = electionDeadlineMs;
  }
}

export class CandidateRole extends BaseRole {
  readonly name = RoleName.candidate;
  readonly ballot = new Ballot();
  electionDeadlineMs: number;

  constructor(epoch: number, localId: number, electionDeadlineMs: number) {
    super(epoch, localId, -1);
    this.electionDeadlineMs = electionDeadlineMs;
  }
}

export class FollowerRole extends BaseRole {
  readonly name = RoleName.follower;
  /** Without a successful fetch by then, the leader is presumed gone. */
  fetchDeadlineMs: number;
  /** The leader's high watermark, capped at the prefix it has validated for this replica. */
  leaderHighWatermark = 0;
  /** Set by the first successful fetch; until then the follower grants pre-votes (KIP-996). */
  hasFetchedFromLeader = false;
  fetch: InFlightFetch | undefined;
  /** After an error answer, the next fetch waits until then. */
  fetchBackoffUntilMs = 0;
  snapshotFetch: SnapshotFetch | undefined;

  constructor(epoch: number, votedId: number, leaderId: number, fetchDeadlineMs: number) {
    super(epoch, votedId, leaderId);
    this.fetchDeadlineMs = fetchDeadlineMs;
  }
}

export class LeaderRole extends BaseRole {
  readonly name = RoleName.leader;
  /** Offset of this epoch's leader-change entry: only entries from it on commit by count. */
  readonly epochStartOffset: number;
  /** Every voter's progress, this leader's own included. */
  readonly voters = new Map<number, ReplicaProgress>();
  readonly observers = new Map<number, ReplicaProgress>();
  /** Voters heard from since the check-quorum timer was last reset (the leader counts). */
  readonly fetchedSinceCheck = new Set<number>();
  checkQuorumDeadlineMs = Number.POSITIVE_INFINITY;
  /** Voters not yet known to have learned of this leader, and when each was last told. */
  readonly beginUnacknowledged = new Map<number, number>();
  readonly parked = new Map<number, ParkedFetch>();

  constructor(epoch: number, localId: number, epochStartOffset: number) {
    super(epoch, localId, localId);
    this.epochStartOffset = epochStartOffset;
  }
}

export class ResignedRole extends BaseRole {
  readonly name = RoleName.resigned;
  readonly preferredSuccessors: readonly number[];
  /** Voters that have not acknowledged EndQuorumEpoch yet, and when each was last told. */
  readonly unacknowledged = new Map<number, number>();
  electionDeadlineMs: number;

  constructor(epoch: number, localId: number, successors: readonly number[], deadlineMs: number) {
    super(epoch, localId, localId);
    this.preferredSuccessors = successors;
    this.electionDeadlineMs = deadlineMs;
  }
}

export type RoleState =
  | UnattachedRole
  | ProspectiveRole
  | CandidateRole
  | FollowerRole
  | LeaderRole
  | ResignedRole;
