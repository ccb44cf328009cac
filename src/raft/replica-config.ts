/** Configuration of one quorum replica, its deliberately-broken variants, and its outputs. */
import type { OffsetAndEpoch, RaftEnvelope } from './messages.ts';
import type { ElectionState } from './raft-log.ts';

/**
 * Deliberate bugs, off by default, so the simulation can prove its checker catches each one.
 * Never set outside tests.
 */
export interface RaftBugFlags {
  /** Grant votes and pre-votes without checking that the candidate's log is up to date. */
  readonly grantVoteWithoutLogCheck?: boolean;
  /** Advance the high watermark to the leader's own end offset, without a majority. */
  readonly advanceHighWatermarkWithoutMajority?: boolean;
  /** Send vote responses before the vote is durable. */
  readonly answerVoteBeforePersisting?: boolean;
  /** Count older-epoch entries toward the high watermark (Raft's "figure 8" bug). */
  readonly commitPriorEpochEntries?: boolean;
}

export interface RaftConfig {
  readonly nodeId: number;
  readonly clusterId: string;
  /** The fixed voter set; any other replica that fetches is an observer. */
  readonly voterIds: readonly number[];
  /** Base election timeout; each wait is drawn from [this, 2 * this). */
  readonly electionTimeoutMs: number;
  /** A follower without a successful fetch for this long presumes the leader gone. */
  readonly fetchTimeoutMs: number;
  /** A request without an answer after this long is sent again. */
  readonly requestTimeoutMs: number;
  /** How long a leader parks a fetch that has nothing new to return. */
  readonly fetchMaxWaitMs: number;
  readonly fetchMaxEntries: number;
  /** Back-off step per rank in EndQuorumEpoch's preferred successors. */
  readonly electionBackoffMs: number;
  readonly snapshotChunkBytes: number;
  /** A snapshot larger than this is refused by a fetching follower. */
  readonly snapshotBytesMax: number;
  /** A leader refuses appends while this many entries wait for commit. */
  readonly uncommittedEntriesMax: number;
  /** Outgoing messages waiting for a quorum-state write; beyond this they are dropped. */
  readonly heldMessagesMax: number;
  readonly observersMax: number;
  readonly bugs?: RaftBugFlags;
}

export const raftConfigDefaults = {
  electionTimeoutMs: 1000,
  fetchTimeoutMs: 2000,
  requestTimeoutMs: 2000,
  fetchMaxWaitMs: 500,
  fetchMaxEntries: 256,
  electionBackoffMs: 100,
  snapshotChunkBytes: 64 * 1024,
  snapshotBytesMax: 256 * 1024 * 1024,
  uncommittedEntriesMax: 10_000,
  heldMessagesMax: 1024,
  observersMax: 64,
} as const;

/** Storage work the replica asks of its driver; each is confirmed by a later call. */
export type StorageAction =
  /** Write and fsync the quorum state, then call `handleQuorumStatePersisted(version)`. */
  | {
      readonly kind: 'persist-quorum-state';
      readonly state: ElectionState;
      readonly version: number;
    }
  /** Call `log.flush()`, then `handleLogFlushed(durableEndOffset, generation)`. */
  | { readonly kind: 'flush-log'; readonly generation: number };

export interface RaftOutput {
  readonly messages: RaftEnvelope[];
  readonly storage: StorageAction[];
}

export type AppendResult =
  | { readonly kind: 'appended'; readonly baseOffset: number; readonly epoch: number }
  | { readonly kind: 'not-leader'; readonly leaderId: number; readonly epoch: number }
  | { readonly kind: 'backlog-full' };

export interface LeaderAndEpoch {
  readonly leaderId: number;
  readonly epoch: number;
}

/** Callbacks for the layer above; they run synchronously inside the replica's entry points. */
export interface RaftListener {
  /** The high watermark rose: entries below it are committed. */
  onCommit?(highWatermark: number): void;
  onLeaderChange?(leader: LeaderAndEpoch): void;
  /** The log was replaced by a snapshot: reload state from it before reading on. */
  onSnapshotInstalled?(snapshotId: OffsetAndEpoch): void;
}
