/**
 * StorageRaftLog against the in-memory reference (MemoryRaftLog) on a MemoryFileSystem that
 * loses unsynced bytes on crash: seeded random appends, truncations (also inside batches),
 * flushes, snapshots and crashes. After every step the volatile views agree; after a crash the
 * reopened log holds at least everything flushed, nothing that was not appended, and the
 * PartitionLog's leader-epoch cache agrees with the entries.
 */
import { describe, expect, it } from 'vitest';
import { MemoryRaftLog } from '../../../src/raft/memory-log.ts';
import type { RaftEntry } from '../../../src/raft/messages.ts';
import { listSnapshots, snapshotFileName } from '../../../src/raft/snapshot-files.ts';
import { StorageRaftLog } from '../../../src/raft/storage-raft-log.ts';
import { SimClock } from '../../../src/util/clock.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';

const dir = '/data/__cluster_metadata-0';
const snapshotBytesMax = 1024 * 1024;

function open(fs: MemoryFileSystem, seed: number): Promise<StorageRaftLog> {
  return StorageRaftLog.open({
    fs,
    clock: new SimClock(),
    random: new SeededRandom(seed),
    dir,
    snapshotBytesMax,
    // Small segments so that rolls, and snapshots deleting whole segments, happen.
    segmentBytes: 600,
  });
}

function entriesOf(log: {
  startOffset(): number;
  endOffset(): number;
  read: MemoryRaftLog['read'];
}) {
  return log.read(log.startOffset(), log.endOffset() - log.startOffset());
}

function plain(entries: readonly RaftEntry[]) {
  return entries.map((e) => ({ ...e, data: Buffer.from(e.data).toString('hex') }));
}

/** Rebuilds a reference log equal to `log` (after a reopen), all of it durable. */
function referenceOf(log: StorageRaftLog): MemoryRaftLog {
  const model = new MemoryRaftLog();
  const snapshot = log.latestSnapshot();
  if (snapshot) model.installSnapshot(snapshot);
  model.append(entriesOf(log));
  model.flush();
  return model;
}

function expectSameView(log: StorageRaftLog, model: MemoryRaftLog): void {
  expect(log.startOffset()).toBe(model.startOffset());
  expect(log.endOffset()).toBe(model.endOffset());
  expect(log.lastEpoch()).toBe(model.lastEpoch());
  expect(log.latestSnapshot()?.id).toEqual(model.latestSnapshot()?.id);
  expect(plain(entriesOf(log))).toEqual(plain(entriesOf(model)));
  for (let epoch = 0; epoch <= model.lastEpoch() + 1; epoch++) {
    expect(log.endOffsetForEpoch(epoch)).toEqual(model.endOffsetForEpoch(epoch));
  }
}

/** The PartitionLog's epoch cache matches the view once the queue is drained. */
function expectEpochCacheMatches(log: StorageRaftLog): void {
  const plog = log.partitionLog;
  // A truncation at the snapshot's end drops the whole batch holding it: the PartitionLog may
  // end below the snapshot while the view is empty.
  expect(Math.max(plog.logEndOffset, log.startOffset())).toBe(log.endOffset());
  for (let epoch = log.latestSnapshot()?.id.epoch ?? 0; epoch <= log.lastEpoch(); epoch++) {
    const fromCache = plog.leaderEpochs.endOffsetFor(epoch, plog.logEndOffset);
    const fromView = log.endOffsetForEpoch(epoch);
    if (fromView.endOffset <= log.startOffset()) continue;
    expect({ epoch: fromCache?.epoch, end: fromCache?.startOffset }).toEqual({
      epoch: fromView.epoch,
      end: fromView.endOffset,
    });
  }
}

async function runSeed(seed: number, steps: number): Promise<{ crashes: number; end: number }> {
  const random = new SeededRandom(seed);
  let fs = new MemoryFileSystem(random.fork());
  let log = await open(fs, seed);
  let model = new MemoryRaftLog();
  let epoch = 1;
  let crashes = 0;
  let value = 0;
  for (let step = 0; step < steps; step++) {
    const roll = random.int(0, 99);
    if (roll < 45) {
      if (random.chance(0.2)) epoch += random.int(1, 2);
      const kind = random.chance(0.1) ? 'leader-change' : 'data';
      const entries: RaftEntry[] = [];
      for (let i = random.int(1, 6); i > 0; i--) {
        const data = Buffer.alloc(random.int(0, 40), ++value & 0xff);
        entries.push({ offset: model.endOffset() + entries.length, epoch, kind, data });
      }
      log.append(entries);
      model.append(entries);
    } else if (roll < 55 && model.endOffset() > model.startOffset()) {
      const offset = random.int(model.startOffset(), model.endOffset() - 1);
      log.truncateTo(offset);
      model.truncateTo(offset);
    } else if (roll < 75) {
      const durable = await log.flushDurably();
      expect(durable).toBe(model.flush());
    } else if (roll < 85 && model.durableEndOffset() > model.startOffset()) {
      const endOffset = random.int(model.startOffset() + 1, model.durableEndOffset());
      const snapshot = {
        id: { endOffset, epoch: model.epochAt(endOffset - 1) },
        data: Buffer.from(`state@${endOffset}`),
      };
      log.storeSnapshot(snapshot);
      model.storeSnapshot(snapshot);
    } else if (roll < 95) {
      ({ fs, log, model } = await crashAndReopen(fs, log, model, random, seed));
      crashes++;
    } else {
      await log.settled();
      expectEpochCacheMatches(log);
    }
    expect(log.failure).toBeUndefined();
    expectSameView(log, model);
  }
  await log.settled();
  expectEpochCacheMatches(log);
  return { crashes, end: log.endOffset() };
}

async function crashAndReopen(
  fs: MemoryFileSystem,
  log: StorageRaftLog,
  model: MemoryRaftLog,
  random: SeededRandom,
  seed: number,
) {
  // Rewrites (truncations, snapshots) reach the disk before the driver reveals them, so the
  // crash comes after they settled; appends may still be in flight or unsynced.
  await log.settled();
  const before = entriesOf(log);
  const durableEnd = model.durableEndOffset();
  const snapshotBefore = log.latestSnapshot()?.id;
  const rebooted = fs.crash();
  const reopened = await open(rebooted, seed + 1);
  expect(reopened.latestSnapshot()?.id).toEqual(snapshotBefore);
  expect(reopened.endOffset()).toBeGreaterThanOrEqual(durableEnd);
  expect(reopened.endOffset()).toBeLessThanOrEqual(log.endOffset());
  const kept = entriesOf(reopened);
  const start = reopened.startOffset();
  expect(plain(kept)).toEqual(plain(before.slice(0, kept.length)));
  expect(start).toBe(log.startOffset());
  model.crash();
  expect(reopened.endOffset() >= model.endOffset()).toBe(true);
  await reopened.settled();
  expectEpochCacheMatches(reopened);
  void random;
  return { fs: rebooted, log: reopened, model: referenceOf(reopened) };
}

describe('StorageRaftLog', () => {
  it('matches the reference through appends, truncations, snapshots and crashes', async () => {
    let crashes = 0;
    let entries = 0;
    for (let seed = 1; seed <= 40; seed++) {
      try {
        const result = await runSeed(seed, 120);
        crashes += result.crashes;
        entries += result.end;
      } catch (error) {
        throw new Error(`seed ${seed}: ${(error as Error).message}`, { cause: error });
      }
    }
    expect(crashes).toBeGreaterThan(100);
    expect(entries).toBeGreaterThan(500);
  });

  it('keeps batches per epoch run with partitionLeaderEpoch = the epoch', async () => {
    const fs = new MemoryFileSystem(new SeededRandom(7));
    const log = await open(fs, 7);
    const data = Buffer.from('x');
    log.append([
      { offset: 0, epoch: 1, kind: 'leader-change', data },
      { offset: 1, epoch: 1, kind: 'data', data },
      { offset: 2, epoch: 1, kind: 'data', data },
      { offset: 3, epoch: 3, kind: 'data', data },
    ]);
    expect(await log.flushDurably()).toBe(4);
    expect(log.partitionLog.leaderEpochs.entries).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 3 },
    ]);
    // Inside the (1, 2) batch: offset 1 stays, the PartitionLog dropped the batch whole.
    log.truncateTo(2);
    await log.settled();
    expect(log.partitionLog.logEndOffset).toBe(2);
    const reopened = await open(fs.crash(), 8);
    expect(plain(entriesOf(reopened)).map((e) => [e.offset, e.epoch, e.kind])).toEqual([
      [0, 1, 'leader-change'],
      [1, 1, 'data'],
    ]);
  });

  it('writes snapshots as <endOffset>-<epoch>.checkpoint and keeps only the latest', async () => {
    const fs = new MemoryFileSystem(new SeededRandom(9));
    const log = await open(fs, 9);
    const entries: RaftEntry[] = [];
    for (let offset = 0; offset < 50; offset++) {
      entries.push({ offset, epoch: 2, kind: 'data', data: Buffer.alloc(30, offset) });
    }
    log.append(entries);
    await log.flushDurably();
    log.storeSnapshot({ id: { endOffset: 20, epoch: 2 }, data: Buffer.from('a') });
    log.storeSnapshot({ id: { endOffset: 40, epoch: 2 }, data: Buffer.from('b') });
    await log.settled();
    expect(snapshotFileName({ endOffset: 40, epoch: 2 })).toBe(
      '00000000000000000040-0000000002.checkpoint',
    );
    expect(await listSnapshots(fs, dir)).toEqual([{ endOffset: 40, epoch: 2 }]);
    // Whole segments below the snapshot are gone from the PartitionLog.
    expect(log.partitionLog.logStartOffset).toBeGreaterThan(0);
    const reopened = await open(fs.crash(), 10);
    expect(reopened.startOffset()).toBe(40);
    expect(Buffer.from(reopened.latestSnapshot()?.data ?? []).toString()).toBe('b');
    expect(reopened.read(40, 100).map((e) => e.offset)).toEqual([
      40, 41, 42, 43, 44, 45, 46, 47, 48, 49,
    ]);
  });

  it('replaces the log by an installed snapshot, durably', async () => {
    const fs = new MemoryFileSystem(new SeededRandom(11));
    const log = await open(fs, 11);
    log.append([{ offset: 0, epoch: 1, kind: 'data', data: Buffer.from('old') }]);
    await log.flushDurably();
    log.installSnapshot({ id: { endOffset: 100, epoch: 4 }, data: Buffer.from('leader state') });
    expect(log.hasUnsettledRewrites).toBe(true);
    await log.settled();
    expect(log.hasUnsettledRewrites).toBe(false);
    const reopened = await open(fs.crash(), 12);
    expect(reopened.startOffset()).toBe(100);
    expect(reopened.endOffset()).toBe(100);
    expect(reopened.lastEpoch()).toBe(4);
    reopened.append([{ offset: 100, epoch: 4, kind: 'data', data: Buffer.from('next') }]);
    expect(await reopened.flushDurably()).toBe(101);
  });

  it('fails for good on an I/O error instead of diverging from the disk', async () => {
    const fs = new MemoryFileSystem(new SeededRandom(13));
    const failures: Error[] = [];
    const log = await StorageRaftLog.open({
      fs,
      clock: new SimClock(),
      random: new SeededRandom(13),
      dir,
      snapshotBytesMax,
      onFailure: (error) => failures.push(error),
    });
    fs.crash(); // this instance now rejects every call with EIO
    log.append([{ offset: 0, epoch: 1, kind: 'data', data: Buffer.from('x') }]);
    await expect(log.flushDurably()).rejects.toThrow();
    expect(failures).toHaveLength(1);
    expect(log.failure).toBe(failures[0]);
  });
});
