/**
 * Produce (key 0), versions 0-11 advertised, 3-11 served.
 *
 * Behavior:
 * - v0-v2 (message format v0/v1) are advertised, as Kafka 4 still does because librdkafka
 *   looks for Produce v0 in ApiVersions, but every partition is answered UNSUPPORTED_VERSION.
 * - acks must be 0, 1 or -1 (else INVALID_REQUIRED_ACKS on every partition). acks=0 gets no
 *   response, and when any partition failed the connection is closed (Kafka's way of telling
 *   a client that expects no answer); 1 and -1 are answered once the append is durable
 *   (`fsync` durability) or in the page cache (`kafka`) on this broker; -1 is answered
 *   once the high watermark passes the batch (every ISR member has it: with the leader alone
 *   in the ISR that is at once), or REQUEST_TIMED_OUT after the request's timeoutMs
 *   (counted from its arrival), or NOT_LEADER_OR_FOLLOWER when leadership moves while it
 *   waits (replication/delayed-produce.ts). acks=-1 is refused NOT_ENOUGH_REPLICAS before
 *   appending when the ISR is smaller than min.insync.replicas (topic, else broker), and
 *   answered NOT_ENOUGH_REPLICAS_AFTER_APPEND when it shrank below that while waiting. A
 *   retried (duplicate) batch waits the same way for its first write.
 * - Per partition, in request order: unknown topic or partition UNKNOWN_TOPIC_OR_PARTITION
 *   (Produce never auto-creates; clients create through Metadata), internal topics
 *   INVALID_TOPIC_EXCEPTION, a partition not led here (followed, or not hosted)
 *   NOT_LEADER_OR_FOLLOWER, then the batch
 *   checks of replication/produce-validation.ts (CORRUPT_MESSAGE, INVALID_RECORD,
 *   MESSAGE_TOO_LARGE, INVALID_TIMESTAMP) without decoding records except keys on compacted
 *   topics, then idempotence (replication/producer-state.ts): a retried batch is answered
 *   with the offset it was first written at; INVALID_PRODUCER_EPOCH,
 *   OUT_OF_ORDER_SEQUENCE_NUMBER. Transactional batches: INVALID_TXN_STATE (no transactions).
 * - One partition's error never fails the others, and the connection stays open.
 * - All appends start before the first await, so offsets follow request order.
 *
 * Version notes: v3 transactionalId; v5 logStartOffset; v8 recordErrors and errorMessage;
 * v9 flexible; v10 currentLeader / nodeEndpoints (tagged, KIP-951: a NOT_LEADER_OR_FOLLOWER
 * partition names the leader this broker knows, with its endpoint on the request's
 * listener); v11 no change here.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  newProduceResponse,
  type ProduceRequest,
  type ProduceResponse,
} from '../../protocol/generated/apis/00-produce.ts';
import type { RecordBatchView } from '../../protocol/records/batch.ts';
import { StorageError } from '../../storage/storage-error.ts';
import { TOPIC_CONFIGS } from '../config/topic-config.ts';
import { validateProduce } from '../replication/produce-validation.ts';
import type { HostedPartition } from '../replication/replica-manager.ts';
import { BrokerError } from '../util/errors.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { type DataServices, defineHandler, type RequestContext } from './handler.ts';

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

const PRODUCE_VERSION_MIN_SERVED = 3;

function partitionResponse(
  index: number,
  errorCode: number,
  errorMessage: string | null = null,
): PartitionResponse {
  return {
    index,
    errorCode,
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
    recordErrors: [],
    errorMessage,
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
  };
}

function errorResponse(request: ProduceRequest, errorCode: number): ProduceResponse {
  const response = newProduceResponse();
  response.responses = request.topicData.map((t) => ({
    name: t.name,
    partitionResponses: t.partitionData.map((p) => partitionResponse(p.index, errorCode)),
  }));
  return response;
}

export function handleProduce(
  ctx: RequestContext,
  request: ProduceRequest,
  version: number,
): ProduceResponse | null | Promise<ProduceResponse | null> {
  if (version < PRODUCE_VERSION_MIN_SERVED) {
    return errorResponse(request, ErrorCode.UNSUPPORTED_VERSION);
  }
  const { acks } = request;
  if (acks !== 0 && acks !== 1 && acks !== -1) {
    return errorResponse(request, ErrorCode.INVALID_REQUIRED_ACKS);
  }
  const data = dataOf(ctx);
  const deadlineMs = ctx.services.clock.nowMs() + Math.max(0, request.timeoutMs);
  const pending = request.topicData.map((topic) => ({
    name: topic.name,
    partitions: topic.partitionData.map((p) =>
      producePartition(ctx, data, topic.name, p.index, p.records, acks, deadlineMs),
    ),
  }));
  if (acks === 0) return closeOnError(pending.flatMap((t) => t.partitions));
  return Promise.all(
    pending.map(async (t) => ({
      name: t.name,
      partitionResponses: await Promise.all(t.partitions),
    })),
  ).then((responses) => {
    const response = newProduceResponse();
    response.responses = responses;
    if (version >= 10) response.nodeEndpoints = leaderEndpoints(ctx, responses);
    return response;
  });
}

function producePartition(
  ctx: RequestContext,
  data: DataServices,
  topicName: string,
  index: number,
  records: unknown,
  acks: number,
  deadlineMs: number,
): PartitionResponse | Promise<PartitionResponse> {
  const topic = data.cluster.topic(topicName);
  if (!topic || index < 0 || index >= topic.partitions.length) {
    return partitionResponse(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  if (topic.isInternal) {
    return partitionResponse(
      index,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      `Cannot append to internal topic ${topicName}`,
    );
  }
  const hosted = data.replicas.partition(topicName, index);
  if (!hosted?.leader || hosted.role !== 'leader') {
    const response = partitionResponse(index, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // KIP-951 (v10+): name the leader we know, so the client need not refresh metadata.
    if (ctx.version >= 10 && hosted && hosted.leaderId >= 0) {
      response.currentLeader = { leaderId: hosted.leaderId, leaderEpoch: hosted.leaderEpoch };
    }
    return response;
  }
  const nowMs = ctx.services.clock.nowMs();
  const limits = produceLimitsOf(hosted, ctx);
  const checked = validateProduce(Buffer.isBuffer(records) ? records : null, {
    log: hosted.config,
    timestampBeforeMaxMs: limits.timestampBeforeMaxMs,
    timestampAfterMaxMs: limits.timestampAfterMaxMs,
    nowMs,
  });
  if (!checked.ok) {
    const response = partitionResponse(index, checked.errorCode, checked.message);
    if (checked.recordIndex >= 0) {
      response.recordErrors = [
        { batchIndex: checked.recordIndex, batchIndexErrorMessage: checked.message },
      ];
    }
    return response;
  }
  if (acks === -1) {
    const minIsr = limits.minInsyncReplicas;
    const isr = hosted.leader.isr.length;
    if (minIsr > isr) {
      return partitionResponse(
        index,
        ErrorCode.NOT_ENOUGH_REPLICAS,
        `The size of the current ISR ${isr} is insufficient to satisfy the min.isr ` +
          `requirement of ${minIsr}`,
      );
    }
  }
  const answered = append(data, hosted, checked.batch, nowMs, index);
  if (acks !== -1) {
    return answered instanceof Promise ? answered.then((w) => w.answer) : answered.answer;
  }
  return Promise.resolve(answered).then((response) =>
    replicated(ctx, data, hosted, response, limits.minInsyncReplicas, deadlineMs),
  );
}

/** acks=-1: the answer once the high watermark passed the batch (or why not). */
async function replicated(
  ctx: RequestContext,
  data: DataServices,
  hosted: HostedPartition,
  response: WrittenResponse,
  minInsyncReplicas: number,
  deadlineMs: number,
): Promise<PartitionResponse> {
  if (response.errorCode !== ErrorCode.NONE || response.lastOffset < 0) return response.answer;
  const errorCode = await data.replicas.awaitReplication(
    hosted,
    response.lastOffset + 1,
    minInsyncReplicas,
    deadlineMs - ctx.services.clock.nowMs(),
  );
  if (errorCode === ErrorCode.NONE) return response.answer;
  return partitionResponse(response.answer.index, errorCode);
}

/** A partition's answer, with the last offset written (-1 when nothing was). */
interface WrittenResponse {
  readonly errorCode: number;
  readonly lastOffset: number;
  readonly answer: PartitionResponse;
}

function written(answer: PartitionResponse, lastOffset = -1): WrittenResponse {
  return { errorCode: answer.errorCode, lastOffset, answer };
}

function append(
  data: DataServices,
  hosted: HostedPartition,
  batch: RecordBatchView,
  nowMs: number,
  index: number,
): WrittenResponse | Promise<WrittenResponse> {
  if (batch.isTransactional) {
    return written(
      partitionResponse(
        index,
        ErrorCode.INVALID_TXN_STATE,
        'Transactions are not supported by this broker yet',
      ),
    );
  }
  const sequence = hosted.producers.check(batch);
  if (sequence.kind === 'error') {
    return written(partitionResponse(index, sequence.errorCode, sequence.message));
  }
  if (sequence.kind === 'duplicate') {
    const answer = {
      ...partitionResponse(index, ErrorCode.NONE),
      baseOffset: sequence.firstOffset,
      logAppendTimeMs:
        hosted.config.messageTimestampType === 'LogAppendTime' ? sequence.timestampMs : -1,
      logStartOffset: hosted.log.logStartOffset,
    };
    return written(answer, sequence.firstOffset + batch.lastOffsetDelta);
  }
  let appended: ReturnType<typeof data.replicas.appendBatch>;
  try {
    appended = data.replicas.appendBatch(hosted, batch, nowMs);
  } catch (error) {
    return written(partitionResponse(index, storageErrorCode(error), messageOf(error)));
  }
  return appended.then(
    (info) =>
      written(
        {
          ...partitionResponse(index, ErrorCode.NONE),
          baseOffset: info.firstOffset,
          logAppendTimeMs: info.logAppendTimeMs,
          logStartOffset: info.logStartOffset,
        },
        info.lastOffset,
      ),
    (error: unknown) =>
      written(partitionResponse(index, storageErrorCode(error), messageOf(error))),
  );
}

/** KIP-951: the endpoints of the leaders named in currentLeader, on this listener. */
function leaderEndpoints(
  ctx: RequestContext,
  responses: ProduceResponse['responses'],
): ProduceResponse['nodeEndpoints'] {
  const named = new Set<number>();
  for (const t of responses) {
    for (const p of t.partitionResponses) {
      if (p.currentLeader.leaderId >= 0) named.add(p.currentLeader.leaderId);
    }
  }
  if (named.size === 0) return [];
  return ctx.services.metadata
    .brokers(ctx.listenerName)
    .filter((b) => named.has(b.nodeId))
    .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }));
}

/**
 * acks=0 gets no answer, so an error can only be signalled as Kafka does: by closing the
 * connection, which makes the client refresh its metadata and reconnect.
 */
async function closeOnError(
  partitions: readonly (PartitionResponse | Promise<PartitionResponse>)[],
): Promise<null> {
  const failed = (await Promise.all(partitions)).find((p) => p.errorCode !== ErrorCode.NONE);
  if (failed) {
    throw new BrokerError(
      'produce-acks0-error',
      `acks=0 produce to partition ${failed.index} failed with error ${failed.errorCode}; ` +
        'closing the connection as Kafka does',
    );
  }
  return null;
}

interface ProduceLimits {
  readonly timestampBeforeMaxMs: number;
  readonly timestampAfterMaxMs: number;
  readonly minInsyncReplicas: number;
}

/**
 * A hosted partition is replaced by a new object whenever its topic configs change, so its
 * limits are resolved and parsed once per object instead of on every batch.
 */
const produceLimits = new WeakMap<HostedPartition, ProduceLimits>();

function produceLimitsOf(hosted: HostedPartition, ctx: RequestContext): ProduceLimits {
  let limits = produceLimits.get(hosted);
  if (limits === undefined) {
    limits = {
      timestampBeforeMaxMs: numberConfig(hosted, 'message.timestamp.before.max.ms', ctx),
      timestampAfterMaxMs: numberConfig(hosted, 'message.timestamp.after.max.ms', ctx),
      minInsyncReplicas: numberConfig(hosted, 'min.insync.replicas', ctx),
    };
    produceLimits.set(hosted, limits);
  }
  return limits;
}

function numberConfig(hosted: HostedPartition, name: string, ctx: RequestContext): number {
  const own = hosted.topicConfigs.get(name);
  const value = own ?? TOPIC_CONFIGS[name]?.brokerDefault(ctx.services.config) ?? '0';
  const number = Number(value);
  return Number.isFinite(number) ? number : Number.MAX_SAFE_INTEGER;
}

/** Kafka's answer for a failed append. */
export function storageErrorCode(error: unknown): number {
  if (error instanceof BrokerError && error.code === 'not-leader') {
    return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }
  if (!(error instanceof StorageError)) return ErrorCode.KAFKA_STORAGE_ERROR;
  switch (error.code) {
    case 'storage-record-too-large':
      return ErrorCode.MESSAGE_TOO_LARGE;
    case 'storage-invalid-append':
      return ErrorCode.CORRUPT_MESSAGE;
    case 'storage-limit':
      return ErrorCode.REQUEST_TIMED_OUT;
    case 'storage-closed':
    case 'storage-append-cancelled':
      return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    default:
      return ErrorCode.KAFKA_STORAGE_ERROR;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const produceHandler = defineHandler<ProduceRequest, ProduceResponse>(
  withDataPath({
    apiKey: ApiKey.Produce,
    minVersion: 0,
    maxVersion: 11,
    handle: handleProduce,
    errorResponse: (request, _version, errorCode) => errorResponse(request, errorCode),
  }),
);
