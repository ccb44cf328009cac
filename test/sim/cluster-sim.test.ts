/**
 * The seeded cluster simulation (cluster-sim.ts): controllers, brokers and replication of
 * three nodes in one process under crashes, partitions, drops and delays, with the
 * invariants of cluster-sim-invariants.ts checked after every step. A failure names its seed;
 * replay it with `node test/sim/cluster-sim-main.ts --seed S` (every event printed).
 */
import { describe, expect, it } from 'vitest';
import { buildBatch } from '../../protocol/records/batch-builder.ts';
import { SimClock } from '../../src/util/clock.ts';
import { SeededRandom } from '../../src/util/random.ts';
import { MemoryFileSystem } from '../../storage/io/memory-file-system.ts';
import { LOG_CONFIG_DEFAULTS } from '../../storage/log/log-config.ts';
import { LogManager } from '../../storage/log/log-manager.ts';
import { type ClusterSimResult, runClusterSim } from './cluster-sim.ts';
import { Invariants, summaries } from './cluster-sim-invariants.ts';

const SEEDS = 30;
const FIRST_SEED = 1;
function summary(r: ClusterSimResult): string {
  return (
    `seed ${r.seed}: ${r.acknowledged}/${r.produceAttempts} acknowledged, ${r.crashes} ` +
    `crashes, ${r.isolations} isolations, ${r.controllerChanges} controller changes, ` +
    `${r.truncations} truncations, ${r.simMs} ms simulated`
  );
}

describe('cluster simulation', () => {
  it(`keeps every invariant over ${SEEDS} seeds of faults`, async () => {
    const failures: string[] = [];
    const totals = { acknowledged: 0, crashes: 0, controllerChanges: 0, truncations: 0 };
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      const r = await runClusterSim({ seed });
      totals.acknowledged += r.acknowledged;
      totals.crashes += r.crashes;
      totals.controllerChanges += r.controllerChanges;
      totals.truncations += r.truncations;
      if (r.violation) failures.push(`FAIL ${r.violation} (${summary(r)})`);
      if (r.stuck) failures.push(`STUCK seed ${seed}: ${r.stuck}`);
      if (r.fatal.length > 0) failures.push(`FATAL seed ${seed}: ${r.fatal.join('; ')}`);
      // Every run must exercise the path it checks.
      if (r.acknowledged === 0) failures.push(`seed ${seed}: nothing acknowledged`);
    }
    for (const f of failures) console.error(f);
    expect(failures).toEqual([]);
    // The faults happened: crashes, controller elections, follower truncations.
    expect(totals.crashes).toBeGreaterThan(SEEDS / 2);
    expect(totals.controllerChanges).toBeGreaterThan(SEEDS / 2);
    expect(totals.truncations).toBeGreaterThan(0);
    expect(totals.acknowledged).toBeGreaterThan(SEEDS * 50);
  }, 60_000);

  it('is a pure function of its seed', async () => {
    const lines: string[][] = [[], []];
    const a = await runClusterSim({ seed: 7, trace: (l) => lines[0]?.push(l) });
    const b = await runClusterSim({ seed: 7, trace: (l) => lines[1]?.push(l) });
    expect(b).toEqual(a);
    expect(lines[1]).toEqual(lines[0]);
    expect(lines[0]?.length).toBeGreaterThan(100);
  }, 30_000);

  it('catches acks=-1 answered before the high watermark passed the batch', async () => {
    // Property 4 alone: the batch is on the leader only when it is acknowledged.
    const r = await runClusterSim({ seed: 1, bugs: { ackBeforeReplication: true } });
    expect(r.violation).toMatch(/^seed 1: batch \d+ .* acknowledged with maximal ISR .* held by/);
  }, 30_000);

  it('catches the batches such a broker loses, without the ISR check', async () => {
    // Properties 1-3 on their own: an election after an early acknowledgement loses it.
    const caught: string[] = [];
    for (let seed = 1; seed <= 10 && caught.length === 0; seed++) {
      const r = await runClusterSim({
        seed,
        bugs: { ackBeforeReplication: true },
        checkAckIsr: false,
      });
      if (r.violation) caught.push(r.violation);
    }
    expect(caught[0]).toMatch(/acknowledged batch \d+ .* is (missing|replaced) on node/);
  }, 30_000);

  it('catches acknowledgements with an ISR below min.insync.replicas', async () => {
    const caught: string[] = [];
    for (let seed = 1; seed <= 10 && caught.length === 0; seed++) {
      const r = await runClusterSim({ seed, bugs: { ignoreMinInsync: true } });
      if (r.violation) caught.push(r.violation);
    }
    expect(caught[0]).toMatch(/acknowledged with maximal ISR \[\d\], held by/);
  }, 30_000);
});

describe('cluster simulation, broken idempotence', () => {
  it('catches a leader that appends a retried batch again', async () => {
    const caught: string[] = [];
    for (let seed = 1; seed <= 10 && caught.length === 0; seed++) {
      const r = await runClusterSim({ seed, bugs: { ignoreDuplicates: true } });
      if (r.violation) caught.push(r.violation);
    }
    expect(caught[0]).toMatch(/producer \d+ sequence \d+ written twice/);
  }, 30_000);
});

describe('cluster simulation invariants', () => {
  async function twoLogs() {
    const clock = new SimClock();
    const random = new SeededRandom(1);
    const fs = new MemoryFileSystem(random, () => clock.nowMs());
    const logs = await LogManager.open({
      fs,
      clock,
      random,
      logDirs: ['/d'],
      defaultConfig: LOG_CONFIG_DEFAULTS,
    });
    const batch = (value: string) =>
      buildBatch({ records: [{ key: null, value: Buffer.from(value), timestamp: 1 }] });
    const a = await logs.createLog('t', 0);
    const b = await logs.createLog('t', 1);
    await a.appendAsLeader(batch('same'), { leaderEpoch: 0 });
    await b.appendAsLeader(batch('same'), { leaderEpoch: 0 });
    await a.appendAsLeader(batch('leader'), { leaderEpoch: 0 });
    await b.appendAsLeader(batch('follower'), { leaderEpoch: 0 });
    return { logs, a, b };
  }

  it('flags ISR members that differ below the high watermark, not above it', async () => {
    const { logs, a, b } = await twoLogs();
    const snapshot = (highWatermark: number) => ({
      partition: 0,
      leaderId: 1,
      leaderEpoch: 0,
      highWatermark,
      leaderLog: a,
      followers: new Map([[2, b]]),
    });
    await new Invariants(5, 2).checkStep([snapshot(1)]);
    await expect(new Invariants(5, 2).checkStep([snapshot(2)])).rejects.toThrow(
      /^seed 5: p0: ISR member 2 and leader 1 .* differ below the high watermark 2/,
    );
    await logs.close();
  });

  it('flags a consumer read contradicted later, or lost', async () => {
    const { logs, a, b } = await twoLogs();
    const [, leaderBatch] = await summaries(a);
    const [, otherBatch] = await summaries(b);
    if (!leaderBatch || !otherBatch) throw new Error('no batches');
    const invariants = new Invariants(3, 2);
    invariants.onConsumed(0, 1, [leaderBatch]);
    invariants.onConsumed(0, 1, [leaderBatch]);
    expect(() => invariants.onConsumed(0, 2, [otherBatch])).toThrow(
      /^seed 3: p0: a consumer read \[1\.\.1 .* from node 2 where it had read .* from node 1/,
    );
    const lost = new Invariants(3, 2);
    lost.onConsumed(0, 1, [otherBatch]);
    const snapshot = {
      partition: 0,
      leaderId: 1,
      leaderEpoch: 0,
      highWatermark: 2,
      leaderLog: a,
      followers: new Map(),
    };
    await expect(lost.checkStep([snapshot])).rejects.toThrow(
      /batch \[1\.\.1 .* a consumer read from node 1 is replaced by .* on node 1/,
    );
    await logs.close();
  });

  it('flags a truncation below the high watermark and a lost acknowledged batch', async () => {
    const { logs, a } = await twoLogs();
    a.setHighWatermark(2);
    const invariants = new Invariants(9, 2);
    invariants.onTruncate(1, 0, a, 2);
    expect(() => invariants.onTruncate(1, 0, a, 1)).toThrow(
      /^seed 9: node 1 truncated p0 to 1, below its high watermark 2/,
    );
    const lost = new Invariants(9, 2);
    lost.onAcknowledged({
      seq: 0,
      partition: 0,
      leaderId: 1,
      leaderEpoch: 0,
      baseOffset: 2,
      lastOffset: 2,
      crc: 1,
      sizeBytes: 70,
      isr: [1, 2],
      maximalIsr: [1, 2],
      holders: [1, 2],
      atMs: 0,
    });
    const snapshot = {
      partition: 0,
      leaderId: 1,
      leaderEpoch: 0,
      highWatermark: 2,
      leaderLog: a,
      followers: new Map(),
    };
    await expect(lost.checkStep([snapshot])).rejects.toThrow(
      /acknowledged batch 0 .* is missing on node 1/,
    );
    await logs.close();
  });
});
