/**
 * Crash simulations of PartitionLog on MemoryFileSystem. Each cycle appends (some appends
 * still in flight), crashes the "machine" at a random point, then damages what a crash can
 * damage: it cuts index files at random byte positions and cuts and flips random bytes in
 * the unacknowledged tail of the log. Recovery must then:
 * - keep every acknowledged batch ('fsync' mode) or every batch reported durable ('kafka'
 *   mode: flush(), flush.messages, rolls), byte for byte;
 * - keep exactly the valid prefix: the longest run of intact batches a reference validator
 *   finds in the damaged files, each equal to the batch written at that offset;
 * - leave indexes that agree with the log (checked on the files after a clean close);
 * - accept new appends.
 * 2,500 seeds x 4 crashes = 10,000 crashes per run; a failure names its seed.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { RecordBatchView } from '../../../protocol/records/batch.ts';
import { SimClock } from '../../../src/util/clock.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';
import { resolveLogConfig } from '../../../storage/log/log-config.ts';
import type { PartitionLog } from '../../../storage/log/partition-log.ts';
import { createStorageEnv } from '../../../storage/log/storage-env.ts';
import { parseOffsetFileName } from '../../../storage/segment/segment-files.ts';
import { simpleBatch } from './batch-builder.ts';
import { LOG_DIR, materialize, openLog } from './log-harness.ts';

const SEEDS = 2500;
const CRASHES_PER_SEED = 4;
const T0 = 1_700_000_000_000;

interface Written {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly bytes: Buffer;
}

interface World {
  fs: MemoryFileSystem;
  log: PartitionLog;
  /** Every batch handed to the log, by base offset (acknowledged or not). */
  written: Map<number, Written>;
  /** One past the last offset whose append resolved (fsynced in 'fsync' mode). */
  ackedEnd: number;
}

async function appendAndCrash(world: World, random: SeededRandom): Promise<void> {
  const inFlight: Promise<unknown>[] = [];
  const appends = random.int(1, 8);
  for (let i = 0; i < appends; i++) {
    const parts = Array.from({ length: random.int(1, 3) }, () =>
      simpleBatch(random.int(1, 6), random.int(0, 200), {
        fill: random.int(0, 255),
        baseTimestampMs: T0 + random.int(0, 1000),
      }),
    );
    const records = Buffer.concat(parts);
    const appended = world.log.appendAsLeader(records, { leaderEpoch: 1 });
    for (const view of iterate(records)) {
      world.written.set(view.baseOffset, {
        baseOffset: view.baseOffset,
        lastOffset: view.lastOffset,
        bytes: Buffer.from(view.buf),
      });
    }
    const tracked = appended.then((info) => {
      if (world.log.config.durability === 'fsync') {
        world.ackedEnd = Math.max(world.ackedEnd, info.lastOffset + 1);
      }
    });
    inFlight.push(tracked.catch(() => undefined));
    if (random.chance(0.5)) await tracked;
  }
  if (random.chance(0.2)) await world.log.flush();
  // Let the in-flight work progress a random number of steps, then pull the plug.
  for (let ticks = random.int(0, 40); ticks > 0; ticks--) await Promise.resolve();
  // In 'kafka' mode an append resolves before its fsync: what must survive is what the log
  // reported durable (flush(), flush.messages, rolls).
  world.ackedEnd = Math.max(world.ackedEnd, world.log.durableEndOffset);
  world.fs = world.fs.crash();
  await Promise.all(inFlight);
}

function* iterate(records: Buffer): Generator<RecordBatchView> {
  let at = 0;
  while (at + 12 <= records.length) {
    const view = new RecordBatchView(records.subarray(at));
    const size = view.sizeBytes;
    if (size < 12 || at + size > records.length) return;
    yield new RecordBatchView(records.subarray(at, at + size));
    at += size;
  }
}

/** Cuts index files anywhere, and the log's unacknowledged tail; flips bytes in that tail. */
async function damage(world: World, random: SeededRandom): Promise<void> {
  const fs = world.fs;
  for (const name of await fs.readdir(LOG_DIR)) {
    const parsed = parseOffsetFileName(name);
    if (parsed?.transit !== '') continue;
    const path = join(LOG_DIR, name);
    const bytes = fs.fileBytes(path) as Buffer;
    const fd = await fs.open(path, 'write');
    if (parsed.kind !== '.log' && random.chance(0.3)) {
      await fs.truncate(fd, random.int(0, bytes.length));
    } else if (parsed.kind === '.log') {
      const safe = ackedBytesIn(world, parsed.offset, bytes);
      if (bytes.length > safe && random.chance(0.3)) {
        await fs.truncate(fd, random.int(safe, bytes.length));
      }
      const flipAt = bytes.length > safe && random.chance(0.3) ? pickFlip(bytes, safe, random) : -1;
      if (flipAt >= 0) await fs.write(fd, Buffer.from([random.int(0, 255)]), flipAt);
    }
    await fs.fsync(fd);
    await fs.close(fd);
  }
}

/**
 * A byte of the tail to flip, never inside a batch's baseOffset (bytes 0-7): that field is
 * outside the CRC in Kafka's format and gaps between offsets are legal (compaction), so a
 * flipped offset that still increases cannot be told from a real one, by Kafka or by Brook.
 */
function pickFlip(bytes: Buffer, from: number, random: SeededRandom): number {
  const at = random.int(from, bytes.length - 1);
  let start = from;
  while (start + 12 <= bytes.length) {
    const size = bytes.readInt32BE(start + 8) + 12;
    if (size < 12 || start + size > at) break;
    start += size;
  }
  return at - start < 8 ? Math.min(start + 8 + random.int(0, 7), bytes.length - 1) : at;
}

/** Bytes at the start of a segment file that hold acknowledged batches (never damaged). */
function ackedBytesIn(world: World, baseOffset: number, bytes: Buffer): number {
  let at = 0;
  for (const view of iterate(bytes)) {
    if (at + view.sizeBytes > bytes.length) break;
    if (view.lastOffset >= world.ackedEnd || view.baseOffset < baseOffset) break;
    at += view.sizeBytes;
  }
  return at;
}

/**
 * Equal batches, but for the partitionLeaderEpoch field: Kafka's format leaves it outside the
 * CRC (the leader stamps it), so a flipped byte there is undetectable by anyone; recovery
 * keeps such a batch and so does the reference.
 */
function sameBatch(a: Buffer, b: Buffer): boolean {
  return (
    a.length === b.length &&
    a.subarray(0, 12).equals(b.subarray(0, 12)) &&
    a.subarray(16).equals(b.subarray(16))
  );
}

/** The reference: the longest prefix of intact batches across the segments, in order. */
async function validPrefixEnd(world: World): Promise<number> {
  const names = (await world.fs.readdir(LOG_DIR))
    .map((n) => ({ n, p: parseOffsetFileName(n) }))
    .filter((e) => e.p?.kind === '.log' && e.p.transit === '')
    .sort((a, b) => (a.p?.offset ?? 0) - (b.p?.offset ?? 0));
  let next = 0;
  for (const { n } of names) {
    const bytes = world.fs.fileBytes(join(LOG_DIR, n)) as Buffer;
    let at = 0;
    while (at < bytes.length) {
      const view = new RecordBatchView(bytes.subarray(at));
      if (view.validate() !== undefined || view.baseOffset !== next) return next;
      const expected = world.written.get(view.baseOffset);
      if (!expected || !sameBatch(expected.bytes, view.buf.subarray(0, view.sizeBytes)))
        return next;
      next = view.lastOffset + 1;
      at += view.sizeBytes;
    }
  }
  return next;
}

async function checkIndexesAgree(fs: MemoryFileSystem): Promise<void> {
  for (const name of await fs.readdir(LOG_DIR)) {
    const parsed = parseOffsetFileName(name);
    if (parsed?.kind !== '.index' || parsed.transit !== '') continue;
    const index = fs.fileBytes(join(LOG_DIR, name)) as Buffer;
    const log = fs.fileBytes(join(LOG_DIR, name.replace('.index', '.log'))) as Buffer;
    for (let at = 0; at + 8 <= index.length; at += 8) {
      const view = new RecordBatchView(log.subarray(index.readInt32BE(at + 4)));
      expect(view.lastOffset).toBe(parsed.offset + index.readInt32BE(at));
    }
  }
}

async function crashCycle(world: World, random: SeededRandom, clock: SimClock): Promise<void> {
  const config = world.log.config;
  await appendAndCrash(world, random);
  await damage(world, random);
  const expectedEnd = await validPrefixEnd(world);
  const env = createStorageEnv(world.fs, { openFilesMax: 8, indexCacheBytes: 1024 });
  world.log = await openLog(env, clock, config, { recoveryPoint: random.int(0, world.ackedEnd) });
  expect(world.log.logEndOffset).toBe(expectedEnd);
  expect(expectedEnd).toBeGreaterThanOrEqual(world.ackedEnd);
  const all = await materialize(
    world.fs,
    await world.log.read(0, { maxBytes: 1 << 30, maxOffset: expectedEnd }),
  );
  let next = 0;
  for (const view of iterate(all)) {
    expect(sameBatch(view.buf, (world.written.get(view.baseOffset) as Written).bytes)).toBe(true);
    next = view.lastOffset + 1;
  }
  if (world.log.segments().length === 1) expect(next).toBe(expectedEnd);
  for (const offset of [...world.written.keys()])
    if (offset >= expectedEnd) world.written.delete(offset);
  world.ackedEnd = expectedEnd;
  if (random.chance(0.3)) {
    await world.log.close();
    await checkIndexesAgree(world.fs);
    world.log = await openLog(env, clock, config, { cleanShutdown: true });
  }
}

async function runSeed(seed: number): Promise<void> {
  const random = new SeededRandom(seed);
  const clock = new SimClock(T0);
  const fs = new MemoryFileSystem(random.fork());
  const config = resolveLogConfig(undefined, {
    segmentBytes: random.int(800, 5000),
    indexIntervalBytes: random.pick([0, 300, 4096]),
    tailCacheBytes: random.pick([0, 4096]),
    durability: random.chance(0.7) ? 'fsync' : 'kafka',
    flushMessages: random.pick([1, 10, Number.MAX_SAFE_INTEGER]),
  });
  const env = createStorageEnv(fs, { openFilesMax: 8 });
  const log = await openLog(env, clock, config);
  const world: World = { fs, log, written: new Map(), ackedEnd: 0 };
  try {
    for (let i = 0; i < CRASHES_PER_SEED; i++) await crashCycle(world, random, clock);
  } catch (error) {
    throw new Error(`crash simulation seed ${seed} failed`, { cause: error });
  }
}

describe('PartitionLog crash recovery', () => {
  test(`${SEEDS * CRASHES_PER_SEED} simulated crashes keep exactly the valid prefix`, async () => {
    const base = Number(process.env.BROOK_SEED ?? 1);
    for (let i = 0; i < SEEDS; i++) await runSeed(base + i);
  });
});
