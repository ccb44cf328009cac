/**
 * The server side of a load run, in its own process so the load generator and the server do
 * not share an event loop (as a real client and broker would not). Started by `spawnServer`;
 * the child answers `{ port }` once listening and exits on 'stop', after reporting its CPU
 * time.
 *
 *   kind 'broker'       startBroker() with the given config overrides
 *   kind 'sink'         raw-servers.ts startSink(file, fsync)
 *   kind 'file-source'  raw-servers.ts startFileSource(file)
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { ConfigOverrides } from '../../src/config/load-config.ts';
import { startBroker } from '../../src/index.ts';
import { startFileSource, startSink } from './raw-servers.ts';

export type ServerSpec =
  | { readonly kind: 'broker'; readonly config: ConfigOverrides }
  | { readonly kind: 'sink'; readonly file: string; readonly fsync: boolean }
  | { readonly kind: 'file-source'; readonly file: string };

export interface ServerHandle {
  readonly port: number;
  /** Stops the server; resolves with its process's CPU time (user + system) in ms. */
  stop(): Promise<number>;
}

export function spawnServer(spec: ServerSpec): Promise<ServerHandle> {
  // e.g. BROOK_LOAD_SERVER_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the server.
  const flags = (process.env.BROOK_LOAD_SERVER_FLAGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = fork(import.meta.filename, [JSON.stringify(spec)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [...process.execArgv, ...flags],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`server process exited (${code})`)));
    child.once('message', (message) => {
      const { port } = message as { port: number };
      resolve({
        port,
        stop: () =>
          new Promise((done) => {
            child.removeAllListeners('exit');
            child.once('message', (m) => done((m as { cpuMs: number }).cpuMs));
            child.send('stop');
          }),
      });
    });
  });
}

async function serve(spec: ServerSpec): Promise<{ port: number; close: () => Promise<void> }> {
  switch (spec.kind) {
    case 'broker': {
      const broker = await startBroker({ config: spec.config });
      return { port: broker.port, close: () => broker.stop() };
    }
    case 'sink':
      return startSink(spec.file, spec.fsync);
    case 'file-source':
      return startFileSource(spec.file);
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ServerSpec;
  const server = await serve(spec);
  const cpuAtStart = process.cpuUsage();
  process.on('message', async (message) => {
    if (message !== 'stop') return;
    const cpu = process.cpuUsage(cpuAtStart);
    await server.close();
    process.send?.({ cpuMs: (cpu.user + cpu.system) / 1000 }, () => process.exit(0));
  });
  process.send?.({ port: server.port });
}

if (process.argv[1] === import.meta.filename) void main();
