/**
 * The Raft simulation from the command line.
 *   npm run sim -- --seeds N [--first-seed S]   runs N seeds, prints a summary
 *   npm run sim -- --seed S                     replays one seed, printing every event
 * Options: --bug <name> (a RaftBugFlags key), --fault-ms N. Exits 1 on any violation, printing
 * the failing seeds.
 */
import { parseArgs } from 'node:util';
import type { RaftBugFlags } from '../../src/raft/replica-config.ts';
import { runSeed } from './scenario.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    'first-seed': { type: 'string' },
    seed: { type: 'string' },
    bug: { type: 'string' },
    'fault-ms': { type: 'string' },
  },
});

const bugs: RaftBugFlags | undefined = values.bug ? { [values.bug]: true } : undefined;
const faultPhaseMs = values['fault-ms'] ? Number(values['fault-ms']) : undefined;

if (values.seed !== undefined) {
  const seed = Number(values.seed);
  const result = runSeed(seed, { bugs, faultPhaseMs, trace: (line) => console.log(line) });
  console.log(JSON.stringify(result));
  process.exitCode = result.violation ? 1 : 0;
} else {
  const count = Number(values.seeds ?? 100);
  const first = Number(values['first-seed'] ?? 1);
  const startedMs = performance.now();
  let events = 0;
  const failures: string[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const result = runSeed(seed, { bugs, faultPhaseMs });
    events += result.events;
    if (result.violation) {
      failures.push(`seed ${seed}: ${result.violation}`);
      console.log(`FAIL seed ${seed}: ${result.violation} (replay: npm run sim -- --seed ${seed})`);
    }
  }
  const seconds = (performance.now() - startedMs) / 1000;
  console.log(
    `${count} seeds from ${first}: ${failures.length} failed, ${events} events, ` +
      `${seconds.toFixed(1)} s (${Math.round(events / seconds)} events/s)`,
  );
  process.exitCode = failures.length > 0 ? 1 : 0;
}
