/**
 * Whole-broker load: a broker in its own process, driven over loopback by a pipelining load
 * generator that encodes requests with the project's codecs (bench/load/). Measured, medians
 * of RUNS runs after a warm-up, each against a baseline taken in the same run:
 *
 * - produce throughput, 100 B and 1 KiB records in ~128 KiB batches, 1 and 8 partitions,
 *   acks 1 and -1 (both fsync before answering: Brook's default durability), against a raw
 *   TCP server appending the same request bytes to one file with fdatasync per request group;
 * - fetch throughput (8 partitions, pipelined at known batch offsets) against raw
 *   file -> socket with the same sendfile writer;
 * - produce-to-consume latency p50/p99/p999 at a fixed 10,000 records/s;
 * - kafkajs and @platformatic/kafka producers, for comparison.
 *
 * Targets: produce 1 KiB >= 0.5x baseline; 100 B >= 1,000,000 records/s; fetch >= 0.7x raw
 * file -> socket; p99 <= 5 ms at 10,000 records/s.
 *
 * Run: npx node bench/broker-load.bench.ts [MiB per produce run, default 64] [in flight, default 8]
 *   [sections, default produce,fetch,latency,clients]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Measurement, measure, median, report } from './harness.ts';
import {
  type LatencyResult,
  measureAckLatency,
  measureFsyncLatency,
  measureLatency,
} from './load/latency.ts';
import { PipelinedConnection } from './load/pipeline.ts';
import { fileSourceRequest } from './load/raw-servers.ts';
import { kafkajsProduce, platformaticProduce } from './load/real-clients.ts';
import {
  checkProduceResponse,
  createTopic,
  decodeFetch,
  fetchFrame,
  produceFrame,
  recordBatch,
} from './load/requests.ts';
import { type ServerHandle, spawnServer } from './load/server-process.ts';

const mibPerRun = Number(process.argv[2] ?? 64);
const inFlight = Number(process.argv[3] ?? 8);
const sections = (process.argv[4] ?? 'produce,fetch,latency,clients').split(',');
const RUNS = 3;
const BATCH_BYTES_TARGET = 128 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'brook-load-'));

interface ProduceCase {
  readonly recordBytes: number;
  readonly partitions: number;
  readonly acks: number;
}

interface Workload {
  readonly frame: Buffer;
  readonly requests: number;
  /** Records carried by one request. */
  readonly recordsPerRequest: number;
  readonly batchBytes: number;
  readonly recordsPerBatch: number;
}

function workload(c: ProduceCase, topic: string): Workload {
  const recordsPerBatch = Math.floor(BATCH_BYTES_TARGET / (c.recordBytes + 8));
  const batch = recordBatch(recordsPerBatch, c.recordBytes, Date.now());
  const frame = produceFrame(topic, c.partitions, batch, c.acks);
  const requests = Math.ceil((mibPerRun * 1024 * 1024) / frame.length);
  return {
    frame,
    requests,
    recordsPerRequest: recordsPerBatch * c.partitions,
    batchBytes: batch.length,
    recordsPerBatch,
  };
}

/** Records/s of one pipelined run of `w` against `port`. */
async function produceOnce(port: number, w: Workload, check: boolean): Promise<number> {
  const connection = await PipelinedConnection.open(port);
  try {
    const result = await connection.run(w.requests, inFlight, () => w.frame);
    if (check) {
      checkProduceResponse(result.first);
      checkProduceResponse(result.last);
    }
    return (w.requests * w.recordsPerRequest) / (Number(result.elapsedNs) / 1e9);
  } finally {
    connection.close();
  }
}

function seconds(cpuMs: number): string {
  return `${(cpuMs / 1000).toFixed(1)} s`;
}

function caseName(c: ProduceCase): string {
  const size = c.recordBytes >= 1024 ? `${c.recordBytes / 1024} KiB` : `${c.recordBytes} B`;
  const partitions = `${c.partitions} partition${c.partitions > 1 ? 's' : ''}`;
  return `produce ${size} records, ${partitions}, acks ${c.acks}`;
}

async function withServer<T>(
  spec: Parameters<typeof spawnServer>[0],
  fn: (server: ServerHandle) => Promise<T>,
): Promise<T> {
  const server = await spawnServer(spec);
  try {
    return await fn(server);
  } finally {
    const cpuMs = await server.stop();
    console.log(`  (${spec.kind} process CPU: ${(cpuMs / 1000).toFixed(1)} s)`);
  }
}

/**
 * Baseline and subject measured alternately (one warm-up each, then RUNS pairs), so a noisy
 * neighbour or disk writeback hits both alike.
 */
async function paired(
  names: readonly [string, string],
  unit: string,
  baselineOnce: () => Promise<number>,
  subjectOnce: () => Promise<number>,
): Promise<[Measurement, Measurement]> {
  await baselineOnce();
  await subjectOnce();
  const base: number[] = [];
  const subject: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    base.push(await baselineOnce());
    subject.push(await subjectOnce());
  }
  return [
    { name: names[0], unit, runs: base, median: median(base) },
    { name: names[1], unit, runs: subject, median: median(subject) },
  ];
}

async function produceSection(recordBytes: number): Promise<void> {
  const file = join(dir, `sink-${recordBytes}.bin`);
  const sink = await spawnServer({ kind: 'sink', file, fsync: true });
  const broker = await spawnServer({ kind: 'broker', config: brokerConfig() });
  try {
    const admin = await PipelinedConnection.open(broker.port);
    await createTopic(admin, 'p1', 1);
    await createTopic(admin, 'p8', 8);
    admin.close();
    for (const partitions of [1, 8]) {
      for (const acks of [1, -1]) {
        const c = { recordBytes, partitions, acks };
        const w = workload(c, `p${partitions}`);
        const pair = await paired(
          ['baseline: raw TCP -> file + fdatasync, same bytes', caseName(c)],
          'records/s',
          () => produceOnce(sink.port, w, false),
          () => produceOnce(broker.port, w, true),
        );
        const wireMBps = (pair[1].median * w.frame.length) / w.recordsPerRequest / 1e6;
        report(`${caseName(c)} (${wireMBps.toFixed(0)} MB/s on the wire)`, pair, pair[0]);
      }
    }
  } finally {
    const brokerCpuMs = await broker.stop();
    const sinkCpuMs = await sink.stop();
    console.log(`  (CPU: broker ${seconds(brokerCpuMs)}, raw sink ${seconds(sinkCpuMs)})\n`);
    rmSync(file, { force: true });
  }
}

/** Pipelined Fetch of 8 partitions at known batch offsets vs raw file -> socket. */
async function fetchSection(): Promise<void> {
  const w = workload({ recordBytes: 1024, partitions: 8, acks: 1 }, 'fetch');
  const batchesPerFetch = 8;
  const partitionMaxBytes = batchesPerFetch * w.batchBytes;
  const fetches = Math.floor(w.requests / batchesPerFetch);
  const bytesPerFetch = 8 * partitionMaxBytes;
  const file = join(dir, 'fetch-source.bin');
  writeFileSync(file, Buffer.alloc(fetches * bytesPerFetch, 0x5a));
  const source = await spawnServer({ kind: 'file-source', file });
  const broker = await spawnServer({ kind: 'broker', config: brokerConfig() });
  try {
    const admin = await PipelinedConnection.open(broker.port);
    await createTopic(admin, 'fetch', 8);
    admin.close();
    await produceOnce(broker.port, w, true);
    const frames = Array.from({ length: fetches }, (_, i) =>
      fetchFrame('fetch', 8, i * batchesPerFetch * w.recordsPerBatch, partitionMaxBytes),
    );
    const pair = await paired(
      [
        'baseline: raw file -> socket (sendfile), same sizes',
        'Fetch v12, 8 partitions x 8 batches',
      ],
      'MB/s',
      () =>
        pipelinedMBps(source.port, fetches, (i) =>
          fileSourceRequest(i, i * bytesPerFetch, bytesPerFetch),
        ),
      () => pipelinedMBps(broker.port, fetches, (i) => frames[i] as Buffer, partitionMaxBytes),
    );
    report(`fetch, ${inFlight} requests in flight`, pair, pair[0]);
  } finally {
    const brokerCpuMs = await broker.stop();
    const sourceCpuMs = await source.stop();
    console.log(`  (CPU: broker ${seconds(brokerCpuMs)}, raw source ${seconds(sourceCpuMs)})\n`);
    rmSync(file, { force: true });
  }
}

/** MB/s of responses; with `partitionBytes`, checks the first and last Fetch responses. */
async function pipelinedMBps(
  port: number,
  count: number,
  frameAt: (i: number) => Buffer,
  partitionBytes?: number,
): Promise<number> {
  const connection = await PipelinedConnection.open(port);
  const result = await connection.run(count, inFlight, frameAt);
  connection.close();
  if (partitionBytes !== undefined) {
    for (const frame of [result.first, result.last]) {
      for (const p of decodeFetch(frame).responses[0]?.partitions ?? []) {
        const bytes = Buffer.isBuffer(p.records) ? p.records.length : -1;
        if (bytes !== partitionBytes) throw new Error(`fetched ${bytes} bytes of a partition`);
      }
    }
  }
  return result.responseBytes / 1e6 / (Number(result.elapsedNs) / 1e9);
}

/** Produce-to-consume latency at 10,000 records/s of 100 B, acks -1. */
async function latencySection(): Promise<void> {
  const rate = 10_000;
  const durationMs = 3_000;
  const results = await withServer({ kind: 'broker', config: brokerConfig() }, async (server) => {
    // A topic per run, so every run's consumer starts at its own first record.
    const admin = await PipelinedConnection.open(server.port);
    for (let i = 0; i <= RUNS; i++) await createTopic(admin, `latency-${i}`, 1);
    admin.close();
    const runs = [];
    for (let i = 0; i <= RUNS; i++) {
      runs.push(await measureLatency(server.port, `latency-${i}`, rate, durationMs));
    }
    return runs;
  });
  const fsyncs: LatencyResult[] = [];
  for (let i = 0; i <= RUNS; i++) {
    fsyncs.push(await measureFsyncLatency(join(dir, 'fsync.bin'), 2_000, 1_100));
  }
  const sinkFile = join(dir, 'latency-sink.bin');
  const raws = await withServer({ kind: 'sink', file: sinkFile, fsync: true }, async (server) => {
    const runs: LatencyResult[] = [];
    for (let i = 0; i <= RUNS; i++)
      runs.push(await measureAckLatency(server.port, rate, durationMs));
    return runs;
  });
  rmSync(sinkFile, { force: true });
  const row = (name: string, of: LatencyResult[], pick: (r: LatencyResult) => number) => {
    const values = of.slice(1).map(pick);
    return { name, unit: 'ms', runs: values, median: median(values) } satisfies Measurement;
  };
  report(`produce-to-consume latency, ${rate} records/s, ${results[1]?.samples} samples/run`, [
    row('p50', results, (r) => r.p50Ms),
    row('p99', results, (r) => r.p99Ms),
    row('p999', results, (r) => r.p999Ms),
    row('max', results, (r) => r.maxMs),
    row('produce request -> acks=-1 response, p99', results, (r) => r.ackP99Ms ?? Number.NaN),
    row('baseline: same produce requests -> raw sink (fdatasync), p50', raws, (r) => r.p50Ms),
    row('baseline: same produce requests -> raw sink (fdatasync), p99', raws, (r) => r.p99Ms),
    row('baseline: same produce requests -> raw sink (fdatasync), p999', raws, (r) => r.p999Ms),
    row('disk floor: append 1.1 KB + fdatasync, p50', fsyncs, (r) => r.p50Ms),
    row('disk floor: append 1.1 KB + fdatasync, p99', fsyncs, (r) => r.p99Ms),
    row('disk floor: append 1.1 KB + fdatasync, p999', fsyncs, (r) => r.p999Ms),
  ]);
}

/** Real client libraries vs the load generator, same broker, 100 B records, acks -1. */
async function clientsSection(): Promise<void> {
  const run = { sends: 100, perSend: 1000, concurrency: 4, recordBytes: 100 };
  await withServer({ kind: 'broker', config: brokerConfig() }, async (server) => {
    const admin = await PipelinedConnection.open(server.port);
    await createTopic(admin, 'clients', 1);
    admin.close();
    const bootstrap = `127.0.0.1:${server.port}`;
    const w = workload({ recordBytes: 100, partitions: 1, acks: -1 }, 'clients');
    const own = await measure('load generator (128 KiB batches)', 'records/s', RUNS, () =>
      produceOnce(server.port, w, true),
    );
    const what = `${run.perSend} records per send, ${run.concurrency} sends in flight`;
    const kafkajs = await measure(`kafkajs producer, ${what}`, 'records/s', RUNS, () =>
      kafkajsProduce(bootstrap, 'clients', run),
    );
    const platformatic = await measure(`@platformatic/kafka, ${what}`, 'records/s', RUNS, () =>
      platformaticProduce(bootstrap, 'clients', run),
    );
    report('real clients, 100 B records, 1 partition, acks -1', [own, kafkajs, platformatic], own);
  });
}

function brokerConfig(): Record<string, number | string | boolean> {
  return { 'num.partitions': 1, 'auto.create.topics.enable': false };
}

async function main(): Promise<void> {
  console.log(`${mibPerRun} MiB per produce run, ${inFlight} requests in flight, ${RUNS} runs\n`);
  if (sections.includes('produce')) {
    await produceSection(1024);
    await produceSection(100);
  }
  if (sections.includes('fetch')) await fetchSection();
  if (sections.includes('latency')) await latencySection();
  if (sections.includes('clients')) await clientsSection();
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
