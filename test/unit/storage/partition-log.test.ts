import { describe, expect, test } from 'vitest';
import { RecordBatchView } from '../../../protocol/records/batch.ts';
import { SimClock } from '../../../src/util/clock.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import type { FileRegion } from '../../../storage/io/file-region.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';
import { type LogConfig, resolveLogConfig } from '../../../storage/log/log-config.ts';
import type { PartitionLog } from '../../../storage/log/partition-log.ts';
import { createStorageEnv, type StorageEnv } from '../../../storage/log/storage-env.ts';
import { simpleBatch } from './batch-builder.ts';
import { LOG_DIR, materialize, openLog } from './log-harness.ts';

const T0 = 1_700_000_000_000;

async function setup(overrides: Partial<LogConfig> = {}, seed = 1) {
  const fs = new MemoryFileSystem(new SeededRandom(seed));
  const env = createStorageEnv(fs);
  const clock = new SimClock(T0);
  const config = resolveLogConfig(undefined, { segmentBytes: 4000, ...overrides });
  const log = await openLog(env, clock, config);
  return { fs, env, clock, config, log };
}

async function fill(log: PartitionLog, batches: number, records = 4, valueBytes = 200) {
  for (let i = 0; i < batches; i++) {
    await log.appendAsLeader(simpleBatch(records, valueBytes, { fill: i }), { leaderEpoch: 1 });
  }
}

async function readAll(fs: MemoryFileSystem, log: PartitionLog, from = log.logStartOffset) {
  const views: RecordBatchView[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const result = await log.read(offset, { maxBytes: 1 << 20 });
    const bytes = await materialize(fs, result);
    let at = 0;
    while (at < bytes.length) {
      const view = new RecordBatchView(bytes.subarray(at));
      views.push(new RecordBatchView(bytes.subarray(at, at + view.sizeBytes)));
      at += view.sizeBytes;
    }
    offset = result.nextOffset;
  }
  return views;
}

describe('appends', () => {
  test('leader appends assign offsets and stamp the epoch without touching the CRC', async () => {
    const { log } = await setup();
    const batch = simpleBatch(3, 10);
    const crcBefore = new RecordBatchView(batch).crc;
    const first = await log.appendAsLeader(batch, { leaderEpoch: 7 });
    const second = await log.appendAsLeader(simpleBatch(2, 10), { leaderEpoch: 7 });
    expect([first.firstOffset, first.lastOffset, second.firstOffset]).toEqual([0, 2, 3]);
    const view = new RecordBatchView(batch);
    expect(view.partitionLeaderEpoch).toBe(7);
    expect(view.crc).toBe(crcBefore);
    expect(view.validate()).toBeUndefined();
    expect(log.leaderEpochs.entries).toEqual([{ epoch: 7, startOffset: 0 }]);
  });

  test('truncateTo at the log end drops an epoch starting there with no batch', async () => {
    // A replica that led epoch 8 and appended nothing before losing it must not go on
    // naming epoch 8 as its last fetched epoch (the leader would answer the same
    // divergence forever); the entries for epochs it wrote in stay.
    const { log } = await setup();
    await log.appendAsLeader(simpleBatch(3, 10), { leaderEpoch: 7 });
    log.leaderEpochs.assign(8, log.logEndOffset);
    expect(log.leaderEpochs.latest?.epoch).toBe(8);
    await log.truncateTo(log.logEndOffset);
    expect(log.leaderEpochs.entries).toEqual([{ epoch: 7, startOffset: 0 }]);
    expect(log.logEndOffset).toBe(3);
  });

  test('LogAppendTime topics get the broker time and a recomputed CRC', async () => {
    const { log, clock } = await setup({ messageTimestampType: 'LogAppendTime' });
    const batch = simpleBatch(2, 10, { baseTimestampMs: 5 });
    const info = await log.appendAsLeader(batch, { leaderEpoch: 0 });
    const view = new RecordBatchView(batch);
    expect(info.logAppendTimeMs).toBe(clock.nowMs());
    expect(view.maxTimestamp).toBe(clock.nowMs());
    expect(view.isLogAppendTime).toBe(true);
    expect(view.validate()).toBeUndefined();
  });

  test('hostile input is refused with a code; the log stays usable', async () => {
    const { log } = await setup({ maxMessageBytes: 500 });
    const corrupt = simpleBatch(2, 10);
    corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] as number) ^ 0xff;
    await expect(log.appendAsLeader(corrupt, { leaderEpoch: 0 })).rejects.toMatchObject({
      code: 'storage-invalid-append',
    });
    const torn = simpleBatch(2, 10).subarray(0, 40);
    await expect(log.appendAsLeader(torn, { leaderEpoch: 0 })).rejects.toMatchObject({
      code: 'storage-invalid-append',
    });
    await expect(log.appendAsLeader(simpleBatch(2, 400), { leaderEpoch: 0 })).rejects.toMatchObject(
      { code: 'storage-record-too-large' },
    );
    expect((await log.appendAsLeader(simpleBatch(1, 10), { leaderEpoch: 0 })).firstOffset).toBe(0);
  });

  test('follower appends keep the leader offsets and epochs; overlaps are refused', async () => {
    const { log } = await setup();
    await log.appendAsFollower(simpleBatch(3, 10, { baseOffset: 0, epoch: 2 }));
    await log.appendAsFollower(simpleBatch(2, 10, { baseOffset: 10, epoch: 4 }));
    expect(log.logEndOffset).toBe(12);
    expect(log.leaderEpochs.entries).toEqual([
      { epoch: 2, startOffset: 0 },
      { epoch: 4, startOffset: 10 },
    ]);
    await expect(
      log.appendAsFollower(simpleBatch(1, 10, { baseOffset: 11 })),
    ).rejects.toMatchObject({ code: 'storage-invalid-append' });
    const read = await log.read(5, { maxBytes: 1000 });
    expect(read.nextOffset).toBe(12);
  });
});

describe('durability', () => {
  test('fsync mode: concurrent appends share fsyncs and resolve only once durable', async () => {
    const { fs, log } = await setup({ durability: 'fsync' });
    // The first append also writes the leader-epoch file; count the log's fsyncs after it.
    await fill(log, 1);
    const before = fs.fsyncCount;
    const seenDurable: boolean[] = [];
    const appends = Array.from({ length: 20 }, (_, i) =>
      log.appendAsLeader(simpleBatch(1, 50, { fill: i }), { leaderEpoch: 0 }).then((info) => {
        seenDurable.push(log.durableEndOffset > info.lastOffset);
      }),
    );
    await Promise.all(appends);
    expect(seenDurable).toEqual(Array(20).fill(true));
    expect(fs.fsyncCount - before).toBeLessThanOrEqual(2);
  });

  test('kafka mode: appends resolve before any fsync; flush.messages triggers one', async () => {
    const { fs, log } = await setup({ durability: 'kafka', flushMessages: 10 });
    await fill(log, 1, 1);
    const before = fs.fsyncCount;
    await fill(log, 2, 4);
    expect(fs.fsyncCount).toBe(before);
    expect(log.durableEndOffset).toBe(0);
    await log.appendAsLeader(simpleBatch(4, 10), { leaderEpoch: 1 });
    // 13 unflushed messages >= flush.messages: the log flushes by itself (no flush() call).
    await new Promise((resolve) => setImmediate(resolve));
    expect(fs.fsyncCount).toBe(before + 1);
    expect(log.durableEndOffset).toBe(13);
  });

  test('kafka mode: flush.ms flushes on the injected clock', async () => {
    const { log, clock } = await setup({ durability: 'kafka', flushMs: 1000 });
    await fill(log, 1, 3);
    expect(log.durableEndOffset).toBe(0);
    clock.advance(999);
    await Promise.resolve();
    expect(log.durableEndOffset).toBe(0);
    clock.advance(1);
    await log.flush();
    expect(log.durableEndOffset).toBe(3);
  });
});

describe('segments', () => {
  test('roll by segment.bytes, segment.ms with jitter, and full indexes', async () => {
    const { log } = await setup({ segmentBytes: 2000 });
    await fill(log, 6, 2, 300);
    const sizes = log.segments().map((s) => s.sizeBytes);
    expect(sizes.every((size) => size <= 2000)).toBe(true);
    expect(log.segments().length).toBeGreaterThan(1);

    const timed = await setup({ segmentMs: 1000, segmentJitterMs: 400 }, 2);
    await fill(timed.log, 1);
    // Rolls when the segment is older than segment.ms minus a jitter in [0, 400).
    timed.clock.advance(600);
    await fill(timed.log, 1);
    expect(timed.log.segments().length).toBe(1);
    timed.clock.advance(401);
    await fill(timed.log, 1);
    expect(timed.log.segments().length).toBe(2);

    const small = await setup({ segmentIndexBytes: 16, indexIntervalBytes: 0 }, 3);
    await fill(small.log, 5, 1, 10);
    expect(small.log.segments().length).toBeGreaterThan(1);
  });

  test('reads right after an append come from the tail cache as Buffers', async () => {
    const { log } = await setup({ tailCacheBytes: 64 * 1024 });
    await fill(log, 3, 2, 50);
    const result = await log.read(2, { maxBytes: 10_000 });
    expect(result.chunks.every((c) => Buffer.isBuffer(c))).toBe(true);
    expect(result.nextOffset).toBe(6);
    const cold = await setup({ tailCacheBytes: 0 });
    await fill(cold.log, 3, 2, 50);
    const fromFile = await cold.log.read(2, { maxBytes: 10_000 });
    expect(Buffer.isBuffer(fromFile.chunks[0])).toBe(false);
    const bytes = await materialize(cold.fs, fromFile);
    expect(bytes.equals(await materialize(cold.fs, result))).toBe(true);
  });

  test('a read returns its first batch whole and stops at maxOffset', async () => {
    const { fs, log } = await setup({ tailCacheBytes: 0 });
    await fill(log, 4, 5, 100);
    const one = await log.read(7, { maxBytes: 1 });
    expect(one.nextOffset).toBe(10);
    expect(new RecordBatchView(await materialize(fs, one)).baseOffset).toBe(5);
    const bounded = await log.read(0, { maxBytes: 1 << 20, maxOffset: 12 });
    expect(bounded.nextOffset).toBe(10);
    await expect(log.read(21, { maxBytes: 100 })).rejects.toMatchObject({
      code: 'storage-offset-out-of-range',
    });
    expect((await log.read(20, { maxBytes: 100 })).chunks).toEqual([]);
  });
});

describe('readers across roll, retention and compaction', () => {
  async function pinnedRegion(env: StorageEnv, fs: MemoryFileSystem, log: PartitionLog) {
    const result = await log.read(0, { maxBytes: 500 });
    const region = result.chunks[0] as FileRegion;
    expect(region.kind).toBe('file-region');
    const expected = await materialize(fs, { ...result, chunks: [{ ...region, release() {} }] });
    return { region, expected, env };
  }

  test('a region stays readable after its segment is deleted; unlinked on release', async () => {
    const { fs, env, log } = await setup({ tailCacheBytes: 0, segmentBytes: 1500 });
    await fill(log, 8, 2, 200);
    log.setHighWatermark(log.logEndOffset);
    const { region, expected } = await pinnedRegion(env, fs, log);
    await log.roll();
    expect(await log.deleteOldestSegments(2)).toBe(2);
    await env.handles.settle();
    expect((await fs.readdir(LOG_DIR)).some((n) => n.endsWith('.log.deleted'))).toBe(true);
    const again = Buffer.alloc(region.length);
    await fs.read(region.fd, again, region.position);
    expect(again.equals(expected)).toBe(true);
    region.release();
    region.release();
    await env.handles.settle();
    expect((await fs.readdir(LOG_DIR)).some((n) => n.includes('.deleted'))).toBe(false);
    expect(log.logStartOffset).toBe(log.segments()[0]?.baseOffset);
  });

  test('retention never deletes past the high watermark', async () => {
    const { log } = await setup({ segmentBytes: 1500 });
    await fill(log, 8, 2, 200);
    log.setHighWatermark(0);
    expect(await log.deleteOldestSegments(5)).toBe(0);
    log.setHighWatermark(log.segments()[1]?.baseOffset ?? 0);
    expect(await log.deleteOldestSegments(5)).toBe(1);
  });

  test('replaceSegments swaps in a cleaned segment; old readers are unaffected', async () => {
    const { fs, env, log, clock, config } = await setup({ tailCacheBytes: 0, segmentBytes: 1500 });
    await fill(log, 8, 2, 200);
    const { region, expected } = await pinnedRegion(env, fs, log);
    const [first, second] = log.segments();
    const cleaned = await log.createCleanedSegment(first?.baseOffset ?? 0);
    const kept: RecordBatchView[] = [];
    for (const info of [first, second]) {
      const bytes = await log.readSegmentBatches(info?.baseOffset ?? 0, 0, 1 << 20);
      let at = 0;
      let i = 0;
      while (at < bytes.length) {
        const view = new RecordBatchView(bytes.subarray(at));
        const batch = Buffer.from(bytes.subarray(at, at + view.sizeBytes));
        if (i++ % 2 === 0) {
          await cleaned.append(batch);
          kept.push(new RecordBatchView(batch));
        }
        at += view.sizeBytes;
      }
    }
    await log.replaceSegments([first?.baseOffset ?? 0, second?.baseOffset ?? 0], cleaned);
    const after = await readAll(fs, log);
    expect(after.slice(0, kept.length).map((v) => v.baseOffset)).toEqual(
      kept.map((v) => v.baseOffset),
    );
    const again = Buffer.alloc(region.length);
    await fs.read(region.fd, again, region.position);
    expect(again.equals(expected)).toBe(true);
    region.release();
    await log.close();
    const reopened = await openLog(env, clock, config, { cleanShutdown: false });
    expect((await readAll(fs, reopened)).map((v) => v.baseOffset)).toEqual(
      after.map((v) => v.baseOffset),
    );
    expect((await fs.readdir(LOG_DIR)).some((n) => /cleaned|swap|deleted/.test(n))).toBe(false);
  });

  test('a crash anywhere in replaceSegments leaves the old or the new segments', async () => {
    const outcomes = new Set<string>();
    for (let ticks = 0; ticks < 60; ticks += 3) {
      const random = new SeededRandom(ticks + 1);
      let fs = new MemoryFileSystem(random.fork());
      const clock = new SimClock(T0);
      const config = resolveLogConfig(undefined, { segmentBytes: 1500, tailCacheBytes: 0 });
      const log = await openLog(createStorageEnv(fs), clock, config);
      await fill(log, 8, 2, 200);
      const before = (await readAll(fs, log)).map((v) => v.baseOffset);
      const [first] = log.segments();
      const cleaned = await log.createCleanedSegment(0);
      const firstBatch = await log.readSegmentBatches(0, 0, 1);
      await cleaned.append(firstBatch);
      const replacing = log.replaceSegments([first?.baseOffset ?? 0], cleaned);
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      fs = fs.crash();
      await replacing.catch(() => undefined);
      const reopened = await openLog(createStorageEnv(fs), clock, config);
      const offsets = (await readAll(fs, reopened)).map((v) => v.baseOffset);
      const expectedAfter = [0, ...before.filter((o) => o >= (first?.endOffset ?? 0))];
      expect([before, expectedAfter]).toContainEqual(offsets);
      outcomes.add(offsets.length === before.length ? 'old' : 'new');
    }
    expect(outcomes).toEqual(new Set(['old', 'new']));
  });
});

describe('truncation and log start', () => {
  test('truncateTo removes the batch holding the offset and later epochs', async () => {
    const { log } = await setup();
    await log.appendAsLeader(simpleBatch(5, 10), { leaderEpoch: 1 });
    await log.appendAsLeader(simpleBatch(5, 10), { leaderEpoch: 2 });
    log.setHighWatermark(10);
    await log.truncateTo(7);
    expect(log.logEndOffset).toBe(5);
    expect(log.highWatermark).toBe(5);
    expect(log.leaderEpochs.entries).toEqual([{ epoch: 1, startOffset: 0 }]);
    expect((await log.appendAsLeader(simpleBatch(1, 10), { leaderEpoch: 3 })).firstOffset).toBe(5);
  });

  test('deleteRecordsBefore moves the start offset, never past the high watermark', async () => {
    const { log } = await setup({ segmentBytes: 1500 });
    await fill(log, 8, 2, 200);
    await expect(log.deleteRecordsBefore(3)).rejects.toMatchObject({
      code: 'storage-offset-out-of-range',
    });
    log.setHighWatermark(12);
    expect(await log.deleteRecordsBefore(9)).toBe(9);
    expect(log.segments()[0]?.baseOffset).toBeLessThanOrEqual(9);
    await expect(log.read(8, { maxBytes: 10 })).rejects.toMatchObject({
      code: 'storage-offset-out-of-range',
    });
    expect((await log.read(9, { maxBytes: 10 })).nextOffset).toBe(10);
  });

  test('truncateFullyAndStartAt empties the log at a new offset', async () => {
    const { log } = await setup();
    await fill(log, 3);
    await log.truncateFullyAndStartAt(500);
    expect([log.logStartOffset, log.logEndOffset, log.highWatermark]).toEqual([500, 500, 500]);
    expect((await log.appendAsLeader(simpleBatch(1, 10), { leaderEpoch: 4 })).firstOffset).toBe(
      500,
    );
  });
});

describe('producer snapshots', () => {
  test('written atomically, newest sound one read back, dropped on truncation', async () => {
    const { fs, log } = await setup();
    await fill(log, 5, 2);
    const entry = {
      producerId: 1,
      epoch: 0,
      lastSequence: 3,
      lastOffset: 3,
      offsetDelta: 1,
      timestampMs: T0,
      coordinatorEpoch: -1,
      currentTxnFirstOffset: -1,
    };
    await log.writeProducerSnapshot(4, [entry]);
    await log.writeProducerSnapshot(8, [{ ...entry, lastOffset: 7 }]);
    expect(await log.latestProducerSnapshot()).toEqual({
      offset: 8,
      entries: [{ ...entry, lastOffset: 7 }],
    });
    const path = `${LOG_DIR}/00000000000000000008.snapshot`;
    const fd = await fs.open(path, 'write');
    await fs.write(fd, Buffer.from([0xff]), 20);
    await fs.close(fd);
    expect((await log.latestProducerSnapshot())?.offset).toBe(4);
    expect(await fs.stat(path)).toBeUndefined();
    await log.truncateTo(3);
    expect(await log.latestProducerSnapshot()).toBeUndefined();
    await expect(log.writeProducerSnapshot(99, [])).rejects.toMatchObject({
      code: 'storage-offset-out-of-range',
    });
  });
});

describe('index files on open', () => {
  test('a missing or inconsistent index is rebuilt from the log on first use', async () => {
    const { fs, env, clock, config, log } = await setup({
      tailCacheBytes: 0,
      segmentBytes: 3000,
      indexIntervalBytes: 100,
    });
    await fill(log, 12, 2, 150);
    const before = await readAll(fs, log);
    await log.close();
    const names = (await fs.readdir(LOG_DIR)).filter((n) => n.endsWith('.index')).sort();
    const broken = `${LOG_DIR}/${names[0]}`;
    const missing = `${LOG_DIR}/${names[1]}`;
    const bytes = fs.fileBytes(broken) as Buffer;
    expect(bytes.length).toBeGreaterThanOrEqual(16);
    // Point the last entry at the wrong batch: offsets still increase, positions too.
    const fd = await fs.open(broken, 'write');
    const last = bytes.length - 8;
    await fs.write(fd, Buffer.from([0, 0, 0, 1]), last + 4);
    await fs.close(fd);
    await fs.unlink(missing);
    const reopened = await openLog(env, clock, config, { cleanShutdown: true });
    const after = await readAll(fs, reopened);
    expect(after.map((v) => v.buf.toString('hex'))).toEqual(
      before.map((v) => v.buf.toString('hex')),
    );
    const rebuilt = fs.fileBytes(broken) as Buffer;
    const logBytes = fs.fileBytes(broken.replace('.index', '.log')) as Buffer;
    for (let at = 0; at < rebuilt.length; at += 8) {
      const view = new RecordBatchView(logBytes.subarray(rebuilt.readInt32BE(at + 4)));
      expect(view.lastOffset).toBe(Number(names[0]?.slice(0, 20)) + rebuilt.readInt32BE(at));
    }
    expect(await fs.stat(missing)).toBeDefined();
  });
});
