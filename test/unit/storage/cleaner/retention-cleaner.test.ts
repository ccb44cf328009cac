/**
 * Retention by time (SimClock) and by size, deletion below the log start offset, and the rules
 * that bound all three: only a prefix goes, never the active segment.
 */
import { describe, expect, test } from 'vitest';
import { buildBatch } from '../../../../protocol/records/batch-builder.ts';
import { SimClock } from '../../../../src/util/clock.ts';
import {
  CLEANER_TOPIC_DEFAULTS,
  type CleanerTopicConfig,
} from '../../../../storage/cleaner/cleaner-config.ts';
import { RetentionCleaner } from '../../../../storage/cleaner/retention-cleaner.ts';
import { MemoryCleanableLog } from './memory-cleanable-log.ts';

const HOUR_MS = 3_600_000;

function config(overrides: Partial<CleanerTopicConfig>): CleanerTopicConfig {
  return { ...CLEANER_TOPIC_DEFAULTS, ...overrides };
}

/** A log of `segments` segments (the last active), one 10-record batch each, an hour apart. */
function hourlyLog(clock: SimClock, segments: number): MemoryCleanableLog {
  const log = new MemoryCleanableLog();
  for (let i = 0; i < segments; i++) {
    if (i > 0) log.roll(clock.nowMs());
    const timestamp = clock.nowMs() - (segments - 1 - i) * HOUR_MS;
    const records = Array.from({ length: 10 }, (_, j) => ({
      key: Buffer.from(`k${j}`),
      value: Buffer.alloc(100, i),
      timestamp,
    }));
    log.append(buildBatch({ records }));
  }
  return log;
}

describe('retention.ms', () => {
  test('deletes exactly the segments whose newest record is older than retention', async () => {
    const clock = new SimClock();
    const log = hourlyLog(clock, 6);
    const cleaner = new RetentionCleaner(clock);
    // Segment i's newest record is (5 - i) hours old: 5h, 4h, 3h, 2h, 1h, 0h.
    const result = await cleaner.clean(log, config({ retentionMs: 3 * HOUR_MS }));
    // 5h and 4h are past 3h; 3h is not strictly older.
    expect(result.segmentsDeleted).toBe(2);
    expect(result.reasons).toEqual(['retention.ms']);
    expect(log.logStartOffset).toBe(20);
    expect(log.segments().map((s) => s.baseOffset)).toEqual([20, 30, 40, 50]);

    clock.advance(1);
    const later = await cleaner.clean(log, config({ retentionMs: 3 * HOUR_MS }));
    expect(later.segmentsDeleted).toBe(1);
    expect(log.logStartOffset).toBe(30);
  });

  test('never deletes the active segment, however old', async () => {
    const clock = new SimClock();
    const log = hourlyLog(clock, 3);
    clock.advance(100 * HOUR_MS);
    const result = await new RetentionCleaner(clock).clean(log, config({ retentionMs: HOUR_MS }));
    expect(result.segmentsDeleted).toBe(2);
    expect(log.segments()).toHaveLength(1);
    expect(log.active.batches).toHaveLength(1);
  });

  test('stops at the first segment it keeps (only a prefix goes)', async () => {
    const clock = new SimClock();
    const log = hourlyLog(clock, 4);
    // Make the second segment young: the old third one behind it must stay too.
    const young = buildBatch({
      records: [{ key: Buffer.from('x'), value: null, timestamp: clock.nowMs() }],
    });
    (log.segments()[1] as { batches: Buffer[] }).batches.push(young);
    const result = await new RetentionCleaner(clock).clean(
      log,
      config({ retentionMs: HOUR_MS / 2 }),
    );
    expect(result.segmentsDeleted).toBe(1);
    expect(log.logStartOffset).toBe(10);
  });

  test('-1 keeps everything, and cleanup.policy=compact ignores retention', async () => {
    const clock = new SimClock();
    clock.advance(0);
    const log = hourlyLog(clock, 4);
    clock.advance(1000 * HOUR_MS);
    const cleaner = new RetentionCleaner(clock);
    expect((await cleaner.clean(log, config({ retentionMs: -1 }))).segmentsDeleted).toBe(0);
    const compact = config({ cleanupPolicy: 'compact', retentionMs: 1, retentionBytes: 0 });
    expect((await cleaner.clean(log, compact)).segmentsDeleted).toBe(0);
    const both = config({ cleanupPolicy: 'compact,delete', retentionMs: 1 });
    expect((await cleaner.clean(log, both)).segmentsDeleted).toBe(3);
  });
});

describe('retention.bytes', () => {
  test('deletes the oldest segments while the log stays at or above retention.bytes', async () => {
    const clock = new SimClock();
    const log = hourlyLog(clock, 5);
    const segmentBytes = log.segments()[0]?.sizeBytes as number;
    const cleaner = new RetentionCleaner(clock);
    const keep = config({ retentionMs: -1, retentionBytes: 2 * segmentBytes + 1 });
    const result = await cleaner.clean(log, keep);
    // 5 segments; deleting 2 leaves 3 * size >= 2 * size + 1; deleting a third would not.
    expect(result.segmentsDeleted).toBe(2);
    expect(result.bytesDeleted).toBe(2 * segmentBytes);
    expect(log.segments().reduce((n, s) => n + s.sizeBytes, 0)).toBe(3 * segmentBytes);

    const exact = config({ retentionMs: -1, retentionBytes: 2 * segmentBytes });
    expect((await cleaner.clean(log, exact)).segmentsDeleted).toBe(1);
    const zero = config({ retentionMs: -1, retentionBytes: 0 });
    expect((await cleaner.clean(log, zero)).segmentsDeleted).toBe(1);
    expect(log.segments()).toHaveLength(1);
  });

  test('time and size both apply, time first', async () => {
    const clock = new SimClock();
    const log = hourlyLog(clock, 6);
    const segmentBytes = log.segments()[0]?.sizeBytes as number;
    const both = config({ retentionMs: 4 * HOUR_MS + 1, retentionBytes: 3 * segmentBytes });
    const result = await new RetentionCleaner(clock).clean(log, both);
    expect(result.reasons).toEqual(['retention.ms', 'retention.bytes']);
    expect(result.segmentsDeleted).toBe(3);
    expect(log.logStartOffset).toBe(30);
  });
});

test('segments wholly below a moved log start offset go whatever the policy', async () => {
  const clock = new SimClock();
  const log = hourlyLog(clock, 5);
  log.logStartOffset = 25;
  const cleaner = new RetentionCleaner(clock);
  const result = await cleaner.clean(log, config({ cleanupPolicy: 'compact' }));
  expect(result).toMatchObject({ segmentsDeleted: 2, reasons: ['log-start-offset'] });
  expect(log.segments()[0]?.baseOffset).toBe(20);
  expect(log.logStartOffset).toBe(25);
});
