/**
 * Model-based test of PartitionLog: random sequences of append / read / read-by-time / roll /
 * truncate / high-watermark / delete-records / close+reopen (clean and unclean) against the
 * in-memory LogModel. Every read must return exactly the model's bytes. Seeded; a failure
 * names its seed and the operation that broke.
 */
import { describe, expect, test } from 'vitest';
import { SimClock } from '../../../src/util/clock.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';
import type { PartitionLog } from '../../../storage/log/partition-log.ts';
import { createStorageEnv, type StorageEnv } from '../../../storage/log/storage-env.ts';
import { simpleBatch } from './batch-builder.ts';
import { LogModel, materialize, openLog, randomConfig } from './log-harness.ts';

const SEQUENCES = 1000;
const OPERATIONS = 40;
const T0 = 1_700_000_000_000;

interface Run {
  readonly random: SeededRandom;
  readonly fs: MemoryFileSystem;
  readonly env: StorageEnv;
  readonly clock: SimClock;
  readonly model: LogModel;
  log: PartitionLog;
  epoch: number;
}

async function appendSome(run: Run): Promise<void> {
  const { random, model } = run;
  if (random.chance(0.1)) run.epoch++;
  const calls = random.int(1, 3);
  const pending: Promise<unknown>[] = [];
  for (let c = 0; c < calls; c++) {
    const parts: Buffer[] = [];
    for (let b = random.int(1, 3); b > 0; b--) {
      parts.push(
        simpleBatch(random.int(1, 8), random.int(0, 300), {
          fill: random.int(0, 255),
          baseTimestampMs: T0 + random.int(0, 5000),
          timestampStepMs: random.int(-3, 3),
        }),
      );
    }
    const records = Buffer.concat(parts);
    // Offsets are assigned by the call itself; the model sees the stamped bytes.
    pending.push(run.log.appendAsLeader(records, { leaderEpoch: run.epoch }));
    let at = 0;
    for (const part of parts) {
      model.append(records.subarray(at, at + part.length));
      at += part.length;
    }
  }
  await Promise.all(pending);
}

/** A replica's append: the leader's offsets, possibly after a gap (a compacted leader). */
async function appendAsFollower(run: Run): Promise<void> {
  const { random, model } = run;
  let next = model.logEndOffset + (random.chance(0.5) ? random.int(1, 20) : 0);
  const parts: Buffer[] = [];
  for (let b = random.int(1, 3); b > 0; b--) {
    const count = random.int(1, 6);
    parts.push(
      simpleBatch(count, random.int(0, 200), {
        fill: random.int(0, 255),
        baseOffset: next,
        epoch: run.epoch,
        baseTimestampMs: T0 + random.int(0, 5000),
      }),
    );
    next += count + (random.chance(0.3) ? random.int(1, 5) : 0);
  }
  const records = Buffer.concat(parts);
  await run.log.appendAsFollower(records);
  let at = 0;
  for (const part of parts) {
    model.append(records.subarray(at, at + part.length));
    at += part.length;
  }
}

async function checkRead(run: Run): Promise<void> {
  const { random, model, log } = run;
  const offset = random.int(model.logStartOffset, model.logEndOffset);
  const maxBytes = random.int(1, 6000);
  const maxOffset = random.chance(0.5)
    ? random.int(offset, model.logEndOffset)
    : model.logEndOffset;
  const result = await log.read(offset, { maxBytes, maxOffset });
  const expected = model.expectedRead(log.segments(), offset, maxBytes, maxOffset);
  const bytes = await materialize(run.fs, result);
  expect(bytes.equals(expected.bytes), `read(${offset}, ${maxBytes}, ${maxOffset})`).toBe(true);
  expect(result.nextOffset).toBe(expected.nextOffset);
  expect(result.sizeBytes).toBe(expected.bytes.length);
}

async function reopen(run: Run, clean: boolean): Promise<void> {
  const { log, model } = run;
  const recoveryPoint = run.random.int(0, model.logEndOffset);
  if (clean) await log.close();
  else {
    await log.flush();
    await log.abandon();
  }
  run.log = await openLog(run.env, run.clock, log.config, {
    cleanShutdown: clean,
    recoveryPoint,
    logStartOffset: model.logStartOffset,
    highWatermark: model.highWatermark,
  });
}

async function step(run: Run): Promise<string> {
  const { random, model } = run;
  const op = random.int(0, 99);
  if (op < 28) {
    await appendSome(run);
    return 'append';
  }
  if (op < 35) {
    await appendAsFollower(run);
    return 'appendAsFollower';
  }
  if (op < 65) {
    await checkRead(run);
    return 'read';
  }
  if (op < 72) {
    if (random.chance(0.2)) {
      const firstBase = (run.log.segments()[0] as { baseOffset: number }).baseOffset;
      expect(await run.log.offsetForTimestamp(-3)).toEqual(model.expectedMaxTimestamp(firstBase));
      return 'offsetForTimestamp(MAX_TIMESTAMP)';
    }
    const target = T0 + random.int(-10, 5100);
    expect(await run.log.offsetForTimestamp(target)).toEqual(model.expectedOffsetForTime(target));
    return 'offsetForTimestamp';
  }
  if (op < 76) {
    await run.log.roll();
    return 'roll';
  }
  if (op < 80) {
    const offset = random.int(model.logStartOffset, model.logEndOffset);
    const firstBase = (run.log.segments()[0] as { baseOffset: number }).baseOffset;
    await run.log.truncateTo(offset);
    model.truncateTo(offset, firstBase);
    return `truncateTo(${offset})`;
  }
  if (op < 88) {
    model.highWatermark = random.int(model.logStartOffset, model.logEndOffset);
    run.log.setHighWatermark(model.highWatermark);
    return 'setHighWatermark';
  }
  if (op < 93) {
    const offset = random.int(model.logStartOffset, model.highWatermark);
    model.logStartOffset = Math.max(model.logStartOffset, offset);
    expect(await run.log.deleteRecordsBefore(offset)).toBe(model.logStartOffset);
    return 'deleteRecordsBefore';
  }
  if (op < 97) {
    run.clock.advance(random.int(0, 1000));
    return 'advance';
  }
  await reopen(run, random.chance(0.5));
  return 'reopen';
}

async function runSequence(seed: number): Promise<void> {
  const random = new SeededRandom(seed);
  const fs = new MemoryFileSystem(random.fork());
  const env = createStorageEnv(fs, { openFilesMax: random.pick([2, 64]), indexCacheBytes: 256 });
  const clock = new SimClock(T0);
  const model = new LogModel();
  const log = await openLog(env, clock, randomConfig(random));
  const run: Run = { random, fs, env, clock, model, log, epoch: 0 };
  const trail: string[] = [];
  try {
    for (let i = 0; i < OPERATIONS; i++) {
      trail.push(await step(run));
      expect(run.log.logEndOffset).toBe(model.logEndOffset);
      expect(run.log.logStartOffset).toBe(model.logStartOffset);
      expect(run.log.highWatermark).toBe(model.highWatermark);
    }
    await run.log.close();
    await env.handles.settle();
    expect(env.handles.openCount).toBe(0);
  } catch (error) {
    throw new Error(`seed ${seed} failed after [${trail.slice(-6).join(', ')}]`, {
      cause: error,
    });
  }
}

describe('PartitionLog against a model', () => {
  test(`${SEQUENCES} random sequences of ${OPERATIONS} operations`, async () => {
    const base = Number(process.env.BROOK_SEED ?? 1);
    for (let i = 0; i < SEQUENCES; i++) await runSequence(base + i);
  });
});
