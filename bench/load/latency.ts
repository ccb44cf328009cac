/**
 * Produce-to-consume latency at a fixed rate: a producer sends, about every millisecond, a
 * batch of the records due by then (acks=-1), each carrying its send time (hrtime) in its
 * first 8 bytes; a consumer long-polls Fetch on its own connection and takes, for every
 * record, receipt time minus send time. Both run in this process, so the clocks agree.
 */
import { open } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { iterateBatches } from '../../protocol/records/batch.ts';
import { buildBatch } from '../../protocol/records/batch-builder.ts';
import { readRecords } from '../../protocol/records/record-iterator.ts';
import { PipelinedConnection } from './pipeline.ts';
import { decodeFetch, fetchFrame, produceFrame } from './requests.ts';

export interface LatencyResult {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** Produce request -> its acks=-1 response, p99 (the consume side is the rest). */
  readonly ackP99Ms?: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function timedBatch(count: number, recordBytes: number): Buffer {
  const records = Array.from({ length: count }, () => {
    const value = Buffer.alloc(recordBytes);
    value.writeBigInt64BE(process.hrtime.bigint(), 0);
    return { key: null, value, timestamp: Date.now() };
  });
  return buildBatch({ records });
}

async function producer(
  port: number,
  topic: string,
  rate: number,
  durationMs: number,
  recordBytes: number,
  ackLatencies: number[],
): Promise<{ sent: number; acked: Promise<void> }> {
  const socket = await openSocket(port);
  // Responses come in request order: each one acknowledges the oldest request sent.
  const sentAt: bigint[] = [];
  let buffered: Buffer = Buffer.alloc(0);
  let sending = true;
  let allAcked: () => void = () => {};
  const acked = new Promise<void>((resolve) => {
    allAcked = resolve;
  });
  socket.once('close', () => allAcked());
  socket.on('data', (chunk: Buffer) => {
    const now = process.hrtime.bigint();
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
      buffered = buffered.subarray(4 + buffered.readInt32BE(0));
      const at = sentAt.shift();
      if (at !== undefined) ackLatencies.push(Number(now - at) / 1e6);
    }
    if (!sending && sentAt.length === 0) {
      allAcked();
      socket.destroy();
    }
  });
  const start = process.hrtime.bigint();
  let sent = 0;
  for (;;) {
    const elapsedNs = Number(process.hrtime.bigint() - start);
    if (elapsedNs >= durationMs * 1e6) break;
    const due = Math.min(1000, Math.floor((elapsedNs * rate) / 1e9) - sent);
    if (due > 0) {
      socket.write(produceFrame(topic, 1, timedBatch(due, recordBytes), -1));
      sentAt.push(process.hrtime.bigint());
      sent += due;
    }
    // The pace of a client's linger timer: the rate is kept by counting what is due.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  sending = false;
  if (sentAt.length === 0) socket.destroy();
  return { sent, acked };
}

export async function measureLatency(
  port: number,
  topic: string,
  rate: number,
  durationMs: number,
  recordBytes = 100,
): Promise<LatencyResult> {
  const consumer = await PipelinedConnection.open(port);
  const latencies: number[] = [];
  let total: number | undefined;
  const acks: number[] = [];
  const produced = producer(port, topic, rate, durationMs, recordBytes, acks).then((p) => {
    total = p.sent;
    return p.acked;
  });
  let offset = 0;
  const deadline = Date.now() + durationMs + 10_000;
  while ((total === undefined || latencies.length < total) && Date.now() < deadline) {
    const frame = fetchFrame(topic, 1, offset, 1024 * 1024, { maxWaitMs: 200, minBytes: 1 });
    const result = await consumer.run(1, 1, () => frame);
    const now = process.hrtime.bigint();
    const records = decodeFetch(result.first).responses[0]?.partitions[0]?.records;
    if (!Buffer.isBuffer(records)) continue;
    for (const batch of iterateBatches(records)) {
      for (const record of readRecords(batch, { maxDecompressedBytes: 1 << 24 })) {
        if (record.value) latencies.push(Number(now - record.value.readBigInt64BE(0)) / 1e6);
      }
      offset = batch.baseOffset + batch.lastOffsetDelta + 1;
    }
  }
  await produced;
  consumer.close();
  const sorted = Float64Array.from(latencies).sort();
  return {
    samples: sorted.length,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    p999Ms: percentile(sorted, 0.999),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    ackP99Ms: percentile(Float64Array.from(acks).sort(), 0.99),
  };
}

/**
 * The disk's share: `count` sequential appends of `bytes` each followed by fdatasync, as the
 * broker's acks path does, timed one by one (the floor under produce-to-consume latency).
 */
/**
 * Request -> response latency of the same fixed-rate produce traffic against any server (the
 * raw sink, for the same-run baseline of the acks=-1 path).
 */
export async function measureAckLatency(
  port: number,
  rate: number,
  durationMs: number,
  recordBytes = 100,
): Promise<LatencyResult> {
  const acks: number[] = [];
  const { acked } = await producer(port, 'raw', rate, durationMs, recordBytes, acks);
  await acked;
  const sorted = Float64Array.from(acks).sort();
  return {
    samples: sorted.length,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    p999Ms: percentile(sorted, 0.999),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

export async function measureFsyncLatency(file: string, count: number, bytes: number) {
  const handle = await open(file, 'a');
  const data = Buffer.alloc(bytes, 0x33);
  const latencies = new Float64Array(count);
  try {
    for (let i = 0; i < count; i++) {
      const start = process.hrtime.bigint();
      await handle.write(data);
      await handle.datasync();
      latencies[i] = Number(process.hrtime.bigint() - start) / 1e6;
    }
  } finally {
    await handle.close();
  }
  const sorted = latencies.sort();
  return {
    samples: count,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    p999Ms: percentile(sorted, 0.999),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
  } satisfies LatencyResult;
}
