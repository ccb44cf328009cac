/**
 * RaftDriver with its real parts in one process: StorageRaftLog and QuorumStateFile on a
 * MemoryFileSystem per node, SimClock time, and a transport that delivers each message on a
 * later turn. Three drivers elect a leader, commit, and a crashed node (losing unsynced bytes)
 * comes back from its disk and catches up.
 */
import { describe, expect, it } from 'vitest';
import type { RaftEnvelope } from '../../../src/raft/messages.ts';
import { QuorumStateFile } from '../../../src/raft/quorum-state-file.ts';
import { RaftDriver } from '../../../src/raft/raft-driver.ts';
import { RaftReplica } from '../../../src/raft/replica.ts';
import { raftConfigDefaults } from '../../../src/raft/replica-config.ts';
import { StorageRaftLog } from '../../../src/raft/storage-raft-log.ts';
import { SimClock } from '../../../src/util/clock.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';

const dir = '/meta/__cluster_metadata-0';
const voterIds = [1, 2, 3];

interface TestNode {
  readonly id: number;
  fs: MemoryFileSystem;
  driver: RaftDriver | undefined;
  log: StorageRaftLog | undefined;
}

class Cluster {
  readonly clock = new SimClock();
  readonly random: SeededRandom;
  readonly nodes: TestNode[];
  readonly fatal: Error[] = [];

  constructor(seed: number) {
    this.random = new SeededRandom(seed);
    this.nodes = voterIds.map((id) => ({
      id,
      fs: new MemoryFileSystem(this.random.fork()),
      driver: undefined,
      log: undefined,
    }));
  }

  async start(node: TestNode): Promise<void> {
    const log = await StorageRaftLog.open({
      fs: node.fs,
      clock: this.clock,
      random: this.random.fork(),
      dir,
      snapshotBytesMax: 1 << 20,
    });
    const stateFile = await QuorumStateFile.open(node.fs, dir);
    const config = {
      ...raftConfigDefaults,
      nodeId: node.id,
      clusterId: 'driver-test',
      voterIds,
      electionTimeoutMs: 300,
      fetchTimeoutMs: 600,
      requestTimeoutMs: 150,
      fetchMaxWaitMs: 100,
    };
    const replica = new RaftReplica(
      config,
      log,
      stateFile.read(),
      this.random.fork(),
      this.clock.nowMs(),
    );
    const transport = { send: (envelope: RaftEnvelope) => this.#deliverLater(envelope) };
    const driver = new RaftDriver({
      replica,
      log,
      stateStore: stateFile,
      transport,
      clock: this.clock,
      onFatal: (error) => this.fatal.push(error),
    });
    node.log = log;
    node.driver = driver;
    driver.start();
  }

  /** A power loss: the driver stops, the disk keeps only what was synced. */
  async crash(node: TestNode): Promise<void> {
    const driver = node.driver;
    node.driver = undefined;
    node.fs = node.fs.crash();
    await driver?.stop().catch(() => {});
  }

  #deliverLater(envelope: RaftEnvelope): void {
    this.clock.setTimer(this.random.int(1, 5), () => {
      this.nodes[envelope.destination - 1]?.driver?.deliver(envelope);
    });
  }

  leader(): TestNode | undefined {
    return this.nodes.find((n) => n.driver?.replica.isLeader);
  }

  /** Advances simulated time in small steps, letting the file system's promises settle. */
  async runUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
    for (let elapsed = 0; elapsed < timeoutMs; elapsed += 5) {
      if (done()) return true;
      this.clock.advance(5);
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    }
    return done();
  }
}

function committedData(node: TestNode): string[] {
  const replica = node.driver?.replica;
  if (!replica) return [];
  const read = replica.readCommitted(0, 1000);
  if (read.kind !== 'entries') return [];
  return read.entries
    .filter((e) => e.kind === 'data')
    .map((e) => Buffer.from(e.data).toString('utf8'));
}

describe('RaftDriver', () => {
  it('runs a quorum on durable storage: elects, commits, and recovers a crashed node', async () => {
    const cluster = new Cluster(5);
    for (const node of cluster.nodes) await cluster.start(node);
    expect(await cluster.runUntil(() => cluster.leader() !== undefined, 10_000)).toBe(true);
    const leader = cluster.leader() as TestNode;
    // The leader's epoch and self-vote were made durable before it could win.
    const stored = (await QuorumStateFile.open(leader.fs, dir)).read();
    expect(stored?.epoch).toBe(leader.driver?.replica.epoch);

    const values = ['x1', 'x2', 'x3'];
    for (const value of values) {
      expect(leader.driver?.append([Buffer.from(value)])?.kind).toBe('appended');
    }
    const allHold = (want: string[]) => () =>
      cluster.nodes.every((n) => want.every((v) => committedData(n).includes(v)));
    expect(await cluster.runUntil(allHold(values), 5_000)).toBe(true);

    const follower = cluster.nodes.find((n) => n !== leader) as TestNode;
    await cluster.crash(follower);
    expect(leader.driver?.append([Buffer.from('y1')])?.kind).toBe('appended');
    await cluster.start(follower);
    // Committed entries were durable on a majority: the restarted node gets them all back.
    const want = [...values, 'y1'];
    expect(await cluster.runUntil(allHold(want), 10_000)).toBe(true);
    expect(committedData(follower)).toEqual(want);
    expect(cluster.fatal).toEqual([]);
  });

  it('stops and reports when the log cannot write', async () => {
    const cluster = new Cluster(9);
    for (const node of cluster.nodes) await cluster.start(node);
    expect(await cluster.runUntil(() => cluster.leader() !== undefined, 10_000)).toBe(true);
    const leader = cluster.leader() as TestNode;
    leader.fs.crash(); // the leader's file system now fails every call with EIO
    leader.driver?.append([Buffer.from('lost')]);
    await cluster.runUntil(() => cluster.fatal.length > 0, 2_000);
    expect(cluster.fatal.length).toBeGreaterThan(0);
    expect(leader.driver?.stopped).toBe(true);
  });

  it('holds messages until a truncation in flight is durable', async () => {
    const clock = new SimClock();
    const fs = new MemoryFileSystem(new SeededRandom(3));
    const log = await StorageRaftLog.open({
      fs,
      clock,
      random: new SeededRandom(3),
      dir,
      snapshotBytesMax: 1 << 20,
    });
    log.append([
      { offset: 0, epoch: 1, kind: 'data', data: Buffer.from('a') },
      { offset: 1, epoch: 1, kind: 'data', data: Buffer.from('b') },
    ]);
    await log.flushDurably();
    const stateFile = await QuorumStateFile.open(fs, dir);
    await stateFile.write({ epoch: 1, votedId: -1, leaderId: 2 });
    const config = {
      ...raftConfigDefaults,
      nodeId: 1,
      clusterId: 'c',
      voterIds,
    };
    const replica = new RaftReplica(config, log, stateFile.read(), new SeededRandom(4), 0);
    const sent: RaftEnvelope[] = [];
    const driver = new RaftDriver({
      replica,
      log,
      stateStore: stateFile,
      transport: { send: (envelope) => sent.push(envelope) },
      clock,
      onFatal: (error) => {
        throw error;
      },
    });
    driver.start();
    const fetches = sent.length;
    expect(fetches).toBeGreaterThan(0); // a follower fetches from its leader at once
    // A truncation is queued and not yet on disk: what the replica says next must wait.
    log.truncateTo(1);
    expect(log.hasUnsettledRewrites).toBe(true);
    driver.deliver({
      source: 3,
      destination: 1,
      correlationId: 9,
      message: {
        type: 'vote-request',
        clusterId: 'c',
        voterId: 1,
        candidateEpoch: 2,
        candidateId: 3,
        lastOffsetEpoch: 1,
        lastOffset: 1,
        preVote: true,
      },
    });
    expect(sent.length).toBe(fetches);
    await log.settled();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.slice(fetches).map((e) => e.message.type)).toContain('vote-response');
    await driver.stop();
  });
});
