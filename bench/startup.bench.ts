/**
 * Startup: time from "start" to the first answered ApiVersions request, and idle memory.
 * - CLI: from spawning `node src/cli.ts` to the answer (target <= 300 ms; Node's compile
 *   cache is warm after the untimed first run, as it is on any machine after one start);
 * - startBroker(): from the call to the answer, in a process that has already loaded Brook
 *   (target <= 50 ms);
 * - idle RSS of the CLI process once it has answered (target <= 60 MB), next to the floor:
 *   a bare Node TCP server that answers the same request, measured the same way.
 * Run: npx node bench/startup.bench.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../src/index.ts';
import { measure, median, report } from './harness.ts';

const root = join(import.meta.dirname, '..');
const runs = 7;

/** ApiVersions v0 (request header v1, null client id) with correlation id 1. */
const apiVersionsFrame = Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff]);

/** Connects, sends ApiVersions, resolves when a whole response frame has arrived. */
function askApiVersions(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(apiVersionsFrame));
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        socket.destroy();
        resolve();
      }
    });
    socket.on('error', reject);
  });
}

interface CliRun {
  readonly readyMs: number;
  readonly rssMb: number;
}

/** Node alone: a TCP server that prints the same line and answers any bytes with a frame. */
const bareServer = [
  "import { createServer } from 'node:net';",
  'const server = createServer((s) => s.on("data", () => s.write(Buffer.alloc(4))));',
  "server.listen(0, '127.0.0.1', () => {",
  "  console.log('Brook listening on PLAINTEXT://127.0.0.1:' + server.address().port);",
  '});',
  "process.on('SIGTERM', () => process.exit(0));",
].join('\n');

/** The node arguments that start `entry`: a file of the repository, or the bare server. */
function nodeArgs(entry: string): string[] {
  if (entry === bareServerEntry) return ['--input-type=module', '-e', bareServer];
  return [join(root, entry), '--port', '0'];
}

const bareServerEntry = 'bare Node TCP server';

/** One CLI start: spawn, wait for the listening line, ask ApiVersions, read RSS, stop. */
function startCli(entry: string, dataDir: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn(process.execPath, nodeArgs(entry), {
      env: { PATH: process.env.PATH ?? '', BROOK_LOG_DIRS: dataDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /Brook listening on PLAINTEXT:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (!match) return;
      child.stdout.removeAllListeners('data');
      askApiVersions(Number(match[1])).then(() => {
        const readyMs = performance.now() - startedAt;
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
        child.once('exit', () => resolve({ readyMs, rssMb: rssKb / 1024 }));
        child.kill('SIGTERM');
      }, reject);
    });
    child.once('error', reject);
  });
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'brook-bench-'));
  const rss = new Map<string, number[]>();
  const cliRow = (entry: string) =>
    measure(`node ${entry}: start to first ApiVersions answer`, 'ms', runs, async () => {
      const run = await startCli(entry, dataDir);
      rss.set(entry, [...(rss.get(entry) ?? []), run.rssMb]);
      return run.readyMs;
    });
  try {
    const cli = await cliRow('src/cli.ts');
    const bin = await cliRow('bin/brook.js');
    const bare = await cliRow(bareServerEntry);
    const inProcess = await measure(
      'startBroker() to first ApiVersions answer',
      'ms',
      runs,
      async () => {
        const startedAt = performance.now();
        const broker = await startBroker();
        await askApiVersions(broker.port);
        const elapsedMs = performance.now() - startedAt;
        await broker.stop();
        return elapsedMs;
      },
    );
    const rssRow = (entry: string) => {
      // The first sample is the untimed warm-up (cold compile cache): left out.
      const values = (rss.get(entry) ?? []).slice(1);
      return {
        name: `${entry === bareServerEntry ? entry : `node ${entry}`}: idle RSS after first answer`,
        unit: 'MB',
        runs: values,
        median: median(values),
      };
    };
    report('Startup (targets: CLI <= 300 ms, startBroker <= 50 ms, idle RSS <= 60 MB)', [
      cli,
      bin,
      { ...bare, name: `${bareServerEntry}: start to first answer` },
      inProcess,
      rssRow('src/cli.ts'),
      rssRow('bin/brook.js'),
      rssRow(bareServerEntry),
    ]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
