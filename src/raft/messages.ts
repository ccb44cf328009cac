/**
 * The messages replicas exchange. Field names follow Kafka's schemas (VoteRequest.json,
 * BeginQuorumEpochRequest.json, EndQuorumEpochRequest.json, FetchRequest.json,
 * FetchSnapshotRequest.json, DescribeQuorumResponse.json) in camelCase, flattened to the one
 * partition a quorum replicates, so an adapter can map them onto the generated codecs field
 * by field. `preVote` is KIP-996's VoteRequest v2 field.
 *
 * The network may drop, duplicate, delay and reorder any of them: a response carries the
 * `correlationId` of its request, and a replica ignores a response it is no longer waiting for.
 */

/** Kafka error codes a quorum answers with (error-codes.tsv). */
export const RaftErrorCode = {
  none: 0,
  notLeaderOrFollower: 6,
  invalidRequest: 42,
  fencedLeaderEpoch: 74,
  unknownLeaderEpoch: 75,
  inconsistentVoterSet: 94,
  snapshotNotFound: 98,
  positionOutOfRange: 99,
  inconsistentClusterId: 104,
} as const;
export type RaftErrorCode = (typeof RaftErrorCode)[keyof typeof RaftErrorCode];

/** Kafka's `OffsetAndEpoch` / `SnapshotId` / `EpochEndOffset` shape. */
export interface OffsetAndEpoch {
  readonly endOffset: number;
  readonly epoch: number;
}

/** One replicated entry: a record's bytes at an offset, written by the leader of `epoch`. */
export interface RaftEntry {
  readonly offset: number;
  readonly epoch: number;
  /** `leader-change` entries are the control record a new leader appends to start its epoch. */
  readonly kind: 'data' | 'leader-change';
  readonly data: Uint8Array;
}

export interface VoteRequest {
  readonly type: 'vote-request';
  readonly clusterId: string;
  readonly voterId: number;
  readonly candidateEpoch: number;
  readonly candidateId: number;
  readonly lastOffsetEpoch: number;
  readonly lastOffset: number;
  readonly preVote: boolean;
}

export interface VoteResponse {
  readonly type: 'vote-response';
  readonly errorCode: RaftErrorCode;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly voteGranted: boolean;
  readonly preVote: boolean;
}

export interface BeginQuorumEpochRequest {
  readonly type: 'begin-quorum-epoch-request';
  readonly clusterId: string;
  readonly voterId: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

export interface BeginQuorumEpochResponse {
  readonly type: 'begin-quorum-epoch-response';
  readonly errorCode: RaftErrorCode;
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

export interface EndQuorumEpochRequest {
  readonly type: 'end-quorum-epoch-request';
  readonly clusterId: string;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  /** Voters ordered by how far their log reached: the first should run for election first. */
  readonly preferredSuccessors: readonly number[];
}

export interface EndQuorumEpochResponse {
  readonly type: 'end-quorum-epoch-response';
  readonly errorCode: RaftErrorCode;
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

export interface FetchRequest {
  readonly type: 'fetch-request';
  readonly clusterId: string;
  /** `replicaState.replicaId` in FetchRequest v15+ (`replicaId` before). */
  readonly replicaId: number;
  readonly currentLeaderEpoch: number;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: number;
  /** Bounds the entries in the answer (Kafka bounds bytes; the quorum bounds entries). */
  readonly maxEntries: number;
}

export interface FetchResponse {
  readonly type: 'fetch-response';
  readonly errorCode: RaftErrorCode;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** Set when the fetcher's log diverges: truncate to this epoch's end, then fetch again. */
  readonly divergingEpoch: OffsetAndEpoch | null;
  /** `currentLeader` in Kafka's schema. */
  readonly leaderId: number;
  readonly leaderEpoch: number;
  /** Set when the fetch offset is below the log start: fetch this snapshot instead. */
  readonly snapshotId: OffsetAndEpoch | null;
  readonly records: readonly RaftEntry[];
}

export interface FetchSnapshotRequest {
  readonly type: 'fetch-snapshot-request';
  readonly clusterId: string;
  readonly replicaId: number;
  readonly currentLeaderEpoch: number;
  readonly snapshotId: OffsetAndEpoch;
  readonly position: number;
  readonly maxBytes: number;
}

export interface FetchSnapshotResponse {
  readonly type: 'fetch-snapshot-response';
  readonly errorCode: RaftErrorCode;
  readonly snapshotId: OffsetAndEpoch;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  /** Total size of the snapshot in bytes. */
  readonly size: number;
  readonly position: number;
  readonly unalignedRecords: Uint8Array;
}

export interface DescribeQuorumReplicaState {
  readonly replicaId: number;
  readonly logEndOffset: number;
  readonly lastFetchTimestamp: number;
  readonly lastCaughtUpTimestamp: number;
}

/** What DescribeQuorum answers for the quorum's partition (only a leader knows it all). */
export interface DescribeQuorumPartition {
  readonly errorCode: RaftErrorCode;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly highWatermark: number;
  readonly currentVoters: readonly DescribeQuorumReplicaState[];
  readonly observers: readonly DescribeQuorumReplicaState[];
}

export type RaftRequest =
  | VoteRequest
  | BeginQuorumEpochRequest
  | EndQuorumEpochRequest
  | FetchRequest
  | FetchSnapshotRequest;

export type RaftResponse =
  | VoteResponse
  | BeginQuorumEpochResponse
  | EndQuorumEpochResponse
  | FetchResponse
  | FetchSnapshotResponse;

export type RaftMessage = RaftRequest | RaftResponse;

/** A message on the wire between two replicas. */
export interface RaftEnvelope {
  readonly source: number;
  readonly destination: number;
  /** A request's id; its response carries the same id back. */
  readonly correlationId: number;
  readonly message: RaftMessage;
}

export function isRequest(message: RaftMessage): message is RaftRequest {
  return message.type.endsWith('-request');
}
