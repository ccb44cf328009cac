/**
 * MetadataQuorum: three voters and one observer in one process over real TCP (controller
 * listeners on 127.0.0.1), each on its own MemoryFileSystem. A leader is elected and reported
 * only once usable; records appended at it reach every node's listener in offset order exactly
 * once; a listener added late is replayed from the start; a restarted node replays its log; a
 * stored snapshot is delivered as a `snapshot` batch; leadership moves on resignation.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSnapshotRecords, encodeSnapshotRecords } from '../../../src/node/metadata-quorum.ts';
import { BrokerError } from '../../../src/util/errors.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';
import {
  appendOnLeader,
  Collector,
  startCluster,
  type TestCluster,
  until,
} from './quorum-harness.ts';

const seed = Number(process.env.BROOK_SEED ?? 7);
console.log(`metadata-quorum seed ${seed}`);

let cluster: TestCluster | undefined;

afterAll(async () => {
  await cluster?.stop();
});

function values(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

describe('MetadataQuorum over TCP', () => {
  it('elects a leader, reports it usable, and delivers every record to every node', async () => {
    cluster = await startCluster(3, 1, seed);
    const c = cluster;
    await until('a usable leader', () => c.readyLeader() !== undefined);
    const leader = c.readyLeader();
    expect(leader?.quorum?.isLeaderReady).toBe(true);
    expect(leader?.quorum?.isVoter).toBe(true);
    // The usable leader's nextOffset is past its own leader-change entry.
    const ready = leader?.collector.leaders.at(-1);
    expect(ready?.nextOffset).toBe(leader?.quorum?.logEndOffset);
    expect(c.node(4).quorum?.isVoter).toBe(false);

    const sent = values('a', 30);
    for (let i = 0; i < sent.length; i += 10) await appendOnLeader(c, sent.slice(i, i + 10));
    for (const node of c.nodes) {
      await until(`node ${node.id} delivered 30`, () => node.collector.values.length >= 30);
    }
    for (const node of c.nodes) {
      expect(node.collector.errors, `node ${node.id}`).toEqual([]);
      expect(node.collector.values, `node ${node.id}`).toEqual(sent);
      // Same offsets everywhere: a record's offset is its Raft offset.
      expect(node.collector.offsets).toEqual(c.node(1).collector.offsets);
    }
    // Followers and the observer know the leader (they report it, never themselves).
    for (const node of c.nodes) {
      expect(node.collector.leader?.leaderId, `node ${node.id}`).toBe(leader?.id);
      expect(node.quorum?.leader().leaderId).toBe(leader?.id);
    }
  });

  it('replays a listener added late from the start of the log', async () => {
    const c = cluster as TestCluster;
    const late = new Collector();
    c.node(2).quorum?.addListener(late);
    expect(late.values).toEqual([]); // never inside addListener
    await until('late listener replayed', () => late.values.length >= 30);
    expect(late.values).toEqual(values('a', 30));
    expect(late.errors).toEqual([]);
  });

  it('replays the log to a restarted follower and to a restarted observer', async () => {
    const c = cluster as TestCluster;
    const leaderId = c.readyLeader()?.id as number;
    const follower = c.nodes.find((n) => n.id !== leaderId && n.id !== 4);
    if (!follower) throw new Error('no follower');
    for (const id of [follower.id, 4]) {
      await c.node(id).quorum?.stop();
      await c.startQuorum(id);
    }
    const more = values('b', 5);
    await appendOnLeader(c, more);
    for (const id of [follower.id, 4]) {
      const node = c.node(id);
      await until(`node ${id} replayed`, () => node.collector.values.length >= 35);
      expect(node.collector.values).toEqual([...values('a', 30), ...more]);
      expect(node.collector.errors).toEqual([]);
    }
  });

  it('moves leadership on resignation and keeps delivering once, in order', async () => {
    const c = cluster as TestCluster;
    const old = c.readyLeader();
    if (!old?.quorum) throw new Error('no leader');
    expect(old.quorum.resign()).toBe(true);
    await until(
      'another usable leader',
      () => c.readyLeader() !== undefined && c.readyLeader()?.id !== old.id,
      15_000,
    );
    // The old leader reported "no usable leader" for its resigned epoch at some point, or the
    // new leader directly; never itself after resigning.
    const after = old.collector.leaders.at(-1)?.leader;
    expect(after?.leaderId).not.toBe(old.id);
    const more = values('c', 5);
    await appendOnLeader(c, more);
    for (const node of c.nodes) {
      await until(`node ${node.id} has c`, () => node.collector.values.includes('c-4'));
      expect(node.collector.errors).toEqual([]);
      expect(node.collector.values.slice(-5)).toEqual(more);
    }
  });

  it('delivers a stored snapshot to a new listener as one snapshot batch', async () => {
    const c = cluster as TestCluster;
    const node = c.node(3);
    const quorum = node.quorum;
    if (!quorum) throw new Error('no quorum');
    await until('node 3 caught up', () => node.collector.values.includes('c-4'));
    const endOffset = (node.collector.offsets.at(-1) as number) + 1;
    const state = ['s-1', 's-2', 's-3'].map((s) => Buffer.from(s));
    await until('snapshot taken', () => quorum.createSnapshot(endOffset, state) !== undefined);
    const fresh = new Collector();
    quorum.addListener(fresh);
    await until('snapshot delivered', () => fresh.batches.length >= 1);
    const first = fresh.batches[0];
    expect(first?.snapshot).toBe(true);
    expect(first?.lastOffset).toBe(endOffset - 1);
    expect(fresh.values).toEqual(['s-1', 's-2', 's-3']);
  });
});

describe('a snapshot installed from the leader', () => {
  it('reaches a follower restarted on an empty disk, then the entries after it', async () => {
    const c = cluster as TestCluster;
    const leader = c.readyLeader();
    if (!leader?.quorum) throw new Error('no leader');
    const lagging = c.nodes.find((n) => n.id !== leader.id && n.id !== 4);
    if (!lagging) throw new Error('no follower');
    await lagging.quorum?.stop();
    const quorum = leader.quorum;
    await appendOnLeader(c, values('d', 3));
    await until('leader committed d', () => leader.collector.values.includes('d-2'));
    const endOffset = quorum.highWatermark;
    const state = ['state-1', 'state-2'].map((s) => Buffer.from(s));
    await until('leader snapshot', () => quorum.createSnapshot(endOffset, state) !== undefined);
    lagging.fs = new MemoryFileSystem(new SeededRandom(seed + 100));
    await c.startQuorum(lagging.id);
    await appendOnLeader(c, ['e-0']);
    await until('follower installed and caught up', () => lagging.collector.values.includes('e-0'));
    const first = lagging.collector.batches[0];
    expect(first?.snapshot).toBe(true);
    expect(first?.lastOffset).toBe(endOffset - 1);
    expect(lagging.collector.values).toEqual(['state-1', 'state-2', 'e-0']);
    expect(lagging.collector.errors).toEqual([]);
  });
});

describe('snapshot record framing', () => {
  it('round-trips records and refuses damaged bytes', () => {
    const records = [Buffer.from('one'), Buffer.alloc(0), Buffer.from('three')];
    const bytes = encodeSnapshotRecords(records);
    expect(decodeSnapshotRecords(bytes).map((b) => b.toString())).toEqual(['one', '', 'three']);
    expect(() => decodeSnapshotRecords(bytes.subarray(0, bytes.length - 1))).toThrow(BrokerError);
    expect(() => decodeSnapshotRecords(Buffer.from([0, 0]))).toThrow(BrokerError);
  });
});
