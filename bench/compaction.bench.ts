/**
 * Compaction throughput: MB of log cleaned per second, on the real PartitionLog over the real
 * disk (a temp dir, so mostly the page cache), for uncompressed, lz4 and zstd batches. The
 * baseline, in the same run, is the I/O floor of any cleaning: reading every segment through
 * PartitionLog and writing the same bytes to a cleaned segment and swapping it in (what a
 * cleaning that removes nothing, with a map already built, would cost at best).
 *
 * The log: `keys` distinct keys, 100-byte values, 100 records per batch, segments of 8 MiB;
 * every key is written many times over, so most records are obsolete (the usual shape of a
 * compacted topic: a changelog with far more updates than keys).
 *
 * Run: npx node bench/compaction.bench.ts [MiB of log, default 64]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Compression, type CompressionCodec } from '../protocol/records/batch.ts';
import { buildBatch } from '../protocol/records/batch-builder.ts';
import { SimClock } from '../src/util/clock.ts';
import { SeededRandom } from '../src/util/random.ts';
import { CompactionCleaner } from '../storage/cleaner/compaction-cleaner.ts';
import {
  MemoryCleanerCheckpoints,
  PartitionLogCleanable,
} from '../storage/cleaner/partition-log-cleanable.ts';
import { FileHandleCache } from '../storage/io/file-handle-cache.ts';
import { NodeFileSystem } from '../storage/io/node-file-system.ts';
import { LOG_CONFIG_DEFAULTS, type LogConfig } from '../storage/log/log-config.ts';
import { PartitionLog } from '../storage/log/partition-log.ts';
import { TailCacheBudget } from '../storage/log/tail-cache.ts';
import { IndexCache } from '../storage/segment/index-cache.ts';
import { mbPerSecond, measure, report, timeNs } from './harness.ts';

const logMiB = Number(process.argv[2] ?? 64);
const KEYS = 20_000;
const RECORDS_PER_BATCH = 100;
const RUNS = 3;

const CONFIG: LogConfig = {
  ...LOG_CONFIG_DEFAULTS,
  cleanupPolicy: 'compact',
  segmentBytes: 8 * 1024 * 1024,
  durability: 'kafka',
};

async function openLog(dir: string, clock: SimClock): Promise<PartitionLog> {
  const fs = new NodeFileSystem();
  return PartitionLog.open({
    fs,
    handles: new FileHandleCache(fs, 256),
    indexCache: new IndexCache(),
    tailBudget: new TailCacheBudget(1 << 20),
    clock,
    random: new SeededRandom(1),
    dir,
    topic: 'bench',
    partition: 0,
    config: CONFIG,
  });
}

/** Writes about `logMiB` of keyed batches and rolls, so all but a tiny tail is cleanable. */
async function fill(log: PartitionLog, codec: CompressionCodec, clock: SimClock) {
  const random = new SeededRandom(7);
  const value = Buffer.alloc(100);
  while (log.sizeBytes < logMiB * 1024 * 1024) {
    const records = Array.from({ length: RECORDS_PER_BATCH }, () => {
      random.fill(value.subarray(0, 20));
      return {
        key: Buffer.from(`key-${random.int(0, KEYS - 1)}`),
        value: Buffer.from(value),
        timestamp: clock.nowMs(),
      };
    });
    await log.appendAsLeader(buildBatch({ records, compression: codec }), { leaderEpoch: 0 });
  }
  await log.roll();
  await log.appendAsLeader(
    buildBatch({ records: [{ key: Buffer.from('tail'), value: null, timestamp: 0 }] }),
    { leaderEpoch: 0 },
  );
  await log.flush();
  log.setHighWatermark(log.logEndOffset);
}

async function withLog<T>(codec: CompressionCodec, fn: (log: PartitionLog) => Promise<T>) {
  const dir = mkdtempSync(join(tmpdir(), 'brook-bench-compaction-'));
  const clock = new SimClock();
  const log = await openLog(join(dir, 'bench-0'), clock);
  try {
    await fill(log, codec, clock);
    return await fn(log);
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Cleaned MB/s, counting the bytes of the log before cleaning. */
function compactionRun(codec: CompressionCodec): () => Promise<number> {
  return () =>
    withLog(codec, async (log) => {
      const bytes = log.sizeBytes;
      const cleaner = new CompactionCleaner(new SimClock());
      const cleanable = new PartitionLogCleanable(log, new MemoryCleanerCheckpoints());
      const ns = await timeNs(async () => {
        const result = await cleaner.clean(cleanable, CONFIG, { force: true });
        if (!result || result.recordsRemoved === 0) throw new Error('nothing was compacted');
      });
      return mbPerSecond(bytes, ns);
    });
}

/** Read every cleanable segment and write it back unchanged as a cleaned segment. */
function copyRun(): Promise<number> {
  return withLog(Compression.none, async (log) => {
    const bytes = log.sizeBytes;
    const cleanable = new PartitionLogCleanable(log, new MemoryCleanerCheckpoints());
    const ns = await timeNs(async () => {
      const segments = cleanable.segments().slice(0, -1);
      for (const segment of segments) {
        const writer = await cleanable.createCleanedSegment(segment.baseOffset);
        for await (const batch of segment.readBatches()) await writer.append(batch);
        await cleanable.replaceSegments([segment], writer);
      }
    });
    return mbPerSecond(bytes, ns);
  });
}

const baseline = await measure(
  'baseline: read + rewrite + swap, no filtering',
  'MB/s',
  RUNS,
  copyRun,
);
const rows = [baseline];
for (const [name, codec] of [
  ['none', Compression.none],
  ['lz4', Compression.lz4],
  ['zstd', Compression.zstd],
] as const) {
  rows.push(await measure(`compaction, ${name} batches`, 'MB/s', RUNS, compactionRun(codec)));
}
report(`compaction of a ${logMiB} MiB log, ${KEYS} keys, 100 B values`, rows, baseline);
