/**
 * A random run per seed: the seed picks the cluster shape, the network's faults and a schedule
 * of crashes, pauses, partitions (two-way and one-way) and resignations while a client appends.
 * Then everything heals, and liveness is required: within a bound a leader commits in its epoch
 * and every replica reaches its high watermark.
 */
import type { RaftBugFlags } from '../../src/raft/replica-config.ts';
import { SeededRandom } from '../../src/util/random.ts';
import { SimViolation } from './checker.ts';
import { SimCluster, type SimOptions } from './cluster.ts';

export interface RunOptions {
  readonly faultPhaseMs?: number;
  readonly livenessBoundMs?: number;
  readonly bugs?: RaftBugFlags;
  readonly trace?: (line: string) => void;
}

export interface RunResult {
  readonly seed: number;
  readonly events: number;
  readonly simulatedMs: number;
  readonly committed: number;
  readonly violation?: string;
}

export function simOptionsForSeed(seed: number, run: RunOptions = {}): SimOptions {
  const random = new SeededRandom(seed ^ 0x5eed);
  const voters = random.pick([1, 2, 3, 3, 3, 4, 5, 5]);
  const delayMsMin = random.int(0, 5);
  return {
    seed,
    voters,
    observers: random.pick([0, 0, 1, 2]),
    network: {
      dropProbability: random.pick([0, 0.01, 0.05, 0.15]),
      duplicateProbability: random.pick([0, 0.02, 0.1]),
      delayMsMin,
      delayMsMax: delayMsMin + random.pick([1, 5, 20, 60]),
    },
    storageLatencyMsMax: random.pick([0, 2, 10, 40]),
    snapshotEveryEntries: random.pick([8, 30, 1000]),
    fetchMaxEntries: random.pick([4, 32]),
    bugs: run.bugs,
    trace: run.trace,
  };
}

/** Runs one seed; a violation (or an assertion inside a replica) ends it with a reason. */
export function runSeed(seed: number, run: RunOptions = {}): RunResult {
  const options = simOptionsForSeed(seed, run);
  const cluster = new SimCluster(options);
  try {
    cluster.trace(
      `seed ${seed}: ${options.voters} voters, ${options.observers} observers, ` +
        `network ${JSON.stringify(options.network)}, storage <= ${options.storageLatencyMsMax}ms`,
    );
    runFaultPhase(cluster, run.faultPhaseMs ?? 8000);
    healEverything(cluster);
    requireConvergence(cluster, (run.livenessBoundMs ?? 10_000) + catchUpMs(cluster));
    return result(cluster, seed);
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    cluster.trace(`VIOLATION ${reason}`);
    return { ...result(cluster, seed), violation: reason };
  }
}

function result(cluster: SimCluster, seed: number): RunResult {
  return {
    seed,
    events: cluster.events,
    simulatedMs: cluster.nowMs - 1_000_000,
    committed: cluster.checker.committedLength,
  };
}

function runFaultPhase(cluster: SimCluster, durationMs: number): void {
  const random = cluster.random.fork();
  const endMs = cluster.nowMs + durationMs;
  const faultGapMs = random.pick([150, 400, 1000]);
  const appendGapMs = random.pick([10, 40, 100]);
  const every = (gapMs: number, action: () => void): void => {
    const next = (): void => {
      if (cluster.nowMs >= endMs) return;
      action();
      cluster.queue.after(random.int(1, 2 * gapMs), next);
    };
    cluster.queue.after(random.int(1, gapMs), next);
  };
  every(appendGapMs, () => cluster.appendToLeader(random.int(1, 3)));
  every(200, () => cluster.maybeSnapshot(random.pick(cluster.nodes).id));
  every(faultGapMs, () => injectFault(cluster, random));
  cluster.runUntil(() => false, durationMs);
}

function injectFault(cluster: SimCluster, random: SeededRandom): void {
  const node = random.pick(cluster.nodes);
  const others = cluster.nodes.filter((n) => n !== node).map((n) => n.id);
  const durationMs = random.int(50, 1500);
  switch (random.int(0, 5)) {
    case 0:
      cluster.crash(node.id);
      cluster.queue.after(durationMs, () => cluster.restart(node.id));
      return;
    case 1:
      cluster.pause(node.id);
      cluster.queue.after(durationMs, () => cluster.resume(node.id));
      return;
    case 2: {
      const ids = cluster.nodes.map((n) => n.id).filter(() => random.chance(0.5));
      const rest = cluster.nodes.map((n) => n.id).filter((id) => !ids.includes(id));
      cluster.partition([ids, rest]);
      cluster.queue.after(durationMs, () => cluster.healNetwork());
      return;
    }
    case 3:
      if (others.length > 0) cluster.block(node.id, random.pick(others));
      cluster.queue.after(durationMs, () => cluster.healNetwork());
      return;
    case 4: {
      const leader = cluster.leader();
      if (leader) cluster.resign(leader.id);
      return;
    }
    default:
      cluster.partition([[node.id], others]);
      cluster.queue.after(durationMs, () => cluster.healNetwork());
  }
}

function healEverything(cluster: SimCluster): void {
  cluster.trace('HEAL everything; liveness from here');
  cluster.healNetwork();
  cluster.network.dropProbability = 0;
  cluster.network.duplicateProbability = 0;
  for (const node of cluster.nodes) {
    cluster.restart(node.id);
    cluster.resume(node.id);
  }
}

/**
 * Time for the furthest-behind replica to copy the backlog at one fetch per round trip: an
 * observer of a one-voter quorum can lag without bound while the client writes.
 */
function catchUpMs(cluster: SimCluster): number {
  const ends = cluster.nodes.map((n) => n.log.endOffset());
  const lag = Math.max(...ends) - Math.min(...ends);
  const { network, storageLatencyMsMax, fetchMaxEntries } = cluster.options;
  const roundTripMs = 2 * network.delayMsMax + storageLatencyMsMax + 10;
  return Math.ceil(lag / fetchMaxEntries) * roundTripMs;
}

/** Liveness: a leader commits in its own epoch and every replica reaches its high watermark. */
function requireConvergence(cluster: SimCluster, boundMs: number): void {
  const converged = (): boolean => {
    const leader = cluster.leader();
    const replica = leader?.replica;
    if (!leader || !replica) return false;
    const hw = replica.highWatermark;
    if (hw !== leader.log.endOffset() || leader.log.epochAt(hw - 1) !== replica.epoch) return false;
    return cluster.nodes.every(
      (n) => n.live && n.replica?.highWatermark === hw && n.appliedOffset === hw,
    );
  };
  if (!cluster.runUntil(converged, boundMs)) {
    const states = cluster.nodes
      .map(
        (n) =>
          `n${n.id}:${n.replica?.role.name}@${n.replica?.epoch} hw=${n.replica?.highWatermark}`,
      )
      .join(' ');
    throw new SimViolation(
      `liveness: no convergence within ${boundMs}ms after healing (${states})`,
    );
  }
}
