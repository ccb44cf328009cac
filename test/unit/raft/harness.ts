/**
 * Drives one RaftReplica by hand for unit tests: the test plays every peer, and storage
 * actions complete only when the test confirms them.
 */
import { MemoryRaftLog } from '../../../src/raft/memory-log.ts';
import type {
  RaftEntry,
  RaftEnvelope,
  RaftMessage,
  VoteResponse,
} from '../../../src/raft/messages.ts';
import type { ElectionState } from '../../../src/raft/raft-log.ts';
import { RaftReplica } from '../../../src/raft/replica.ts';
import type { RaftConfig, StorageAction } from '../../../src/raft/replica-config.ts';
import { raftConfigDefaults } from '../../../src/raft/replica-config.ts';
import { SeededRandom } from '../../../src/util/random.ts';

export const electionTimeoutMs = 100;
export const fetchTimeoutMs = 200;

export class Harness {
  readonly log: MemoryRaftLog;
  readonly replica: RaftReplica;
  readonly messages: RaftEnvelope[] = [];
  readonly storage: StorageAction[] = [];
  nowMs = 0;
  #correlationId = 1000;

  constructor(
    options: {
      nodeId?: number;
      voterIds?: readonly number[];
      stored?: ElectionState;
      log?: MemoryRaftLog;
      config?: Partial<RaftConfig>;
    } = {},
  ) {
    this.log = options.log ?? new MemoryRaftLog();
    const config: RaftConfig = {
      ...raftConfigDefaults,
      nodeId: options.nodeId ?? 1,
      clusterId: 'test',
      voterIds: options.voterIds ?? [1, 2, 3],
      electionTimeoutMs,
      fetchTimeoutMs,
      requestTimeoutMs: 50,
      fetchMaxWaitMs: 0,
      ...options.config,
    };
    this.replica = new RaftReplica(config, this.log, options.stored, new SeededRandom(7), 0);
    this.#collect();
  }

  #collect(): void {
    const output = this.replica.takeOutput();
    this.messages.push(...output.messages);
    this.storage.push(...output.storage);
  }

  /** Takes the messages sent so far. */
  sent(): RaftEnvelope[] {
    this.#collect();
    return this.messages.splice(0);
  }

  sentOf<T extends RaftMessage['type']>(type: T): Extract<RaftMessage, { type: T }>[] {
    return this.sent()
      .map((e) => e.message)
      .filter((m): m is Extract<RaftMessage, { type: T }> => m.type === type);
  }

  poll(atMs: number): void {
    this.nowMs = atMs;
    this.replica.poll(atMs);
    this.#collect();
  }

  receive(source: number, message: RaftMessage, correlationId?: number): void {
    const envelope: RaftEnvelope = {
      source,
      destination: this.replica.nodeId,
      correlationId: correlationId ?? this.#correlationId++,
      message,
    };
    this.replica.handle(envelope, this.nowMs);
    this.#collect();
  }

  /** Answers the last request of `type` sent to `destination`. */
  answer(destination: number, type: RaftMessage['type'], response: RaftMessage): void {
    this.#collect();
    const request = [...this.messages]
      .reverse()
      .find((e) => e.destination === destination && e.message.type === type);
    if (!request) throw new Error(`no ${type} sent to ${destination}`);
    this.messages.splice(0);
    this.receive(destination, response, request.correlationId);
  }

  /** Completes every pending storage action, in order. */
  completeStorage(): void {
    this.#collect();
    for (const action of this.storage.splice(0)) {
      if (action.kind === 'persist-quorum-state') {
        this.replica.handleQuorumStatePersisted(action.version, this.nowMs);
      } else {
        this.replica.handleLogFlushed(this.log.flush(), action.generation, this.nowMs);
      }
      this.#collect();
    }
  }

  /** Runs an election this replica wins (voters 2 and 3 grant everything). */
  becomeLeader(): void {
    this.poll(this.nowMs + 2 * electionTimeoutMs);
    const epoch = this.replica.epoch;
    this.receive(2, voteResponse(true, true, epoch));
    this.completeStorage();
    this.receive(2, voteResponse(true, false, epoch + 1));
    this.completeStorage();
  }
}

export function voteResponse(granted: boolean, preVote: boolean, epoch: number): VoteResponse {
  return {
    type: 'vote-response',
    errorCode: 0,
    leaderId: -1,
    leaderEpoch: epoch,
    voteGranted: granted,
    preVote,
  };
}

export function voteRequest(
  candidateId: number,
  candidateEpoch: number,
  last: { offset: number; epoch: number },
  preVote = false,
): RaftMessage {
  return {
    type: 'vote-request',
    clusterId: 'test',
    voterId: 1,
    candidateEpoch,
    candidateId,
    lastOffsetEpoch: last.epoch,
    lastOffset: last.offset,
    preVote,
  };
}

export function fetchRequest(
  replicaId: number,
  epoch: number,
  fetchOffset: number,
  lastFetchedEpoch: number,
): RaftMessage {
  return {
    type: 'fetch-request',
    clusterId: 'test',
    replicaId,
    currentLeaderEpoch: epoch,
    fetchOffset,
    lastFetchedEpoch,
    maxEntries: 100,
  };
}

export function entries(epochs: readonly number[], from = 0): RaftEntry[] {
  return epochs.map((epoch, i) => ({
    offset: from + i,
    epoch,
    kind: 'data' as const,
    data: new Uint8Array([from + i]),
  }));
}
