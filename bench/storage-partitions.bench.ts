/**
 * Many partitions: the resident memory of a LogManager with 10,000 partitions open (target
 * <= 500 MB RSS for the whole process), the time to open them after a clean shutdown and
 * after a crash (recovery of each active segment), and the cost of an offset-index lookup.
 *
 * The partition directories (one segment of a few batches each, as a broker would leave
 * them) are written directly with node:fs so that setting up 10,000 of them does not wait
 * on 60,000 fsyncs; the open under test goes through LogManager on the real disk.
 *
 * Run: npx node --expose-gc bench/storage-partitions.bench.ts [partitions, default 10000]
 */
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordBatchView } from '../protocol/records/batch.ts';
import { SimClock } from '../src/util/clock.ts';
import { SeededRandom } from '../src/util/random.ts';
import { NodeFileSystem } from '../storage/io/node-file-system.ts';
import { CLEAN_SHUTDOWN_MARKER, LogManager } from '../storage/log/log-manager.ts';
import { OffsetIndex } from '../storage/segment/offset-index.ts';
import { offsetFileName } from '../storage/segment/segment-files.ts';
import { simpleBatch } from '../test/unit/storage/batch-builder.ts';
import { measure, report } from './harness.ts';

const partitions = Number(process.argv[2] ?? 10_000);
const BATCHES_PER_PARTITION = 4;
const root = mkdtempSync(join(tmpdir(), 'brook-partitions-'));
const logDir = join(root, 'kafka-logs');

const heapMb: number[] = [];
const arrayBuffersMb: number[] = [];

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function rssMb(): number {
  gc();
  return process.memoryUsage().rss / 1e6;
}

function writePartitions(): void {
  mkdirSync(logDir, { recursive: true });
  const batches: Buffer[] = [];
  let offset = 0;
  for (let i = 0; i < BATCHES_PER_PARTITION; i++) {
    const batch = simpleBatch(10, 100, { fill: i, epoch: 0 });
    const view = new RecordBatchView(batch);
    view.baseOffset = offset;
    offset = view.lastOffset + 1;
    batches.push(batch);
  }
  const segment = Buffer.concat(batches);
  const lines: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const dir = join(logDir, `topic${p % 100}-${Math.floor(p / 100)}`);
    mkdirSync(dir);
    writeFileSync(join(dir, offsetFileName(0, '.log')), segment);
    lines.push(`topic${p % 100} ${Math.floor(p / 100)} ${offset}`);
  }
  const checkpoint = `0\n${lines.length}\n${lines.join('\n')}\n`;
  writeFileSync(join(logDir, 'recovery-point-offset-checkpoint'), checkpoint);
  writeFileSync(join(logDir, 'replication-offset-checkpoint'), checkpoint);
}

async function openAll(clean: boolean): Promise<{ seconds: number; rssMb: number }> {
  const marker = join(logDir, CLEAN_SHUTDOWN_MARKER);
  if (clean) writeFileSync(marker, '{"version":0,"brokerEpoch":-1}\n');
  else rmSync(marker, { force: true });
  const before = performance.now();
  const manager = await LogManager.open({
    fs: new NodeFileSystem(),
    clock: new SimClock(),
    random: new SeededRandom(1),
    logDirs: [logDir],
  });
  const seconds = (performance.now() - before) / 1000;
  if (manager.logCount !== partitions) throw new Error(`opened ${manager.logCount}`);
  const rss = rssMb();
  const usage = process.memoryUsage();
  heapMb.push(usage.heapUsed / 1e6);
  arrayBuffersMb.push(usage.arrayBuffers / 1e6);
  await manager.close();
  return { seconds, rssMb: rss };
}

const INDEX_ENTRIES = 262_144;
const lookupIndex = new OffsetIndex(0, 10 * 1024 * 1024);
for (let i = 0; i < INDEX_ENTRIES; i++) lookupIndex.append(i * 16 + 15, i * 4096 + 1);

/** ns per lookup of random offsets anywhere (`tail` = within the last 1,000 entries). */
function indexLookupNs(tail: boolean): number {
  const index = lookupIndex;
  const entries = INDEX_ENTRIES;
  const random = new SeededRandom(9);
  const low = tail ? (entries - 1000) * 16 : 0;
  const targets = Array.from({ length: 1 << 16 }, () => random.int(low, entries * 16));
  let sink = 0;
  const rounds = 20;
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (const target of targets) sink += index.lookup(target).position;
  }
  const ns = Number(process.hrtime.bigint() - start) / (rounds * targets.length);
  if (sink === -1) console.log(sink);
  return ns;
}

try {
  const baselineRss = rssMb();
  writePartitions();
  const cleanRss: number[] = [];
  const clean = await measure(`open ${partitions} partitions, clean`, 's', 3, async () => {
    const result = await openAll(true);
    cleanRss.push(result.rssMb);
    return result.seconds;
  });
  const crashed = await measure(
    `open ${partitions} partitions, after a crash`,
    's',
    1,
    async () => (await openAll(false)).seconds,
  );
  report('opening partitions', [clean, crashed]);
  const rss = await measure(`RSS with ${partitions} partitions open`, 'MB', 1, () =>
    Math.max(...cleanRss),
  );
  const base = await measure('RSS before opening (process baseline)', 'MB', 1, () => baselineRss);
  const heap = await measure('JS heap used, partitions open', 'MB', 1, () => Math.max(...heapMb));
  const buffers = await measure('ArrayBuffers (Buffers), partitions open', 'MB', 1, () =>
    Math.max(...arrayBuffersMb),
  );
  report('memory (target <= 500 MB RSS)', [base, rss, heap, buffers]);
  const anywhere = await measure('offset index lookup, 262,144 entries, random', 'ns/op', 5, () =>
    indexLookupNs(false),
  );
  const tail = await measure('offset index lookup, 262,144 entries, near the end', 'ns/op', 5, () =>
    indexLookupNs(true),
  );
  report('index lookup (a 1 GiB segment at 4 KiB intervals)', [anywhere, tail]);
  unlinkSync(join(logDir, 'recovery-point-offset-checkpoint'));
} finally {
  rmSync(root, { recursive: true, force: true });
}
