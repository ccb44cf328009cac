/**
 * Request frames for the load generator, encoded once with the project's codecs and sent
 * many times: Produce with one large batch per partition (built with batch-builder.ts; the
 * same bytes are resent, which the broker accepts since no producer id means no sequence
 * check), Fetch at precomputed offsets, and the admin calls a run needs.
 */
import { encodeRequestFrame, readResponseHeader } from '../../protocol/frame.ts';
import { type ApiDescriptor, Apis } from '../../protocol/generated/api-table.ts';
import {
  newProduceRequest,
  type ProduceResponse,
} from '../../protocol/generated/apis/00-produce.ts';
import { type FetchResponse, newFetchRequest } from '../../protocol/generated/apis/01-fetch.ts';
import {
  type CreateTopicsResponse,
  newCreateTopicsRequest,
  newCreateTopicsRequestCreatableTopic,
} from '../../protocol/generated/apis/19-create-topics.ts';
import { buildBatch } from '../../protocol/records/batch-builder.ts';
import { Reader } from '../../protocol/wire/reader.ts';
import type { PipelinedConnection } from './pipeline.ts';

const clientId = 'brook-load';

/** A whole request frame (size prefix included) as one Buffer. */
export function requestFrame<Req>(
  api: ApiDescriptor<Req, unknown>,
  version: number,
  correlationId: number,
  body: Req,
): Buffer {
  const chunks = encodeRequestFrame(api, version, correlationId, clientId, body);
  return Buffer.concat(
    chunks.map((c) => {
      if (!Buffer.isBuffer(c)) throw new TypeError('requests carry no file regions');
      return c;
    }),
  );
}

/** Decodes a response frame body (no size prefix); throws unless it decodes exactly. */
export function decodeResponse<Res>(
  api: ApiDescriptor<unknown, Res>,
  version: number,
  frame: Buffer,
): Res {
  const reader = new Reader(frame);
  readResponseHeader(reader, api.responseHeaderVersion(version));
  const body = api.decodeResponse(reader, version);
  if (reader.error) throw reader.error;
  return body;
}

/** Records of `recordBytes` random-ish bytes, `count` of them, as one RecordBatch v2. */
export function recordBatch(count: number, recordBytes: number, timestampMs: number): Buffer {
  const value = Buffer.alloc(recordBytes);
  for (let i = 0; i < value.length; i++) value[i] = (i * 31 + 7) & 0xff;
  const records = Array.from({ length: count }, () => ({
    key: null,
    value,
    timestamp: timestampMs,
  }));
  return buildBatch({ records });
}

export const produceVersion = 9;
export const fetchVersion = 12;

export function produceFrame(
  topic: string,
  partitions: number,
  batch: Buffer,
  acks: number,
  correlationId = 1,
): Buffer {
  const request = newProduceRequest();
  request.acks = acks;
  request.timeoutMs = 30_000;
  request.topicData = [
    {
      name: topic,
      partitionData: Array.from({ length: partitions }, (_, index) => ({ index, records: batch })),
    },
  ];
  return requestFrame(Apis.Produce, produceVersion, correlationId, request);
}

/** Throws unless every partition of a Produce response has error code 0. */
export function checkProduceResponse(frame: Buffer | undefined): void {
  if (!frame) throw new Error('no produce response');
  const response: ProduceResponse = decodeResponse(Apis.Produce, produceVersion, frame);
  for (const topic of response.responses) {
    for (const p of topic.partitionResponses) {
      if (p.errorCode !== 0) throw new Error(`produce to ${p.index}: error ${p.errorCode}`);
    }
  }
}

/** Fetch of every partition of `topic` at `offset`, `partitionMaxBytes` each. */
export function fetchFrame(
  topic: string,
  partitions: number,
  offset: number,
  partitionMaxBytes: number,
  options: { maxWaitMs?: number; minBytes?: number; correlationId?: number } = {},
): Buffer {
  const request = newFetchRequest();
  request.maxWaitMs = options.maxWaitMs ?? 0;
  request.minBytes = options.minBytes ?? 0;
  request.maxBytes = 0x7fffffff;
  request.topics = [
    {
      topic,
      topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
      partitions: Array.from({ length: partitions }, (_, partition) => ({
        partition,
        currentLeaderEpoch: -1,
        fetchOffset: offset,
        lastFetchedEpoch: -1,
        logStartOffset: -1,
        partitionMaxBytes,
        replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
      })),
    },
  ];
  return requestFrame(Apis.Fetch, fetchVersion, options.correlationId ?? 1, request);
}

export function decodeFetch(frame: Buffer | undefined): FetchResponse {
  if (!frame) throw new Error('no fetch response');
  const response: FetchResponse = decodeResponse(Apis.Fetch, fetchVersion, frame);
  if (response.errorCode !== 0) throw new Error(`fetch: error ${response.errorCode}`);
  for (const p of response.responses[0]?.partitions ?? []) {
    if (p.errorCode !== 0) throw new Error(`fetch ${p.partitionIndex}: error ${p.errorCode}`);
  }
  return response;
}

export async function createTopic(
  connection: PipelinedConnection,
  name: string,
  partitions: number,
): Promise<void> {
  const request = newCreateTopicsRequest();
  request.timeoutMs = 30_000;
  request.topics = [
    {
      ...newCreateTopicsRequestCreatableTopic(),
      name,
      numPartitions: partitions,
      replicationFactor: -1,
    },
  ];
  const result = await connection.run(1, 1, () => requestFrame(Apis.CreateTopics, 7, 1, request));
  const response: CreateTopicsResponse = decodeResponse(
    Apis.CreateTopics,
    7,
    result.first as Buffer,
  );
  const errorCode = response.topics[0]?.errorCode;
  if (errorCode !== 0) throw new Error(`create topic ${name}: error ${errorCode}`);
}
