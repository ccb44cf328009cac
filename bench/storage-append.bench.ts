/**
 * Append throughput of PartitionLog on the real disk against raw `fs.write` of the same
 * bytes, in one run: 1 KiB and 100 B records in 16 KiB and 1 MiB batches, without fsync
 * (durability 'kafka', flush never) and with fsync (durability 'fsync'). Appends are awaited
 * one at a time (the fsync case then pays one fsync per append; the baseline calls fdatasync
 * after each write), and for the fsync case also in groups of 16 concurrent appends, which
 * group commit turns into about one fsync per group (the baseline: 16 concurrent writes,
 * then one fdatasync).
 *
 * The log validates each batch's CRC-32C, rewrites its offsets and epoch, keeps indexes and
 * the tail cache: that is the work the ratio prices.
 *
 * Run: npx node bench/storage-append.bench.ts [MiB per run, default 64]
 */
import { closeSync, fdatasync, fdatasyncSync, mkdtempSync, openSync, rmSync, write } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimClock } from '../src/util/clock.ts';
import { SeededRandom } from '../src/util/random.ts';
import { NodeFileSystem } from '../storage/io/node-file-system.ts';
import { type Durability, resolveLogConfig } from '../storage/log/log-config.ts';
import { PartitionLog } from '../storage/log/partition-log.ts';
import { createStorageEnv } from '../storage/log/storage-env.ts';
import { simpleBatch } from '../test/unit/storage/batch-builder.ts';
import { type Measurement, measure, report, timeNs } from './harness.ts';

const mibPerRun = Number(process.argv[2] ?? 64);
const RUNS = 5;
const root = mkdtempSync(join(tmpdir(), 'brook-append-'));
let runId = 0;

interface Shape {
  readonly recordBytes: number;
  readonly batchBytes: number;
  readonly fsync: boolean;
  /** Appends in flight at once (each group awaited whole). */
  readonly group: number;
}

function batchFor(shape: Shape): { batch: Buffer; records: number } {
  const records = Math.max(1, Math.floor(shape.batchBytes / (shape.recordBytes + 10)));
  return { batch: simpleBatch(records, shape.recordBytes), records };
}

/** CPU microseconds (user + system) per append of the last timed loop, by kind. */
const cpuPerAppendUs = new Map<string, number[]>();

function recordCpu(kind: string, since: NodeJS.CpuUsage, count: number): void {
  const used = process.cpuUsage(since);
  const list = cpuPerAppendUs.get(kind) ?? [];
  list.push((used.user + used.system) / count);
  cpuPerAppendUs.set(kind, list);
}

async function appendLog(
  shape: Shape,
  batch: Buffer,
  count: number,
  crcVerified = false,
): Promise<bigint> {
  const durability: Durability = shape.fsync ? 'fsync' : 'kafka';
  const log = await PartitionLog.open({
    ...createStorageEnv(new NodeFileSystem()),
    clock: new SimClock(),
    random: new SeededRandom(1),
    dir: join(root, `log-${runId++}`),
    topic: 'bench',
    partition: 0,
    config: resolveLogConfig(undefined, { durability, maxMessageBytes: 4 * 1024 * 1024 }),
  });
  // One buffer per append in flight: the log patches headers and keeps the buffer until the
  // append resolves.
  const copies = Array.from({ length: shape.group }, () => Buffer.from(batch));
  const cpu = process.cpuUsage();
  const elapsed = await timeNs(async () => {
    for (let i = 0; i < count; i += shape.group) {
      const appends = copies.map((copy) =>
        log.appendAsLeader(copy, { leaderEpoch: 0, crcVerified }),
      );
      await Promise.all(appends);
    }
  });
  recordCpu(crcVerified ? 'log-no-crc' : 'log', cpu, count);
  await log.close();
  return elapsed;
}

function writeAt(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) =>
    write(fd, buf, 0, buf.length, position, (error) => (error ? reject(error) : resolve())),
  );
}

async function appendRaw(shape: Shape, batch: Buffer, count: number): Promise<bigint> {
  const fd = openSync(join(root, `raw-${runId++}`), 'w');
  const cpu = process.cpuUsage();
  const elapsed = await timeNs(async () => {
    for (let i = 0; i < count; i += shape.group) {
      const writes: Promise<void>[] = [];
      for (let j = 0; j < shape.group; j++) writes.push(writeAt(fd, batch, (i + j) * batch.length));
      await Promise.all(writes);
      if (shape.fsync) {
        await new Promise<void>((resolve, reject) =>
          fdatasync(fd, (error) => (error ? reject(error) : resolve())),
        );
      }
    }
  });
  recordCpu('raw', cpu, count);
  // Outside the timing, like the log's close: the next run starts without this run's dirty
  // pages, so kernel writeback throttling lands on neither side by turn.
  fdatasyncSync(fd);
  closeSync(fd);
  return elapsed;
}

function cpuMedian(kind: string): number {
  const list = [...(cpuPerAppendUs.get(kind) ?? [])].sort((a, b) => a - b);
  cpuPerAppendUs.delete(kind);
  return list[Math.floor(list.length / 2)] ?? Number.NaN;
}

const cpuSummary: string[] = [
  '| shape | raw CPU µs/append | log | raw/log | log, CRC by caller | raw/log |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
];

async function measureShape(shape: Shape): Promise<Measurement[]> {
  const { batch, records } = batchFor(shape);
  const bytesPerRun = mibPerRun * 1024 * 1024 * (shape.fsync ? 0.25 : 1);
  const groups = Math.max(1, Math.floor(bytesPerRun / batch.length / shape.group));
  const count = groups * shape.group;
  const sync = shape.group > 1 ? `, fsync, ${shape.group} in flight` : ', fsync each';
  const label = `${shape.recordBytes} B records, ${shape.batchBytes / 1024} KiB batches${
    shape.fsync ? sync : ''
  }`;
  const mbs = (ns: bigint): number => (count * batch.length) / 1e6 / (Number(ns) / 1e9);
  const recs = (ns: bigint): number => (count * records) / (Number(ns) / 1e9);
  const rawNs: bigint[] = [];
  const logNs: bigint[] = [];
  const raw = await measure(`raw fs.write: ${label}`, 'MB/s', RUNS, async () => {
    const ns = await appendRaw(shape, batch, count);
    rawNs.push(ns);
    return mbs(ns);
  });
  const log = await measure(`PartitionLog: ${label}`, 'MB/s', RUNS, async () => {
    const ns = await appendLog(shape, batch, count);
    logNs.push(ns);
    return mbs(ns);
  });
  const noCrc = await measure(
    `PartitionLog, CRC checked by caller: ${label}`,
    'MB/s',
    RUNS,
    async () => mbs(await appendLog(shape, batch, count, true)),
  );
  const logRecords = await measure(`PartitionLog: ${label}`, 'records/s', 1, () =>
    recs(logNs.sort()[Math.floor(logNs.length / 2)] as bigint),
  );
  report(label, [raw, log, noCrc], raw);
  const [rawCpu, logCpu, noCrcCpu] = [cpuMedian('raw'), cpuMedian('log'), cpuMedian('log-no-crc')];
  cpuSummary.push(
    `| ${label} | ${rawCpu.toFixed(1)} | ${logCpu.toFixed(1)} | ` +
      `${(rawCpu / logCpu).toFixed(2)}x | ` +
      `${noCrcCpu.toFixed(1)} | ${(rawCpu / noCrcCpu).toFixed(2)}x |`,
  );
  report(`${label}: records`, [logRecords]);
  return [raw, log, noCrc];
}

const shapes: Shape[] = [];
for (const fsync of [false, true]) {
  for (const recordBytes of [1024, 100]) {
    for (const batchBytes of [16 * 1024, 1024 * 1024]) {
      shapes.push({ recordBytes, batchBytes, fsync, group: 1 });
    }
  }
}
for (const recordBytes of [1024, 100]) {
  shapes.push({ recordBytes, batchBytes: 16 * 1024, fsync: true, group: 16 });
}
try {
  const summary: string[] = [
    '| shape | raw MB/s | log MB/s | log/raw | log, CRC by caller | ratio |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const shape of shapes) {
    const [raw, log, noCrc] = (await measureShape(shape)) as Measurement[] as [
      Measurement,
      Measurement,
      Measurement,
    ];
    const ratio = (m: Measurement): string => `${(m.median / raw.median).toFixed(2)}x`;
    const name = log.name.replace('PartitionLog: ', '');
    summary.push(
      `| ${name} | ${raw.median.toFixed(0)} | ${log.median.toFixed(0)} | ${ratio(log)} | ` +
        `${noCrc.median.toFixed(0)} | ${ratio(noCrc)} |`,
    );
  }
  console.log(`### append summary (target log/raw >= 0.8x)\n\n${summary.join('\n')}\n`);
  // Wall-clock MB/s swings with whatever else the machine runs; CPU per append does not.
  console.log(`### CPU per append (lower is better)\n\n${cpuSummary.join('\n')}\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
