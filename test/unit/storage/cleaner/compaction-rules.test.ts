/**
 * The compaction rules one at a time, as scenarios: when a log is cleaned (dirty ratio, the
 * two compaction lags, the high watermark), the tombstone lifecycle, compressed batches keeping
 * their codec, a producer's emptied last batch, and a corrupt batch aborting a cleaning.
 */
import { describe, expect, test } from 'vitest';
import {
  Attributes,
  Compression,
  type CompressionCodec,
  RecordBatchView,
} from '../../../../protocol/records/batch.ts';
import { buildBatch } from '../../../../protocol/records/batch-builder.ts';
import { RecordFormatError } from '../../../../protocol/records/record-error.ts';
import { readRecords } from '../../../../protocol/records/record-iterator.ts';
import { SimClock } from '../../../../src/util/clock.ts';
import {
  CLEANER_TOPIC_DEFAULTS,
  type CleanerTopicConfig,
} from '../../../../storage/cleaner/cleaner-config.ts';
import { CompactionCleaner } from '../../../../storage/cleaner/compaction-cleaner.ts';
import { MemoryCleanableLog } from './memory-cleanable-log.ts';

const READ = { maxDecompressedBytes: 1 << 20 };
const DAY_MS = 24 * 3_600_000;

function config(overrides: Partial<CleanerTopicConfig> = {}): CleanerTopicConfig {
  return { ...CLEANER_TOPIC_DEFAULTS, cleanupPolicy: 'compact', ...overrides };
}

interface Put {
  readonly key: string;
  readonly value: string | null;
}

function batchOf(puts: readonly Put[], timestamp: number, codec: CompressionCodec = 0) {
  return buildBatch({
    records: puts.map((p) => ({
      key: Buffer.from(p.key),
      value: p.value === null ? null : Buffer.from(p.value),
      timestamp,
    })),
    compression: codec,
  });
}

/** offset -> "key=value" (or "key=null") of every record in the log. */
function contents(log: MemoryCleanableLog): string[] {
  return log
    .allBatches()
    .flatMap((b) =>
      readRecords(new RecordBatchView(b), READ).map(
        (r) => `${r.offset}:${r.key?.toString()}=${r.value?.toString() ?? 'null'}`,
      ),
    );
}

function setup() {
  const clock = new SimClock();
  const log = new MemoryCleanableLog();
  const cleaner = new CompactionCleaner(clock);
  const put = (puts: readonly Put[], codec: CompressionCodec = 0) =>
    log.append(batchOf(puts, clock.nowMs(), codec), clock.nowMs());
  return { clock, log, cleaner, put };
}

describe('when a log is cleaned', () => {
  test('only once the dirty ratio reaches min.cleanable.dirty.ratio', async () => {
    const { log, cleaner, put } = setup();
    put([{ key: 'a', value: '1' }]);
    put([{ key: 'b', value: '1' }]);
    log.roll();
    put([{ key: 'c', value: '1' }]);
    // Everything is dirty: ratio 1.
    expect((await cleaner.plan(log, config())).dirtyRatio).toBe(1);
    expect(await cleaner.clean(log, config())).toBeDefined();
    expect(log.checkpoint).toBe(2);
    // Now one clean segment and one dirty one of similar size: about 0.5.
    log.roll();
    put([{ key: 'a', value: '2' }]);
    log.roll();
    const plan = await cleaner.plan(log, config());
    expect(plan.firstDirtyOffset).toBe(2);
    expect(plan.dirtyRatio).toBeGreaterThan(0.4);
    expect(plan.dirtyRatio).toBeLessThan(0.6);
    expect(await cleaner.clean(log, config({ minCleanableDirtyRatio: 0.9 }))).toBeUndefined();
    expect(log.replacements).toBe(1);
    expect(await cleaner.clean(log, config({ minCleanableDirtyRatio: 0.3 }))).toBeDefined();
    expect(contents(log)).toEqual(['1:b=1', '2:c=1', '3:a=2']);
  });

  test('min.compaction.lag.ms keeps young segments dirty and uncleaned', async () => {
    const { clock, log, cleaner, put } = setup();
    put([{ key: 'a', value: '1' }]);
    log.roll();
    clock.advance(10_000);
    put([{ key: 'a', value: '2' }]);
    log.roll();
    put([{ key: 'a', value: '3' }]);
    const lagged = config({ minCompactionLagMs: 5_000 });
    const plan = await cleaner.plan(log, lagged);
    // The second segment's record is 0 ms old: the dirty range stops at its base.
    expect(plan.firstUncleanableOffset).toBe(1);
    await cleaner.clean(log, lagged);
    expect(contents(log)).toEqual(['0:a=1', '1:a=2', '2:a=3']);
    clock.advance(5_001);
    await cleaner.clean(log, lagged);
    expect(contents(log)).toEqual(['1:a=2', '2:a=3']);
  });

  test('max.compaction.lag.ms forces a cleaning below the dirty ratio', async () => {
    const { clock, log, cleaner, put } = setup();
    for (let i = 0; i < 20; i++) put([{ key: `k${i}`, value: 'x'.repeat(50) }]);
    log.roll();
    await cleaner.clean(log, config());
    put([{ key: 'k0', value: 'y' }]);
    log.roll();
    const lazy = config({ minCleanableDirtyRatio: 0.99, maxCompactionLagMs: 60_000 });
    expect(await cleaner.clean(log, lazy)).toBeUndefined();
    clock.advance(60_001);
    const plan = await cleaner.plan(log, lazy);
    expect(plan).toMatchObject({ lagForced: true, cleanable: true });
    expect(plan.dirtyRatio).toBeLessThan(0.99);
    await cleaner.clean(log, lazy);
    expect(contents(log)).not.toContain(`0:k0=${'x'.repeat(50)}`);
  });

  test('nothing at or above the high watermark, nor the active segment, is touched', async () => {
    const { log, cleaner, put } = setup();
    put([{ key: 'a', value: '1' }]);
    put([{ key: 'a', value: '2' }]);
    log.roll();
    put([{ key: 'a', value: '3' }]);
    log.roll();
    put([{ key: 'a', value: '4' }]);
    log.highWatermarkOverride = 2;
    await cleaner.clean(log, config(), { force: true });
    expect(contents(log)).toEqual(['1:a=2', '2:a=3', '3:a=4']);
    expect(log.checkpoint).toBe(2);
    log.highWatermarkOverride = undefined;
    await cleaner.clean(log, config(), { force: true });
    expect(contents(log)).toEqual(['2:a=3', '3:a=4']);
  });
});

describe('tombstones', () => {
  test('survive delete.retention.ms after the cleaning that first kept them, then go', async () => {
    const { clock, log, cleaner, put } = setup();
    put([
      { key: 'a', value: '1' },
      { key: 'b', value: '1' },
    ]);
    put([{ key: 'a', value: null }]);
    log.roll();
    put([{ key: 'c', value: '1' }]);
    const first = clock.nowMs();
    await cleaner.clean(log, config({ deleteRetentionMs: DAY_MS }));
    // The old value went at once; the tombstone stays, its batch stamped with the horizon.
    expect(contents(log)).toEqual(['1:b=1', '2:a=null', '3:c=1']);
    const stamped = new RecordBatchView(log.segments()[0]?.batches[1] as Buffer);
    expect(stamped.attributes & Attributes.deleteHorizon).toBe(Attributes.deleteHorizon);
    expect(stamped.baseTimestamp).toBe(first + DAY_MS);
    // Its record timestamp is unchanged by the new base.
    expect(readRecords(stamped, READ)[0]?.timestamp).toBe(first);

    const dirtyAgain = async () => {
      log.roll();
      put([{ key: 'c', value: String(clock.nowMs()) }]);
      await cleaner.clean(log, config({ deleteRetentionMs: DAY_MS }), { force: true });
    };
    clock.advance(DAY_MS - 1);
    await dirtyAgain();
    expect(contents(log)).toContain('2:a=null');
    clock.advance(1);
    await dirtyAgain();
    expect(contents(log).some((r) => r.includes(':a='))).toBe(false);
  });
});

describe('compressed batches', () => {
  const codecs = [
    ['gzip', Compression.gzip],
    ['snappy', Compression.snappy],
    ['lz4', Compression.lz4],
    ['zstd', Compression.zstd],
  ] as const;
  test.each(codecs)(
    '%s batches are filtered and recompressed with their codec',
    async (_, codec) => {
      const { log, cleaner, put } = setup();
      const puts = Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 10}`, value: `v${i}` }));
      put(puts, codec);
      log.roll();
      put([{ key: 'z', value: 'z' }]);
      await cleaner.clean(log, config());
      const [batch] = log.segments()[0]?.batches ?? [];
      const view = new RecordBatchView(batch as Buffer);
      expect(view.compression).toBe(codec);
      expect(view.validate()).toBeUndefined();
      expect([view.baseOffset, view.lastOffsetDelta, view.recordsCount]).toEqual([0, 49, 10]);
      expect(contents(log).slice(0, 10)).toEqual(
        Array.from({ length: 10 }, (_, i) => `${40 + i}:k${i}=v${40 + i}`),
      );
    },
  );
});

test("a producer's last batch stays, emptied, with its sequence span", async () => {
  const { clock, log, cleaner, put } = setup();
  const idempotent = buildBatch({
    records: [
      { key: Buffer.from('a'), value: Buffer.from('1'), timestamp: clock.nowMs() },
      { key: Buffer.from('b'), value: Buffer.from('1'), timestamp: clock.nowMs() },
    ],
    producerId: 42,
    producerEpoch: 3,
    baseSequence: 7,
  });
  log.append(idempotent);
  put([
    { key: 'a', value: '2' },
    { key: 'b', value: '2' },
  ]);
  log.roll();
  put([{ key: 'c', value: '1' }]);
  await cleaner.clean(log, config());
  const [empty, kept] = (log.segments()[0]?.batches ?? []).map((b) => new RecordBatchView(b));
  expect(empty?.validate()).toBeUndefined();
  expect(empty).toMatchObject({
    baseOffset: 0,
    lastOffsetDelta: 1,
    recordsCount: 0,
    producerId: 42,
    producerEpoch: 3,
    baseSequence: 7,
  });
  expect(kept?.baseOffset).toBe(2);
  // Once the producer has a later batch, the empty one has no reason to stay.
  log.roll();
  log.append(
    buildBatch({
      records: [{ key: Buffer.from('d'), value: null, timestamp: clock.nowMs() }],
      producerId: 42,
      producerEpoch: 3,
      baseSequence: 9,
    }),
  );
  log.roll();
  put([{ key: 'e', value: '1' }]);
  await cleaner.clean(log, config(), { force: true });
  expect(log.allBatches().filter((b) => new RecordBatchView(b).recordsCount === 0)).toEqual([]);
});

test('a corrupt record aborts the cleaning and leaves the log as it was', async () => {
  const { log, cleaner, put } = setup();
  put([{ key: 'a', value: '1' }]);
  put([{ key: 'a', value: '2' }]);
  log.roll();
  put([{ key: 'b', value: '1' }]);
  const victim = log.segments()[0]?.batches[0] as Buffer;
  // A record length far past the batch: the bytes a bad disk or a bug could leave.
  victim.writeUInt8(0x7e, 61);
  new RecordBatchView(victim).updateCrc();
  const before = log.allBatches().map((b) => Buffer.from(b));
  await expect(cleaner.clean(log, config())).rejects.toBeInstanceOf(RecordFormatError);
  expect(log.allBatches()).toEqual(before);
  expect(log.replacements).toBe(0);
  expect(log.checkpoint).toBeUndefined();
});
