/**
 * The cleaners' schedule on a SimClock: retention on its interval, compaction of the filthiest
 * log on the backoff, one run at a time, and a log that fails is set aside, not retried.
 */
import { expect, test } from 'vitest';
import { RecordBatchView } from '../../../../protocol/records/batch.ts';
import { buildBatch } from '../../../../protocol/records/batch-builder.ts';
import { SimClock } from '../../../../src/util/clock.ts';
import { CLEANER_TOPIC_DEFAULTS } from '../../../../storage/cleaner/cleaner-config.ts';
import { LogCleaner } from '../../../../storage/cleaner/log-cleaner.ts';
import { MemoryCleanableLog } from './memory-cleanable-log.ts';

const compact = { ...CLEANER_TOPIC_DEFAULTS, cleanupPolicy: 'compact' as const };

/** A compacted log with `dirtyKeys` rewrites of one key in a rolled segment. */
function logWith(clock: SimClock, rewrites: number): MemoryCleanableLog {
  const log = new MemoryCleanableLog();
  for (let i = 0; i < rewrites; i++) {
    const records = [{ key: Buffer.from('k'), value: Buffer.from(`v${i}`), timestamp: 1 }];
    log.append(buildBatch({ records }), clock.nowMs());
  }
  log.roll();
  log.append(buildBatch({ records: [{ key: Buffer.from('z'), value: null, timestamp: 1 }] }));
  return log;
}

test('compacts the filthiest log first, one per backoff, and retains on its interval', async () => {
  const clock = new SimClock();
  const small = logWith(clock, 2);
  const big = logWith(clock, 10);
  const old = logWith(clock, 1);
  const compactions: MemoryCleanableLog[] = [];
  const cleaner = new LogCleaner({
    clock,
    targets: () => [
      { log: small, config: compact },
      { log: big, config: compact },
      { log: old, config: { ...CLEANER_TOPIC_DEFAULTS, retentionMs: 1000 } },
    ],
    cleanerBackoffMs: 100,
    retentionCheckIntervalMs: 1000,
    onCompaction: (log) => compactions.push(log as MemoryCleanableLog),
  });
  cleaner.start();
  clock.advance(100);
  await cleaner.idle();
  // Both are wholly dirty (ratio 1); ties keep the first seen, then the other follows.
  expect(compactions).toEqual([small]);
  clock.advance(100);
  await cleaner.idle();
  expect(compactions).toEqual([small, big]);
  expect(big.segments()[0]?.batches.map((b) => new RecordBatchView(b).baseOffset)).toEqual([9]);
  clock.advance(100);
  await cleaner.idle();
  expect(compactions).toHaveLength(2);
  expect(old.deletions).toBe(0);
  clock.advance(700);
  await cleaner.idle();
  expect(old.deletions).toBe(1);
  await cleaner.stop();
  clock.advance(10_000);
  expect(compactions).toHaveLength(2);
});

test('a log whose cleaning fails is reported once and set aside', async () => {
  const clock = new SimClock();
  const broken = logWith(clock, 3);
  const victim = broken.segments()[0]?.batches[0] as Buffer;
  victim.writeUInt8(0x7e, 61);
  const errors: unknown[] = [];
  const cleaner = new LogCleaner({
    clock,
    targets: () => [{ log: broken, config: compact }],
    onError: (_, error) => errors.push(error),
  });
  expect(await cleaner.runCompaction()).toBeUndefined();
  expect(cleaner.isUncleanable(broken)).toBe(true);
  expect(await cleaner.runCompaction()).toBeUndefined();
  expect(errors).toHaveLength(1);
});

test('segments changed under the cleaner: its files dropped, the log retried later', async () => {
  const clock = new SimClock();
  const log = logWith(clock, 3);
  const errors: unknown[] = [];
  const cleaner = new LogCleaner({
    clock,
    targets: () => [{ log, config: compact }],
    onError: (_, error) => errors.push(error),
  });
  log.failNextReplace = 'storage-segment-gone';
  expect(await cleaner.runCompaction()).toBeUndefined();
  expect([errors.length, log.abortedWriters, log.replacements]).toEqual([1, 1, 0]);
  expect(cleaner.isUncleanable(log)).toBe(false);
  expect(await cleaner.runCompaction()).toBeDefined();
  expect(log.replacements).toBe(1);
});

test('a failure inside the swap leaves the cleaned files to the log recovery', async () => {
  const clock = new SimClock();
  const log = logWith(clock, 3);
  const cleaner = new LogCleaner({ clock, targets: () => [{ log, config: compact }] });
  log.failNextReplace = 'EIO';
  expect(await cleaner.runCompaction()).toBeUndefined();
  expect(log.abortedWriters).toBe(0);
  expect(cleaner.isUncleanable(log)).toBe(true);
});
