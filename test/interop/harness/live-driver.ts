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
  /** Turns a client's own JSON (kcat -J) into a driver line, stamped with its arrival. */
  readonly mapLine?: (line: JsonLine, arrivedMs: number) => JsonLine;
  /** Reads events a client only tells on stderr (kcat's rebalances) as driver lines. */
  readonly stderrLine?: (text: string, arrivedMs: number) => JsonLine | undefined;
  /** How `stop()` asks the child to end: closing stdin (default), or this signal too. */
  readonly stopSignal?: NodeJS.Signals;
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
  readonly #options: LiveDriverOptions;
  #waits: { holds: () => boolean; done: () => void }[] = [];

  constructor(command: string, args: readonly string[], options: LiveDriverOptions = {}) {
    this.label = options.label ?? command;
    this.#options = options;
    this.#child = spawn(command, [...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const child = this.#child;
    const lifetime = setTimeout(
      () => child.kill('SIGKILL'),
      options.lifetimeMsMax ?? lifetimeMsMaxDefault,
    );
    child.stdin.on('error', () => {});
    child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-stderrTailChars);
    });
    const { stderrLine } = options;
    if (stderrLine !== undefined) {
      createInterface({ input: child.stderr }).on('line', (text) => {
        const line = stderrLine(text, Date.now());
        if (line !== undefined) this.#push(line);
      });
    }
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
        const line = parsed as JsonLine;
        this.#push(this.#options.mapLine?.(line, Date.now()) ?? line);
      }
    } catch {
      this.#stderr += `\nnot JSON on stdout: ${text.slice(0, 200)}`;
    }
  }

  #push(line: JsonLine): void {
    if (this.lines.length >= linesMax) return;
    this.lines.push(line);
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
    if (!this.running) {
      const why = `exited (${JSON.stringify(this.#exit)})`;
      return Promise.reject(new Error(`${this.label}: ${why} before ${what}\n${this.#stderr}`));
    }
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
    if (this.#options.stopSignal !== undefined) this.#child.kill(this.#options.stopSignal);
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

/**
 * Resolves once `holds()` is true, checked after every line of any of `drivers`; rejects after
 * `timeoutMs` (a driver that exits does not end the wait: the others may still make it true).
 */
export async function untilAny(
  drivers: readonly LiveDriver[],
  holds: () => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!holds()) {
    const running = drivers.filter((d) => d.running);
    const leftMs = deadline - Date.now();
    if (running.length === 0 || leftMs <= 0) {
      const why = running.length === 0 ? 'every driver exited' : `timed out after ${timeoutMs} ms`;
      const tails = drivers.map((d) => `--- ${d.label}\n${d.stderr}`).join('\n');
      throw new Error(`${why} waiting for ${what}\n${tails}`);
    }
    await Promise.race(running.map((d) => d.until(holds, what, leftMs).catch(() => undefined)));
  }
}
