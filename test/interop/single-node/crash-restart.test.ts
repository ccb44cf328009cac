/**
 * The broker as a separate process (bin/brook.js) is killed with SIGKILL after acknowledging
 * produce requests, then restarted on the same data directory: every acknowledged record is
 * still there, in order, once, and producing continues after it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, test } from 'vitest';
import { runKcat, skipWithout } from '../harness/index.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const dataDir = mkdtempSync(join(tmpdir(), 'brook-crash-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts the CLI and resolves with its port once it logs that it listens. */
function startCli(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [join(root, 'bin', 'brook.js'), '--port', '0', '--data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BROOK_LOGGER_LEVEL: 'info' } },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('broker did not report a port')), 20_000);
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = /listening on PLAINTEXT:\/\/[^:]+:(\d+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function produce(port: number, from: number, count: number): Promise<void> {
  const kafka = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = from; i < from + count; i += 10) {
    await producer.send({
      topic: 'durable',
      acks: -1,
      messages: Array.from({ length: 10 }, (_, j) => ({ key: `k${i + j}`, value: `v${i + j}` })),
    });
  }
  // No disconnect: the crash comes with the connection still open, as in production.
}

describe.skipIf(skipWithout('kcat'))('SIGKILL between produce and consume', () => {
  test('acknowledged records survive, in order, once', async () => {
    const first = await startCli();
    await produce(first.port, 0, 100);
    await killed(first.child);

    const second = await startCli();
    const bootstrap = `127.0.0.1:${second.port}`;
    await produce(second.port, 100, 50);
    const consumed = await runKcat(['-C', '-b', bootstrap, '-t', 'durable', '-e', '-f', '%o=%s\n']);
    expect(consumed.stdout.trimEnd().split('\n')).toEqual(
      Array.from({ length: 150 }, (_, i) => `${i}=v${i}`),
    );
    await killed(second.child);
  }, 60_000);
});
