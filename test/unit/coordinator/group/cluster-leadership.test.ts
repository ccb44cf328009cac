/**
 * Group coordinators move with the leadership of __consumer_offsets partitions: three brokers
 * with real storage (MemoryFileSystem), real ReplicaManagers and images built from committed
 * PartitionRecord / PartitionChangeRecord (cluster-harness.ts).
 *
 * Covered: a broker coordinates exactly the partitions it leads; a write is answered only once
 * the ISR has it (the high watermark passed it), COORDINATOR_NOT_AVAILABLE when it is not
 * replicated in time or the ISR is below min.insync.replicas; a leader change unloads the old
 * coordinator (its groups NOT_COORDINATOR, a JoinGroup waiting there answered NOT_COORDINATOR
 * at once, a commit waiting for the ISR answered NOT_COORDINATOR) and loads the new one from
 * its replica of the log (COORDINATOR_LOAD_IN_PROGRESS until replayed); leadership coming back
 * at a newer epoch reloads from the log, so what the other leader committed meanwhile is seen.
 */
import { afterEach, describe, expect, onTestFailed, test } from 'vitest';
import { ErrorCode } from '../../../../protocol/errors.ts';
import { change } from '../../metadata/records.ts';
import { GroupCluster, type GroupNode, groupOn, OFFSETS_ID } from './cluster-harness.ts';
import {
  flush,
  joinRequest,
  offsetCommitRequest,
  seedFromEnv,
  syncRequest,
  track,
} from './harness.ts';

let cluster: GroupCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function start(config: Record<string, string | number> = {}): Promise<GroupCluster> {
  const seed = seedFromEnv();
  onTestFailed(() => console.error(`seed ${seed} (rerun with BROOK_TEST_SEED=${seed})`));
  cluster = await GroupCluster.start({ seed, config });
  return cluster;
}

async function commit(c: GroupCluster, id: number, groupId: string, offset: number) {
  const result = await c
    .coordinator(id)
    .commitOffsets(offsetCommitRequest({ groupId: groupId }, offset));
  return result.topics[0]?.partitions[0]?.errorCode;
}

/** [errorCode, committed offset of orders-0] as OffsetFetch answers at node `id`. */
function fetched(c: GroupCluster, id: number, groupId: string): [number, number] {
  const r = c.coordinator(id).fetchOffsets({ groupId, topics: null, requireStable: false });
  const offset = r.topics.find((t) => t.name === 'orders')?.partitions[0]?.committedOffset;
  return [r.errorCode, offset ?? -1];
}

const status = (groupId: string) => (node: GroupNode) =>
  node.groups.coordinator?.fetchOffsets({ groupId, topics: null, requireStable: false })
    .errorCode ?? -1;

describe('group coordinators follow __consumer_offsets leadership', () => {
  test('each broker coordinates exactly the partitions it leads', async () => {
    const c = await start();
    await c.commit(c.offsetsTopicRecords([1, 2, 3], (leader) => [leader]));
    await Promise.all(c.nodes.map((n) => n.groups.loaded));
    for (const id of [1, 2, 3]) {
      for (let p = 0; p < 3; p++) {
        expect(c.coordinator(id).ownsPartition(p)).toBe(p === id - 1);
        expect(c.node(id).groups.coordinatedEpoch(p)).toBe(p === id - 1 ? 0 : undefined);
      }
    }
    // ISR of one: a commit is committed at once on its leader, refused elsewhere.
    const group = groupOn(1);
    expect(await commit(c, 2, group, 5)).toBe(ErrorCode.NONE);
    expect(await commit(c, 1, group, 6)).toBe(ErrorCode.NOT_COORDINATOR);
    expect(fetched(c, 3, group)).toEqual([ErrorCode.NOT_COORDINATOR, -1]);
    expect(fetched(c, 2, group)).toEqual([ErrorCode.NONE, 5]);
  });

  test('a commit is answered only once every ISR member has it', async () => {
    const c = await start();
    await c.commit(c.offsetsTopicRecords([1, 2, 3], () => [1, 2]));
    await c.node(1).groups.loaded;
    const group = groupOn(0);
    const pending = track(
      c.coordinator(1).commitOffsets(offsetCommitRequest({ groupId: group }, 42)),
    );
    await flush();
    const log = c.hosted(1, 0).log;
    // Written on the leader, not yet on broker 2: not committed, not answered.
    expect(log.logEndOffset).toBe(1);
    expect(c.hosted(1, 0).leader?.highWatermark).toBe(0);
    expect(pending.settled).toBe(false);
    expect(fetched(c, 1, group)).toEqual([ErrorCode.NONE, -1]);
    await c.replicate(1, 2, 0);
    const result = await pending.promise;
    expect(result.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
    expect(c.hosted(1, 0).leader?.highWatermark).toBe(1);
    expect(fetched(c, 1, group)).toEqual([ErrorCode.NONE, 42]);
  });

  test('not replicated in time, or too small an ISR: COORDINATOR_NOT_AVAILABLE', async () => {
    const c = await start({ 'min.insync.replicas': 2 });
    await c.commit(c.offsetsTopicRecords([1, 2, 3], () => [1, 2]));
    await c.node(1).groups.loaded;
    const group = groupOn(0);
    const pending = track(
      c.coordinator(1).commitOffsets(offsetCommitRequest({ groupId: group }, 7)),
    );
    await flush();
    expect(pending.settled).toBe(false);
    // offsets.commit.timeout.ms (5 s) passes without broker 2 fetching.
    c.clock.advance(5_000);
    const timedOut = await pending.promise;
    expect(timedOut.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(fetched(c, 1, group)).toEqual([ErrorCode.NONE, -1]);
    // The ISR shrinks to the leader alone, below min.insync.replicas 2: refused before writing.
    await c.change(0, { isr: [1] });
    const end = c.hosted(1, 0).log.logEndOffset;
    expect(await commit(c, 1, group, 8)).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(c.hosted(1, 0).log.logEndOffset).toBe(end);
    // A JoinGroup's group write is refused the same way (Kafka's mapping for JoinGroup/Sync).
    const joining = c.coordinator(1).join(joinRequest(group, { apiVersion: 3 }));
    c.clock.advance(0);
    const first = await joining;
    expect(first.errorCode).toBe(ErrorCode.NONE);
    const sync = await c.coordinator(1).sync(syncRequest(group, first.memberId, 1));
    expect(sync.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });

  test('a leader change moves the groups: unloaded there, loaded from the log here', async () => {
    const c = await start();
    await c.commit(c.offsetsTopicRecords([1, 2, 3], () => [1, 2]));
    await c.node(1).groups.loaded;
    const group = groupOn(0);
    const committing = c.coordinator(1).commitOffsets(offsetCommitRequest({ groupId: group }, 100));
    await flush();
    await c.replicate(1, 2, 0);
    expect((await committing).topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
    // A generation settles (its group metadata committed), then a second member's JoinGroup
    // waits at broker 1 for the first to rejoin.
    const joining = c.coordinator(1).join(joinRequest(group, { apiVersion: 3 }));
    c.clock.advance(0);
    const a = await joining;
    expect(a.errorCode).toBe(ErrorCode.NONE);
    const assignment = [{ memberId: a.memberId, assignment: Buffer.from('orders-0') }];
    const syncing = c.coordinator(1).sync(syncRequest(group, a.memberId, 1, assignment));
    await flush();
    await c.replicate(1, 2, 0);
    expect((await syncing).errorCode).toBe(ErrorCode.NONE);
    const waitingJoin = track(
      c.coordinator(1).join(joinRequest(group, { apiVersion: 3, clientId: 'b' })),
    );
    // A commit of another group of the partition, waiting for the ISR (not fetched yet).
    const other = groupOn(0, 'other');
    const waitingCommit = track(
      c.coordinator(1).commitOffsets(offsetCommitRequest({ groupId: other }, 101)),
    );
    await flush();
    expect(waitingJoin.settled).toBe(false);
    expect(waitingCommit.settled).toBe(false);

    c.node(2).probe = status(group);
    await c.change(0, { leader: 2 });
    // Broker 1 let go at once: its waiters are answered and its groups are not its own.
    expect((await waitingJoin.promise).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect((await waitingCommit.promise).topics[0]?.partitions[0]?.errorCode).toBe(
      ErrorCode.NOT_COORDINATOR,
    );
    expect(fetched(c, 1, group)).toEqual([ErrorCode.NOT_COORDINATOR, -1]);
    expect(c.coordinator(1).ownsPartition(0)).toBe(false);
    // Broker 2 was loading right after the image, then serves what was committed.
    expect(c.node(2).probed).toEqual([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);
    await c.node(2).groups.loaded;
    expect(c.node(2).groups.coordinatedEpoch(0)).toBe(1);
    expect(fetched(c, 2, group)).toEqual([ErrorCode.NONE, 100]);
    // The commit never answered successfully is not there (broker 2 never received it).
    expect(fetched(c, 2, other)).toEqual([ErrorCode.NONE, -1]);
    const moved = c.coordinator(2).inspectGroup(group);
    expect(moved?.state).toBe('Stable');
    expect(moved?.generationId).toBe(a.generationId);
    expect([...(moved?.members.keys() ?? [])]).toEqual([a.memberId]);
    expect(moved?.members.get(a.memberId)?.assignment.toString()).toBe('orders-0');
    // Broker 2 commits at its epoch; broker 1, now a follower, refuses.
    const next = c.coordinator(2).commitOffsets(offsetCommitRequest({ groupId: other }, 200));
    await flush();
    await c.replicate(2, 1, 0);
    expect((await next).topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
    expect(fetched(c, 2, other)).toEqual([ErrorCode.NONE, 200]);
    expect(await commit(c, 1, other, 999)).toBe(ErrorCode.NOT_COORDINATOR);
  });

  test('leadership regained at a newer epoch reloads what the other leader committed', async () => {
    const c = await start();
    await c.commit(c.offsetsTopicRecords([1, 2, 3], () => [1, 2]));
    await c.node(1).groups.loaded;
    const group = groupOn(0);
    const first = c.coordinator(1).commitOffsets(offsetCommitRequest({ groupId: group }, 1));
    await flush();
    await c.replicate(1, 2, 0);
    await first;
    await c.change(0, { leader: 2 });
    await c.node(2).groups.loaded;
    const second = c.coordinator(2).commitOffsets(offsetCommitRequest({ groupId: group }, 2));
    await flush();
    await c.replicate(2, 1, 0);
    await second;
    c.node(1).probe = status(group);
    await c.change(0, { leader: 1 });
    expect(c.node(1).probed).toEqual([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);
    await c.node(1).groups.loaded;
    expect(c.node(1).groups.coordinatedEpoch(0)).toBe(2);
    expect(c.node(2).groups.coordinatedEpoch(0)).toBeUndefined();
    expect(fetched(c, 1, group)).toEqual([ErrorCode.NONE, 2]);
    expect(fetched(c, 2, group)).toEqual([ErrorCode.NOT_COORDINATOR, -1]);
  });

  test('leader again at a newer epoch, seen at once: reloaded to the log end', async () => {
    const c = await start();
    await c.commit(c.offsetsTopicRecords([1, 2, 3], () => [1, 2]));
    await c.node(1).groups.loaded;
    const group = groupOn(0);
    const first = c.coordinator(1).commitOffsets(offsetCommitRequest({ groupId: group }, 1));
    await flush();
    await c.replicate(1, 2, 0);
    await first;
    // Written here, waiting for broker 2, when leadership goes to 2 and comes back in one
    // stretch of the metadata log: this broker sees epoch 0 then epoch 2, never a follower.
    const waiting = track(
      c.coordinator(1).commitOffsets(offsetCommitRequest({ groupId: group }, 2)),
    );
    await flush();
    expect(c.hosted(1, 0).log.logEndOffset).toBe(2);
    c.node(1).probe = status(group);
    await c.commit([change(OFFSETS_ID, 0, { leader: 2 }), change(OFFSETS_ID, 0, { leader: 1 })]);
    expect((await waiting.promise).topics[0]?.partitions[0]?.errorCode).toBe(
      ErrorCode.NOT_COORDINATOR,
    );
    expect(c.node(1).probed).toEqual([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);
    await c.node(1).groups.loaded;
    expect(c.node(1).groups.coordinatedEpoch(0)).toBe(2);
    // Kafka loads to the log end: the record above the HW is in the leader's log, which the
    // followers converge to, so it is served (and becomes committed as the HW advances).
    expect(fetched(c, 1, group)).toEqual([ErrorCode.NONE, 2]);
    await c.replicate(1, 2, 0);
    expect(c.hosted(1, 0).leader?.highWatermark).toBe(2);
  });

  test('__consumer_offsets appearing in an image starts the coordinator', async () => {
    const c = await start();
    for (const node of c.nodes) expect(node.groups.coordinator).toBeUndefined();
    await c.commit(c.offsetsTopicRecords([3, 3, 3], () => [3]));
    await Promise.all(c.nodes.map((n) => n.groups.loaded));
    for (let p = 0; p < 3; p++) {
      expect(c.coordinator(3).ownsPartition(p)).toBe(true);
      expect(c.coordinator(1).ownsPartition(p)).toBe(false);
    }
  });
});
