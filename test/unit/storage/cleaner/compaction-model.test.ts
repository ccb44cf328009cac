/**
 * Compaction against a model, on seeded random logs: keyed records with tombstones, headers,
 * every codec, CreateTime and LogAppendTime, idempotent producers, segments rolled at random,
 * the high watermark held back, offset maps too small for the dirty range. After every cleaning:
 *
 * - one step of the model: from the log before the cleaning, exactly the records the definition
 *   keeps are left, byte-equal in key, value, headers and timestamp, at their offsets, in order;
 * - against the whole history: the latest record of every key below the cleaned offset is
 *   there, and no older one; a tombstone goes only once its delete horizon has passed;
 * - every batch is valid (CRC included), a producer's last batch survives (emptied if need be),
 *   and nothing at or above the first uncleanable offset, nor the active segment, changed.
 */
import { describe, expect, test } from 'vitest';
import { Attributes, Compression, RecordBatchView } from '../../../../protocol/records/batch.ts';
import { buildBatch, type RecordInput } from '../../../../protocol/records/batch-builder.ts';
import { readRecords } from '../../../../protocol/records/record-iterator.ts';
import { SimClock } from '../../../../src/util/clock.ts';
import { SeededRandom } from '../../../../src/util/random.ts';
import {
  CLEANER_TOPIC_DEFAULTS,
  type CleanerTopicConfig,
} from '../../../../storage/cleaner/cleaner-config.ts';
import { CompactionCleaner } from '../../../../storage/cleaner/compaction-cleaner.ts';
import { OFFSET_MAP_ENTRY_BYTES } from '../../../../storage/cleaner/offset-map.ts';
import { MemoryCleanableLog } from './memory-cleanable-log.ts';

const DELETE_RETENTION_MS = 10_000;
const CODECS = [
  Compression.none,
  Compression.gzip,
  Compression.snappy,
  Compression.lz4,
  Compression.zstd,
] as const;
const READ = { maxDecompressedBytes: 1 << 24 };

const CONFIG: CleanerTopicConfig = {
  ...CLEANER_TOPIC_DEFAULTS,
  cleanupPolicy: 'compact',
  deleteRetentionMs: DELETE_RETENTION_MS,
  segmentBytes: 6000,
};

interface Rec {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: string;
  readonly timestamp: number;
  /** The delete horizon of the batch holding the record, when set. */
  readonly horizonMs: number | undefined;
  readonly batchBase: number;
}

function recordsOf(log: MemoryCleanableLog): Rec[] {
  const out: Rec[] = [];
  for (const batch of log.allBatches()) {
    const view = new RecordBatchView(batch);
    const horizonMs =
      (view.attributes & Attributes.deleteHorizon) !== 0 ? view.baseTimestamp : undefined;
    for (const r of readRecords(view, READ)) {
      out.push({
        offset: r.offset,
        key: r.key?.toString('hex') ?? null,
        value: r.value?.toString('hex') ?? null,
        headers: JSON.stringify(r.headers.map((h) => [h.key.toString(), h.value?.toString()])),
        timestamp: r.timestamp,
        horizonMs,
        batchBase: view.baseOffset,
      });
    }
  }
  return out;
}

/** What a record is, without where compaction put it. */
function content(r: Rec) {
  return { offset: r.offset, key: r.key, value: r.value, headers: r.headers, ts: r.timestamp };
}

class Scenario {
  readonly random: SeededRandom;
  readonly clock = new SimClock();
  readonly log = new MemoryCleanableLog();
  readonly history: Rec[] = [];
  readonly keys: number;
  #sequences = new Map<number, number>();

  constructor(seed: number, keys: number) {
    this.random = new SeededRandom(seed);
    this.keys = keys;
  }

  #record(): RecordInput {
    const random = this.random;
    const key = Buffer.from(`key-${random.int(0, this.keys - 1)}`);
    const value = random.chance(0.15) ? null : Buffer.alloc(random.int(0, 80));
    if (value) random.fill(value);
    const headers = random.chance(0.2)
      ? [{ key: 'h', value: Buffer.from([random.int(0, 9)]) }]
      : [];
    return { key, value, headers, timestamp: this.clock.nowMs() - random.int(0, 500) };
  }

  appendBatch(): void {
    const random = this.random;
    const records = Array.from({ length: random.int(1, 12) }, () => this.#record());
    const producerId = random.chance(0.5) ? random.int(100, 102) : -1;
    const baseSequence = producerId >= 0 ? (this.#sequences.get(producerId) ?? 0) : -1;
    if (producerId >= 0) this.#sequences.set(producerId, baseSequence + records.length);
    const batch = buildBatch({
      records,
      compression: random.pick(CODECS),
      producerId,
      producerEpoch: producerId >= 0 ? 0 : -1,
      baseSequence,
      partitionLeaderEpoch: 3,
      logAppendTimeMs: random.chance(0.1) ? this.clock.nowMs() : undefined,
    });
    const view = this.log.append(batch, this.clock.nowMs());
    for (const r of readRecords(view, READ)) {
      this.history.push({
        offset: r.offset,
        key: r.key?.toString('hex') ?? null,
        value: r.value?.toString('hex') ?? null,
        headers: JSON.stringify(r.headers.map((h) => [h.key.toString(), h.value?.toString()])),
        timestamp: r.timestamp,
        horizonMs: undefined,
        batchBase: view.baseOffset,
      });
    }
  }

  /** Appends a few batches, rolling now and then, and always rolls at the end. */
  produce(): void {
    const batches = this.random.int(2, 8);
    for (let i = 0; i < batches; i++) {
      this.appendBatch();
      if (this.random.chance(0.3)) this.log.roll(this.clock.nowMs());
    }
    this.log.roll(this.clock.nowMs());
    this.appendBatch();
  }
}

/** What the scenarios made the cleaner do, so a test can check every rule was exercised. */
const exercised = {
  cleanings: 0,
  partialMaps: 0,
  recordsRemoved: 0,
  tombstonesExpired: 0,
  horizonBatches: 0,
  emptyBatches: 0,
  highWatermarkBound: 0,
};

/** One step of the model: which records of `before` a cleaning up to `mapEnd` keeps. */
function expectedAfter(before: readonly Rec[], mapEnd: number, nowMs: number): Rec[] {
  const latest = new Map<string, number>();
  for (const r of before) if (r.key !== null && r.offset < mapEnd) latest.set(r.key, r.offset);
  return before.filter((r) => {
    if (r.offset >= mapEnd || r.batchBase >= mapEnd) return true;
    if (r.key === null || (latest.get(r.key) as number) > r.offset) return false;
    return r.value !== null || r.horizonMs === undefined || nowMs < r.horizonMs;
  });
}

function checkBatches(scenario: Scenario, mapEnd: number, before: Map<number, Rec[]>) {
  const { log } = scenario;
  const emptyBatches: RecordBatchView[] = [];
  let next = -1;
  const lastOfProducer = new Map<number, number>();
  for (const batch of log.allBatches()) {
    const view = new RecordBatchView(batch);
    expect(view.validate()).toBeUndefined();
    expect(view.baseOffset).toBeGreaterThan(next);
    expect(view.partitionLeaderEpoch).toBe(3);
    next = view.lastOffset;
    if (view.producerId >= 0) lastOfProducer.set(view.producerId, view.lastOffset);
    const records = readRecords(view, READ);
    if (records.length === 0) {
      exercised.emptyBatches++;
      emptyBatches.push(view);
    }
    if ((view.attributes & Attributes.deleteHorizon) !== 0) exercised.horizonBatches++;
    const tombstone = records.some((r) => r.value === null);
    if (tombstone && view.baseOffset < mapEnd) {
      // Every kept tombstone below the cleaned offset carries a horizon: the one it had, or
      // the one this cleaning stamped.
      const had = before.get(view.baseOffset)?.[0]?.horizonMs;
      expect(view.baseTimestamp).toBe(had ?? scenario.clock.nowMs() + DELETE_RETENTION_MS);
      expect(view.attributes & Attributes.deleteHorizon).not.toBe(0);
    }
  }
  // An emptied batch stays only while it is its producer's last.
  for (const view of emptyBatches)
    expect(lastOfProducer.get(view.producerId)).toBe(view.lastOffset);
  return lastOfProducer;
}

async function producerLasts(log: MemoryCleanableLog): Promise<Map<number, number>> {
  return new Map(await log.producerLastOffsets());
}

/** Checks against the whole history: latest per key kept, nothing obsolete below mapEnd. */
function checkHistory(
  scenario: Scenario,
  before: readonly Rec[],
  after: readonly Rec[],
  mapEnd: number,
) {
  const byOffset = new Map(after.map((r) => [r.offset, r]));
  const beforeByOffset = new Map(before.map((r) => [r.offset, r]));
  const latest = new Map<string, Rec>();
  for (const r of scenario.history) if (r.key !== null && r.offset < mapEnd) latest.set(r.key, r);
  for (const [key, r] of latest) {
    const kept = byOffset.get(r.offset);
    if (r.value !== null) expect(kept && content(kept), `latest of ${key}`).toEqual(content(r));
    else if (kept) expect(content(kept)).toEqual(content(r));
    else {
      // A tombstone goes only once the horizon its batch carried has passed (or it went in
      // an earlier cleaning, checked then).
      const horizonMs = beforeByOffset.get(r.offset)?.horizonMs ?? Number.NEGATIVE_INFINITY;
      expect(scenario.clock.nowMs(), `tombstone of ${key}`).toBeGreaterThanOrEqual(horizonMs);
      if (beforeByOffset.has(r.offset)) expect(horizonMs).toBeGreaterThan(0);
    }
  }
  for (const r of after) {
    if (r.offset >= mapEnd || r.key === null) continue;
    expect(latest.get(r.key)?.offset, `obsolete record at ${r.offset}`).toBe(r.offset);
  }
}

async function runScenario(seed: number): Promise<void> {
  const random = new SeededRandom(seed);
  const scenario = new Scenario(seed, random.int(3, 40));
  const mapEntries = random.chance(0.4) ? random.int(4, 20) : 10_000;
  const cleaner = new CompactionCleaner(scenario.clock, {
    dedupeBufferBytes: mapEntries * OFFSET_MAP_ENTRY_BYTES,
    dedupeLoadFactor: 0.75,
  });
  for (let round = 0; round < 10; round++) {
    scenario.produce();
    scenario.clock.advance(random.int(0, 6000));
    const { log } = scenario;
    log.highWatermarkOverride = random.chance(0.3) ? random.int(0, log.logEndOffset) : undefined;
    const before = recordsOf(log);
    const beforeByBatch = new Map<number, Rec[]>();
    for (const r of before)
      beforeByBatch.set(r.batchBase, [...(beforeByBatch.get(r.batchBase) ?? []), r]);
    const activeBefore = log.active.batches.map((b) => Buffer.from(b));
    const lastsBefore = await producerLasts(log);
    const plan = await cleaner.plan(log, CONFIG);
    const result = await cleaner.clean(log, CONFIG, { force: true });
    const after = recordsOf(log);
    if (result === undefined) {
      expect(after).toEqual(before);
      continue;
    }
    const mapEnd = result.mapEndOffset;
    expect(mapEnd).toBeGreaterThan(plan.firstDirtyOffset);
    expect(mapEnd).toBeLessThanOrEqual(plan.firstUncleanableOffset);
    if (mapEntries >= 10_000) expect(mapEnd).toBe(plan.firstUncleanableOffset);
    exercised.cleanings++;
    if (mapEnd < plan.firstUncleanableOffset) exercised.partialMaps++;
    if (plan.firstUncleanableOffset < log.active.baseOffset) exercised.highWatermarkBound++;
    exercised.recordsRemoved += result.recordsRemoved;
    const afterOffsets = new Set(after.map((r) => r.offset));
    exercised.tombstonesExpired += before.filter(
      (r) => r.value === null && r.horizonMs !== undefined && !afterOffsets.has(r.offset),
    ).length;
    expect(log.checkpoint).toBe(mapEnd);
    expect(after.map(content)).toEqual(
      expectedAfter(before, mapEnd, scenario.clock.nowMs()).map(content),
    );
    const lastsAfter = checkBatches(scenario, mapEnd, beforeByBatch);
    expect(lastsAfter).toEqual(lastsBefore);
    checkHistory(scenario, before, after, mapEnd);
    expect(log.active.batches).toEqual(activeBefore);
  }
}

describe('compaction against the model', () => {
  const base = Number(process.env.TEST_SEED ?? 1000);
  for (let i = 0; i < 24; i++) {
    const seed = base + i;
    test(`seed ${seed}`, async () => {
      await runScenario(seed);
    });
  }

  test('the scenarios exercised every rule', () => {
    for (const [what, count] of Object.entries(exercised)) expect(count, what).toBeGreaterThan(0);
  });
});
