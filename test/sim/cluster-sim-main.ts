/**
 * The cluster simulation from the command line.
 *   node test/sim/cluster-sim-main.ts --seeds N [--first-seed S]   N seeds, a summary
 *   node test/sim/cluster-sim-main.ts --seed S                     one seed, every event
 * Options: --bug ackBeforeReplication|ignoreMinInsync, --fault-ms N, --heal-ms N,
 * --nodes-out N (nodes down or cut off at once), --no-ack-check (leave a broken
 * acknowledgement to the loss and prefix checks). Node 22.15+ (it runs .ts directly).
 * Exits 1 on any violation, printing the failing seeds.
 */
import { parseArgs } from 'node:util';
import { type ClusterSimBugs, runClusterSim } from './cluster-sim.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    'first-seed': { type: 'string' },
    seed: { type: 'string' },
    bug: { type: 'string' },
    'fault-ms': { type: 'string' },
    'heal-ms': { type: 'string' },
    'no-ack-check': { type: 'boolean' },
    'nodes-out': { type: 'string' },
  },
});

const bugs: ClusterSimBugs | undefined = values.bug ? { [values.bug]: true } : undefined;
const faultMs = values['fault-ms'] ? Number(values['fault-ms']) : undefined;
const healMs = values['heal-ms'] ? Number(values['heal-ms']) : undefined;
const checkAckIsr = !values['no-ack-check'];
const nodesOutMax = values['nodes-out'] ? Number(values['nodes-out']) : undefined;

if (values.seed !== undefined) {
  const seed = Number(values.seed);
  const result = await runClusterSim({
    seed,
    bugs,
    faultMs,
    healMs,
    checkAckIsr,
    nodesOutMax,
    trace: (line) => console.log(line),
  });
  console.log(JSON.stringify(result));
  process.exitCode = result.violation ? 1 : 0;
} else {
  const count = Number(values.seeds ?? 20);
  const first = Number(values['first-seed'] ?? 1);
  const startedMs = performance.now();
  let failed = 0;
  let stuck = 0;
  let acknowledged = 0;
  for (let seed = first; seed < first + count; seed++) {
    const result = await runClusterSim({
      seed,
      bugs,
      faultMs,
      healMs,
      checkAckIsr,
      nodesOutMax,
    });
    acknowledged += result.acknowledged;
    if (result.stuck) {
      stuck++;
      console.log(`STUCK seed ${seed}: ${result.stuck}`);
    }
    if (result.fatal.length > 0) console.log(`FATAL seed ${seed}: ${result.fatal.join('; ')}`);
    if (result.violation) {
      failed++;
      console.log(
        `FAIL ${result.violation} (replay: node test/sim/cluster-sim-main.ts --seed ${seed})`,
      );
    }
  }
  const seconds = (performance.now() - startedMs) / 1000;
  console.log(
    `${count} seeds from ${first}: ${failed} failed, ${stuck} stuck, ${acknowledged} ` +
      `acknowledged batches, ${seconds.toFixed(1)} s`,
  );
  process.exitCode = failed > 0 ? 1 : 0;
}
