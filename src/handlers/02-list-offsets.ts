/**
 * ListOffsets (key 2), versions 1-10.
 *
 * Behavior, per partition (special timestamps as Kafka's):
 * - -2 earliest and -4 earliest-local: the log start offset (no tiered storage, so the same).
 * - -1 latest: for consumers (replicaId -1) the high watermark (read_uncommitted) or the
 *   last stable offset (read_committed; = HW without transactions); for replicas (replicaId
 *   >= 0) and Kafka's debugging consumer (-2) the log end, as Kafka answers them (no
 *   isolation level applies). Timestamp searches stop at the same bound. A new leader whose
 *   HW has not yet reached the start of its epoch answers consumers OFFSET_NOT_AVAILABLE
 *   (KIP-207: its HW may still be behind what the previous leader exposed; clients retry).
 * - -3 max timestamp: the first record carrying the largest timestamp, found in the records
 *   of the batch the log's time index points to (exact, not the batch's base offset).
 * - -5 latest-tiered: offset -1 (nothing is tiered).
 * - t >= 0: the first record whose own timestamp is >= t, from the records themselves (the
 *   batch comes from PartitionLog.offsetForTimestamp, then its records are scanned; a batch
 *   whose max timestamp is wrong, as some clients write it, is scanned past); offset and
 *   timestamp -1 when there is none below the high watermark.
 * - Only the leader answers (a follower or a non-host: NOT_LEADER_OR_FOLLOWER), except for
 *   the debugging consumer (replicaId -2), which any replica answers.
 * - Errors: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH /
 *   UNKNOWN_LEADER_EPOCH (currentLeaderEpoch, v4+), KAFKA_STORAGE_ERROR.
 *
 * Version notes: v1 single offset; v2 isolation level; v4 leader epochs; v6 flexible; v7
 * max timestamp; v8 earliest-local; v9 latest-tiered; v10 timeoutMs.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type ListOffsetsRequest,
  type ListOffsetsResponse,
  newListOffsetsResponse,
} from '../../protocol/generated/apis/02-list-offsets.ts';
import { scanTimestamps } from '../../protocol/records/record-scan.ts';
import {
  EARLIEST_TIMESTAMP,
  LATEST_TIMESTAMP,
  MAX_TIMESTAMP,
} from '../../storage/log/partition-log.ts';
import { logBatches } from '../metadata/log-batches.ts';
import type { HostedPartition } from '../replication/replica-manager.ts';
import { leaderEpochError } from './01-fetch.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { type DataServices, defineHandler, type RequestContext } from './handler.ts';

type PartitionResponse = ListOffsetsResponse['topics'][number]['partitions'][number];
type PartitionRequest = ListOffsetsRequest['topics'][number]['partitions'][number];

/** Who asks: consumers see up to the HW, replicas and the debugging consumer the log end. */
type Asker = 'consumer' | 'replica' | 'debugging';
const CONSUMER_REPLICA_ID = -1;
const DEBUGGING_REPLICA_ID = -2;

const EARLIEST_LOCAL_TIMESTAMP = -4;
const LATEST_TIERED_TIMESTAMP = -5;
/** Batches scanned past the time index's pick before giving up on finding the record. */
const BATCHES_SCANNED_MAX = 10_000;
const DECOMPRESSED_BYTES_MAX = 64 * 1024 * 1024;

export async function handleListOffsets(
  ctx: RequestContext,
  request: ListOffsetsRequest,
  version: number,
): Promise<ListOffsetsResponse> {
  const data = dataOf(ctx);
  const response = newListOffsetsResponse();
  const asker: Asker =
    request.replicaId === CONSUMER_REPLICA_ID
      ? 'consumer'
      : request.replicaId === DEBUGGING_REPLICA_ID
        ? 'debugging'
        : 'replica';
  for (const topic of request.topics) {
    const partitions: PartitionResponse[] = [];
    for (const p of topic.partitions) {
      const answered = await listOffset(data, topic.name, p, asker);
      // Leader epochs exist from v4 on; older versions cannot carry one.
      partitions.push(version >= 4 ? answered : { ...answered, leaderEpoch: -1 });
    }
    response.topics.push({ name: topic.name, partitions });
  }
  return response;
}

function answer(partitionIndex: number, errorCode: number): PartitionResponse {
  return {
    partitionIndex,
    errorCode,
    oldStyleOffsets: [],
    timestamp: -1,
    offset: -1,
    leaderEpoch: -1,
  };
}

async function listOffset(
  data: DataServices,
  topicName: string,
  p: PartitionRequest,
  asker: Asker,
): Promise<PartitionResponse> {
  const topic = data.cluster.topic(topicName);
  if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions.length) {
    return answer(p.partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  const hosted = data.replicas.partition(topicName, p.partitionIndex);
  if (!hosted || (hosted.role !== 'leader' && asker !== 'debugging')) {
    return answer(p.partitionIndex, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  }
  const epochError = leaderEpochError(hosted, p.currentLeaderEpoch);
  if (epochError !== ErrorCode.NONE) return answer(p.partitionIndex, epochError);
  const out = answer(p.partitionIndex, ErrorCode.NONE);
  const log = hosted.log;
  const visibleEnd = asker === 'consumer' ? log.highWatermark : log.logEndOffset;
  try {
    switch (p.timestamp) {
      case EARLIEST_TIMESTAMP:
      case EARLIEST_LOCAL_TIMESTAMP:
        return { ...out, offset: log.logStartOffset, leaderEpoch: hosted.leaderEpoch };
      case LATEST_TIMESTAMP: {
        const epochStart = hosted.leader?.epochStartOffset ?? -1;
        if (asker === 'consumer' && epochStart > log.highWatermark) {
          return answer(p.partitionIndex, ErrorCode.OFFSET_NOT_AVAILABLE);
        }
        return { ...out, offset: visibleEnd, leaderEpoch: hosted.leaderEpoch };
      }
      case LATEST_TIERED_TIMESTAMP:
        return out;
      default: {
        const found = await findRecord(hosted, p.timestamp, visibleEnd);
        return found ? { ...out, ...found } : out;
      }
    }
  } catch {
    return answer(p.partitionIndex, ErrorCode.KAFKA_STORAGE_ERROR);
  }
}

/** The record for a timestamp query (or MAX_TIMESTAMP), below `visibleEnd`. */
async function findRecord(
  hosted: HostedPartition,
  timestamp: number,
  visibleEnd: number,
): Promise<{ offset: number; timestamp: number; leaderEpoch: number } | undefined> {
  const log = hosted.log;
  if (timestamp < 0 && timestamp !== MAX_TIMESTAMP) return undefined;
  const hint = await log.offsetForTimestamp(timestamp);
  if (!hint || hint.offset >= visibleEnd) return undefined;
  const options = { maxDecompressedBytes: DECOMPRESSED_BYTES_MAX };
  let scanned = 0;
  for await (const batch of logBatches(log, hint.offset)) {
    if (batch.baseOffset >= visibleEnd || ++scanned > BATCHES_SCANNED_MAX) break;
    if (batch.isControl) continue;
    const leaderEpoch = batch.partitionLeaderEpoch;
    if (timestamp === MAX_TIMESTAMP) {
      const scan = scanTimestamps(batch, options);
      if (scan.offsetOfMaxTimestamp < 0) continue;
      return { offset: scan.offsetOfMaxTimestamp, timestamp: scan.maxTimestamp, leaderEpoch };
    }
    const scan = scanTimestamps(batch, { ...options, targetTimestamp: timestamp });
    if (scan.offsetAtOrAfterTarget >= 0 && scan.offsetAtOrAfterTarget >= log.logStartOffset) {
      return {
        offset: scan.offsetAtOrAfterTarget,
        timestamp: scan.timestampAtOrAfterTarget,
        leaderEpoch,
      };
    }
  }
  return undefined;
}

export const listOffsetsHandler = defineHandler<ListOffsetsRequest, ListOffsetsResponse>(
  withDataPath({
    apiKey: ApiKey.ListOffsets,
    minVersion: 1,
    maxVersion: 10,
    handle: handleListOffsets,
    errorResponse(request, _version, errorCode) {
      const response = newListOffsetsResponse();
      response.topics = request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => answer(p.partitionIndex, errorCode)),
      }));
      return response;
    },
  }),
);
