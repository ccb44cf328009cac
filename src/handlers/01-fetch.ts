/**
 * Fetch (key 1), versions 4-17, for consumers and for follower replicas.
 *
 * Behavior:
 * - Records are the log's bytes as stored, never decoded: whole batches, starting with the
 *   one that holds fetchOffset (a consumer skips the records before its offset), as a
 *   FileRegion (sent with sendfile where it loads, released by the server once written) or,
 *   for data still in the tail cache, a Buffer.
 * - Consumers (replicaId -1) see records up to the high watermark (read_uncommitted) or the
 *   last stable offset (read_committed; no transactions yet, so LSO = HW and
 *   abortedTransactions is empty; read_uncommitted answers null there, as Kafka does).
 * - Followers (replicaId >= 0 before v15, replicaState.replicaId from v15) of a partition
 *   this node leads read up to the log end, not the HW. Each fetch records the follower's
 *   progress (its fetchOffset is its log end; replicaState.replicaEpoch its broker epoch,
 *   which must match its registration for it to join the ISR), which may advance the HW and
 *   so release acks=-1 produces and consumer fetches; the answer carries the HW after it.
 *   KIP-320: when lastFetchedEpoch >= 0 and the leader-epoch cache says that epoch ended
 *   before fetchOffset (or is unknown here), the answer is divergingEpoch {epoch, endOffset}
 *   with no records and no progress recorded; the follower truncates and fetches again.
 *   A replica not assigned to the partition: NOT_LEADER_OR_FOLLOWER.
 * - Only the leader answers (a follower or a non-host: NOT_LEADER_OR_FOLLOWER; no fetch
 *   from followers, KIP-392, yet).
 * - Sizes: each partition reads at most partitionMaxBytes, the response at most maxBytes, but
 *   a partition's first batch comes whole even when larger (KIP-74), so a consumer always
 *   progresses. Once maxBytes is used up, later partitions answer no records.
 * - Long poll: when fewer than minBytes are available and maxWaitMs > 0, the request waits in
 *   the purgatory until enough bytes become readable (for consumers: the HW uncovered them;
 *   for followers: the leader appended them) or maxWaitMs passes (the broker's Clock), then
 *   reads again. Regions read before the wait are released first. A fetch that has data, an
 *   error or a divergence answers at once.
 * - Errors per partition: UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID (v13+, by id),
 *   NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH when currentLeaderEpoch
 *   is older / newer than the leader's (KIP-320; -1 skips the check), OFFSET_OUT_OF_RANGE
 *   outside [logStartOffset, logEndOffset].
 * - Incremental fetch sessions (KIP-227, v7+), as fetch-session-context.ts describes: epoch 0
 *   opens a session (bounded cache; sessionless when full), later epochs name only changed
 *   partitions and get only partitions with news, epoch -1 closes; an unknown session
 *   FETCH_SESSION_ID_NOT_FOUND, a wrong epoch INVALID_FETCH_SESSION_EPOCH (top level).
 *
 * Version notes: v4 isolation level, LSO, aborted transactions; v5 logStartOffset; v7
 * sessions; v9 currentLeaderEpoch; v11 rackId, preferredReadReplica; v12 flexible; v13 topic
 * ids instead of names; v15 replicaState (replicaId moves there); v17 replicaDirectoryId.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type FetchRequest,
  type FetchResponse,
  newFetchResponse,
  newFetchResponsePartitionData,
} from '../../protocol/generated/apis/01-fetch.ts';
import { isFileRegion } from '../../protocol/wire/file-region.ts';
import { StorageError } from '../../storage/storage-error.ts';
import type { TopicImage } from '../metadata/metadata-image.ts';
import { epochEndOffset } from '../replication/partition-epochs.ts';
import {
  type HostedPartition,
  partitionKey,
  replicaWaitKey,
} from '../replication/replica-manager.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { fetchContext, finishResponse } from './fetch-session-context.ts';
import { type DataServices, defineHandler, type RequestContext } from './handler.ts';

type PartitionData = FetchResponse['responses'][number]['partitions'][number];
type TopicResponse = FetchResponse['responses'][number];

const READ_COMMITTED = 1;
/** Longest wait honoured; a client asking more is answered after this (it polls again). */
const MAX_WAIT_MS_CAP = 60_000;

interface Wanted {
  readonly topic: TopicImage | undefined;
  readonly name: string;
  readonly topicId: string;
  readonly partitions: FetchRequest['topics'][number]['partitions'];
}

function resolveTopics(
  data: DataServices,
  topics: readonly FetchRequest['topics'][number][],
  version: number,
): Wanted[] {
  return topics.map((t) => {
    const topic = version >= 13 ? data.cluster.topicById(t.topicId) : data.cluster.topic(t.topic);
    return { topic, name: topic?.name ?? t.topic, topicId: t.topicId, partitions: t.partitions };
  });
}

export async function handleFetch(
  ctx: RequestContext,
  request: FetchRequest,
  version: number,
): Promise<FetchResponse> {
  const data = dataOf(ctx);
  const context = fetchContext(data.replicas.fetchSessions, request, version);
  if (context.kind === 'error') {
    const response = newFetchResponse();
    response.errorCode = context.errorCode;
    return response;
  }
  const wanted = resolveTopics(data, context.topics, version);
  const replica = replicaOf(request, version);
  const first = await readAll(data, wanted, request, version, replica);
  const waitMs = Math.min(request.maxWaitMs, MAX_WAIT_MS_CAP);
  if (first.bytes >= request.minBytes || waitMs <= 0 || first.errors > 0) {
    return finishResponse(context, first.response, version);
  }
  releaseAll(first.response);
  const keyOf = replica ? replicaWaitKey : partitionKey;
  const keys = wanted.flatMap((w) =>
    w.topic ? w.partitions.map((p) => keyOf(w.name, p.partition)) : [],
  );
  await data.replicas.purgatory.wait(keys, request.minBytes - first.bytes, waitMs);
  const again = resolveTopics(data, context.topics, version);
  const second = await readAll(data, again, request, version, replica);
  return finishResponse(context, second.response, version);
}

/** A follower's fetch: who it is and the broker epoch it fetches with. */
interface ReplicaFetch {
  readonly replicaId: number;
  readonly replicaEpoch: number;
}

function replicaOf(request: FetchRequest, version: number): ReplicaFetch | undefined {
  const replicaId = version >= 15 ? request.replicaState.replicaId : request.replicaId;
  if (replicaId < 0) return undefined;
  return { replicaId, replicaEpoch: version >= 15 ? request.replicaState.replicaEpoch : -1 };
}

async function readAll(
  data: DataServices,
  wanted: readonly Wanted[],
  request: FetchRequest,
  version: number,
  replica: ReplicaFetch | undefined,
): Promise<{ response: FetchResponse; bytes: number; errors: number }> {
  const response = newFetchResponse();
  let budget = request.maxBytes;
  let bytes = 0;
  let errors = 0;
  for (const w of wanted) {
    const topicResponse: TopicResponse = { topic: w.name, topicId: w.topicId, partitions: [] };
    response.responses.push(topicResponse);
    for (const p of w.partitions) {
      const answer = await readPartition(data, w, p, request, version, budget, replica);
      topicResponse.partitions.push(answer.data);
      budget -= answer.bytes;
      bytes += answer.bytes;
      // An error or a divergence (KIP-320) is answered at once, never parked.
      const diverged =
        answer.data.divergingEpoch.endOffset >= 0 || answer.data.divergingEpoch.epoch >= 0;
      if (answer.data.errorCode !== ErrorCode.NONE || diverged) errors++;
    }
  }
  return { response, bytes, errors };
}

async function readPartition(
  data: DataServices,
  wanted: Wanted,
  p: Wanted['partitions'][number],
  request: FetchRequest,
  version: number,
  budget: number,
  replica: ReplicaFetch | undefined,
): Promise<{ data: PartitionData; bytes: number }> {
  const out = newFetchResponsePartitionData();
  out.partitionIndex = p.partition;
  out.abortedTransactions = request.isolationLevel === READ_COMMITTED ? [] : null;
  out.records = Buffer.alloc(0);
  const fail = (errorCode: number) => {
    out.errorCode = errorCode;
    out.highWatermark = -1;
    return { data: out, bytes: 0 };
  };
  if (!wanted.topic) {
    return fail(version >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  if (p.partition < 0 || p.partition >= wanted.topic.partitions.length) {
    return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  const hosted = data.replicas.partition(wanted.name, p.partition);
  if (!hosted?.leader || hosted.role !== 'leader') {
    if (version >= 12 && hosted && hosted.leaderId >= 0) {
      out.currentLeader = { leaderId: hosted.leaderId, leaderEpoch: hosted.leaderEpoch };
    }
    return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  }
  const epochError = leaderEpochError(hosted, p.currentLeaderEpoch);
  if (epochError !== ErrorCode.NONE) {
    if (version >= 12) {
      out.currentLeader = { leaderId: hosted.leaderId, leaderEpoch: hosted.leaderEpoch };
    }
    return fail(epochError);
  }
  const log = hosted.log;
  if (replica) {
    if (!hosted.leader.replicas.includes(replica.replicaId)) {
      return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    if (p.lastFetchedEpoch >= 0) {
      const end = epochEndOffset(log.leaderEpochs.entries, p.lastFetchedEpoch, log.logEndOffset);
      if (end.epoch < 0 && end.endOffset < 0) {
        // The leader cannot place the follower's epoch: a diverging epoch of {-1, -1} reads
        // as "no divergence", so the follower would fetch nothing forever. Kafka answers
        // OFFSET_OUT_OF_RANGE, which sends the follower to its reset path.
        out.highWatermark = log.highWatermark;
        out.lastStableOffset = log.highWatermark;
        out.logStartOffset = log.logStartOffset;
        out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
        return { data: out, bytes: 0 };
      }
      if (end.epoch < p.lastFetchedEpoch || end.endOffset < p.fetchOffset) {
        out.divergingEpoch = { epoch: end.epoch, endOffset: end.endOffset };
        out.highWatermark = log.highWatermark;
        out.lastStableOffset = log.highWatermark;
        out.logStartOffset = log.logStartOffset;
        return { data: out, bytes: 0 };
      }
    }
  }
  const inRange = p.fetchOffset >= log.logStartOffset && p.fetchOffset <= log.logEndOffset;
  if (replica && inRange) {
    hosted.leader.followerFetched(replica.replicaId, p.fetchOffset, replica.replicaEpoch);
  }
  out.highWatermark = log.highWatermark;
  out.lastStableOffset = log.highWatermark;
  out.logStartOffset = log.logStartOffset;
  if (!inRange) {
    out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
    return { data: out, bytes: 0 };
  }
  const maxBytes = Math.min(p.partitionMaxBytes, budget);
  if (maxBytes <= 0) return { data: out, bytes: 0 };
  try {
    const maxOffset = replica ? log.logEndOffset : log.highWatermark;
    const read = await log.read(p.fetchOffset, { maxBytes, maxOffset });
    out.records = recordsOf(read.chunks);
    out.highWatermark = read.highWatermark;
    out.lastStableOffset = read.highWatermark;
    out.logStartOffset = read.logStartOffset;
    return { data: out, bytes: read.sizeBytes };
  } catch (error) {
    if (error instanceof StorageError && error.code === 'storage-offset-out-of-range') {
      out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
      return { data: out, bytes: 0 };
    }
    if (error instanceof StorageError && error.code === 'storage-closed') {
      return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    return fail(ErrorCode.KAFKA_STORAGE_ERROR);
  }
}

/** KIP-320: the client's idea of the leader epoch against ours (-1: no check). */
export function leaderEpochError(hosted: HostedPartition, currentLeaderEpoch: number): number {
  if (currentLeaderEpoch < 0) return ErrorCode.NONE;
  if (currentLeaderEpoch < hosted.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  if (currentLeaderEpoch > hosted.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  return ErrorCode.NONE;
}

type Chunk = Awaited<ReturnType<HostedPartition['log']['read']>>['chunks'][number];

/** One records field: a region as it is, cached Buffers joined (they are small). */
function recordsOf(chunks: readonly Chunk[]): PartitionData['records'] {
  if (chunks.length === 0) return Buffer.alloc(0);
  const [only] = chunks;
  if (chunks.length === 1 && only !== undefined) return only;
  const buffers: Buffer[] = [];
  for (const chunk of chunks) {
    if (isFileRegion(chunk)) {
      // Storage returns one region or cached buffers, never a mix; keep the first region.
      for (const rest of chunks) if (rest !== chunk && isFileRegion(rest)) rest.release();
      return chunk;
    }
    buffers.push(chunk);
  }
  return Buffer.concat(buffers);
}

function releaseAll(response: FetchResponse): void {
  for (const topic of response.responses) {
    for (const partition of topic.partitions) {
      if (partition.records && isFileRegion(partition.records)) partition.records.release();
      partition.records = null;
    }
  }
}

export const fetchHandler = defineHandler<FetchRequest, FetchResponse>(
  withDataPath({
    apiKey: ApiKey.Fetch,
    minVersion: 4,
    maxVersion: 17,
    handle: handleFetch,
    errorResponse(request, _version, errorCode) {
      const response = newFetchResponse();
      response.errorCode = errorCode;
      response.responses = request.topics.map((t) => ({
        topic: t.topic,
        topicId: t.topicId,
        partitions: t.partitions.map((p) => ({
          ...newFetchResponsePartitionData(),
          partitionIndex: p.partition,
          errorCode,
          // Empty, never null: kafka-python fails on a null records field.
          records: Buffer.alloc(0),
        })),
      }));
      return response;
    },
  }),
);
