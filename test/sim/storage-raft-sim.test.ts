/**
 * The quorum on its production parts under seeded faults: per node a RaftDriver over a
 * StorageRaftLog (PartitionLog segments + snapshot files) and a QuorumStateFile, each on its
 * own MemoryFileSystem whose `crash()` loses every unsynced byte (torn tails included); a
 * lossy, reordering network; SimClock time. The synchronous simulation (cluster.ts) models
 * storage with MemoryRaftLog; this variant checks that the real log, the driver's persistence
 * order and crash recovery keep the same guarantees:
 * - at most one leader per epoch;
 * - an entry below any replica's high watermark never changes (the first value seen at a
 *   committed offset is the only one ever seen there, across crashes and snapshot installs);
 * - after healing, every node restarts from its disk and all converge on one high watermark.
 * A failure names its seed; seeds are independent and replay exactly.
 */
import { describe, expect, it } from 'vitest';
import type { RaftEnvelope } from '../../src/raft/messages.ts';
import { QuorumStateFile } from '../../src/raft/quorum-state-file.ts';
import { RaftDriver } from '../../src/raft/raft-driver.ts';
import { RaftReplica } from '../../src/raft/replica.ts';
import { type RaftBugFlags, raftConfigDefaults } from '../../src/raft/replica-config.ts';
import { StorageRaftLog } from '../../src/raft/storage-raft-log.ts';
import { SimClock } from '../../src/util/clock.ts';
import { SeededRandom } from '../../src/util/random.ts';
import { MemoryFileSystem } from '../../storage/io/memory-file-system.ts';

const seeds = 300;
const dir = '/meta/__cluster_metadata-0';
const stepMs = 5;
const faultPhaseMs = 4_000;
const convergeBoundMs = 8_000;

interface SimNode {
  readonly id: number;
  fs: MemoryFileSystem;
  driver: RaftDriver | undefined;
  log: StorageRaftLog | undefined;
  starting: boolean;
}

class StorageSim {
  readonly clock = new SimClock();
  readonly random: SeededRandom;
  readonly voterIds: number[];
  readonly nodes: SimNode[];
  readonly committed: string[] = [];
  readonly leaders = new Map<number, number>();
  readonly fatal: string[] = [];
  dropProbability: number;
  #payload = 0;

  readonly bugs: RaftBugFlags | undefined;
  crashes = 0;

  constructor(seed: number, bugs?: RaftBugFlags) {
    this.bugs = bugs;
    this.random = new SeededRandom(seed);
    const voters = this.random.pick([3, 3, 5]);
    this.voterIds = Array.from({ length: voters }, (_v, i) => i + 1);
    this.dropProbability = this.random.pick([0, 0.02, 0.1]);
    this.nodes = this.voterIds.map((id) => ({
      id,
      fs: new MemoryFileSystem(this.random.fork()),
      driver: undefined,
      log: undefined,
      starting: false,
    }));
  }

  async start(node: SimNode): Promise<void> {
    node.starting = true;
    const log = await StorageRaftLog.open({
      fs: node.fs,
      clock: this.clock,
      random: this.random.fork(),
      dir,
      snapshotBytesMax: 1 << 20,
      segmentBytes: 1024,
    });
    const stateFile = await QuorumStateFile.open(node.fs, dir);
    const config = {
      ...raftConfigDefaults,
      nodeId: node.id,
      clusterId: 'storage-sim',
      voterIds: this.voterIds,
      electionTimeoutMs: 150,
      fetchTimeoutMs: 300,
      requestTimeoutMs: 80,
      fetchMaxWaitMs: 50,
      fetchMaxEntries: 8,
      snapshotChunkBytes: 16,
      bugs: this.bugs,
    };
    const random = this.random.fork();
    const replica = new RaftReplica(config, log, stateFile.read(), random, this.clock.nowMs());
    const driver = new RaftDriver({
      replica,
      log,
      stateStore: stateFile,
      transport: { send: (envelope) => this.#send(envelope) },
      clock: this.clock,
      onFatal: (error) => this.fatal.push(`n${node.id}: ${error.message}`),
    });
    node.log = log;
    node.driver = driver;
    node.starting = false;
    driver.start();
  }

  crash(node: SimNode): void {
    const driver = node.driver;
    if (!driver) return;
    node.driver = undefined;
    node.log = undefined;
    node.fs = node.fs.crash();
    this.crashes++;
    driver.stop().catch(() => {});
  }

  #send(envelope: RaftEnvelope): void {
    if (this.random.chance(this.dropProbability)) return;
    this.clock.setTimer(this.random.int(1, 15), () => {
      this.nodes[envelope.destination - 1]?.driver?.deliver(envelope);
    });
  }

  appendAtLeader(): void {
    const leader = this.nodes.find((n) => n.driver?.replica.isLeader);
    const replica = leader?.driver?.replica;
    if (!leader?.log || !replica || leader.log.endOffset() - replica.highWatermark > 16) return;
    const records = Array.from({ length: this.random.int(1, 3) }, () => {
      return Buffer.from(`p${++this.#payload}`);
    });
    leader.driver?.append(records);
  }

  snapshotSomewhere(): void {
    const node = this.random.pick(this.nodes);
    const replica = node.driver?.replica;
    if (!replica || !node.log || replica.highWatermark <= node.log.startOffset()) return;
    replica.createSnapshot(replica.highWatermark, Buffer.from(`state@${replica.highWatermark}`));
  }

  /** Election safety and committed-prefix stability, after every step. */
  check(): void {
    for (const node of this.nodes) {
      const replica = node.driver?.replica;
      const log = node.log;
      if (!replica || !log) continue;
      if (replica.isLeader) {
        const known = this.leaders.get(replica.epoch);
        if (known !== undefined && known !== node.id) {
          throw new Error(`two leaders in epoch ${replica.epoch}: n${known} and n${node.id}`);
        }
        this.leaders.set(replica.epoch, node.id);
      }
      const from = log.startOffset();
      const entries = log.read(from, Math.max(0, replica.highWatermark - from));
      for (const entry of entries) {
        const text = `${entry.epoch}/${entry.kind}/${Buffer.from(entry.data).toString()}`;
        const known = this.committed[entry.offset];
        if (known === undefined) this.committed[entry.offset] = text;
        else if (known !== text) {
          throw new Error(`n${node.id} committed offset ${entry.offset} = ${text}, was ${known}`);
        }
      }
    }
    if (this.fatal.length > 0) throw new Error(`fatal: ${this.fatal.join('; ')}`);
  }

  async step(): Promise<void> {
    this.clock.advance(stepMs);
    // MemoryFileSystem work is promise chains: one macrotask turn drains them all.
    await new Promise((resolve) => setImmediate(resolve));
    this.check();
  }
}

async function runFaults(sim: StorageSim): Promise<void> {
  for (let elapsed = 0; elapsed < faultPhaseMs; elapsed += stepMs) {
    const down = sim.nodes.filter((n) => !n.driver && !n.starting);
    const roll = sim.random.next();
    if (roll < 0.004 && down.length < Math.floor((sim.nodes.length - 1) / 2)) {
      // Half of the crashes hit the leader, to force elections over recovered logs.
      const leader = sim.nodes.find((n) => n.driver?.replica.isLeader);
      const up = sim.nodes.filter((n) => n.driver);
      sim.crash(leader && sim.random.chance(0.5) ? leader : sim.random.pick(up));
    } else if (roll < 0.012 && down.length > 0) {
      void sim.start(sim.random.pick(down));
    } else if (roll < 0.2) {
      sim.appendAtLeader();
    } else if (roll < 0.21) {
      sim.snapshotSomewhere();
    }
    await sim.step();
  }
}

async function converge(sim: StorageSim): Promise<boolean> {
  sim.dropProbability = 0;
  for (const node of sim.nodes) if (!node.driver && !node.starting) void sim.start(node);
  for (let elapsed = 0; elapsed < convergeBoundMs; elapsed += stepMs) {
    if (elapsed % 200 === 0) sim.appendAtLeader();
    await sim.step();
    const leader = sim.nodes.find((n) => n.driver?.replica.isLeader)?.driver?.replica;
    if (!leader || leader.highWatermark < sim.committed.length) continue;
    const hw = leader.highWatermark;
    if (sim.nodes.every((n) => n.driver?.replica.highWatermark === hw)) return true;
  }
  return false;
}

interface SeedResult {
  readonly committed: number;
  readonly epochs: number;
  readonly crashes: number;
}

async function runSeed(seed: number, bugs?: RaftBugFlags): Promise<SeedResult> {
  const sim = new StorageSim(seed, bugs);
  for (const node of sim.nodes) await sim.start(node);
  await runFaults(sim);
  if (!(await converge(sim))) throw new Error('no convergence after healing');
  return { committed: sim.committed.length, epochs: sim.leaders.size, crashes: sim.crashes };
}

describe('raft on the storage engine, seeded faults and crashes', () => {
  it(`keeps election safety and committed entries over ${seeds} seeds`, async () => {
    let committed = 0;
    let epochs = 0;
    let crashes = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      try {
        const result = await runSeed(seed);
        committed += result.committed;
        epochs += result.epochs;
        crashes += result.crashes;
      } catch (error) {
        throw new Error(`seed ${seed}: ${(error as Error).message}`, { cause: error });
      }
    }
    console.log(
      `storage raft sim: ${seeds} seeds, ${committed} entries, ${epochs} epochs, ` +
        `${crashes} crashes`,
    );
    expect(committed).toBeGreaterThan(seeds * 20);
    expect(epochs).toBeGreaterThan(seeds);
    expect(crashes).toBeGreaterThan(seeds);
  });

  it('catches a replica that commits without a majority (the checks can fail)', async () => {
    let caught: string | undefined;
    for (let seed = 1; seed <= seeds && !caught; seed++) {
      try {
        await runSeed(seed, { advanceHighWatermarkWithoutMajority: true });
      } catch (error) {
        const message = (error as Error).message;
        if (/committed offset \d+ = /.test(message)) caught = `seed ${seed}: ${message}`;
      }
    }
    console.log(`advanceHighWatermarkWithoutMajority: ${caught}`);
    expect(caught).toBeDefined();
  });
});
