/**
 * Leader-side replication with two or three ReplicaManagers in one process, each over its own
 * MemoryFileSystem, on one simulated clock. Followers replicate by sending real Fetch v17
 * requests (encoded and decoded by the generated codecs) to the leader's Fetch handler and
 * appending what comes back (a small stand-in for the FOLLOWER part's fetcher, driven round by
 * round by the test). A stand-in controller answers AlterPartition and publishes the new
 * image to every node, as the quorum would.
 *
 * Covered: acks=-1 waits for every ISR member, consumers read only below the HW while
 * followers read past it; a role change answers waiting acks=-1 produces
 * NOT_LEADER_OR_FOLLOWER, the new leader deduplicates a retry thanks to the producer state its
 * follower appends kept, and starts its epoch at its log end; the old leader's unreplicated
 * suffix is found by KIP-320 divergence and truncated; ISR expansion and shrink through
 * AlterPartition; min.insync.replicas before and after the append; request timeouts; the
 * epoch checks of Fetch, ListOffsets and OffsetForLeaderEpoch.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { Apis } from '../../../protocol/generated/api-table.ts';
import type { FetchRequest } from '../../../protocol/generated/apis/01-fetch.ts';
import { newListOffsetsRequest } from '../../../protocol/generated/apis/02-list-offsets.ts';
import {
  newOffsetForLeaderEpochRequest,
  newRegisterBrokerRecord,
  newUnfenceBrokerRecord,
} from '../../../protocol/generated/index.ts';
import { MetadataRecordType } from '../../../protocol/generated/metadata-record-table.ts';
import { batchSizeAt, RecordBatchView } from '../../../protocol/records/batch.ts';
import { fetchHandler } from '../../../src/handlers/01-fetch.ts';
import { listOffsetsHandler } from '../../../src/handlers/02-list-offsets.ts';
import { offsetForLeaderEpochHandler } from '../../../src/handlers/23-offset-for-leader-epoch.ts';
import type {
  FollowedPartition,
  PartitionFetchers,
} from '../../../src/replication/replica-manager.ts';
import { SimClock } from '../../../src/util/clock.ts';
import {
  change,
  type FetchedPartition,
  fetchRequest,
  batch as idempotentBatch,
  LeaderCluster,
  NOW,
  recordsOf,
  TOPIC,
  tick,
  until,
} from './leader-cluster-harness.ts';

const SEED = 20261207;
const LAG_MS = 10_000;
const PRODUCER_ID = 7;

/** A stand-in fetcher: remembers what it was told to follow; the test runs its rounds. */
class TestFetchers implements PartitionFetchers {
  readonly followed = new Map<string, FollowedPartition>();
  readonly unfollowed: string[] = [];
  follow(p: FollowedPartition): void {
    this.followed.set(`${p.topic}-${p.partition}`, p);
  }
  async unfollow(topic: string, partition: number): Promise<void> {
    this.unfollowed.push(`${topic}-${partition}`);
    this.followed.delete(`${topic}-${partition}`);
  }
}

let cluster: LeaderCluster;
let clock: SimClock;
const fetchers = new Map<number, TestFetchers>();

afterEach(async () => {
  await cluster?.close();
  fetchers.clear();
});

async function startCluster(
  ids: number[],
  isr: number[],
  configs: Record<string, string> = {},
): Promise<void> {
  clock = new SimClock(NOW);
  cluster = await LeaderCluster.start({
    ids,
    isr,
    clock,
    seed: SEED,
    lagTimeMaxMs: LAG_MS,
    configs,
    fetchersFor: (id) => {
      const made = new TestFetchers();
      fetchers.set(id, made);
      return made;
    },
  });
}

const node = (id: number) => cluster.node(id);
const logOf = (id: number) => cluster.logOf(id);
const leaderState = (id: number) => cluster.leaderState(id);
const fetchersOf = (id: number) => fetchers.get(id) as TestFetchers;
const produce = (...args: Parameters<LeaderCluster['produce']>) => cluster.produce(...args);
const fetchFrom = (...args: Parameters<LeaderCluster['fetchFrom']>) => cluster.fetchFrom(...args);
const publish = (...args: Parameters<LeaderCluster['publish']>) => cluster.publish(...args);
const batch = (count: number, sequence: number, producerId = PRODUCER_ID) =>
  idempotentBatch(count, sequence, producerId);

/** Whether `promise` settled within a few turns of the event loop. */
async function settledValue<T>(promise: Promise<T>): Promise<T | 'pending'> {
  let value: T | 'pending' = 'pending';
  void promise.then((v) => {
    value = v;
  });
  for (let i = 0; i < 20; i++) await tick();
  return value;
}

/** ListOffsets latest (v9) at `id` as asked by `replicaId`: [errorCode, offset]. */
async function latestAt(id: number, replicaId: number): Promise<[number, number]> {
  const asked = newListOffsetsRequest();
  asked.replicaId = replicaId;
  asked.topics = [
    {
      name: TOPIC,
      partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }],
    },
  ];
  const listed = await cluster.call(node(id), Apis.ListOffsets, listOffsetsHandler, asked, 9);
  const p = listed.topics[0]?.partitions[0];
  return [p?.errorCode ?? -1, p?.offset ?? -1];
}

/** One fetch of follower `id` from its leader, applied as a follower does. */
async function replicate(id: number): Promise<FetchedPartition> {
  const followed = fetchersOf(id).followed.get(`${TOPIC}-0`);
  if (!followed) throw new Error(`node ${id} follows nothing`);
  const log = followed.log;
  const answer = await fetchFrom(
    node(followed.leaderId),
    fetchRequest(
      {
        fetchOffset: log.logEndOffset,
        currentLeaderEpoch: followed.leaderEpoch,
        lastFetchedEpoch: log.leaderEpochs.latest?.epoch ?? -1,
      },
      id,
    ),
  );
  if (answer.errorCode !== ErrorCode.NONE) return answer;
  if (answer.divergingEpoch.epoch >= 0 || answer.divergingEpoch.endOffset >= 0) {
    await log.truncateTo(Math.min(answer.divergingEpoch.endOffset, log.logEndOffset));
    followed.onTruncated?.(log.logEndOffset);
    return answer;
  }
  const records = recordsOf(answer);
  if (records.length > 0) {
    const copy = Buffer.from(records);
    await log.appendAsFollower(copy);
    const views: RecordBatchView[] = [];
    for (let at = 0; at < copy.length; at += batchSizeAt(copy, at)) {
      views.push(new RecordBatchView(copy.subarray(at, at + batchSizeAt(copy, at))));
    }
    followed.onAppended(views);
  }
  log.setHighWatermark(Math.min(answer.highWatermark, log.logEndOffset));
  return answer;
}

describe('ReplicaManager: leader side of ISR replication', () => {
  test('acks=-1 waits for the ISR; consumers stop at the HW, followers read past it', async () => {
    await startCluster([1, 2, 3], [1, 2, 3]);
    expect(node(1).replicas.partition(TOPIC, 0)?.role).toBe('leader');
    expect(node(2).replicas.partition(TOPIC, 0)?.role).toBe('follower');
    expect(fetchersOf(2).followed.get(`${TOPIC}-0`)?.leaderId).toBe(1);
    const log1 = logOf(1);
    expect(log1.leaderEpochs.latest).toEqual({ epoch: 0, startOffset: 0 });

    const produced = produce(node(1), batch(3, 0));
    await until(() => log1.logEndOffset === 3, 'the leader append');
    expect(await settledValue(produced)).toBe('pending');
    const consumer = await fetchFrom(
      node(1),
      fetchRequest({ fetchOffset: 0, currentLeaderEpoch: 0 }, -1),
    );
    expect(recordsOf(consumer).length).toBe(0);
    expect(consumer.highWatermark).toBe(0);
    // ListOffsets latest: the HW for consumers, the log end for replicas (Kafka's rule).
    for (const [replicaId, expected] of [
      [-1, 0],
      [2, 3],
    ] as const) {
      const asked = newListOffsetsRequest();
      asked.replicaId = replicaId;
      asked.topics = [
        {
          name: TOPIC,
          partitions: [
            { partitionIndex: 0, currentLeaderEpoch: 0, timestamp: -1, maxNumOffsets: 1 },
          ],
        },
      ];
      const listed = await cluster.call(node(1), Apis.ListOffsets, listOffsetsHandler, asked, 9);
      expect(listed.topics[0]?.partitions[0]?.offset).toBe(expected);
    }

    // Follower 2 reads past the HW; its next fetch reports offset 3.
    const first = await replicate(2);
    expect(recordsOf(first).length).toBeGreaterThan(0);
    expect(first.highWatermark).toBe(0);
    // Before v15 a follower names itself in the top-level replicaId: same follower path.
    const old = fetchRequest({ fetchOffset: 0, currentLeaderEpoch: 0 }, -1);
    old.replicaId = 3;
    old.topics = [{ ...(old.topics[0] as FetchRequest['topics'][number]), topic: TOPIC }];
    const v12 = await cluster.call(node(1), Apis.Fetch, fetchHandler, old, 12);
    expect(recordsOf(v12.responses[0]?.partitions[0] as FetchedPartition).length).toBeGreaterThan(
      0,
    );
    expect(leaderState(1).follower(3)?.logEndOffset).toBe(0);
    await replicate(2);
    expect(leaderState(1).highWatermark).toBe(0);
    expect(await settledValue(produced)).toBe('pending');
    await replicate(3);
    const last = await replicate(3);
    expect(last.highWatermark).toBe(3);
    const answered = await produced;
    expect(answered?.errorCode).toBe(ErrorCode.NONE);
    expect(answered?.baseOffset).toBe(0);

    const after = await fetchFrom(
      node(1),
      fetchRequest({ fetchOffset: 0, currentLeaderEpoch: 0 }, -1),
    );
    expect(after.highWatermark).toBe(3);
    expect(new RecordBatchView(recordsOf(after)).lastOffset).toBe(2);

    const latest = newListOffsetsRequest();
    latest.replicaId = -1;
    latest.topics = [
      {
        name: TOPIC,
        partitions: [{ partitionIndex: 0, currentLeaderEpoch: 0, timestamp: -1, maxNumOffsets: 1 }],
      },
    ];
    const listed = await cluster.call(node(1), Apis.ListOffsets, listOffsetsHandler, latest, 9);
    expect(listed.topics[0]?.partitions[0]?.offset).toBe(3);
    const onFollower = await cluster.call(node(2), Apis.ListOffsets, listOffsetsHandler, latest, 9);
    expect(onFollower.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });

  test('role change: waiters fail over, new leader dedups, old leader truncates', async () => {
    await startCluster([1, 2, 3], [1, 2, 3]);
    const first = produce(node(1), batch(3, 0));
    await until(() => logOf(1).logEndOffset === 3, 'the first append');
    for (const id of [2, 3, 2, 3]) await replicate(id);
    expect((await first)?.errorCode).toBe(ErrorCode.NONE);
    // A second batch, of another producer, reaches only the leader.
    const stranded = produce(node(1), batch(2, 0, 8));
    await until(() => logOf(1).logEndOffset === 5, 'the second append');

    await publish([change({ leader: 2, isr: [2, 3] })]);
    expect((await stranded)?.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(fetchersOf(2).unfollowed).toContain(`${TOPIC}-0`);
    expect(node(2).replicas.partition(TOPIC, 0)?.role).toBe('leader');
    expect(logOf(2).leaderEpochs.latest).toEqual({ epoch: 1, startOffset: 3 });
    // Its HW (0, as a follower learnt it) is behind its epoch start: consumers must wait.
    expect(await latestAt(2, -1)).toEqual([ErrorCode.OFFSET_NOT_AVAILABLE, -1]);
    expect(await latestAt(2, 3)).toEqual([ErrorCode.NONE, 3]);
    expect(fetchersOf(1).followed.get(`${TOPIC}-0`)?.leaderId).toBe(2);
    const refused = await produce(node(1), batch(1, 5));
    expect(refused?.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // KIP-951: the old leader names the new one.
    expect(refused?.currentLeader).toMatchObject({ leaderId: 2, leaderEpoch: 1 });

    // The client retries its first batch at the new leader: a duplicate (follower appends
    // kept the producer state), answered with the offset it was written at.
    const retried = await produce(node(2), batch(3, 0), 1);
    expect(retried?.errorCode).toBe(ErrorCode.NONE);
    expect(retried?.baseOffset).toBe(0);

    // Stale and future epochs, and a replica not assigned here.
    const refusals: [number, number, number, number][] = [
      // [node, currentLeaderEpoch, replica id, expected error]
      [2, 0, 3, ErrorCode.FENCED_LEADER_EPOCH],
      [2, 2, 3, ErrorCode.UNKNOWN_LEADER_EPOCH],
      [2, 1, 9, ErrorCode.NOT_LEADER_OR_FOLLOWER],
      [1, 1, 3, ErrorCode.NOT_LEADER_OR_FOLLOWER],
    ];
    for (const [id, currentLeaderEpoch, replicaId, errorCode] of refusals) {
      const refused = await fetchFrom(
        node(id),
        fetchRequest({ fetchOffset: 3, currentLeaderEpoch }, replicaId),
      );
      expect(refused.errorCode, `node ${id} epoch ${currentLeaderEpoch} replica ${replicaId}`).toBe(
        errorCode,
      );
    }

    // The new leader writes in epoch 1; ISR {2, 3} acknowledges it.
    const next = produce(node(2), batch(2, 3));
    await until(() => logOf(2).logEndOffset === 5, 'the new leader append');
    await replicate(3);
    await replicate(3);
    expect((await next)?.baseOffset).toBe(3);
    expect(await latestAt(2, -1)).toEqual([ErrorCode.NONE, 5]);

    // OffsetForLeaderEpoch at the new leader: epoch 0 ended at 3.
    const ofle = newOffsetForLeaderEpochRequest();
    ofle.replicaId = 1;
    ofle.topics = [
      { topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: 1, leaderEpoch: 0 }] },
    ];
    const ended = await cluster.call(
      node(2),
      Apis.OffsetForLeaderEpoch,
      offsetForLeaderEpochHandler,
      ofle,
      4,
    );
    expect(ended.topics[0]?.partitions[0]).toMatchObject({
      errorCode: 0,
      leaderEpoch: 0,
      endOffset: 3,
    });
    const atFollower = await cluster.call(
      node(1),
      Apis.OffsetForLeaderEpoch,
      offsetForLeaderEpochHandler,
      ofle,
      4,
    );
    expect(atFollower.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);

    // A long-polling follower fetch that diverges is answered at once, not parked.
    const polling = fetchRequest({ fetchOffset: 5, currentLeaderEpoch: 1, lastFetchedEpoch: 0 }, 1);
    polling.maxWaitMs = 60_000;
    polling.minBytes = 1;
    const polled = await settledValue(fetchFrom(node(2), polling));
    expect(polled === 'pending' ? polled : polled.divergingEpoch).toMatchObject({
      epoch: 0,
      endOffset: 3,
    });
    // Through an incremental fetch session: the session keeps the follower's
    // lastFetchedEpoch, so a request that leaves the partition out still diverges (and a
    // divergence is news: it is in the answer), and no progress is recorded at offset 5.
    const opening = fetchRequest({ fetchOffset: 5, currentLeaderEpoch: 1, lastFetchedEpoch: 0 }, 1);
    opening.sessionEpoch = 0;
    const opened = await cluster.call(node(2), Apis.Fetch, fetchHandler, opening, 17);
    expect(opened.sessionId).toBeGreaterThan(0);
    const incremental = fetchRequest({ fetchOffset: 0, currentLeaderEpoch: 1 }, 1);
    incremental.sessionId = opened.sessionId;
    incremental.sessionEpoch = 1;
    incremental.topics = [];
    const again = await cluster.call(node(2), Apis.Fetch, fetchHandler, incremental, 17);
    expect(again.responses[0]?.partitions[0]?.divergingEpoch).toMatchObject({
      epoch: 0,
      endOffset: 3,
    });
    expect(leaderState(2).follower(1)?.logEndOffset).toBe(-1);
    // The old leader's stranded batch (epoch 0, offsets 3-4) diverges: it truncates to 3.
    const diverged = await replicate(1);
    expect(diverged.divergingEpoch).toMatchObject({ epoch: 0, endOffset: 3 });
    expect(logOf(1).logEndOffset).toBe(3);
    await replicate(1);
    expect(logOf(1).logEndOffset).toBe(5);
    // Caught up to the HW in this epoch: the leader asks the controller to add it back.
    await replicate(1);
    await until(() => cluster.partitionImage.isrNodes.length === 3, 'ISR expansion');
    expect(cluster.alterRequests.at(-1)?.brokerId).toBe(2);
    expect(leaderState(2).isr).toEqual([2, 3, 1]);

    // Leadership back to 1 (epoch 2): its producer state was rebuilt after the truncation,
    // so producer 8's retry is written anew, not taken for the batch that was cut away.
    await publish([change({ leader: 1 })]);
    expect(logOf(1).leaderEpochs.latest).toEqual({ epoch: 2, startOffset: 5 });
    const retry = await produce(node(1), batch(2, 0, 8), 1);
    expect(retry?.errorCode).toBe(ErrorCode.NONE);
    expect(retry?.baseOffset).toBe(5);
  });

  test('min.insync.replicas, timeouts, and the ISR shrinking and growing again', async () => {
    await startCluster([1, 2], [1, 2], { 'min.insync.replicas': '2' });
    const replicas1 = node(1).replicas;
    // Follower 2 does not fetch: the produce times out.
    const timedOut = produce(node(1), batch(1, 0), -1, 1_000);
    await until(() => replicas1.delayedProduce.waiting === 1, 'the produce to wait');
    clock.advance(1_000);
    expect((await timedOut)?.errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT);

    const waiting = produce(node(1), batch(1, 1), -1, 60_000);
    await until(() => replicas1.delayedProduce.waiting === 1, 'the produce to wait');
    // Checks run every LAG_MS / 2; 2 was caught up at the start, so it goes at 1.5 x LAG_MS.
    clock.advance(LAG_MS);
    expect(cluster.alterRequests).toHaveLength(0);
    clock.advance(LAG_MS / 2);
    expect(cluster.alterRequests).toHaveLength(1);
    await until(() => leaderState(1).isr.length === 1, 'ISR shrink');
    expect((await waiting)?.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    expect((await produce(node(1), batch(1, 2)))?.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    expect(logOf(1).logEndOffset).toBe(2);
    expect((await produce(node(1), batch(1, 2), 1))?.errorCode).toBe(ErrorCode.NONE);

    // 2 comes back and catches up: proposed, committed, acks=-1 works again.
    await replicate(2);
    await replicate(2);
    await until(() => leaderState(1).isr.length === 2, 'ISR expansion');
    const again = produce(node(1), batch(1, 3));
    await until(() => logOf(1).logEndOffset === 4, 'append');
    await replicate(2);
    await replicate(2);
    expect((await again)?.errorCode).toBe(ErrorCode.NONE);
    expect(logOf(2).logEndOffset).toBe(4);
  });
});

describe('ReplicaManager: ISR eligibility from the image (KIP-903)', () => {
  test('a follower fetching with a stale broker epoch, or fenced, does not join', async () => {
    await startCluster([1, 2], [1]);
    await publish([
      {
        type: MetadataRecordType.RegisterBrokerRecord,
        data: { ...newRegisterBrokerRecord(), brokerId: 2, brokerEpoch: 50, fenced: true },
      },
    ]);
    const epoch = cluster.image.broker(2)?.epoch ?? -1;
    expect(epoch).toBe(50);
    const fetchAs = async (replicaEpoch: number) => {
      const request = fetchRequest({ fetchOffset: 0, currentLeaderEpoch: 0 }, 2);
      request.replicaState = { replicaId: 2, replicaEpoch };
      expect((await fetchFrom(node(1), request)).errorCode).toBe(ErrorCode.NONE);
      await tick();
    };
    await fetchAs(epoch);
    expect(cluster.alterRequests).toHaveLength(0); // fenced
    await publish([
      {
        type: MetadataRecordType.UnfenceBrokerRecord,
        data: { ...newUnfenceBrokerRecord(), id: 2, epoch },
      },
    ]);
    await fetchAs(epoch - 1);
    expect(cluster.alterRequests).toHaveLength(0); // an earlier incarnation
    await fetchAs(epoch);
    await until(() => cluster.partitionImage.isrNodes.length === 2, 'ISR expansion');
    expect(cluster.alterRequests[0]?.topics[0]?.partitions[0]?.newIsrWithEpochs).toEqual([
      { brokerId: 1, brokerEpoch: 101 },
      { brokerId: 2, brokerEpoch: epoch },
    ]);
  });
});
