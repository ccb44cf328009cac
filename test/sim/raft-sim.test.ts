/**
 * The CI budget of the Raft simulation: 2,000 seeds of faults then healing, every invariant
 * checked after every event; and proof that the checker fails on deliberately broken replicas.
 * A failing seed replays with `npm run sim -- --seed <seed>`.
 */
import { describe, expect, it } from 'vitest';
import type { RaftBugFlags } from '../../src/raft/replica-config.ts';
import { type RunResult, runSeed } from './scenario.ts';

const ciSeeds = 2000;
const firstSeed = 1;

describe('raft simulation', () => {
  it(`keeps every invariant and converges after healing over ${ciSeeds} seeds`, () => {
    const startedMs = performance.now();
    const failures: RunResult[] = [];
    let events = 0;
    let committed = 0;
    for (let seed = firstSeed; seed < firstSeed + ciSeeds; seed++) {
      const result = runSeed(seed);
      events += result.events;
      committed += result.committed;
      if (result.violation) failures.push(result);
    }
    const seconds = (performance.now() - startedMs) / 1000;
    console.log(
      `raft sim: ${ciSeeds} seeds, ${events} events, ${committed} entries committed, ` +
        `${seconds.toFixed(1)} s`,
    );
    const report = failures.map((f) => `seed ${f.seed}: ${f.violation}`).join('\n');
    expect(report, 'replay with: npm run sim -- --seed <seed>').toBe('');
    expect(committed).toBeGreaterThan(ciSeeds * 10);
  });

  it('replays a seed exactly', () => {
    const traceOf = (seed: number): string[] => {
      const lines: string[] = [];
      runSeed(seed, { trace: (line) => lines.push(line) });
      return lines;
    };
    const first = traceOf(42);
    expect(first.length).toBeGreaterThan(100);
    expect(traceOf(42)).toEqual(first);
    expect(traceOf(43)).not.toEqual(first);
  });
});

describe('the checker catches deliberately broken replicas', () => {
  const brokenVariants: readonly [keyof RaftBugFlags, RegExp][] = [
    ['grantVoteWithoutLogCheck', /committed prefix \d+ is durable on only/],
    ['advanceHighWatermarkWithoutMajority', /committed prefix \d+ is durable on only/],
    ['answerVoteBeforePersisting', /vote-response .*before stor/],
  ];

  for (const [bug, expected] of brokenVariants) {
    it(`catches ${bug} within the CI seed budget`, () => {
      let caught: RunResult | undefined;
      for (let seed = firstSeed; seed < firstSeed + ciSeeds && !caught; seed++) {
        // The replica's own defences may trip first on some seeds; the checker must catch it
        // on its own on others.
        const result = runSeed(seed, { bugs: { [bug]: true } });
        if (result.violation && expected.test(result.violation)) caught = result;
      }
      expect(caught, `${bug} went unnoticed for ${ciSeeds} seeds`).toBeDefined();
      expect(caught?.violation).toMatch(expected);
      console.log(`${bug}: caught at seed ${caught?.seed}: ${caught?.violation}`);
    });
  }
});
