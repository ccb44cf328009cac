/**
 * Maps the quorum's messages onto the generated Kafka codecs (protocol/generated), for the
 * KRaft metadata partition `__cluster_metadata-0`, and back. A decoded wire message that does
 * not name exactly that one partition, or whose records do not parse, maps to undefined: it is
 * peer input, never an assertion.
 *
 * Entries travel as RecordBatch v2: consecutive entries of one epoch and kind form one batch
 * (partitionLeaderEpoch = the epoch); a `leader-change` entry is a control record with Kafka's
 * LeaderChange key. A pre-vote (KIP-996) travels as VoteRequest v2's `PreVote`; a peer that
 * speaks only v0-1 cannot carry one, so Brook nodes always send Vote v2.
 */

import type * as wire from '../../protocol/generated/index.ts';
import { iterateBatches } from '../../protocol/records/batch.ts';
import { buildBatch } from '../../protocol/records/batch-builder.ts';
import {
  ControlRecordType,
  encodeControlRecordKey,
  parseControlRecordKey,
} from '../../protocol/records/record.ts';
import { readRecords } from '../../protocol/records/record-iterator.ts';
import type {
  BeginQuorumEpochRequest,
  DescribeQuorumPartition,
  EndQuorumEpochRequest,
  FetchRequest,
  FetchResponse,
  FetchSnapshotRequest,
  FetchSnapshotResponse,
  RaftEntry,
  RaftErrorCode,
  VoteRequest,
  VoteResponse,
} from './messages.ts';

export const metadataTopicName = '__cluster_metadata';
/** Kafka's fixed topic id of `__cluster_metadata` (Uuid.METADATA_TOPIC_ID). */
export const metadataTopicId = 'AAAAAAAAAAAAAAAAAAAAAQ';
export const metadataPartition = 0;
const zeroUuid = 'AAAAAAAAAAAAAAAAAAAAAA';

/** Bounds decompression of fetched batches; the quorum itself never compresses. */
const decompressedBytesMax = 64 * 1024 * 1024;

/** The only partition of a decoded per-topic list, if it is the metadata partition. */
function onlyPartition<P>(
  topics: readonly { readonly partitions: readonly P[] }[],
  topicName: (index: number) => string,
  partitionIndex: (p: P) => number,
): P | undefined {
  if (topics.length !== 1 || topicName(0) !== metadataTopicName) return undefined;
  const partitions = (topics[0] as { readonly partitions: readonly P[] }).partitions;
  const partition = partitions[0];
  if (partitions.length !== 1 || !partition) return undefined;
  return partitionIndex(partition) === metadataPartition ? partition : undefined;
}

function asErrorCode(code: number): RaftErrorCode {
  return code as RaftErrorCode;
}

// ---- Vote -----------------------------------------------------------------------------------

export function voteRequestToWire(m: VoteRequest): wire.VoteRequest {
  const partition = {
    partitionIndex: metadataPartition,
    candidateEpoch: m.candidateEpoch,
    candidateId: m.candidateId,
    candidateDirectoryId: zeroUuid,
    voterDirectoryId: zeroUuid,
    lastOffsetEpoch: m.lastOffsetEpoch,
    lastOffset: m.lastOffset,
    preVote: m.preVote,
  };
  const topics = [{ topicName: metadataTopicName, partitions: [partition] }];
  return { clusterId: m.clusterId, voterId: m.voterId, topics };
}

export function voteRequestFromWire(w: wire.VoteRequest): VoteRequest | undefined {
  const topics = w.topics;
  const p = onlyPartition(
    topics,
    (i) => topics[i]?.topicName ?? '',
    (x) => x.partitionIndex,
  );
  if (!p) return undefined;
  return {
    type: 'vote-request',
    clusterId: w.clusterId ?? '',
    voterId: w.voterId,
    candidateEpoch: p.candidateEpoch,
    candidateId: p.candidateId,
    lastOffsetEpoch: p.lastOffsetEpoch,
    lastOffset: p.lastOffset,
    preVote: p.preVote,
  };
}

export function voteResponseToWire(m: VoteResponse): wire.VoteResponse {
  const partition = {
    partitionIndex: metadataPartition,
    errorCode: m.errorCode,
    leaderId: m.leaderId,
    leaderEpoch: m.leaderEpoch,
    voteGranted: m.voteGranted,
  };
  const topics = [{ topicName: metadataTopicName, partitions: [partition] }];
  return { errorCode: 0, topics, nodeEndpoints: [] };
}

/**
 * VoteResponse carries no PreVote field: `preVote` is that of the request it answers, which
 * the transport remembers by correlation id.
 */
export function voteResponseFromWire(
  w: wire.VoteResponse,
  preVote = false,
): VoteResponse | undefined {
  const topics = w.topics;
  const p = onlyPartition(
    topics,
    (i) => topics[i]?.topicName ?? '',
    (x) => x.partitionIndex,
  );
  if (!p) return undefined;
  return {
    type: 'vote-response',
    errorCode: asErrorCode(w.errorCode !== 0 ? w.errorCode : p.errorCode),
    leaderId: p.leaderId,
    leaderEpoch: p.leaderEpoch,
    voteGranted: p.voteGranted,
    preVote,
  };
}

// ---- BeginQuorumEpoch / EndQuorumEpoch ------------------------------------------------------

export function beginQuorumEpochToWire(m: BeginQuorumEpochRequest): wire.BeginQuorumEpochRequest {
  const partition = {
    partitionIndex: metadataPartition,
    voterDirectoryId: zeroUuid,
    leaderId: m.leaderId,
    leaderEpoch: m.leaderEpoch,
  };
  const topics = [{ topicName: metadataTopicName, partitions: [partition] }];
  return { clusterId: m.clusterId, voterId: m.voterId, topics, leaderEndpoints: [] };
}

export function beginQuorumEpochFromWire(
  w: wire.BeginQuorumEpochRequest,
): BeginQuorumEpochRequest | undefined {
  const topics = w.topics;
  const p = onlyPartition(
    topics,
    (i) => topics[i]?.topicName ?? '',
    (x) => x.partitionIndex,
  );
  if (!p) return undefined;
  return {
    type: 'begin-quorum-epoch-request',
    clusterId: w.clusterId ?? '',
    voterId: w.voterId,
    leaderId: p.leaderId,
    leaderEpoch: p.leaderEpoch,
  };
}

export function endQuorumEpochToWire(m: EndQuorumEpochRequest): wire.EndQuorumEpochRequest {
  const partition = {
    partitionIndex: metadataPartition,
    leaderId: m.leaderId,
    leaderEpoch: m.leaderEpoch,
    // v0 carries ids, v1 carries (id, directory id): both are filled, the version picks one.
    preferredSuccessors: [...m.preferredSuccessors],
    preferredCandidates: m.preferredSuccessors.map((candidateId) => ({
      candidateId,
      candidateDirectoryId: zeroUuid,
    })),
  };
  const topics = [{ topicName: metadataTopicName, partitions: [partition] }];
  return { clusterId: m.clusterId, topics, leaderEndpoints: [] };
}

export function endQuorumEpochFromWire(
  w: wire.EndQuorumEpochRequest,
): EndQuorumEpochRequest | undefined {
  const topics = w.topics;
  const p = onlyPartition(
    topics,
    (i) => topics[i]?.topicName ?? '',
    (x) => x.partitionIndex,
  );
  if (!p) return undefined;
  const successors =
    p.preferredCandidates.length > 0
      ? p.preferredCandidates.map((c) => c.candidateId)
      : p.preferredSuccessors;
  return {
    type: 'end-quorum-epoch-request',
    clusterId: w.clusterId ?? '',
    leaderId: p.leaderId,
    leaderEpoch: p.leaderEpoch,
    preferredSuccessors: successors,
  };
}

/** BeginQuorumEpoch and EndQuorumEpoch responses share one shape. */
export function quorumEpochResponseToWire(m: {
  readonly errorCode: RaftErrorCode;
  readonly leaderId: number;
  readonly leaderEpoch: number;
}): wire.BeginQuorumEpochResponse & wire.EndQuorumEpochResponse {
  const partition = {
    partitionIndex: metadataPartition,
    errorCode: m.errorCode,
    leaderId: m.leaderId,
    leaderEpoch: m.leaderEpoch,
  };
  const topics = [{ topicName: metadataTopicName, partitions: [partition] }];
  return { errorCode: 0, topics, nodeEndpoints: [] };
}

export function quorumEpochResponseFromWire(
  type: 'begin-quorum-epoch-response' | 'end-quorum-epoch-response',
  w: wire.BeginQuorumEpochResponse | wire.EndQuorumEpochResponse,
) {
  const topics = w.topics;
  const p = onlyPartition(
    topics,
    (i) => topics[i]?.topicName ?? '',
    (x) => x.partitionIndex,
  );
  if (!p) return undefined;
  const errorCode = asErrorCode(w.errorCode !== 0 ? w.errorCode : p.errorCode);
  return { type, errorCode, leaderId: p.leaderId, leaderEpoch: p.leaderEpoch };
}

// ---- Fetch ----------------------------------------------------------------------------------

/** Fetch v15+ names the replica in `replicaState`, earlier versions in `replicaId`. */
export function fetchRequestToWire(
  m: FetchRequest,
  maxWaitMs: number,
  version: number,
): wire.FetchRequest {
  const inState = version >= 15;
  const partition = {
    partition: metadataPartition,
    currentLeaderEpoch: m.currentLeaderEpoch,
    fetchOffset: m.fetchOffset,
    lastFetchedEpoch: m.lastFetchedEpoch,
    logStartOffset: -1,
    partitionMaxBytes: 0x7fffffff,
    replicaDirectoryId: zeroUuid,
  };
  return {
    clusterId: m.clusterId,
    replicaId: inState ? -1 : m.replicaId,
    replicaState: { replicaId: inState ? m.replicaId : -1, replicaEpoch: -1 },
    maxWaitMs,
    minBytes: 0,
    maxBytes: 0x7fffffff,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: metadataTopicName, topicId: metadataTopicId, partitions: [partition] }],
    forgottenTopicsData: [],
    rackId: '',
  };
}

export function fetchRequestFromWire(
  w: wire.FetchRequest,
  maxEntries: number,
): FetchRequest | undefined {
  const topics = w.topics;
  const named = (i: number): string => {
    const topic = topics[i];
    return topic?.topicId === metadataTopicId ? metadataTopicName : (topic?.topic ?? '');
  };
  const p = onlyPartition(topics, named, (x) => x.partition);
  if (!p) return undefined;
  return {
    type: 'fetch-request',
    clusterId: w.clusterId ?? '',
    replicaId: w.replicaState.replicaId >= 0 ? w.replicaState.replicaId : w.replicaId,
    currentLeaderEpoch: p.currentLeaderEpoch,
    fetchOffset: p.fetchOffset,
    lastFetchedEpoch: p.lastFetchedEpoch,
    maxEntries,
  };
}

export function fetchResponseToWire(m: FetchResponse): wire.FetchResponse {
  const partition = {
    partitionIndex: metadataPartition,
    errorCode: m.errorCode,
    highWatermark: m.highWatermark,
    lastStableOffset: m.highWatermark,
    logStartOffset: m.logStartOffset,
    divergingEpoch: m.divergingEpoch ?? { epoch: -1, endOffset: -1 },
    currentLeader: { leaderId: m.leaderId, leaderEpoch: m.leaderEpoch },
    snapshotId: m.snapshotId ?? { endOffset: -1, epoch: -1 },
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: encodeEntries(m.records),
  };
  const topic = { topic: metadataTopicName, topicId: metadataTopicId, partitions: [partition] };
  return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [topic], nodeEndpoints: [] };
}

export function fetchResponseFromWire(w: wire.FetchResponse): FetchResponse | undefined {
  const topics = w.responses;
  const named = (i: number): string => {
    const topic = topics[i];
    return topic?.topicId === metadataTopicId ? metadataTopicName : (topic?.topic ?? '');
  };
  const p = onlyPartition(topics, named, (x) => x.partitionIndex);
  if (!p || (p.records !== null && !Buffer.isBuffer(p.records))) return undefined;
  const records = p.records ? decodeEntries(p.records) : [];
  if (!records) return undefined;
  const diverging = p.divergingEpoch;
  const snapshot = p.snapshotId;
  return {
    type: 'fetch-response',
    errorCode: asErrorCode(w.errorCode !== 0 ? w.errorCode : p.errorCode),
    highWatermark: p.highWatermark,
    logStartOffset: p.logStartOffset,
    divergingEpoch: diverging.epoch >= 0 ? { ...diverging } : null,
    leaderId: p.currentLeader.leaderId,
    leaderEpoch: p.currentLeader.leaderEpoch,
    snapshotId: snapshot.endOffset >= 0 ? { ...snapshot } : null,
    records,
  };
}

// ---- FetchSnapshot --------------------------------------------------------------------------

export function fetchSnapshotRequestToWire(m: FetchSnapshotRequest): wire.FetchSnapshotRequest {
  const partition = {
    partition: metadataPartition,
    currentLeaderEpoch: m.currentLeaderEpoch,
    snapshotId: { ...m.snapshotId },
    position: m.position,
    replicaDirectoryId: zeroUuid,
  };
  const topics = [{ name: metadataTopicName, partitions: [partition] }];
  return { clusterId: m.clusterId, replicaId: m.replicaId, maxBytes: m.maxBytes, topics };
}

export function fetchSnapshotRequestFromWire(
  w: wire.FetchSnapshotRequest,
): FetchSnapshotRequest | undefined {
  const topics = w.topics;
  const p = onlyPartition(
    topics,
    (i) => topics[i]?.name ?? '',
    (x) => x.partition,
  );
  if (!p) return undefined;
  return {
    type: 'fetch-snapshot-request',
    clusterId: w.clusterId ?? '',
    replicaId: w.replicaId,
    currentLeaderEpoch: p.currentLeaderEpoch,
    snapshotId: { endOffset: p.snapshotId.endOffset, epoch: p.snapshotId.epoch },
    position: p.position,
    maxBytes: w.maxBytes,
  };
}

export function fetchSnapshotResponseToWire(m: FetchSnapshotResponse): wire.FetchSnapshotResponse {
  const partition = {
    index: metadataPartition,
    errorCode: m.errorCode,
    snapshotId: { ...m.snapshotId },
    currentLeader: { leaderId: m.leaderId, leaderEpoch: m.leaderEpoch },
    size: m.size,
    position: m.position,
    unalignedRecords: Buffer.from(m.unalignedRecords),
  };
  const topics = [{ name: metadataTopicName, partitions: [partition] }];
  return { throttleTimeMs: 0, errorCode: 0, topics, nodeEndpoints: [] };
}

export function fetchSnapshotResponseFromWire(
  w: wire.FetchSnapshotResponse,
): FetchSnapshotResponse | undefined {
  const topics = w.topics;
  const p = onlyPartition(
    topics,
    (i) => topics[i]?.name ?? '',
    (x) => x.index,
  );
  if (!p || !Buffer.isBuffer(p.unalignedRecords)) return undefined;
  return {
    type: 'fetch-snapshot-response',
    errorCode: asErrorCode(w.errorCode !== 0 ? w.errorCode : p.errorCode),
    snapshotId: { endOffset: p.snapshotId.endOffset, epoch: p.snapshotId.epoch },
    leaderId: p.currentLeader.leaderId,
    leaderEpoch: p.currentLeader.leaderEpoch,
    size: p.size,
    position: p.position,
    unalignedRecords: p.unalignedRecords,
  };
}

// ---- DescribeQuorum -------------------------------------------------------------------------

export function describeQuorumResponseToWire(
  m: DescribeQuorumPartition,
): wire.DescribeQuorumResponse {
  const replica = (r: DescribeQuorumPartition['currentVoters'][number]) => ({
    ...r,
    replicaDirectoryId: zeroUuid,
  });
  const partition = {
    partitionIndex: metadataPartition,
    errorCode: m.errorCode,
    errorMessage: null,
    leaderId: m.leaderId,
    leaderEpoch: m.leaderEpoch,
    highWatermark: m.highWatermark,
    currentVoters: m.currentVoters.map(replica),
    observers: m.observers.map(replica),
  };
  const topics = [{ topicName: metadataTopicName, partitions: [partition] }];
  return { errorCode: 0, errorMessage: null, topics, nodes: [] };
}

// ---- Entries as record batches --------------------------------------------------------------

/** Encodes entries as RecordBatch v2 bytes: one batch per run of one epoch and kind. */
export function encodeEntries(entries: readonly RaftEntry[]): Buffer {
  const batches: Buffer[] = [];
  let start = 0;
  while (start < entries.length) {
    const first = entries[start] as RaftEntry;
    let end = start + 1;
    while (end < entries.length) {
      const next = entries[end] as RaftEntry;
      if (next.epoch !== first.epoch || next.kind !== first.kind) break;
      end++;
    }
    const control = first.kind === 'leader-change';
    const key = control ? encodeControlRecordKey(ControlRecordType.leaderChange) : null;
    const records = entries.slice(start, end).map((entry) => ({
      key,
      value: Buffer.from(entry.data),
      timestamp: 0,
    }));
    const partitionLeaderEpoch = first.epoch;
    batches.push(buildBatch({ records, baseOffset: first.offset, partitionLeaderEpoch, control }));
    start = end;
  }
  return Buffer.concat(batches);
}

/** Decodes record batches into entries; undefined when any batch is malformed. */
export function decodeEntries(bytes: Buffer): RaftEntry[] | undefined {
  const entries: RaftEntry[] = [];
  let consumed = 0;
  try {
    for (const batch of iterateBatches(bytes)) {
      if (batch.validate() !== undefined) return undefined;
      consumed += batch.sizeBytes;
      const kind = batch.isControl ? 'leader-change' : 'data';
      for (const record of readRecords(batch, { maxDecompressedBytes: decompressedBytesMax })) {
        if (batch.isControl) {
          const key = parseControlRecordKey(record.key);
          if (key.type !== ControlRecordType.leaderChange) return undefined;
        }
        const data = new Uint8Array(record.value ?? Buffer.alloc(0));
        entries.push({ offset: record.offset, epoch: batch.partitionLeaderEpoch, kind, data });
      }
    }
  } catch {
    // A RecordFormatError from a peer's bytes: the answer is unusable, not a bug of ours.
    return undefined;
  }
  return consumed === bytes.length ? entries : undefined;
}
