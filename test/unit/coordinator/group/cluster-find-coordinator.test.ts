/**
 * FindCoordinator in cluster mode, against three brokers whose images come from committed
 * KRaft records: every broker names the LEADER of the group's __consumer_offsets partition,
 * with that broker's endpoint on the listener the request came in on, through the real codecs
 * at every version (v0-v3 single key, v4+ batched). No leader, or a leader without the
 * listener: COORDINATOR_NOT_AVAILABLE. A cluster without the topic yet: the first lookup has
 * the controller create it and answers once the image shows it.
 */
import { afterEach, describe, expect, onTestFailed, test } from 'vitest';
import { ErrorCode } from '../../../../protocol/errors.ts';
import { ApiKey } from '../../../../protocol/generated/api-catalogue.ts';
import { Apis } from '../../../../protocol/generated/api-table.ts';
import {
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
  newFindCoordinatorRequest,
} from '../../../../protocol/generated/apis/10-find-coordinator.ts';
import { Reader } from '../../../../protocol/wire/reader.ts';
import { Writer } from '../../../../protocol/wire/writer.ts';
import { offsetsTopicName } from '../../../../src/coordinator/group/log-group-store.ts';
import { findCoordinatorHandler } from '../../../../src/handlers/10-find-coordinator.ts';
import { change } from '../../metadata/records.ts';
import { GroupCluster, groupOn, OFFSETS_ID } from './cluster-harness.ts';
import { seedFromEnv } from './harness.ts';

let cluster: GroupCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function start(): Promise<GroupCluster> {
  const seed = seedFromEnv();
  onTestFailed(() => console.error(`seed ${seed} (rerun with BROOK_TEST_SEED=${seed})`));
  cluster = await GroupCluster.start({ seed });
  return cluster;
}

interface Answer {
  readonly errorCode: number;
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/** FindCoordinator for `keys` at node `id`, through the codecs at `version`. */
async function find(
  c: GroupCluster,
  id: number,
  keys: readonly string[],
  version: number,
  listenerName = 'PLAINTEXT',
): Promise<Answer[]> {
  const request: FindCoordinatorRequest = newFindCoordinatorRequest();
  request.keyType = 0;
  if (version >= 4) request.coordinatorKeys = [...keys];
  else request.key = keys[0] ?? '';
  const w = new Writer();
  Apis.FindCoordinator.encodeRequest(w, request, version);
  const reader = new Reader(w.finish());
  const decoded = Apis.FindCoordinator.decodeRequest(reader, version);
  expect(reader.error).toBeUndefined();
  const ctx = c.context(id, ApiKey.FindCoordinator, version, listenerName);
  const response = (await findCoordinatorHandler.handle(
    ctx,
    decoded,
    version,
  )) as FindCoordinatorResponse;
  const out = new Writer();
  Apis.FindCoordinator.encodeResponse(out, response, version);
  const back = new Reader(out.finish());
  const r = Apis.FindCoordinator.decodeResponse(back, version);
  expect(back.error).toBeUndefined();
  if (version >= 4) {
    expect(r.coordinators.map((x) => x.key)).toEqual(keys);
    return r.coordinators.map(({ errorCode, nodeId, host, port }) => ({
      errorCode,
      nodeId,
      host,
      port,
    }));
  }
  return [{ errorCode: r.errorCode, nodeId: r.nodeId, host: r.host, port: r.port }];
}

describe('FindCoordinator in a three-broker cluster', () => {
  test('every broker names the leader of the group partition, on the asked listener', async () => {
    const c = await start();
    // Partition p led by broker leaders[p].
    const leaders = [2, 3, 1];
    await c.commit(c.offsetsTopicRecords(leaders));
    const groups = [0, 1, 2].map((p) => groupOn(p));
    for (const id of [1, 2, 3]) {
      for (let version = 0; version <= 6; version++) {
        const keys = version >= 4 ? groups : [groups[version % 3] as string];
        const answers = await find(c, id, keys, version);
        const expected = keys.map((key) => {
          const leader = leaders[groups.indexOf(key)] as number;
          return { errorCode: 0, nodeId: leader, host: `b${leader}.plain`, port: 9000 + leader };
        });
        expect(answers).toEqual(expected);
      }
      const internal = await find(c, id, groups, 4, 'INTERNAL');
      expect(internal.map((a) => [a.nodeId, a.host, a.port])).toEqual(
        leaders.map((l) => [l, `b${l}.internal`, 19000 + l]),
      );
    }
    // A new leader is named as soon as the image shows it.
    await c.change(0, { leader: 3 });
    for (const id of [1, 2, 3]) {
      expect((await find(c, id, [groups[0] as string], 3))[0]?.nodeId).toBe(3);
    }
  });

  test('no leader, or no endpoint on the listener: COORDINATOR_NOT_AVAILABLE', async () => {
    const c = await start();
    await c.commit(c.offsetsTopicRecords([1, 2, 3]));
    await c.change(1, { leader: -1, isr: [2] });
    const [onNoLeader] = await find(c, 1, [groupOn(1)], 3);
    expect(onNoLeader).toEqual({
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      nodeId: -1,
      host: '',
      port: -1,
    });
    // A listener no broker registered.
    const answers = await find(c, 2, [groupOn(0), groupOn(2)], 4, 'OTHER');
    expect(answers.map((a) => a.errorCode)).toEqual([
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ]);
    // The others are still answered.
    expect((await find(c, 2, [groupOn(2)], 4))[0]?.nodeId).toBe(3);
  });

  test('the first lookup has the controller create __consumer_offsets, once', async () => {
    const c = await start();
    c.leadersOnCreate = [3, 1, 2];
    expect(c.node(1).cluster.topic(offsetsTopicName)).toBeUndefined();
    const group = groupOn(0);
    // Two brokers asked at once: both forward CreateTopics; one creates, one is told it exists.
    const [from1, from2] = await Promise.all([find(c, 1, [group], 4), find(c, 2, [group], 2)]);
    expect(from1).toEqual([{ errorCode: 0, nodeId: 3, host: 'b3.plain', port: 9003 }]);
    expect(from2).toEqual(from1);
    const asked = c.createRequests.map((r) => r.topics.map((t) => [t.name, t.numPartitions]));
    expect(asked).toEqual([[[offsetsTopicName, 3]], [[offsetsTopicName, 3]]]);
    // Every broker, the third included, coordinates what it leads and nothing else.
    await Promise.all(c.nodes.map((n) => n.groups.loaded));
    for (const [id, led] of [
      [3, 0],
      [1, 1],
      [2, 2],
    ] as const) {
      const coordinator = c.coordinator(id);
      for (let p = 0; p < 3; p++) expect(coordinator.ownsPartition(p)).toBe(p === led);
    }
  });

  test('a lookup catches the group service up with leadership taken without it', async () => {
    const c = await start();
    await c.commit(c.offsetsTopicRecords([1, 1, 1], () => [1, 2]));
    await c.node(1).groups.loaded;
    // As the broker's registration catch-up does: the replicas apply an image the group
    // service is not told about (partition 2 now led by broker 2).
    const records = [change(OFFSETS_ID, 2, { leader: 2 })];
    const image = c.node(2).cluster.image.apply(records, c.node(2).cluster.image.offset + 1);
    await c.node(2).replicas.applyImage(image);
    expect(c.hosted(2, 2).role).toBe('leader');
    expect(c.coordinator(2).ownsPartition(2)).toBe(false);
    // A client that got NOT_COORDINATOR looks the coordinator up again, at any broker.
    await find(c, 2, [groupOn(2)], 4);
    await c.node(2).groups.loaded;
    expect(c.coordinator(2).ownsPartition(2)).toBe(true);
    expect(c.node(2).groups.coordinatedEpoch(2)).toBe(1);
  });
});
