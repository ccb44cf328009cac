/**
 * The `brook` command as an operator meets it: a real child process (`node src/cli.ts`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ApiKey } from '../../../protocol/generated/api-table.ts';
import {
  type ApiVersionsResponse,
  newApiVersionsRequest,
} from '../../../protocol/generated/apis/18-api-versions.ts';
import { startBroker } from '../../../src/index.ts';
import { KafkaTestClient } from './kafka-client.ts';
import { RawClient } from './raw-client.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'brook-cli-test-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: readonly string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [join(root, 'src', 'cli.ts'), ...args], {
    cwd: scratch,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Resolves with the first stdout JSON log line whose msg matches. */
function logLine(r: Run, pattern: RegExp): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      for (const line of r.stdout().split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (pattern.test(String(entry.msg))) {
          r.child.stdout?.off('data', check);
          resolve(entry);
          return;
        }
      }
    };
    r.child.stdout?.on('data', check);
    r.exit.then(() => reject(new Error(`exited first: ${r.stdout()} ${r.stderr()}`)));
    check();
  });
}

describe('brook CLI', () => {
  test('--help prints usage and the property catalogue', async () => {
    const r = run(['--help']);
    expect((await r.exit).code).toBe(0);
    expect(r.stdout()).toContain('Usage: brook');
    expect(r.stdout()).toContain('log.retention.ms');
    expect(r.stdout()).toContain('BROOK_LOG_RETENTION_MS');
  });

  test('an unknown property exits 2 with a line naming it', async () => {
    const r = run(['--set', 'log.retention.sm=5']);
    expect((await r.exit).code).toBe(2);
    expect(r.stderr()).toBe(
      "brook: unknown configuration property 'log.retention.sm' (from --set); " +
        "did you mean 'log.retention.ms'?\n",
    );
  });

  test('a bad value in the config file exits 2 naming property and file', async () => {
    const file = join(scratch, 'bad.yaml');
    writeFileSync(file, 'num.partitions: zero\n');
    const r = run(['--config', file]);
    expect((await r.exit).code).toBe(2);
    expect(r.stderr()).toContain(`invalid value for 'num.partitions' (from file ${file})`);
  });

  test('a port in use says so and how to pick another', async () => {
    const other = await startBroker();
    try {
      const r = run(['--port', String(other.port), '--data-dir', join(scratch, 'busy')]);
      expect((await r.exit).code).toBe(1);
      expect(r.stderr()).toContain(`127.0.0.1:${other.port}: the port is in use`);
      expect(r.stderr()).toContain('--port');
    } finally {
      await other.stop();
    }
  });

  test('serves, prints where it listens and where the data is, stops on SIGTERM', async () => {
    const dataDir = join(scratch, 'data');
    const r = run(['--port', '0', '--data-dir', dataDir], { BROOK_NODE_ID: '5' });
    const ready = await logLine(r, /^Brook listening on/);
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(String(ready.msg))?.[1]);
    expect(ready.msg).toContain(`data in ${dataDir}`);
    expect(ready.nodeId).toBe(5);
    const c = await KafkaTestClient.connect(port);
    const response = await c.call<ApiVersionsResponse>(ApiKey.ApiVersions, 3, {
      ...newApiVersionsRequest(),
      clientSoftwareName: 'cli-test',
      clientSoftwareVersion: '1',
    });
    expect(response.errorCode).toBe(0);
    r.child.kill('SIGTERM');
    expect(await r.exit).toEqual({ code: 0, signal: null });
    await c.raw.closed;
    expect(r.stdout()).toContain('"msg":"stopped"');
  });

  test('a second signal exits at once while a graceful stop is still waiting', async () => {
    const dataDir = join(scratch, 'data2');
    const r = run(['--port', '0', '--data-dir', dataDir, '--set', 'logger.level=debug']);
    const ready = await logLine(r, /^Brook listening on/);
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(String(ready.msg))?.[1]);
    // A client that sends many requests and reads nothing: the broker's writes stall, so the
    // graceful stop cannot finish its in-flight responses.
    const reader = await RawClient.connect(port);
    reader.socket.pause();
    const metadataV1 = Buffer.from([0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const flood = Array.from({ length: 20_000 }, () => metadataV1);
    const stalled = logLine(r, /waiting for the peer to read/);
    for (let i = 0; i < 30; i++) reader.send(...flood);
    await stalled;
    r.child.kill('SIGTERM');
    await logLine(r, /^SIGTERM: stopping/);
    r.child.kill('SIGTERM');
    expect(await r.exit).toEqual({ code: 130, signal: null });
    expect(r.stdout()).toContain('SIGTERM again: exiting without waiting');
    reader.close();
  });
});
