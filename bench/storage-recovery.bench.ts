/**
 * Crash-recovery speed: a log holding one segment of valid 1 MiB batches (1 GiB by default)
 * is opened without the clean-shutdown marker and with recovery point 0, so every batch is
 * read, framed and CRC-checked and both indexes are rebuilt. Reported in MB/s (target >= 500)
 * and seconds per GiB, against the baseline of reading the same file sequentially in the
 * same chunk size with no checks (what the disk and page cache allow).
 *
 * The file is written once with node:fs and is then in the page cache: this measures the
 * recovery code, not the disk.
 *
 * Run: npx node bench/storage-recovery.bench.ts [MiB, default 1024]
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordBatchView } from '../protocol/records/batch.ts';
import { SimClock } from '../src/util/clock.ts';
import { SeededRandom } from '../src/util/random.ts';
import { NodeFileSystem } from '../storage/io/node-file-system.ts';
import { resolveLogConfig } from '../storage/log/log-config.ts';
import { PartitionLog } from '../storage/log/partition-log.ts';
import { createStorageEnv } from '../storage/log/storage-env.ts';
import { RECOVERY_CHUNK_BYTES } from '../storage/segment/log-segment.ts';
import { simpleBatch } from '../test/unit/storage/batch-builder.ts';
import { measure, report } from './harness.ts';

const mib = Number(process.argv[2] ?? 1024);
const RUNS = 3;
const root = mkdtempSync(join(tmpdir(), 'brook-recovery-'));
const dir = join(root, 'bench-0');
const segmentPath = join(dir, '00000000000000000000.log');

function writeSegment(): number {
  mkdirSync(dir, { recursive: true });
  const batch = simpleBatch(1000, 1024);
  const view = new RecordBatchView(batch);
  const fd = openSync(segmentPath, 'w');
  let offset = 0;
  let bytes = 0;
  while (bytes + batch.length <= mib * 1024 * 1024) {
    // baseOffset sits outside the CRC, so one batch re-stamped is a valid log.
    view.baseOffset = offset;
    writeSync(fd, batch, 0, batch.length, bytes);
    offset = view.lastOffset + 1;
    bytes += batch.length;
  }
  closeSync(fd);
  return bytes;
}

function readBaseline(bytes: number): number {
  const fd = openSync(segmentPath, 'r');
  const chunk = Buffer.allocUnsafe(RECOVERY_CHUNK_BYTES);
  const start = process.hrtime.bigint();
  for (let at = 0; at < bytes; at += chunk.length) readSync(fd, chunk, 0, chunk.length, at);
  const ns = Number(process.hrtime.bigint() - start);
  closeSync(fd);
  return bytes / 1e6 / (ns / 1e9);
}

async function recover(bytes: number): Promise<number> {
  const start = process.hrtime.bigint();
  const log = await PartitionLog.open({
    ...createStorageEnv(new NodeFileSystem()),
    clock: new SimClock(),
    random: new SeededRandom(1),
    dir,
    topic: 'bench',
    partition: 0,
    config: resolveLogConfig(undefined, { maxMessageBytes: 2 * 1024 * 1024 }),
    cleanShutdown: false,
    recoveryPoint: 0,
  });
  const ns = Number(process.hrtime.bigint() - start);
  if (log.recoveredBytes !== bytes || log.truncatedBytesOnOpen !== 0) {
    throw new Error(`recovered ${log.recoveredBytes} of ${bytes} bytes`);
  }
  // Leave the files as found (a clean close would write indexes the next run rebuilds anyway).
  await log.abandon();
  return bytes / 1e6 / (ns / 1e9);
}

try {
  const bytes = writeSegment();
  const baseline = await measure(`sequential read, ${mib} MiB`, 'MB/s', RUNS, () =>
    readBaseline(bytes),
  );
  const recovery = await measure(`recovery, ${mib} MiB segment`, 'MB/s', RUNS, () =>
    recover(bytes),
  );
  report('crash recovery (target >= 500 MB/s)', [baseline, recovery], baseline);
  const secondsPerGiB = (1024 * 1024 * 1024) / 1e6 / recovery.median;
  console.log(`recovery: ${secondsPerGiB.toFixed(2)} s per GiB\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
