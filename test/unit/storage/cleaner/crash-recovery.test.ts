/**
 * Cleaning the real PartitionLog on MemoryFileSystem, with the process killed at every file
 * system step of the cleaning in turn (a power failure: unsynced bytes and directory changes
 * are lost). Reopening the log must give a correct log: each group of segments either still
 * holds its old records or its cleaned ones, never a mix, never a loss; no `.cleaned`, `.swap`
 * or `.deleted` file is left; and cleaning again reaches the same records as a run that
 * never crashed. Retention is crashed the same way: a segment is either there or gone.
 */
import { describe, expect, test } from 'vitest';
import { RecordBatchView } from '../../../../protocol/records/batch.ts';
import { buildBatch } from '../../../../protocol/records/batch-builder.ts';
import { readRecords } from '../../../../protocol/records/record-iterator.ts';
import { SimClock } from '../../../../src/util/clock.ts';
import { SeededRandom } from '../../../../src/util/random.ts';
import {
  CompactionCleaner,
  groupSegments,
} from '../../../../storage/cleaner/compaction-cleaner.ts';
import {
  CleanableLogs,
  FileCleanerCheckpoints,
  MemoryCleanerCheckpoints,
  PartitionLogCleanable,
} from '../../../../storage/cleaner/partition-log-cleanable.ts';
import { RetentionCleaner } from '../../../../storage/cleaner/retention-cleaner.ts';
import { FileHandleCache } from '../../../../storage/io/file-handle-cache.ts';
import type { FileSystem } from '../../../../storage/io/file-system.ts';
import { MemoryFileSystem } from '../../../../storage/io/memory-file-system.ts';
import { LOG_CONFIG_DEFAULTS, type LogConfig } from '../../../../storage/log/log-config.ts';
import { PartitionLog } from '../../../../storage/log/partition-log.ts';
import { TailCacheBudget } from '../../../../storage/log/tail-cache.ts';
import { IndexCache } from '../../../../storage/segment/index-cache.ts';

const SEED = Number(process.env.TEST_SEED ?? 4242);
const DIR = '/data/orders-0';
const READ = { maxDecompressedBytes: 1 << 20 };

const CONFIG: LogConfig = {
  ...LOG_CONFIG_DEFAULTS,
  cleanupPolicy: 'compact,delete',
  segmentBytes: 3000,
  deleteRetentionMs: 60_000,
  retentionMs: -1,
};

const MUTATING = new Set(['write', 'truncate', 'fsync', 'fsyncDir', 'rename', 'unlink', 'mkdir']);

class PowerCut extends Error {}

/**
 * Passes calls through to `fs`; once armed, fails the `crashAt`-th mutating call and every
 * call after it, as a process that lost power would stop mid-way.
 */
class DyingFileSystem {
  readonly fs: FileSystem;
  steps = 0;
  #crashAt = Number.POSITIVE_INFINITY;
  #armed = false;
  #dead = false;

  constructor(memory: MemoryFileSystem) {
    this.fs = new Proxy(memory, {
      get: (target, name, receiver) => {
        const member = Reflect.get(target, name, receiver);
        if (typeof member !== 'function') return member;
        return (...args: unknown[]) => {
          if (this.#dead) return Promise.reject(new PowerCut('power is off'));
          const mutating = MUTATING.has(String(name)) || (name === 'open' && args[1] !== 'read');
          if (mutating && this.#armed && this.steps++ === this.#crashAt) {
            this.#dead = true;
            return Promise.reject(new PowerCut(`power cut at step ${this.#crashAt}`));
          }
          return member.apply(target, args);
        };
      },
    });
  }

  /** Starts counting mutating calls; the `crashAt`-th (from 0) fails. */
  arm(crashAt = Number.POSITIVE_INFINITY): void {
    this.#armed = true;
    this.#crashAt = crashAt;
  }
}

function openLog(fs: FileSystem, clock: SimClock, highWatermark?: number) {
  return PartitionLog.open({
    fs,
    handles: new FileHandleCache(fs, 32),
    indexCache: new IndexCache(),
    tailBudget: new TailCacheBudget(1 << 20),
    clock,
    random: new SeededRandom(SEED),
    dir: DIR,
    topic: 'orders',
    partition: 0,
    config: CONFIG,
    highWatermark,
  });
}

/** A log of keyed records over several segments, fsynced, high watermark at the end. */
async function populated(seed: number) {
  const random = new SeededRandom(seed);
  const clock = new SimClock();
  const memory = new MemoryFileSystem(new SeededRandom(seed + 1), () => clock.nowMs());
  const dying = new DyingFileSystem(memory);
  const log = await openLog(dying.fs, clock);
  for (let i = 0; i < 40; i++) {
    const records = Array.from({ length: random.int(1, 6) }, () => ({
      key: Buffer.from(`k${random.int(0, 12)}`),
      value: random.chance(0.15) ? null : Buffer.from(`v${i}-${random.int(0, 1e6)}`),
      timestamp: clock.nowMs(),
    }));
    await log.appendAsLeader(buildBatch({ records, compression: random.pick([0, 1, 4]) }), {
      leaderEpoch: 0,
    });
    if (random.chance(0.25)) await log.roll();
    clock.advance(100);
  }
  await log.roll();
  await log.appendAsLeader(
    buildBatch({ records: [{ key: Buffer.from('tail'), value: null, timestamp: 1 }] }),
    { leaderEpoch: 0 },
  );
  log.setHighWatermark(log.logEndOffset);
  // The partition directory itself is made durable by whoever creates it (the LogManager).
  for (const dir of ['/', '/data', DIR]) await memory.fsyncDir(dir);
  return { memory, dying, clock, log, highWatermark: log.logEndOffset };
}

interface Rec {
  readonly offset: number;
  readonly key: string;
  readonly value: string | null;
}

async function contents(log: PartitionLog): Promise<Rec[]> {
  const out: Rec[] = [];
  for (const info of log.segments()) {
    const bytes = await log.readSegmentBatches(info.baseOffset, 0, info.sizeBytes + 1);
    let at = 0;
    while (at < bytes.length) {
      const view = new RecordBatchView(bytes.subarray(at));
      expect(view.validate()).toBeUndefined();
      for (const r of readRecords(view, READ)) {
        out.push({ offset: r.offset, key: String(r.key), value: r.value?.toString() ?? null });
      }
      at += view.sizeBytes;
    }
  }
  return out;
}

async function transitFiles(memory: MemoryFileSystem): Promise<string[]> {
  const names = await memory.readdir(DIR);
  return names.filter((n) => /\.(cleaned|swap|deleted)$/.test(n));
}

async function compact(log: PartitionLog, clock: SimClock) {
  const cleanable = new PartitionLogCleanable(log, new MemoryCleanerCheckpoints());
  const cleaner = new CompactionCleaner(clock);
  return cleaner.clean(cleanable, CONFIG, { force: true });
}

/** The uncrashed run: records before and after, segment boundaries, groups, step count. */
async function reference(seed: number) {
  const { dying, clock, log } = await populated(seed);
  const before = await contents(log);
  const cuts = log.segments().map((info) => info.baseOffset);
  const cleanable = new PartitionLogCleanable(log, new MemoryCleanerCheckpoints());
  const activeBase = log.segments().at(-1)?.baseOffset ?? 0;
  const groups = groupSegments(cleanable.segments(), activeBase, CONFIG.segmentBytes);
  dying.arm();
  const result = await compact(log, clock);
  expect(result?.segmentsWritten).toBe(groups.length);
  const after = await contents(log);
  // The definition, on a first cleaning: below the active segment only each key's latest
  // record stays (tombstones too: their horizon is a minute away); the active one is intact.
  const latest = new Map<string, number>();
  for (const r of before) if (r.offset < activeBase) latest.set(r.key, r.offset);
  const expected = before.filter((r) => r.offset >= activeBase || latest.get(r.key) === r.offset);
  expect(after).toEqual(expected);
  return {
    before,
    after,
    groups: groups.length,
    cuts,
    steps: dying.steps,
  };
}

/**
 * The records when the segments below `cut` were replaced by their cleaned form and the rest
 * were not. Any segment boundary is a correct state: a cleaned segment holds exactly the kept
 * records of the segments it replaces, and recovery swaps it in for the old segments its
 * offsets cover, which may be a prefix of its group when compaction emptied the others.
 */
function partial(ref: Awaited<ReturnType<typeof reference>>, cut: number): Rec[] {
  return [...ref.after.filter((r) => r.offset < cut), ...ref.before.filter((r) => r.offset >= cut)];
}

describe('compaction interrupted at every step', () => {
  test(`recovers to a cleaned prefix of segments and converges (seed ${SEED})`, async () => {
    const ref = await reference(SEED);
    expect(ref.groups).toBeGreaterThan(1);
    expect(ref.after.length).toBeLessThan(ref.before.length);
    const allowed = ref.cuts.map((cut) => partial(ref, cut)).concat([ref.after]);
    for (let crashAt = 0; crashAt <= ref.steps; crashAt++) {
      const { memory, dying, clock, log, highWatermark } = await populated(SEED);
      dying.arm(crashAt);
      const outcome = await compact(log, clock).then(
        () => 'completed',
        (error: unknown) => (hasPowerCut(error) ? 'cut' : error),
      );
      expect(outcome, `crash at ${crashAt}`).toBe(crashAt < ref.steps ? 'cut' : 'completed');
      const rebooted = memory.crash();
      const reopened = await openLog(rebooted, clock, highWatermark);
      const records = await contents(reopened);
      expect(
        allowed.some((state) => JSON.stringify(state) === JSON.stringify(records)),
        `crash at step ${crashAt} of ${ref.steps}, seed ${SEED}`,
      ).toBe(true);
      expect(await transitFiles(rebooted)).toEqual([]);
      await compact(reopened, clock);
      expect(await contents(reopened), `converges after crash at ${crashAt}`).toEqual(ref.after);
    }
  });
});

function hasPowerCut(error: unknown): boolean {
  let e: unknown = error;
  while (e instanceof Error) {
    if (e instanceof PowerCut) return true;
    e = e.cause;
  }
  return false;
}

test('retention interrupted at every step leaves whole segments', async () => {
  const retain = { ...CONFIG, retentionBytes: 0 };
  let completed = false;
  for (let crashAt = 0; !completed; crashAt++) {
    expect(crashAt, 'retention never completed').toBeLessThan(200);
    const { memory, dying, clock, log, highWatermark } = await populated(SEED);
    const before = await contents(log);
    const bases = log.segments().map((s) => s.baseOffset);
    dying.arm(crashAt);
    const cleanable = new PartitionLogCleanable(log, new MemoryCleanerCheckpoints());
    completed = await new RetentionCleaner(clock).clean(cleanable, retain).then(
      () => true,
      (error: unknown) => {
        expect(hasPowerCut(error)).toBe(true);
        return false;
      },
    );
    const rebooted = memory.crash();
    const reopened = await openLog(rebooted, clock, highWatermark);
    const start = reopened.segments()[0]?.baseOffset as number;
    expect(bases).toContain(start);
    expect(await contents(reopened)).toEqual(before.filter((r) => r.offset >= start));
    expect(await transitFiles(rebooted)).toEqual([]);
    if (completed) expect(reopened.segments()).toHaveLength(1);
  }
});

test('the cleaner checkpoint survives a crash in cleaner-offset-checkpoint', async () => {
  const { memory, clock, log, highWatermark } = await populated(SEED);
  const store = await FileCleanerCheckpoints.open(memory, '/data');
  const logs = new CleanableLogs(store);
  expect(logs.of(log)).toBe(logs.of(log));
  const cleaner = new CompactionCleaner(clock);
  const result = await cleaner.clean(logs.of(log), CONFIG, { force: true });
  expect(result?.mapEndOffset).toBeGreaterThan(0);
  const rebooted = memory.crash();
  const reopened = await openLog(rebooted, clock, highWatermark);
  const restored = await FileCleanerCheckpoints.open(rebooted, '/data');
  expect(restored.get(reopened)).toBe(result?.mapEndOffset);
  const plan = await cleaner.plan(new CleanableLogs(restored).of(reopened), CONFIG);
  expect(plan.firstDirtyOffset).toBe(result?.mapEndOffset);
  expect(plan.dirtyBytes).toBe(0);
});
