/**
 * One `node src/raft-node.ts` child process for the process tests: spawned with
 * `--stdin-control` (the documented test hook), its stdout read as JSON event lines, its stderr
 * (pino logs) kept for the failure report. DescribeQuorum goes over the real protocol with
 * NodeClient.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Apis } from '../../protocol/generated/api-table.ts';
import type { DescribeQuorumResponse } from '../../protocol/generated/apis/55-describe-quorum.ts';
import { metadataTopicName } from '../../src/raft/transport-codec.ts';
import { NodeClient, nodeClientDefaults } from '../../src/server/node-client.ts';
import { SystemClock } from '../../src/util/clock.ts';
import { silentLogger } from '../../src/util/logger.ts';

const root = join(import.meta.dirname, '../..');
const stderrLinesMax = 200;
/** Node 22.15-22.17 strip types only when asked; later versions do it by default. */
const typeStripping = (process.features as { typescript?: unknown }).typescript
  ? []
  : ['--experimental-strip-types'];

export interface NodeEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

export { freePorts } from '../../src/server/free-ports.ts';

export class ControllerProcess {
  readonly nodeId: number;
  readonly port: number;
  readonly #args: readonly string[];
  #child: ChildProcess | undefined;
  #waiters: { match: (e: NodeEvent) => boolean; resolve: (e: NodeEvent) => void }[] = [];
  readonly stderr: string[] = [];
  #client: NodeClient | undefined;

  constructor(nodeId: number, port: number, args: readonly string[]) {
    this.nodeId = nodeId;
    this.port = port;
    this.#args = args;
  }

  start(): void {
    const child = spawn(
      process.execPath,
      [...typeStripping, join(root, 'src/raft-node.ts'), '--stdin-control', ...this.#args],
      { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.#child = child;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const event = JSON.parse(line) as NodeEvent;
      const waiting = this.#waiters;
      this.#waiters = waiting.filter((w) => !w.match(event));
      for (const w of waiting) if (w.match(event)) w.resolve(event);
    });
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      this.stderr.push(line);
      if (this.stderr.length > stderrLinesMax) this.stderr.shift();
    });
  }

  get pid(): number {
    const pid = this.#child?.pid;
    if (pid === undefined) throw new Error(`node ${this.nodeId} not running`);
    return pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && !this.#child.killed;
  }

  /** Resolves with the next stdout event that matches (none is missed once this is called). */
  next(match: (e: NodeEvent) => boolean, timeoutMs: number): Promise<NodeEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`node ${this.nodeId}: no matching event in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  command(line: string): void {
    this.#child?.stdin?.write(`${line}\n`);
  }

  async ask(line: string, event: string, timeoutMs = 5_000): Promise<NodeEvent> {
    const answer = this.next((e) => e.event === event || e.event === 'not-leader', timeoutMs);
    this.command(line);
    return answer;
  }

  /** The committed data records this node reports. */
  async committedValues(): Promise<string[]> {
    const answer = await this.ask('read', 'entries');
    return answer.values as string[];
  }

  async describeQuorum(): Promise<DescribeQuorumResponse | undefined> {
    this.#client ??= new NodeClient({
      ...nodeClientDefaults,
      host: '127.0.0.1',
      port: this.port,
      clientId: 'raft-process-test',
      clock: new SystemClock(),
      logger: silentLogger(),
      requestTimeoutMs: 1_000,
    });
    const body = {
      topics: [{ topicName: metadataTopicName, partitions: [{ partitionIndex: 0 }] }],
    };
    try {
      return await this.#client.request(Apis.DescribeQuorum, 2, body);
    } catch {
      return undefined;
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.#child?.kill(signal);
  }

  /** SIGTERM; resolves with the exit code (a clean stop exits 0). */
  async terminate(): Promise<number | null> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    return exited;
  }

  async stop(): Promise<void> {
    this.#client?.close();
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }
}
