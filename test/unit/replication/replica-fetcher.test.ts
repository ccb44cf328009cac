/**
 * ReplicaFetcherManager against a real leader (replica-fetcher-harness.ts): real Fetch v17,
 * OffsetForLeaderEpoch v4 and ListOffsets v9 bytes through a KafkaServer and a NodeClient on
 * 127.0.0.1, real PartitionLogs on MemoryFileSystems on both sides. Logs are compared byte
 * for byte at the end of every scenario.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildBatch } from '../../../protocol/records/batch-builder.ts';
import { truncationOffset } from '../../../src/replication/follower-partition.ts';
import { materialize } from '../storage/log-harness.ts';
import {
  BROKER_EPOCH,
  baseSettings,
  batchOffsets,
  cleanups,
  expectContiguous,
  expectIdentical,
  FOLLOWER_ID,
  type Follower,
  fetcherManager,
  fill,
  follower,
  followerLog,
  HoldableFileSystem,
  type LeaderPartition,
  leaderPartition,
  logBytes,
  type OpenedLog,
  openLog,
  RecordingClock,
  runCleanups,
  SEED,
  startLeader,
  until,
} from './replica-fetcher-harness.ts';

afterEach(runCleanups);

describe(`ReplicaFetcherManager against a real leader (seed ${SEED})`, () => {
  it('catches up 10k records in bounded requests; HW and log start follow', async () => {
    const leader = await startLeader(1);
    const sizes = [10_000, 1_000, 500];
    const parts: LeaderPartition[] = [];
    for (const [i, records] of sizes.entries()) {
      const p = await leaderPartition(leader, 'orders', i, 1);
      await fill(p.opened.log, 1, records / 50, 50, `p${i}-`);
      parts.push(p);
    }
    (parts[0] as LeaderPartition).highWatermark = 9_000;
    const manager = fetcherManager([leader], { settings: { partitionsPerRequestMax: 2 } });
    const followers: Follower[] = [];
    for (const p of parts) {
      const f = follower(leader, p, await followerLog('orders', p.partition));
      followers.push(f);
      manager.follow(f);
    }
    const [f0] = followers as [Follower];
    await until(
      () => followers.every((f, i) => f.log.logEndOffset === sizes[i]),
      'every follower log to reach its leader end',
    );
    await until(() => f0.log.highWatermark === 9_000, 'the leader HW (below its end)');
    expect(f0.log.highWatermark).toBe(9_000);
    for (const [i, f] of followers.entries()) {
      await expectIdentical((parts[i] as LeaderPartition).opened, f.opened);
      expect(expectContiguous(f.appended, 0)).toBe(sizes[i]);
      expect(f.truncations).toEqual([]);
    }

    // The leader moves its HW to its end and deletes its head: the follower follows both.
    const p0 = parts[0] as LeaderPartition;
    p0.highWatermark = undefined;
    p0.opened.log.setHighWatermark(10_000);
    await p0.opened.log.deleteRecordsBefore(3_000);
    await leader.append(p0, 2, 50, 'more-');
    await until(() => f0.log.logStartOffset === 3_000, 'the leader log start');
    await until(() => f0.log.highWatermark === 10_100, 'the HW at the new end');
    await expectIdentical(p0.opened, f0.opened);

    const fetches = leader.fetches;
    expect(fetches.length).toBeGreaterThan(20);
    const offsetsSeen = new Map<string, number>();
    for (const request of fetches) {
      expect(request.replicaState).toMatchObject({
        replicaId: FOLLOWER_ID,
        replicaEpoch: BROKER_EPOCH,
      });
      expect(request).toMatchObject({ sessionId: 0, sessionEpoch: -1, isolationLevel: 0 });
      expect(request.maxBytes).toBe(baseSettings.responseMaxBytes);
      const asked = request.topics.flatMap((t) => t.partitions.map((p) => ({ t, p })));
      expect(asked.length).toBeLessThanOrEqual(2);
      for (const { t, p } of asked) {
        expect(t.topicId).toBe(p0.topicId);
        expect(p.partitionMaxBytes).toBe(baseSettings.maxBytes);
        expect(p.currentLeaderEpoch).toBe(1);
        expect(p.lastFetchedEpoch).toBe(p.fetchOffset === 0 ? -1 : 1);
        const key = `${p.partition}`;
        expect(p.fetchOffset).toBeGreaterThanOrEqual(offsetsSeen.get(key) ?? 0);
        offsetsSeen.set(key, p.fetchOffset);
      }
    }
  });

  it('drops a partial batch at the end of an answer and fetches it whole next time', async () => {
    const leader = await startLeader(1);
    const p = await leaderPartition(leader, 'cut', 0, 3);
    await fill(p.opened.log, 3, 40, 20, 'cut-');
    p.cutTailBytes = 37;
    const manager = fetcherManager([leader], { settings: { maxBytes: 2_000 } });
    const f = follower(leader, p, await followerLog('cut', 0));
    manager.follow(f);
    await until(() => f.log.logEndOffset === 800, 'the follower to reach 800');
    await expectIdentical(p.opened, f.opened);
    const bases = new Set(batchOffsets(await logBytes(p.opened)).map((b) => b.base));
    for (const request of leader.fetches) {
      const fetchOffset = request.topics[0]?.partitions[0]?.fetchOffset ?? -1;
      expect(bases.has(fetchOffset) || fetchOffset === 800).toBe(true);
    }
  });

  it('truncates a divergent tail exactly to the divergence point (KIP-320/279)', async () => {
    const leader = await startLeader(1);
    // Leader: epoch 1 at 0, epoch 2 at 100 (never reached the follower), epoch 4 at 120.
    const p = await leaderPartition(leader, 'ledger', 0, 4);
    await fill(p.opened.log, 1, 10, 10, 'common-');
    await fill(p.opened.log, 2, 2, 10, 'leader2-');
    await fill(p.opened.log, 4, 8, 10, 'leader4-');
    // Follower: the same epoch 1, then its own epoch 3 tail at 100..129 (led epoch 3 alone).
    const opened = await followerLog('ledger', 0);
    await fill(opened.log, 1, 10, 10, 'common-');
    await fill(opened.log, 3, 3, 10, 'follower3-');
    const manager = fetcherManager([leader]);
    const f = follower(leader, p, opened);
    manager.follow(f);
    await until(() => f.log.logEndOffset === 200, 'the follower to reach the leader end');
    await expectIdentical(p.opened, opened);
    // One truncation, straight to 100: the follower does not know epoch 2, so it cuts at the
    // end of its own epoch 1 (the naive min(120, end) would keep 100..119 of epoch 3).
    expect(f.truncations).toEqual([100]);
    const asked = leader.fetches.map((r) => r.topics[0]?.partitions[0]);
    expect(asked[0]).toMatchObject({ fetchOffset: 130, lastFetchedEpoch: 3 });
    expect(asked[1]).toMatchObject({ fetchOffset: 100, lastFetchedEpoch: 1 });
    expect(Math.min(...asked.map((a) => a?.fetchOffset ?? -1))).toBe(100);
    expectContiguous(f.appended, 100);
  });

  it('moves to the new leader mid-stream and truncates to where they differ', async () => {
    const first = await startLeader(1);
    const second = await startLeader(3);
    const a = await leaderPartition(first, 'events', 0, 1);
    await fill(a.opened.log, 1, 100, 50, 'a-');
    const manager = fetcherManager([first, second], { settings: { maxBytes: 16 * 1024 } });
    const f = follower(first, a, await followerLog('events', 0));
    manager.follow(f);
    await until(() => f.log.logEndOffset >= 2_500, 'the follower to be mid-stream');
    await until(() => f.log.logEndOffset === 5_000, 'the follower to reach 5000');

    // The new leader has only the first 4000 offsets of the old one, then its own epoch 2.
    const b = await leaderPartition(second, 'events', 0, 2);
    await copyInto(a.opened, 4_000, b.opened);
    await fill(b.opened.log, 2, 40, 50, 'b-');
    a.isLeader = false;
    const fetchesOfFirst = first.fetches.length;
    manager.follow({ ...f, leaderId: second.brokerId, leaderEpoch: 2 });
    expect(manager.info('events', 0)).toMatchObject({ leaderId: 3, leaderEpoch: 2 });
    await until(() => f.log.logEndOffset === 6_000, 'the follower to reach the new leader end');
    await expectIdentical(b.opened, f.opened);
    expect(f.truncations).toEqual([4_000]);
    // The old leader's fetcher asks nothing more (at most the one already in flight).
    expect(first.fetches.length).toBeLessThanOrEqual(fetchesOfFirst + 1);
    expect(second.fetches[0]?.topics[0]?.partitions[0]).toMatchObject({
      currentLeaderEpoch: 2,
      fetchOffset: 5_000,
      lastFetchedEpoch: 1,
    });
  });

  it('backs off with jitter on the clock while the leader is down, then resumes', async () => {
    const leader = await startLeader(1);
    const p = await leaderPartition(leader, 'down', 0, 1);
    await fill(p.opened.log, 1, 20, 50, 'before-');
    const clock = new RecordingClock();
    const backoffMs = 200;
    const settings = { backoffMs, requestTimeoutMs: 300, waitMaxMs: 50 };
    const manager = fetcherManager([leader], { clock, settings });
    const f = follower(leader, p, await followerLog('down', 0));
    manager.follow(f);
    await until(() => f.log.logEndOffset === 1_000, 'the first catch-up');

    await leader.stop();
    await fill(p.opened.log, 1, 20, 50, 'while-down-');
    await until(() => manager.failedRounds(1) >= 3, 'three failed rounds', 20_000);
    const backoffs = clock.delaysMs.filter((d) => d >= backoffMs * 0.8 && d <= backoffMs * 1.2);
    expect(backoffs.length).toBeGreaterThanOrEqual(3);
    expect(new Set(backoffs).size).toBeGreaterThan(1); // jittered, not lockstep
    expect(f.log.logEndOffset).toBe(1_000);

    await leader.start();
    await until(() => f.log.logEndOffset === 2_000, 'the catch-up after the restart');
    await expectIdentical(p.opened, f.opened);
    expect(manager.failedRounds(1)).toBe(0);
  });

  it('restarts at the leader log start when the leader deleted what it still needs', async () => {
    const leader = await startLeader(1);
    const p = await leaderPartition(leader, 'retained', 0, 1);
    await fill(p.opened.log, 1, 20, 50, 'r-');
    p.opened.log.setHighWatermark(1_000);
    await p.opened.log.deleteRecordsBefore(600);
    const opened = await followerLog('retained', 0);
    await fill(opened.log, 1, 2, 50, 'r-'); // 0..99, the same bytes as the leader had
    const manager = fetcherManager([leader]);
    const f = follower(leader, p, opened);
    manager.follow(f);
    await until(() => f.log.logEndOffset === 1_000, 'the follower to reach 1000');
    await expectIdentical(p.opened, opened);
    expect(f.truncations).toEqual([600]);
    expect(f.log.logStartOffset).toBe(600);
    const earliest = leader.listOffsetQueries[0];
    expect(earliest?.replicaId).toBe(FOLLOWER_ID);
    expect(earliest?.topics[0]?.partitions[0]?.timestamp).toBe(-2);
    expect(leader.epochQueries[0]?.topics[0]?.partitions[0]?.leaderEpoch).toBe(1);
  });

  it('restarts at the start of the batch holding a mid-batch leader log start', async () => {
    const leader = await startLeader(1);
    const p = await leaderPartition(leader, 'midbatch', 0, 1);
    await fill(p.opened.log, 1, 20, 50, 'm-');
    p.opened.log.setHighWatermark(1_000);
    await p.opened.log.deleteRecordsBefore(620); // inside the batch 600..649
    const manager = fetcherManager([leader]);
    const f = follower(leader, p, await followerLog('midbatch', 0));
    manager.follow(f);
    await until(() => f.log.logEndOffset === 1_000, 'the follower to reach 1000');
    expect(f.truncations).toEqual([620, 600]);
    expect(f.log.logStartOffset).toBe(620); // moved up to the leader's again
    await expectIdentical(p.opened, f.opened);
  });

  it('an epoch older than all the leader knows: cut where its first epoch starts', async () => {
    const leader = await startLeader(1);
    const p = await leaderPartition(leader, 'unclean', 0, 5);
    await fill(p.opened.log, 5, 4, 50, 'new-');
    const opened = await followerLog('unclean', 0);
    await fill(opened.log, 1, 2, 50, 'old-'); // epoch 1 only: older than the leader's 5@0
    const manager = fetcherManager([leader]);
    const f = follower(leader, p, opened);
    manager.follow(f);
    await until(() => f.truncations.length > 0 && f.log.logEndOffset === 200, 'convergence');
    await expectIdentical(p.opened, opened);
    expect(f.truncations).toEqual([0]); // Kafka's answer: diverging {epoch 1, endOffset 0}
    expect(leader.epochQueries).toEqual([]);
  });

  it('falls back to OffsetForLeaderEpoch when the leader cannot place its epoch', async () => {
    const leader = await startLeader(1);
    const p = await leaderPartition(leader, 'legacy-leader', 0, 5);
    // The leader's log has no epochs at all (an old format), so the Fetch is out of range.
    for (let i = 0; i < 4; i++) await p.opened.log.appendAsFollower(batchWithoutEpoch(50, i * 50));
    const opened = await followerLog('legacy-leader', 0);
    await fill(opened.log, 1, 2, 50, 'old-');
    const manager = fetcherManager([leader]);
    const f = follower(leader, p, opened);
    manager.follow(f);
    await until(() => f.truncations.length > 0 && f.log.logEndOffset === 200, 'convergence');
    await expectIdentical(p.opened, opened);
    expect(f.truncations).toEqual([0]);
    const epochsAsked = leader.epochQueries.map((q) => q.topics[0]?.partitions[0]?.leaderEpoch);
    expect(epochsAsked).toEqual([5, 1]); // the leader's end, then where our epoch 1 ends
    expect(leader.listOffsetQueries.length).toBe(1); // and its log start
  });

  it('stops on FENCED_LEADER_EPOCH until a newer epoch; retries UNKNOWN_LEADER_EPOCH', async () => {
    const leader = await startLeader(1);
    const p = await leaderPartition(leader, 'epochs', 0, 5);
    await fill(p.opened.log, 5, 2, 50, 'e-');
    const manager = fetcherManager([leader]);
    const f = follower(leader, p, await followerLog('epochs', 0), 4);
    manager.follow(f);
    await until(() => manager.info('epochs', 0)?.status === 'stopped', 'the fenced stop');
    const fetchesWhenStopped = leader.fetches.length;
    manager.follow(f); // same epoch: still stopped
    expect(manager.info('epochs', 0)?.status).toBe('stopped');

    manager.follow({ ...f, leaderEpoch: 6 }); // ahead of the leader: UNKNOWN_LEADER_EPOCH
    await until(() => leader.fetches.length >= fetchesWhenStopped + 2, 'retries');
    expect(manager.info('epochs', 0)?.status).toBe('fetching');
    expect(f.log.logEndOffset).toBe(0);
    p.leaderEpoch = 6;
    await leader.append(p, 1, 50, 'six-');
    await until(() => f.log.logEndOffset === 150, 'the catch-up in epoch 6');
    await expectIdentical(p.opened, f.opened);
  });

  it('retries NOT_LEADER_OR_FOLLOWER and UNKNOWN_TOPIC_ID (a leader still loading)', async () => {
    const leader = await startLeader(1);
    const p = await leaderPartition(leader, 'loading', 0, 2);
    await fill(p.opened.log, 2, 2, 50, 'l-');
    p.isLeader = false; // still becoming leader
    const manager = fetcherManager([leader]);
    const f = follower(leader, p, await followerLog('loading', 0));
    const topicId = 'NewTopicNotYetKnownAAA';
    const newTopic = await openLog('fresh', 0);
    cleanups.push(() => newTopic.log.close());
    const g = follower(leader, { ...p, topic: 'fresh', topicId }, await followerLog('fresh', 0));
    manager.follow(f);
    manager.follow(g);
    await until(() => leader.fetches.length >= 3, 'retries');
    expect(manager.info('loading', 0)?.status).toBe('fetching');
    expect(manager.info('fresh', 0)?.status).toBe('fetching');
    p.isLeader = true;
    await fill(newTopic.log, 2, 1, 50, 'n-');
    leader.add({
      topic: 'fresh',
      topicId,
      partition: 0,
      opened: newTopic,
      leaderEpoch: 2,
      isLeader: true,
    });
    await until(() => f.log.logEndOffset === 100 && g.log.logEndOffset === 50, 'both caught up');
    await expectIdentical(p.opened, f.opened);
    await expectIdentical(newTopic, g.opened);
  });

  it('unfollow during a fetch in flight resolves at once and the answer is dropped', async () => {
    const leader = await startLeader(1);
    const p = await leaderPartition(leader, 'held', 0, 1);
    const other = await leaderPartition(leader, 'held', 1, 1);
    await fill(p.opened.log, 1, 2, 50, 'h-');
    let release: () => void = () => {};
    const held = new Promise<void>((resolveHeld) => {
      leader.beforeAnswer = () => {
        leader.beforeAnswer = undefined;
        resolveHeld();
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      };
    });
    const manager = fetcherManager([leader]);
    const f = follower(leader, p, await followerLog('held', 0));
    manager.follow(f);
    await held;
    await manager.unfollow('held', 0); // nothing applied yet: resolves while the answer waits
    expect(manager.info('held', 0)).toBeUndefined();
    release();
    // One request per fetcher: the other partition's data proves the held round finished.
    await fill(other.opened.log, 1, 1, 50, 'o-');
    const g = follower(leader, other, await followerLog('held', 1));
    manager.follow(g);
    await until(() => g.log.logEndOffset === 50, 'the other partition');
    expect(f.log.logEndOffset).toBe(0);
    expect(f.appended).toEqual([]);
  });

  it('unfollow during an append resolves only once the append finished', async () => {
    const leader = await startLeader(1);
    const p = await leaderPartition(leader, 'slow', 0, 1);
    const other = await leaderPartition(leader, 'slow', 1, 1);
    await fill(p.opened.log, 1, 2, 50, 's-');
    const disk = new HoldableFileSystem(SEED);
    const opened = await followerLog('slow', 0, disk);
    cleanups.push(() => disk.releaseWrites());
    const manager = fetcherManager([leader]);
    const f = follower(leader, p, opened);
    const writing = disk.holdWrites();
    manager.follow(f);
    await writing; // the follower's append is stuck in the disk write
    let unfollowed = false;
    const done = manager.unfollow('slow', 0).then(() => {
      unfollowed = true;
    });
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(unfollowed).toBe(false);
    disk.releaseWrites();
    await done;
    expect(f.log.logEndOffset).toBe(100);
    expect(f.appended).toEqual([
      { base: 0, last: 49 },
      { base: 50, last: 99 },
    ]);
    // Nothing more is appended to it: more data on the leader, another partition fetched.
    await leader.append(p, 1, 50, 'late-');
    await fill(other.opened.log, 1, 1, 50, 'o-');
    const g = follower(leader, other, await followerLog('slow', 1));
    manager.follow(g);
    await until(() => g.log.logEndOffset === 50, 'the other partition');
    expect(f.log.logEndOffset).toBe(100);
  });
});

describe(`ReplicaFetcherManager edge cases (seed ${SEED})`, () => {
  it('refuses a batch whose CRC does not match, backs off and fetches it again', async () => {
    const leader = await startLeader(1);
    const p = await leaderPartition(leader, 'rot', 0, 1);
    await fill(p.opened.log, 1, 10, 20, 'rot-');
    p.mangleOnce = (records) => {
      const copy = Buffer.from(records);
      copy[80] = (copy[80] as number) ^ 0xff; // inside the first batch's CRC-covered records
      return copy;
    };
    const manager = fetcherManager([leader]);
    const f = follower(leader, p, await followerLog('rot', 0));
    manager.follow(f);
    await until(() => f.log.logEndOffset === 200, 'the follower to reach 200');
    expect(p.mangleOnce).toBeUndefined(); // the bad answer was sent
    await expectIdentical(p.opened, f.opened);
    expect(expectContiguous(f.appended, 0)).toBe(200);
    const fromZero = leader.fetches.filter((r) => r.topics[0]?.partitions[0]?.fetchOffset === 0);
    expect(fromZero.length).toBeGreaterThanOrEqual(2); // asked again after the refusal
  });

  it("a new leader's fetcher starts only after the old owner's append finished", async () => {
    const first = await startLeader(1);
    const second = await startLeader(3);
    const a = await leaderPartition(first, 'handover', 0, 1);
    await fill(a.opened.log, 1, 2, 50, 'h-');
    const b = await leaderPartition(second, 'handover', 0, 2);
    await fill(b.opened.log, 1, 2, 50, 'h-');
    await fill(b.opened.log, 2, 2, 50, 'b-');
    const disk = new HoldableFileSystem(SEED);
    const opened = await followerLog('handover', 0, disk);
    cleanups.push(() => disk.releaseWrites());
    const manager = fetcherManager([first, second]);
    const f = follower(first, a, opened);
    const writing = disk.holdWrites();
    manager.follow(f);
    await writing;
    manager.follow({ ...f, leaderId: second.brokerId, leaderEpoch: 2 });
    // An absence needs a window: long enough for a fetch over loopback to arrive.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(second.fetches.length).toBe(0);
    disk.releaseWrites();
    await until(() => f.log.logEndOffset === 200, 'the follower to reach the new leader end');
    expect(second.fetches[0]?.topics[0]?.partitions[0]?.fetchOffset).toBe(100);
    await expectIdentical(b.opened, opened);
  });

  it('close abandons a request in flight and resolves without its answer', async () => {
    const leader = await startLeader(1);
    const p = await leaderPartition(leader, 'closing', 0, 1);
    await fill(p.opened.log, 1, 1, 50, 'c-');
    let release: () => void = () => {};
    const held = new Promise<void>((resolveHeld) => {
      leader.beforeAnswer = () => {
        resolveHeld();
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      };
    });
    cleanups.push(() => release());
    const manager = fetcherManager([leader]);
    const f = follower(leader, p, await followerLog('closing', 0));
    manager.follow(f);
    await held;
    await manager.close();
    expect(manager.followedCount).toBe(0);
    release();
    expect(f.log.logEndOffset).toBe(0);
  });

  it('cuts a log without leader epochs to its high watermark before fetching', async () => {
    const leader = await startLeader(1);
    const p = await leaderPartition(leader, 'legacy', 0, 1);
    await fill(p.opened.log, 1, 4, 50, 'l-');
    const opened = await followerLog('legacy', 0);
    // Batches without a partition leader epoch (an old format): the cache stays empty.
    for (let i = 0; i < 2; i++) {
      const batch = batchWithoutEpoch(50, i * 50);
      await opened.log.appendAsFollower(batch);
    }
    expect(opened.log.leaderEpochs.latest).toBeUndefined();
    opened.log.setHighWatermark(50);
    const manager = fetcherManager([leader]);
    const f = follower(leader, p, opened);
    manager.follow(f);
    await until(() => f.log.logEndOffset === 200, 'the follower to reach 200');
    expect(f.truncations).toEqual([50]);
    expect(leader.fetches[0]?.topics[0]?.partitions[0]).toMatchObject({
      fetchOffset: 50,
      lastFetchedEpoch: -1,
    });
    const mine = await logBytes(opened);
    const theirs = await logBytes(p.opened);
    const cut = batchOffsets(theirs)[1] as { base: number };
    expect(cut.base).toBe(50);
    // Our own first batch stays; from offset 50 on the bytes are the leader's.
    const rest = mine.subarray(batchSizeOf(mine));
    expect(rest.equals(theirs.subarray(batchSizeOf(theirs)))).toBe(true);
  });

  it('truncationOffset follows KIP-279 on a real epoch cache', async () => {
    const opened = await followerLog('rule', 0);
    await fill(opened.log, 1, 2, 10, 'x-'); // epoch 1: 0..19
    await fill(opened.log, 3, 1, 10, 'y-'); // epoch 3: 20..29
    await fill(opened.log, 4, 1, 10, 'z-'); // epoch 4: 30..39
    const at = (epoch: number, endOffset: number) =>
      truncationOffset(opened.log, { epoch, endOffset });
    expect(at(3, 25)).toBe(25); // a shared epoch: the smaller end
    expect(at(3, 35)).toBe(30); // ... ours ends first
    expect(at(2, 15)).toBe(20); // unknown here: the end of our epoch 1, then ask again
    expect(at(0, 5)).toBe(5); // older than all ours: the leader's end bounds us
    expect(at(-1, 12)).toBe(12); // the leader could not say: its end
    expect(at(4, 90)).toBe(40); // never past our own end
  });
});

function batchWithoutEpoch(count: number, baseOffset: number): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({
    key: null,
    value: Buffer.from(`legacy-${baseOffset + i}`),
    timestamp: 1_700_000_000_000 + i,
  }));
  return buildBatch({ records, baseOffset });
}

function batchSizeOf(bytes: Buffer): number {
  return bytes.readInt32BE(8) + 12;
}

/** Copies `from`'s batches below `endOffset` into `to`, as a follower would have them. */
async function copyInto(from: OpenedLog, endOffset: number, to: OpenedLog): Promise<void> {
  let offset = 0;
  while (offset < endOffset) {
    const read = await from.log.read(offset, { maxBytes: 1 << 20, maxOffset: endOffset });
    await to.log.appendAsFollower(await materialize(from.fs, read));
    offset = read.nextOffset;
  }
}
