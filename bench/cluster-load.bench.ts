/**
 * Replication factor 3 against one node (issue 7). Every broker is its own `node bin/brook.js`
 * process on loopback (bench/load/cluster-nodes.ts): a 3-node cluster (each node broker and
 * controller, RF 3, min.insync.replicas 2) and a single-node-mode broker (RF 1) run side by
 * side, measured alternately (a warm-up each, then RUNS pairs; medians), with the pipelining
 * load generator of bench/load/:
 *
 * - produce throughput, 1 KiB records in ~128 KiB batches, 1 and 8 partitions, acks -1, each
 *   partition sent to its leader (one connection per leader, `inFlight` requests each); and,
 *   as a diagnostic, RF 3 with acks 1 (the same replication work without waiting for it);
 * - produce-to-consume latency p50/p99/p999 at a fixed rate (1 KiB records, acks -1; the
 *   consumer reads from the leader, which serves records once the high watermark passes them);
 * - leader failover: SIGKILL the leader of a partition while a producer sends acks -1 every
 *   10 ms; time from the kill to the first write the new leader acknowledges, on a fresh
 *   cluster each time, with broker.session.timeout.ms 9000 (Brook's and Kafka's default,
 *   heartbeats every 2 s) and 2000 (heartbeats every 0.5 s), the killed node being a plain
 *   broker (not the active controller) and then the active controller too. A failover with
 *   no acknowledged write 60 s after the kill is counted as failed and its logs are kept.
 *
 * Each section prints the load average and the CPU time of the broker processes: on a 2-core
 * machine three brokers and the load generator share two cores.
 *
 * Run: npx node bench/cluster-load.bench.ts [MiB per produce run, default 32]
 *   [in flight per connection, default 8] [sections, default produce,latency,failover]
 *   (BROOK_BENCH_KEEP=1 keeps data and node logs; BROOK_BENCH_LOG_LEVEL=info logs more)
 */
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Measurement, median, report } from './harness.ts';
import { BenchCluster, sleep } from './load/cluster-nodes.ts';
import {
  type FailoverResult,
  measureFailover,
  produceSpread,
  type SpreadWorkload,
  spreadWorkload,
} from './load/cluster-produce.ts';
import { type LatencyResult, measureLatency } from './load/latency.ts';
import { recordBatch } from './load/requests.ts';

const mibPerRun = Number(process.argv[2] ?? 32);
const inFlight = Number(process.argv[3] ?? 8);
const sections = (process.argv[4] ?? 'produce,latency,failover').split(',');
const RUNS = 3;
const RECORD_BYTES = 1024;
const BATCH_BYTES_TARGET = 128 * 1024;
const LATENCY_RATE = 5_000;
const LATENCY_MS = 3_000;
const dir = mkdtempSync(join(tmpdir(), 'brook-cluster-load-'));

function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}

function cpu(label: string, cluster: BenchCluster, since: number): string {
  return `${label} ${((cluster.cpuMs() - since) / 1000).toFixed(1)} s`;
}

/** Both deployments started, in their own directories; `fn` gets [RF 1, RF 3]. */
async function withBoth(
  name: string,
  fn: (single: BenchCluster, triple: BenchCluster) => Promise<void>,
): Promise<void> {
  const [single, triple] = await Promise.all([
    BenchCluster.start({ nodes: 1, dir: join(dir, `${name}-rf1`) }),
    BenchCluster.start({ nodes: 3, dir: join(dir, `${name}-rf3`) }),
  ]);
  const cpu1 = single.cpuMs();
  const cpu3 = triple.cpuMs();
  console.log(`  (load average 1/5/15 min before: ${load()})`);
  try {
    await fn(single, triple);
  } finally {
    console.log(
      `  (process CPU: ${cpu('single node', single, cpu1)}, ${cpu('3 nodes', triple, cpu3)};` +
        ` load average after: ${load()})\n`,
    );
    await Promise.all([single.stop(), triple.stop()]);
  }
}

/** Subjects measured in turn: one warm-up each, then RUNS rounds; medians. */
async function interleaved(
  unit: string,
  subjects: readonly { name: string; once: () => Promise<number> }[],
): Promise<Measurement[]> {
  for (const subject of subjects) await subject.once();
  const runs = subjects.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) {
    for (const [j, subject] of subjects.entries()) runs[j]?.push(await subject.once());
  }
  return subjects.map((subject, j) => {
    const values = runs[j] ?? [];
    return { name: subject.name, unit, runs: values, median: median(values) };
  });
}

async function produceSection(): Promise<void> {
  const recordsPerBatch = Math.floor(BATCH_BYTES_TARGET / (RECORD_BYTES + 8));
  const batch = recordBatch(recordsPerBatch, RECORD_BYTES, Date.now());
  const bytes = mibPerRun * 1024 * 1024;
  await withBoth('produce', async (single, triple) => {
    for (const partitions of [1, 8]) {
      const topic = `p${partitions}`;
      await single.createTopic(topic, partitions);
      await triple.createTopic(topic, partitions);
      const w1 = await spreadWorkload(single, topic, batch, recordsPerBatch, -1, bytes);
      const w3 = new Map<number, SpreadWorkload>();
      // A run that meets NOT_LEADER (a leadership that moved) is said and run again, at most
      // twice, against the leaders Metadata then names, as a client would.
      const rf3Once = async (acks: number, retries = 2): Promise<number> => {
        let w = w3.get(acks);
        if (!w) {
          w = await spreadWorkload(triple, topic, batch, recordsPerBatch, acks, bytes);
          w3.set(acks, w);
        }
        try {
          return await produceSpread(w, inFlight);
        } catch (error) {
          if (retries === 0) throw error;
          const cause = error instanceof Error ? `${error.message}: ${error.cause}` : error;
          console.log(`  (RF 3 run failed, ${cause}; leaders now ${await triple.leaders(topic)})`);
          await sleep(500);
          w3.delete(acks);
          return rf3Once(acks, retries - 1);
        }
      };
      const what = `1 KiB records, ${partitions} partition${partitions > 1 ? 's' : ''}`;
      const rows = await interleaved('records/s', [
        { name: `RF 1 (single node): ${what}, acks -1`, once: () => produceSpread(w1, inFlight) },
        { name: `RF 3 (3 nodes, min.insync 2): ${what}, acks -1`, once: () => rf3Once(-1) },
        // Not asked for: tells waiting for the followers apart from the cost of replicating.
        { name: `diagnostic: RF 3, ${what}, acks 1`, once: () => rf3Once(1) },
      ]);
      const leaders = w3.get(-1)?.legs.length ?? 0;
      const mbps = ((rows[1]?.median ?? 0) * (RECORD_BYTES + 8)) / 1e6;
      report(
        `produce ${what}, acks -1 (RF 3: ${leaders} leader${leaders > 1 ? 's' : ''}, ` +
          `about ${mbps.toFixed(0)} MB/s of records)`,
        rows,
        rows[0],
      );
    }
  });
}

function latencyTable(rf1: LatencyResult[], rf3: LatencyResult[]): void {
  const rows: [string, (r: LatencyResult) => number][] = [
    ['p50', (r) => r.p50Ms],
    ['p99', (r) => r.p99Ms],
    ['p999', (r) => r.p999Ms],
    ['max', (r) => r.maxMs],
    ['produce request -> acks=-1 response, p99', (r) => r.ackP99Ms ?? Number.NaN],
  ];
  const fmt = (v: number): string => (v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const lines = [
    `### produce-to-consume latency, ${LATENCY_RATE} records/s of 1 KiB, acks -1, ` +
      `${rf3[0]?.samples} samples/run`,
    '',
    '| ms | RF 1 (single node) | RF 3 (3 nodes) | RF 3 / RF 1 | runs RF 1 | runs RF 3 |',
    '| --- | ---: | ---: | ---: | --- | --- |',
  ];
  for (const [name, pick] of rows) {
    const a = rf1.map(pick);
    const b = rf3.map(pick);
    const ratio = (median(b) / median(a)).toFixed(2);
    lines.push(
      `| ${name} | ${fmt(median(a))} | ${fmt(median(b))} | ${ratio}x | ` +
        `${a.map(fmt).join(', ')} | ${b.map(fmt).join(', ')} |`,
    );
  }
  console.log(`${lines.join('\n')}\n`);
}

async function latencySection(): Promise<void> {
  await withBoth('latency', async (single, triple) => {
    const rf1: LatencyResult[] = [];
    const rf3: LatencyResult[] = [];
    // A topic per run, so every run's consumer starts at its own first record; run 0 warms up.
    for (let i = 0; i <= RUNS; i++) {
      const topic = `latency-${i}`;
      await single.createTopic(topic, 1);
      await triple.createTopic(topic, 1);
      const leader1 = single.node((await single.leaders(topic))?.[0] ?? 1).port;
      const leader3 = triple.node((await triple.leaders(topic))?.[0] ?? 1).port;
      const a = await measureLatency(leader1, topic, LATENCY_RATE, LATENCY_MS, RECORD_BYTES);
      const b = await measureLatency(leader3, topic, LATENCY_RATE, LATENCY_MS, RECORD_BYTES);
      if (i > 0) {
        rf1.push(a);
        rf3.push(b);
      }
    }
    latencyTable(rf1, rf3);
  });
}

interface FailoverCase {
  readonly sessionMs: number;
  readonly heartbeatMs: number;
  /** Kill the node that is also the active controller (else a node that is not). */
  readonly killController: boolean;
}

/** SIGKILL -> no acknowledged write for this long counts as a failed failover. */
const FAILOVER_GIVE_UP_MS = 60_000;

/** One failover on a fresh cluster; undefined (logs kept, path printed) if it failed. */
async function failoverOnce(c: FailoverCase, run: number): Promise<FailoverResult | undefined> {
  const name = `failover-${c.sessionMs}-${c.killController ? 'ctl' : 'broker'}-${run}`;
  const runDir = join(dir, name);
  const cluster = await BenchCluster.start({
    nodes: 3,
    dir: runDir,
    overrides: {
      'broker.session.timeout.ms': c.sessionMs,
      'broker.heartbeat.interval.ms': c.heartbeatMs,
      // Timing of fencing and elections, for a failed run's post-mortem (cheap at this rate).
      'logger.level': 'info',
    },
  });
  let failed = false;
  try {
    // Place the partition's leader (first replica) on the node to kill.
    const controller = await cluster.controllerId();
    const ids = cluster.nodes.map((n) => n.id);
    const target = c.killController ? controller : (ids.find((id) => id !== controller) ?? 1);
    const replicas = [target, ...ids.filter((id) => id !== target)];
    await cluster.createTopic('failover', 1, { assignments: [replicas] });
    const result = await measureFailover(cluster, 'failover', 0, {
      intervalMs: 10,
      recordsPerSend: 10,
      warmupMs: 2_000,
      retryMs: 10,
      giveUpMs: FAILOVER_GIVE_UP_MS,
    });
    const after = await cluster.controllerId().catch(() => -1);
    console.log(
      `  session ${c.sessionMs} ms, killed node ${result.killedId}` +
        `${c.killController ? ' (active controller)' : ` (controller: ${controller})`}: ` +
        `new leader ${result.newLeaderId} known after ${result.leaderKnownMs.toFixed(0)} ms, ` +
        `first ack after ${result.failoverMs.toFixed(0)} ms ` +
        `(${result.ackedBefore} acks before, ${result.failedAttempts} failed attempts; ` +
        `controller after: ${after})`,
    );
    return result;
  } catch (error) {
    failed = true;
    const kept = join(tmpdir(), `brook-${name}-${Date.now()}`);
    console.log(`  session ${c.sessionMs} ms, ${name}: FAILED (${error}); logs in ${kept}`);
    await cluster.stop();
    renameSync(runDir, kept);
    return undefined;
  } finally {
    if (!failed) await cluster.stop();
  }
}

async function failoverSection(): Promise<void> {
  console.log(`  (load average before: ${load()})`);
  const cases: FailoverCase[] = [
    { sessionMs: 9_000, heartbeatMs: 2_000, killController: false },
    { sessionMs: 2_000, heartbeatMs: 500, killController: false },
    { sessionMs: 9_000, heartbeatMs: 2_000, killController: true },
    { sessionMs: 2_000, heartbeatMs: 500, killController: true },
  ];
  const rows: Measurement[] = [];
  for (const c of cases) {
    const runs: number[] = [];
    let failures = 0;
    for (let run = 0; run < RUNS; run++) {
      const result = await failoverOnce(c, run);
      if (result) runs.push(result.failoverMs);
      else failures++;
    }
    const who = c.killController ? 'leader + active controller' : 'leader (not the controller)';
    const failed = failures > 0 ? ` (${failures} of ${RUNS} failed: no ack in 60 s)` : '';
    rows.push({
      name: `SIGKILL ${who}, session ${c.sessionMs} ms, heartbeat ${c.heartbeatMs} ms${failed}`,
      unit: 'ms',
      runs,
      median: runs.length > 0 ? median(runs) : Number.NaN,
    });
  }
  report('leader failover: SIGKILL -> first acks=-1 write acknowledged by the new leader', rows);
  console.log(`  (load average after: ${load()})\n`);
}

async function main(): Promise<void> {
  console.log(
    `${mibPerRun} MiB per produce run, ${inFlight} requests in flight per connection, ` +
      `${RUNS} runs; load average 1/5/15 min: ${load()}\n`,
  );
  if (sections.includes('produce')) await produceSection();
  if (sections.includes('latency')) await latencySection();
  if (sections.includes('failover')) await failoverSection();
}

try {
  await main();
} finally {
  // BROOK_BENCH_KEEP=1 keeps every node's data and log (node-<id>.log) for a post-mortem.
  if (process.env.BROOK_BENCH_KEEP === '1') console.log(`data and logs kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
