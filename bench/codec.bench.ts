/**
 * Codec cost of the two hottest requests: Produce v9 (1 topic, 8 partitions of 16 KiB records
 * each) and Fetch v15 (4 topics x 8 partitions), decode and encode; and the Fetch v16 response
 * frame the server writes (32 partitions whose records are FileRegions, never copied).
 * Reports ns per request and bytes allocated per request (heap growth over a batch small
 * enough that no scavenge runs in it, after a forced GC when the process has --expose-gc).
 * Produce decode must not copy the records: its allocation stays far below the 128 KiB of
 * records it carries.
 *
 * Run: npx node --expose-gc bench/codec.bench.ts   (or without --expose-gc: noisier bytes)
 */

import { encodeResponseFrame } from '../protocol/frame.ts';
import {
  Apis,
  type FetchRequest,
  type FetchResponse,
  newFetchRequest,
  newFetchRequestFetchPartition,
  newFetchRequestFetchTopic,
  newProduceRequest,
  type ProduceRequest,
} from '../protocol/generated/index.ts';
import { Reader } from '../protocol/wire/reader.ts';
import { Writer } from '../protocol/wire/writer.ts';
import { type Measurement, measure, report } from './harness.ts';

const RUNS = 7;
const OPS_PER_RUN = 20_000;
const ALLOC_BATCH = 200;
const gc = (globalThis as { gc?: () => void }).gc;

function produceRequest(): ProduceRequest {
  const m = newProduceRequest();
  m.acks = -1;
  m.timeoutMs = 30_000;
  const partitionData = Array.from({ length: 8 }, (_, index) => ({
    index,
    records: Buffer.alloc(16 * 1024, index),
    unknownTaggedFields: undefined,
  }));
  m.topicData = [{ name: 'orders', partitionData, unknownTaggedFields: undefined }];
  return m;
}

function fetchRequest(): FetchRequest {
  const m = newFetchRequest();
  m.replicaId = -1;
  m.maxWaitMs = 500;
  m.minBytes = 1;
  m.maxBytes = 52_428_800;
  m.sessionId = 0;
  m.sessionEpoch = -1;
  m.topics = Array.from({ length: 4 }, (_, t) => {
    const topic = newFetchRequestFetchTopic();
    topic.topicId = Buffer.alloc(16, t + 1).toString('base64url');
    topic.partitions = Array.from({ length: 8 }, (_, p) => {
      const partition = newFetchRequestFetchPartition();
      partition.partition = p;
      partition.currentLeaderEpoch = 3;
      partition.fetchOffset = 1_000_000 + p;
      partition.logStartOffset = 0;
      partition.partitionMaxBytes = 1_048_576;
      return partition;
    });
    return topic;
  });
  m.rackId = 'rack-a';
  return m;
}

/** 32 partitions of file-backed records: what a busy consumer's fetch response looks like. */
function fetchResponse(): FetchResponse {
  const m = Apis.Fetch.newResponse();
  m.responses = Array.from({ length: 4 }, (_, t) => ({
    topic: '',
    topicId: Buffer.alloc(16, t + 1).toString('base64url'),
    partitions: Array.from({ length: 8 }, (_, p) => partitionData(p)),
    unknownTaggedFields: undefined,
  }));
  return m;
}

function partitionData(
  partitionIndex: number,
): FetchResponse['responses'][number]['partitions'][number] {
  return {
    partitionIndex,
    errorCode: 0,
    highWatermark: 1_000_000,
    lastStableOffset: 1_000_000,
    logStartOffset: 0,
    divergingEpoch: { epoch: -1, endOffset: -1, unknownTaggedFields: undefined },
    currentLeader: { leaderId: -1, leaderEpoch: -1, unknownTaggedFields: undefined },
    snapshotId: { endOffset: -1, epoch: -1, unknownTaggedFields: undefined },
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: {
      kind: 'file-region',
      fd: 3,
      position: partitionIndex * 65536,
      length: 65536,
      release() {},
    },
    unknownTaggedFields: undefined,
  };
}

function encodeBytes<T>(encode: (w: Writer, m: T, v: number) => void, m: T, v: number): Buffer {
  const w = new Writer();
  encode(w, m, v);
  return w.finish();
}

function nsPerOp(op: () => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < OPS_PER_RUN; i++) op();
  return Number(process.hrtime.bigint() - start) / OPS_PER_RUN;
}

function bytesPerOp(op: () => void): number {
  gc?.();
  const keep: unknown[] = [];
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < ALLOC_BATCH; i++) keep.push(op());
  const after = process.memoryUsage().heapUsed;
  if (keep.length !== ALLOC_BATCH) throw new Error('unreachable');
  return Math.max(0, after - before) / ALLOC_BATCH;
}

async function bench(name: string, op: () => unknown): Promise<Measurement[]> {
  const run = (): void => {
    op();
  };
  for (let i = 0; i < 2000; i++) run(); // warm up the JIT
  return [
    await measure(name, 'ns/request', RUNS, () => nsPerOp(run)),
    await measure(name, 'heap bytes/request', RUNS, () => bytesPerOp(op as () => void)),
  ];
}

async function main(): Promise<void> {
  const produce = produceRequest();
  const produceBytes = encodeBytes(Apis.Produce.encodeRequest, produce, 9);
  const fetch = fetchRequest();
  const fetchBytes = encodeBytes(Apis.Fetch.encodeRequest, fetch, 15);
  const fetchResult = fetchResponse();
  const rows = [
    ...(await bench('Produce v9 decode (8 x 16 KiB)', () =>
      Apis.Produce.decodeRequest(new Reader(produceBytes), 9),
    )),
    ...(await bench('Produce v9 encode (chunks)', () => {
      const w = new Writer();
      Apis.Produce.encodeRequest(w, produce, 9);
      return w.chunks();
    })),
    ...(await bench('Fetch v15 decode (4 topics x 8 partitions)', () =>
      Apis.Fetch.decodeRequest(new Reader(fetchBytes), 15),
    )),
    ...(await bench('Fetch v15 encode', () => encodeBytes(Apis.Fetch.encodeRequest, fetch, 15))),
    ...(await bench('Fetch v16 response frame (32 file regions)', () =>
      encodeResponseFrame(Apis.Fetch, 16, 7, fetchResult),
    )),
  ];
  console.log(
    `Produce v9 request: ${produceBytes.length} bytes; Fetch v15 request: ${fetchBytes.length}` +
      ` bytes; gc ${gc ? 'forced before each allocation batch' : 'not exposed'}\n`,
  );
  report('protocol codec (median of runs)', rows);
}

await main();
