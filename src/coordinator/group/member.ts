/**
 * One member of a classic group: who it is, the protocols it offered (in its order of
 * preference), its assignment, and the JoinGroup/SyncGroup answer it is waiting for, if any.
 */
import assert from 'node:assert/strict';
import type { JoinGroupProtocol, JoinGroupResult, SyncGroupResult } from './types.ts';

const EMPTY = Buffer.alloc(0);

export interface GroupMemberInit {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly JoinGroupProtocol[];
  readonly assignment?: Buffer;
}

export class GroupMember {
  /** Changes only when a static member's id is replaced (KIP-345). */
  memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly protocolType: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocols: readonly JoinGroupProtocol[];
  assignment: Buffer;
  awaitingJoin: ((result: JoinGroupResult) => void) | undefined = undefined;
  awaitingSync: ((result: SyncGroupResult) => void) | undefined = undefined;
  /** Joined but not yet through a completed join phase: its session does not protect it. */
  isNew = false;

  constructor(init: GroupMemberInit) {
    this.memberId = init.memberId;
    this.groupInstanceId = init.groupInstanceId;
    this.clientId = init.clientId;
    this.clientHost = init.clientHost;
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.sessionTimeoutMs = init.sessionTimeoutMs;
    this.protocolType = init.protocolType;
    this.protocols = init.protocols;
    this.assignment = init.assignment ?? EMPTY;
  }

  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  get isAwaitingJoin(): boolean {
    return this.awaitingJoin !== undefined;
  }

  get isAwaitingSync(): boolean {
    return this.awaitingSync !== undefined;
  }

  /** The distinct protocol names this member supports. */
  protocolNames(): Set<string> {
    return new Set(this.protocols.map((p) => p.name));
  }

  metadata(protocolName: string): Buffer {
    const protocol = this.protocols.find((p) => p.name === protocolName);
    assert(protocol, `member ${this.memberId} does not support protocol ${protocolName}`);
    return protocol.metadata;
  }

  /** True when `protocols` is exactly what the member last sent: same names, order and bytes. */
  matches(protocols: readonly JoinGroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => {
      const mine = this.protocols[i] as JoinGroupProtocol;
      return p.name === mine.name && p.metadata.equals(mine.metadata);
    });
  }

  /** The member's most preferred protocol among `candidates`. */
  vote(candidates: ReadonlySet<string>): string {
    const choice = this.protocols.find((p) => candidates.has(p.name));
    assert(choice, `member ${this.memberId} supports none of the candidate protocols`);
    return choice.name;
  }

  /**
   * Whether an expiring session leaves this member alone: members waiting in a rebalance are
   * excused from heartbeating, except new members, whose held JoinGroup must not live forever.
   */
  hasSatisfiedHeartbeat(): boolean {
    if (this.isNew) return false;
    return this.isAwaitingJoin || this.isAwaitingSync;
  }
}
