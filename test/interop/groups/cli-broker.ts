/**
 * The broker as a separate process (bin/brook.js), so a test can stop it cleanly (SIGTERM) or
 * SIGKILL it and start it again on the same data directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const root = join(import.meta.dirname, '..', '..', '..');
const startTimeoutMs = 20_000;

export interface CliBroker {
  readonly bootstrap: string;
  readonly port: number;
  readonly child: ChildProcess;
}

/**
 * Starts the CLI and resolves once it logs the port it listens on; `port` 0 takes any free
 * one (a restart passes the previous port, so running clients find the broker again).
 */
export function startCliBroker(
  dataDir: string,
  settings: Readonly<Record<string, string | number>>,
  port = 0,
): Promise<CliBroker> {
  const sets = Object.entries(settings).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const where = ['--port', String(port), '--data-dir', dataDir];
  const args = [join(root, 'bin', 'brook.js'), ...where, ...sets];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BROOK_LOGGER_LEVEL: 'info' },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('broker did not report a port'));
    }, startTimeoutMs);
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = /listening on PLAINTEXT:\/\/[^:]+:(\d+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve({ bootstrap: `127.0.0.1:${match[1]}`, port: Number(match[1]), child });
      }
    });
  });
}

/** Sends `signal` and resolves with the exit code once the process is gone. */
export function stopCliBroker(broker: CliBroker, signal: 'SIGTERM' | 'SIGKILL') {
  return new Promise<number | null>((resolve) => {
    if (broker.child.exitCode !== null) resolve(broker.child.exitCode);
    broker.child.once('exit', (code) => resolve(code));
    broker.child.kill(signal);
  });
}
