/**
 * Raft's "figure 8", scripted on five voters: a leader must not count replicas of an earlier
 * epoch's entry as a commit. X is written in epoch e1 and reaches only two voters; a leader of
 * epoch e2 that lacks X writes its own entry at X's offset; a leader of epoch e3 copies X to a
 * third voter. Were X committed then, the e2 leader could still be re-elected (its last epoch
 * beats X's) and erase it. The replica commits X only under an entry of its own epoch; the
 * deliberately broken one (`commitPriorEpochEntries`) is caught by the checker.
 */
import { describe, expect, it } from 'vitest';
import type { RaftBugFlags } from '../../src/raft/replica-config.ts';
import { SimCluster, type SimNode } from './cluster.ts';

interface Outcome {
  /** Whether X counted as committed while only epoch-e1 copies of it existed. */
  readonly committedByCount: boolean;
  readonly violation: string | undefined;
}

const ids = (...nodes: SimNode[]): number[] => nodes.map((n) => n.id);

function playFigureEight(seed: number, bugs?: RaftBugFlags): Outcome {
  const c = new SimCluster({
    seed,
    voters: 5,
    observers: 0,
    network: { dropProbability: 0, duplicateProbability: 0, delayMsMin: 1, delayMsMax: 3 },
    storageLatencyMsMax: 0,
    snapshotEveryEntries: 1_000_000,
    fetchMaxEntries: 1,
    bugs,
  });
  const step = (what: string, done: () => boolean): void => {
    if (!c.runUntil(done, 30_000)) throw new Error(`scenario stalled: ${what}`);
  };
  let committedByCount = false;
  try {
    step('a first leader', () => c.leader() !== undefined);
    const a = c.leader() as SimNode;
    const k = a.log.endOffset();
    step('all hold the leader-change entry', () => c.nodes.every((n) => n.log.endOffset() === k));
    const [b, ...rest] = c.nodes.filter((n) => n !== a) as [SimNode, ...SimNode[]];

    // (a) A writes X at offset k; only B receives it; A crashes.
    c.partition([ids(a, b), ids(...rest)]);
    c.appendToLeader(1);
    step('B holds X', () => b.log.durableEndOffset() > k);
    c.crash(a.id);

    // (b) The other three elect L2 (epoch e2), which writes its leader-change at k, alone.
    step('a leader among the three', () => c.leader() !== undefined);
    const l2 = c.leader() as SimNode;
    const [p, q] = rest.filter((n) => n !== l2) as [SimNode, SimNode];
    c.partition([ids(l2), ids(a, b, p, q)]);
    step('L2 entry at k is durable', () => l2.log.durableEndOffset() > k);
    c.crash(l2.id);

    // (c) A restarts; A, B and P elect N (epoch e3); N copies X to P. P never sees N's own
    // entry, so only epoch-e1 copies of X make the majority N, B, P.
    c.healNetwork();
    c.partition([ids(a, b, p), ids(q)]);
    c.restart(a.id);
    step('a leader among A, B, P', () => c.leader() !== undefined);
    const n = c.leader() as SimNode;
    step('P holds X', () => p.log.endOffset() > k);
    c.block(n.id, p.id);
    const reported = (): number =>
      n.replica?.describeQuorum().currentVoters.find((v) => v.replicaId === p.id)?.logEndOffset ??
      -1;
    step('N counts P at X', () => reported() > k);
    committedByCount = (n.replica?.highWatermark ?? 0) > k;
    c.crash(n.id);

    // (d) L2 returns; with P and Q (whose last epoch e1 is older than L2's e2) it wins and
    // makes P drop X.
    c.healNetwork();
    c.partition([ids(l2, p, q), ids(a, b)]);
    c.restart(l2.id);
    step('L2 leads again', () => c.leader() === l2);
    step('P drops X', () => p.log.hashAt(k) === l2.log.hashAt(k));
    return { committedByCount, violation: undefined };
  } catch (error) {
    const violation = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { committedByCount, violation };
  }
}

const seeds = Array.from({ length: 20 }, (_, i) => i + 1);

describe('raft figure 8', () => {
  it('does not commit an earlier-epoch entry by counting replicas, and loses nothing', () => {
    for (const seed of seeds) {
      const outcome = playFigureEight(seed);
      expect(outcome, `seed ${seed}`).toEqual({ committedByCount: false, violation: undefined });
    }
  });

  it('the checker catches a leader that commits earlier-epoch entries by count', () => {
    for (const seed of seeds) {
      const outcome = playFigureEight(seed, { commitPriorEpochEntries: true });
      expect(outcome.committedByCount, `seed ${seed}`).toBe(true);
      expect(outcome.violation).toMatch(/committed prefix \d+ is durable on only 2 of 5 voters/);
    }
  });
});
