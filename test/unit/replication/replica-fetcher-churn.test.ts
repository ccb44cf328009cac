/**
 * Seeded leadership churn against two real leaders: a follower keeps fetching while the
 * seed appends, moves leadership between the brokers (the new leader keeps a random prefix of
 * the old one's log, so the follower may hold an uncommitted tail in an epoch the new leader
 * never saw), lets the follower lead an epoch alone before a broker with a prefix of its log
 * takes over, deletes the leader's head (inside batches too), unfollows and follows again,
 * and restarts the leader's server. Whatever happened, once the churn stops the follower
 * must converge to the last leader's log byte for byte (Log Matching holds by construction:
 * every leader log is a prefix of its predecessor's plus its own epoch). A failing seed is
 * replayed by its number.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/util/random.ts';
import { materialize } from '../storage/log-harness.ts';
import {
  expectIdentical,
  fetcherManager,
  fill,
  follower,
  followerLog,
  type LeaderPartition,
  leaderPartition,
  type OpenedLog,
  runCleanups,
  startLeader,
  type TestLeader,
  until,
} from './replica-fetcher-harness.ts';

afterEach(runCleanups);

const STEPS = 30;

describe('ReplicaFetcherManager under seeded leader churn', () => {
  for (const seed of [1, 7, 42, 2026]) {
    it(`converges to the last leader's bytes (seed ${seed})`, async () => {
      await churn(seed);
    });
  }
});

async function churn(seed: number): Promise<void> {
  const random = new SeededRandom(seed);
  const brokers = [await startLeader(1), await startLeader(3)] as const;
  const parts = [
    await leaderPartition(brokers[0], 'churn', 0, 1),
    await leaderPartition(brokers[1], 'churn', 0, 1),
  ] as const;
  parts[1].isLeader = false;
  const settings = { maxBytes: 4_096, backoffMs: 30, requestTimeoutMs: 400, waitMaxMs: 40 };
  const manager = fetcherManager(brokers, { settings, seed });
  const base = follower(brokers[0], parts[0], await followerLog('churn', 0));
  let current = base;
  let leaderIndex = 0;
  let epoch = 1;
  manager.follow(current);
  for (let step = 0; step < STEPS; step++) {
    const leader = brokers[leaderIndex] as TestLeader;
    const part = parts[leaderIndex] as LeaderPartition;
    const roll = random.int(0, 99);
    if (roll < 45) {
      await leader.append(part, random.int(1, 4), random.int(1, 40), `s${step}-`);
    } else if (roll < 65) {
      const next = 1 - leaderIndex;
      epoch++;
      await handOver(random, part, parts[next] as LeaderPartition, epoch);
      await (brokers[next] as TestLeader).append(
        parts[next] as LeaderPartition,
        random.int(0, 3),
        random.int(1, 40),
        `e${epoch}-`,
      );
      leaderIndex = next;
      current = { ...base, leaderId: (brokers[next] as TestLeader).brokerId, leaderEpoch: epoch };
      manager.follow(current);
    } else if (roll < 75) {
      const log = part.opened.log;
      log.setHighWatermark(log.logEndOffset);
      await log.deleteRecordsBefore(random.int(log.logStartOffset, log.logEndOffset));
    } else if (roll < 85) {
      await manager.unfollow('churn', 0);
      manager.follow(current);
    } else if (roll < 95) {
      // The follower leads one epoch alone (its tail reaches nobody), then a broker that has
      // a prefix of its log takes over: the tail must go.
      await manager.unfollow('churn', 0);
      part.isLeader = false;
      epoch++;
      await fill(base.log, epoch, random.int(1, 3), random.int(1, 40), `f${epoch}-`);
      const self = { ...part, opened: base.opened, leaderEpoch: epoch, isLeader: true };
      const next = random.int(0, 1);
      epoch++;
      await handOver(random, self, parts[next] as LeaderPartition, epoch);
      (parts[1 - next] as LeaderPartition).leaderEpoch = epoch;
      leaderIndex = next;
      current = { ...base, leaderId: (brokers[next] as TestLeader).brokerId, leaderEpoch: epoch };
      manager.follow(current);
    } else {
      await leader.stop();
      await leader.append(part, 1, random.int(1, 40), `down${step}-`);
      await leader.start();
    }
    const now = brokers[leaderIndex] as TestLeader;
    const before = now.fetches.length;
    await until(() => now.fetches.length >= before + 2, `step ${step}: two more fetches`);
  }
  const last = parts[leaderIndex] as LeaderPartition;
  const log = base.log;
  await until(
    () =>
      log.logEndOffset === last.opened.log.logEndOffset &&
      log.logStartOffset === last.opened.log.logStartOffset &&
      log.highWatermark === log.logEndOffset,
    `seed ${seed}: convergence to the last leader`,
  );
  await expectIdentical(last.opened, base.opened);
  // The churn did what it is for: the follower had to cut its log at least once.
  expect(base.truncations.length).toBeGreaterThan(0);
}

/**
 * Leadership moves from `from` to `to` at `epoch`: `to`'s log becomes a prefix of `from`'s
 * (from its first batch boundary at or after the log start, to a random offset), as an ISR
 * member that had fetched that far would hold it.
 */
async function handOver(
  random: SeededRandom,
  from: LeaderPartition,
  to: LeaderPartition,
  epoch: number,
): Promise<void> {
  from.isLeader = false;
  from.leaderEpoch = epoch;
  const source = from.opened.log;
  const first = await firstBoundary(from.opened);
  const cut = random.int(first, Math.max(first, source.logEndOffset));
  await to.opened.log.truncateFullyAndStartAt(first);
  let offset = first;
  while (offset < cut) {
    const read = await source.read(offset, { maxBytes: 1 << 20, maxOffset: cut });
    if (read.nextOffset === offset) break;
    await to.opened.log.appendAsFollower(await materialize(from.opened.fs, read));
    offset = read.nextOffset;
  }
  to.leaderEpoch = epoch;
  to.isLeader = true;
}

/** The first batch start at or after the log start (the start may fall inside a batch). */
async function firstBoundary(opened: OpenedLog): Promise<number> {
  const log = opened.log;
  if (log.logStartOffset >= log.logEndOffset) return log.logStartOffset;
  const read = await log.read(log.logStartOffset, { maxBytes: 1 });
  const bytes = await materialize(opened.fs, read);
  const base = bytes.readInt32BE(0) * 0x1_0000_0000 + bytes.readUInt32BE(4);
  return base >= log.logStartOffset ? base : read.nextOffset;
}
