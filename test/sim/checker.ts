/**
 * Safety invariants, checked after every simulated event:
 * - at most one leader per epoch;
 * - the durable quorum state never regresses: epochs only grow, and within an epoch a vote or a
 *   leader, once written, never changes (only what reached the store counts, so crashes are
 *   covered);
 * - log matching: two logs holding an entry with the same offset and epoch hold the same prefix;
 * - persistence order: no message reveals an epoch, vote or leadership its sender has not
 *   stored yet (checked as each message is sent);
 * - each replica's high watermark never decreases while it runs (a restart may reset it);
 * - the committed prefix (the longest high watermark seen anywhere) is durable on a majority of
 *   voters, always: when first reported and after every crash, truncation and snapshot;
 * - every replica's log below its high watermark is exactly the committed prefix, and every
 *   state machine applies exactly the committed entries.
 */
import type { RaftEnvelope, RaftMessage } from '../../src/raft/messages.ts';
import type { ElectionState, QuorumStateStore } from '../../src/raft/raft-log.ts';
import type { RaftReplica } from '../../src/raft/replica.ts';
import type { SimLog } from './sim-log.ts';

export class SimViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimViolation';
  }
}

export interface CheckedNode {
  readonly id: number;
  readonly isVoter: boolean;
  readonly log: SimLog;
  readonly store: QuorumStateStore;
  /** Undefined while crashed. */
  readonly replica: RaftReplica | undefined;
}

export class SafetyChecker {
  readonly #voterCount: number;
  readonly #leaderOfEpoch = new Map<number, number>();
  readonly #entryHashes = new Map<string, number>();
  readonly #stored = new Map<number, ElectionState>();
  readonly #highWatermarks = new Map<number, number>();
  /** Chain hash of the committed prefix, by offset. */
  readonly committed: number[] = [];

  constructor(voterCount: number) {
    this.#voterCount = voterCount;
  }

  get committedLength(): number {
    return this.committed.length;
  }

  /** A restarted replica starts its high watermark afresh. */
  noteRestart(nodeId: number): void {
    this.#highWatermarks.delete(nodeId);
  }

  /** Log matching, checked as each entry is appended anywhere. */
  noteAppend(nodeId: number, offset: number, epoch: number, hash: number): void {
    const key = `${offset}:${epoch}`;
    const known = this.#entryHashes.get(key);
    if (known === undefined) this.#entryHashes.set(key, hash);
    else if (known !== hash) fail(`log matching: n${nodeId} differs at offset ${offset} ${epoch}`);
  }

  /** A state machine applied the committed prefix up to `offset` with state `hash`. */
  noteApplied(nodeId: number, offset: number, hash: number): void {
    const committed = this.committed[offset];
    if (committed === undefined) fail(`n${nodeId} applied uncommitted offset ${offset}`);
    if (committed !== hash) fail(`state machine of n${nodeId} diverged at offset ${offset}`);
  }

  /**
   * Persistence order: a message may reveal only durable quorum state. Its epoch is already in
   * the sender's store, a granted vote is the stored vote, a new leader's announcement follows
   * the stored leadership.
   */
  noteSent(sender: CheckedNode, envelope: RaftEnvelope): void {
    const stored = sender.store.read() ?? { epoch: 0, votedId: -1, leaderId: -1 };
    const message = envelope.message;
    const epoch = messageEpoch(message);
    const where = `n${sender.id} sent ${message.type} to n${envelope.destination}`;
    if (epoch > stored.epoch) fail(`${where} in epoch ${epoch} before storing it`);
    if (message.type === 'vote-response' && message.voteGranted && !message.preVote) {
      if (stored.epoch !== epoch || stored.votedId !== envelope.destination) {
        fail(`${where}: vote granted before it was stored`);
      }
    }
    if (message.type === 'begin-quorum-epoch-request') {
      if (stored.epoch !== epoch || stored.leaderId !== sender.id) {
        fail(`${where}: leadership announced before it was stored`);
      }
    }
  }

  check(nodes: readonly CheckedNode[]): void {
    for (const node of nodes) {
      this.#checkStoredState(node);
      if (node.replica) this.#checkReplica(node, node.replica);
    }
    this.#checkMajorityHoldsCommitted(nodes);
  }

  #checkStoredState(node: CheckedNode): void {
    const state = node.store.read();
    if (!state) return;
    const before = this.#stored.get(node.id);
    if (before) {
      if (state.epoch < before.epoch) fail(`n${node.id} stored epoch regressed`);
      if (state.epoch === before.epoch) {
        if (before.votedId >= 0 && state.votedId !== before.votedId) {
          fail(`n${node.id} changed its vote in epoch ${state.epoch}`);
        }
        if (before.leaderId >= 0 && state.leaderId >= 0 && state.leaderId !== before.leaderId) {
          fail(`n${node.id} changed the leader of epoch ${state.epoch}`);
        }
      }
    }
    this.#stored.set(node.id, state);
    if (node.replica && node.replica.epoch < state.epoch) {
      fail(`n${node.id} runs epoch ${node.replica.epoch} behind its stored ${state.epoch}`);
    }
  }

  #checkReplica(node: CheckedNode, replica: RaftReplica): void {
    if (replica.isLeader) {
      const leader = this.#leaderOfEpoch.get(replica.epoch);
      if (leader === undefined) this.#leaderOfEpoch.set(replica.epoch, node.id);
      else if (leader !== node.id)
        fail(`two leaders in epoch ${replica.epoch}: ${leader}, ${node.id}`);
    }
    const hw = replica.highWatermark;
    const previous = this.#highWatermarks.get(node.id) ?? 0;
    if (hw < previous) fail(`n${node.id} high watermark fell from ${previous} to ${hw}`);
    this.#highWatermarks.set(node.id, hw);
    if (hw === 0) return;
    if (node.log.endOffset() < hw) fail(`n${node.id} high watermark ${hw} past its log end`);
    while (this.committed.length < hw) {
      const hash = node.log.hashAt(this.committed.length);
      if (hash === undefined) fail(`n${node.id} lacks committed offset ${this.committed.length}`);
      this.committed.push(hash as number);
    }
    const start = node.log.startOffset();
    const at = node.log.hashAt(hw - 1) === undefined ? start - 1 : hw - 1;
    const hash = node.log.hashAt(at);
    if (hash !== undefined && hash !== this.committed[at]) {
      fail(`n${node.id} log differs from the committed prefix below its high watermark ${hw}`);
    }
  }

  #checkMajorityHoldsCommitted(nodes: readonly CheckedNode[]): void {
    const length = this.committed.length;
    if (length === 0) return;
    let holders = 0;
    for (const node of nodes) {
      if (node.isVoter && node.log.holdsDurably(this.committed, length)) holders++;
    }
    if (holders < Math.floor(this.#voterCount / 2) + 1) {
      fail(
        `committed prefix ${length} is durable on only ${holders} of ${this.#voterCount} voters`,
      );
    }
  }
}

function messageEpoch(message: RaftMessage): number {
  switch (message.type) {
    case 'vote-request':
      return message.preVote ? message.candidateEpoch - 1 : message.candidateEpoch;
    case 'fetch-request':
    case 'fetch-snapshot-request':
      return message.currentLeaderEpoch;
    default:
      return message.leaderEpoch;
  }
}

function fail(message: string): never {
  throw new SimViolation(message);
}
