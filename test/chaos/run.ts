/**
 * The chaos campaign from the command line (`npm run chaos -- ...`):
 *
 *   --runs N        runs, each with its own cluster and seed (default 1)
 *   --seconds S     seconds of workload under the nemesis per run (default 30)
 *   --seed X        seed of the first run (run i uses X + i - 1); default: from the clock
 *   --nodes 1|3     single-node mode (RF 1) or a 3-node cluster (RF 3, min.insync.replicas 2)
 *   --partitions P  partitions of the topic (default 3)
 *   --producers N / --consumers N   clients (default 3 / 2)
 *   --group-consumers N   kafkajs consumers in one group besides (default 0)
 *   --faults a,b    only these fault kinds (kill,restart,pause,cut,blackhole,delay; default all)
 *   --out DIR       where logs, histories and reports go (default: a new temp directory)
 *   --keep          keep the data directories and history.json (always kept for a failed run)
 *   --brook-root D  run the nodes from another Brook checkout's bin/brook.js (e.g. a snapshot
 *                   of a commit: `git archive HEAD | tar -x -C D`, with node_modules linked)
 *
 *   --check FILE    only re-check a saved history.json (exit 1 on any anomaly)
 *
 * Per run: start the cluster, create the topic, run the workload and the nemesis for S seconds,
 * heal everything, let the cluster settle, stop the clients, read every partition's committed
 * log, stop the nodes, dump every replica, check the history (checker.ts). Prints one line per
 * run and a total; exits 1 on any anomaly, on a run that acknowledged nothing, or on an error.
 * Every process it started is killed on the way out, SIGINT included.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SeededRandom } from '../../src/util/random.ts';
import { type CheckReport, checkHistory, summarise } from './checker.ts';
import { ChaosCluster, killEveryChild, sleep } from './cluster.ts';
import { type History, HistoryRecorder } from './history.ts';
import { type FaultKind, faultKinds, Nemesis } from './nemesis.ts';
import { dumpReplicas, finalReads, startWorkload, type Workload } from './workload.ts';

const topic = 'chaos';
/** After healing: how long the cluster gets to bring every replica back in sync. */
const settleTimeoutMs = 30_000;
/** Clients keep going this long on the healed cluster, so the last faults' effects show. */
const healedRunMs = 2_000;

interface RunSettings {
  readonly seconds: number;
  readonly nodes: 1 | 3;
  readonly partitions: number;
  readonly producers: number;
  readonly consumers: number;
  readonly groupConsumers: number;
  readonly faults: readonly FaultKind[];
  readonly outDir: string;
  readonly keep: boolean;
  readonly brookRoot: string | undefined;
}

interface RunResult {
  readonly seed: number;
  readonly faults: number;
  readonly report: CheckReport | undefined;
  readonly error: string | undefined;
}

function parseSettings(): {
  runs: number;
  seed: number;
  settings: RunSettings;
  check: string | undefined;
} {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      seconds: { type: 'string' },
      seed: { type: 'string' },
      nodes: { type: 'string' },
      partitions: { type: 'string' },
      producers: { type: 'string' },
      consumers: { type: 'string' },
      'group-consumers': { type: 'string' },
      faults: { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'boolean' },
      'brook-root': { type: 'string' },
      check: { type: 'string' },
    },
  });
  const int = (text: string | undefined, fallback: number, name: string): number => {
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} wants an integer`);
    return n;
  };
  const nodes = int(values.nodes, 1, 'nodes');
  if (nodes !== 1 && nodes !== 3) throw new Error('--nodes is 1 or 3');
  const seed = int(values.seed, (Date.now() ^ (process.pid << 8)) >>> 0, 'seed');
  return {
    check: values.check,
    runs: Math.max(1, int(values.runs, 1, 'runs')),
    seed,
    settings: {
      seconds: int(values.seconds, 30, 'seconds'),
      nodes,
      partitions: Math.max(1, int(values.partitions, 3, 'partitions')),
      producers: Math.max(1, int(values.producers, 3, 'producers')),
      consumers: int(values.consumers, 2, 'consumers'),
      groupConsumers: int(values['group-consumers'], 0, 'group-consumers'),
      faults: parseFaults(values.faults),
      outDir: values.out ?? mkdtempSync(join(tmpdir(), 'brook-chaos-')),
      keep: values.keep ?? false,
      brookRoot: values['brook-root'],
    },
  };
}

function parseFaults(text: string | undefined): readonly FaultKind[] {
  if (text === undefined) return faultKinds;
  const kinds = text.split(',').map((k) => k.trim());
  const unknown = kinds.filter((k) => !(faultKinds as readonly string[]).includes(k));
  if (unknown.length > 0 || kinds.length === 0) {
    throw new Error(`--faults takes some of ${faultKinds.join(',')}; not ${unknown.join(',')}`);
  }
  return kinds as FaultKind[];
}

/** Until every partition of the topic has a leader and a full ISR, within the bound. */
async function waitInSync(cluster: ChaosCluster, partitions: number): Promise<boolean> {
  const deadline = performance.now() + settleTimeoutMs;
  while (performance.now() < deadline) {
    const meta = await cluster.nodes[0]?.metadata([topic]);
    const listed = meta?.topics[0]?.partitions ?? [];
    const inSync = listed.every(
      (p) => p.errorCode === 0 && p.leaderId >= 0 && p.isrNodes.length === cluster.nodes.length,
    );
    if (listed.length === partitions && inSync) return true;
    await sleep(200);
  }
  return false;
}

/** The data directory of the run in progress, for the SIGINT message. */
let currentDataDir: string | undefined;

async function runOnce(index: number, seed: number, settings: RunSettings): Promise<RunResult> {
  const runDir = join(settings.outDir, `run-${index}`);
  mkdirSync(runDir, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), `brook-chaos-data-${index}-`));
  currentDataDir = dataDir;
  const random = new SeededRandom(seed);
  const log = (line: string): void => console.log(`run ${index}: ${line}`);
  log(`seed=${seed} nodes=${settings.nodes} seconds=${settings.seconds} logs in ${runDir}`);
  let cluster: ChaosCluster | undefined;
  let nemesis: Nemesis | undefined;
  let workload: Workload | undefined;
  let failed = true;
  try {
    cluster = await ChaosCluster.start({
      nodes: settings.nodes,
      dataDir,
      logDir: runDir,
      ...(settings.brookRoot ? { brookRoot: settings.brookRoot } : {}),
    });
    const configs: Record<string, string> =
      settings.nodes > 1 ? { 'min.insync.replicas': '2' } : {};
    await cluster.createTopic(topic, settings.partitions, configs);
    const history = new HistoryRecorder();
    workload = startWorkload({
      cluster,
      topic,
      partitions: settings.partitions,
      producers: settings.producers,
      consumers: settings.consumers,
      groupConsumers: settings.groupConsumers,
      history,
      random: random.fork(),
    });
    const inSync = cluster;
    nemesis = new Nemesis({
      cluster,
      random: random.fork(),
      now: () => history.now(),
      log,
      kinds: settings.faults,
      settle: () => waitInSync(inSync, settings.partitions),
      leaders: async () => {
        const partitions = (await inSync.nodes[0]?.metadata([topic]))?.topics[0]?.partitions;
        return [...new Set((partitions ?? []).map((p) => p.leaderId).filter((id) => id >= 0))];
      },
    });
    try {
      await nemesis.run(settings.seconds * 1000);
    } finally {
      cluster.healAll();
    }
    await cluster.waitReady();
    if (!(await waitInSync(cluster, settings.partitions))) log('replicas not all in sync');
    await sleep(healedRunMs);
    await workload.stop();
    workload = undefined;
    const finals = await finalReads(cluster, topic, settings.partitions);
    await cluster.stopAll();
    const replicas = dumpReplicas(cluster, topic, settings.partitions);
    const recorded = { ops: history.ops, finalReads: finals, replicas };
    writeFileSync(join(runDir, 'faults.json'), JSON.stringify(nemesis.events, null, 1));
    const report = checkHistory(recorded);
    writeFileSync(join(runDir, 'report.json'), JSON.stringify(report, null, 2));
    for (const anomaly of report.anomalies) log(`ANOMALY ${anomaly.kind}: ${anomaly.message}`);
    failed = report.anomalyCount > 0 || report.acked === 0;
    // About 300 KB per second of run: kept when it is needed, or asked for.
    if (failed || settings.keep) {
      writeFileSync(join(runDir, 'history.json'), JSON.stringify(recorded));
      log(`history in ${join(runDir, 'history.json')}`);
    }
    return { seed, faults: nemesis.faults, report, error: undefined };
  } catch (error) {
    const why = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`ERROR ${why}`);
    return { seed, faults: nemesis?.faults ?? 0, report: undefined, error: why };
  } finally {
    nemesis?.stop();
    await cluster?.killAll();
    // After an error the clients may still run: stop them before the next run starts.
    if (workload) await Promise.race([workload.stop(), sleep(30_000)]);
    if (failed || settings.keep) log(`data kept in ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

/** This command's arguments with the seed made explicit and the output directory left out. */
function replayArgs(seed: number): string[] {
  const args = process.argv.slice(2);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--seed' || arg === '--out') i++;
    else if (!arg.startsWith('--seed=') && !arg.startsWith('--out=')) out.push(arg);
  }
  return [...out, '--seed', String(seed)];
}

function summaryLine(label: string, seed: number | string, r: RunResult): string {
  if (!r.report) return `${label} seed=${seed} faults=${r.faults} ERROR ${r.error?.split('\n')[0]}`;
  return `${label} seed=${seed} faults=${r.faults} ${summarise(r.report)}`;
}

async function main(): Promise<number> {
  const { runs, seed, settings, check } = parseSettings();
  if (check !== undefined) {
    const report = checkHistory(JSON.parse(readFileSync(check, 'utf8')) as History);
    for (const anomaly of report.anomalies)
      console.log(`ANOMALY ${anomaly.kind}: ${anomaly.message}`);
    console.log(`${check}: ${summarise(report)}`);
    return report.anomalyCount > 0 ? 1 : 0;
  }
  console.log(
    `chaos: ${runs} run(s) of ${settings.seconds} s, ${settings.nodes} node(s), ` +
      `first seed ${seed} (replay: npm run chaos -- ${replayArgs(seed).join(' ')}); ` +
      `output in ${settings.outDir}`,
  );
  const results: RunResult[] = [];
  for (let i = 1; i <= runs; i++) {
    const result = await runOnce(i, (seed + i - 1) >>> 0, settings);
    results.push(result);
    console.log(summaryLine(`run ${i}`, result.seed, result));
  }
  const sum = (f: (r: CheckReport) => number): number =>
    results.reduce((total, r) => total + (r.report ? f(r.report) : 0), 0);
  const faults = results.reduce((total, r) => total + r.faults, 0);
  const errors = results.filter((r) => r.error !== undefined).length;
  const idle = results.filter((r) => r.report?.acked === 0).length;
  const anomalies = sum((r) => r.anomalyCount);
  console.log(
    `total runs=${runs} faults=${faults} acked=${sum((r) => r.acked)} ` +
      `checked=${sum((r) => r.positionsChecked)} polled=${sum((r) => r.recordsPolled)} ` +
      `anomalies=${anomalies} errors=${errors} idle-runs=${idle}`,
  );
  return anomalies > 0 || errors > 0 || idle > 0 ? 1 : 0;
}

// kafkajs 2.2.4 schedules a timer with a negative delay on every response under Node 24: noise.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'TimeoutNegativeWarning')
    console.error(`${warning.name}: ${warning.message}`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    const kept = currentDataDir ? `; data left in ${currentDataDir}` : '';
    console.log(`${signal}: killing every broker started here${kept}`);
    killEveryChild();
    process.exit(130);
  });
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  killEveryChild();
}
// kafkajs and sockets may keep timers alive; the verdict is in.
process.exit(process.exitCode);
