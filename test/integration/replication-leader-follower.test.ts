/**
 * The leader side (ReplicaManager, the Fetch / OffsetForLeaderEpoch / ListOffsets handlers)
 * and the follower side (ReplicaFetcherManager) together: three nodes in one process, each
 * over its own MemoryFileSystem, the fetchers speaking to their leader's real handlers through
 * the generated codecs (real request and response bytes; no sockets), on the real clock.
 *
 * acks=-1 produces complete once every ISR member fetched them, the replicas end up
 * byte-identical, a leader change fails waiting produces over and the old leader rejoins the
 * ISR after truncating its unreplicated suffix, and a follower that stops fetching leaves the
 * ISR after replica.lag.time.max.ms so acks=-1 goes on without it.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../protocol/errors.ts';
import { ReplicaFetcherManager } from '../../src/replication/replica-fetcher.ts';
import { SystemClock } from '../../src/util/clock.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { SeededRandom } from '../../src/util/random.ts';
import {
  batch,
  change,
  LeaderCluster,
  logBytes,
  until,
} from '../unit/replication/leader-cluster-harness.ts';

const SEED = 4242;
const LAG_MS = 1_500;
const REAL_WAIT_MS = 10_000;

let cluster: LeaderCluster | undefined;
const fetchers = new Map<number, ReplicaFetcherManager>();

afterEach(async () => {
  for (const f of fetchers.values()) await f.close();
  fetchers.clear();
  await cluster?.close();
  cluster = undefined;
});

async function start(): Promise<LeaderCluster> {
  const clock = new SystemClock();
  cluster = await LeaderCluster.start({
    ids: [1, 2, 3],
    isr: [1, 2, 3],
    clock,
    seed: SEED,
    lagTimeMaxMs: LAG_MS,
    fetchersFor: (id, c) => {
      const manager = new ReplicaFetcherManager({
        nodeId: id,
        clock,
        random: new SeededRandom(SEED * 10 + id),
        logger: silentLogger(),
        brokerEpoch: () => 100 + id,
        channelFor: (brokerId) => c.channelTo(brokerId),
        settings: {
          maxBytes: 1 << 20,
          responseMaxBytes: 8 << 20,
          waitMaxMs: 50,
          minBytes: 1,
          backoffMs: 20,
          requestTimeoutMs: 5_000,
        },
      });
      fetchers.set(id, manager);
      return manager;
    },
  });
  return cluster;
}

async function converged(c: LeaderCluster, leader: number, followers: number[]): Promise<void> {
  const end = () => c.logOf(leader).logEndOffset;
  await until(
    () =>
      followers.every(
        (id) => c.logOf(id).logEndOffset === end() && c.logOf(id).highWatermark === end(),
      ) && c.logOf(leader).highWatermark === end(),
    'replicas to converge',
    { realMs: REAL_WAIT_MS },
  );
  const expected = await logBytes(c.logOf(leader), c.node(leader).fs);
  for (const id of followers) {
    expect((await logBytes(c.logOf(id), c.node(id).fs)).equals(expected)).toBe(true);
  }
}

describe(`leader and follower together (seed ${SEED})`, () => {
  test('acks=-1 completes through real fetchers; replicas are byte-identical', async () => {
    const c = await start();
    let sequence = 0;
    for (let round = 0; round < 20; round++) {
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => {
          const records = batch(10, sequence, 1);
          sequence += 10;
          return c.produce(c.node(1), records);
        }),
      );
      for (const answer of answers) expect(answer?.errorCode).toBe(ErrorCode.NONE);
    }
    expect(c.logOf(1).logEndOffset).toBe(1_000);
    expect(c.leaderState(1).isr).toEqual([1, 2, 3]);
    await converged(c, 1, [2, 3]);
  });

  test('leader change: waiters fail over; the old leader truncates and rejoins', async () => {
    const c = await start();
    expect((await c.produce(c.node(1), batch(10, 0, 1)))?.errorCode).toBe(ErrorCode.NONE);
    // Followers 2 and 3 stop fetching: the next batch reaches only the leader.
    await fetchers.get(2)?.unfollow('t', 0);
    await fetchers.get(3)?.unfollow('t', 0);
    const stranded = c.produce(c.node(1), batch(5, 0, 2));
    await until(() => c.logOf(1).logEndOffset === 15, 'the stranded append', {
      realMs: REAL_WAIT_MS,
    });
    await c.publish([change({ leader: 2, isr: [2, 3] })]);
    expect((await stranded)?.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(c.logOf(2).leaderEpochs.latest).toEqual({ epoch: 1, startOffset: 10 });

    const next = await c.produce(c.node(2), batch(7, 10, 1));
    expect(next?.errorCode).toBe(ErrorCode.NONE);
    expect(next?.baseOffset).toBe(10);
    // Node 1 diverged at 10 (epoch 0 ended there on the new leader): it truncates, catches
    // up, and the leader adds it back to the ISR through AlterPartition.
    await until(() => c.partitionImage.isrNodes.length === 3, 'node 1 back in the ISR', {
      realMs: REAL_WAIT_MS,
    });
    await converged(c, 2, [1, 3]);
    expect(c.logOf(1).leaderEpochs.entries).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 1, startOffset: 10 },
    ]);
  });

  test('a follower that stops fetching leaves the ISR; acks=-1 goes on without it', async () => {
    const c = await start();
    expect((await c.produce(c.node(1), batch(10, 0, 1)))?.errorCode).toBe(ErrorCode.NONE);
    await fetchers.get(3)?.close();
    const slow = c.produce(c.node(1), batch(10, 10, 1));
    // Waits for 3 until the shrink (lag 1.5 s, checked every 750 ms), then completes.
    expect((await slow)?.errorCode).toBe(ErrorCode.NONE);
    expect(c.partitionImage.isrNodes).toEqual([1, 2]);
    expect(c.alterRequests.at(-1)?.topics[0]?.partitions[0]?.newIsrWithEpochs).toEqual([
      { brokerId: 1, brokerEpoch: 101 },
      { brokerId: 2, brokerEpoch: 102 },
    ]);
    await converged(c, 1, [2]);
  });
});
