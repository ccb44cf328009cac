/**
 * A driver that keeps running while the test acts on it (a consumer-group member, say): its
 * JSON lines are collected as they come, the test waits for conditions on them, then closes
 * stdin to ask for a clean stop or kills the process outright with SIGKILL.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { JsonLine } from './json-lines.ts';

export interface LiveDriverOptions {
  /** The child is killed after this long whatever happens; default 120 s. */
  readonly lifetimeMsMax?: number;
  readonly env?: Readonly<Record<string, string>>;
  /** A name shown in errors, e.g. 'confluent member 2'. */
  readonly label?: string;
}

const lifetimeMsMaxDefault = 120_000;
const linesMax = 100_000;
const stderrTailChars = 4096;

export interface LiveExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Wall-clock time the exit was seen, comparable with the drivers' `t` fields. */
  readonly atMs: number;
}

export class LiveDriver {
  readonly label: string;
  readonly lines: JsonLine[] = [];
  readonly exited: Promise<LiveExit>;
  #stderr = '';
  #exit: LiveExit | undefined;
  readonly #child: ChildProcessWithoutNullStreams;
  #waits: { holds: () => boolean; done: () => void }[] = [];

  constructor(command: string, args: readonly string[], options: LiveDriverOptions = {}) {
    this.label = options.label ?? command;
    this.#child = spawn(command, [...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const child = this.#child;
    const lifetime = setTimeout(() => child.kill('SIGKILL'), options.lifetimeMsMax ?? lifetimeMsMaxDefault);
    child.stdin.on('error', () => {});
    child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-stderrTailChars);
    });
    createInterface({ input: child.stdout }).on('line', (text) => this.#onLine(text));
    this.exited = new Promise((resolve) => {
      child.on('error', (error) => {
        this.#stderr += `\ncannot start: ${error.message}`;
      });
      child.on('close', (code, signal) => {
        clearTimeout(lifetime);
        this.#exit = { code, signal, atMs: Date.now() };
        resolve(this.#exit);
        this.#notify();
      });
    });
  }

  #onLine(text: string): void {
    if (text.trim() === '' || this.lines.length >= linesMax) return;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        this.lines.push(parsed as JsonLine);
      }
    } catch {
      this.#stderr += `\nnot JSON on stdout: ${text.slice(0, 200)}`;
    }
    this.#notify();
  }

  #notify(): void {
    for (const wait of [...this.#waits]) {
      if (!wait.holds()) continue;
      this.#waits = this.#waits.filter((w) => w !== wait);
      wait.done();
    }
  }

  /** The tail of stderr, for failure messages. */
  get stderr(): string {
    return this.#stderr;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /**
   * Resolves once `holds()` is true, checked after every line (and now); rejects after
   * `timeoutMs` or when the process ends first, with the stderr tail.
   */
  until(holds: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    if (holds()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        this.#waits = this.#waits.filter((w) => w !== wait);
        reject(new Error(`${this.label}: ${why} waiting for ${what}\n${this.#stderr}`));
      };
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      const wait = {
        holds: () => holds() || !this.running,
        done: () => {
          clearTimeout(timer);
          if (holds()) resolve();
          else fail(`exited (${JSON.stringify(this.#exit)})`);
        },
      };
      this.#waits.push(wait);
    });
  }

  /** Closes stdin (the drivers' signal to stop cleanly) and waits for a 0 exit. */
  async stop(timeoutMs = 30_000): Promise<LiveExit> {
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    if (exit.code !== 0) {
      throw new Error(`${this.label} stopped with ${JSON.stringify(exit)}\n${this.#stderr}`);
    }
    return exit;
  }

  /** SIGKILL, no goodbye: resolves when the process is gone. */
  kill(): Promise<LiveExit> {
    if (this.running) this.#child.kill('SIGKILL');
    return this.exited;
  }
}
