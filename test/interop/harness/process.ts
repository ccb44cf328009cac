/**
 * Runs a client program with a time limit and an output limit, capturing both streams. A run
 * that ends any other way than expected throws an error naming the command, exit status and the
 * tail of stderr, so a failing interop test says why without rerunning it.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface RunOptions {
  /** Written to the child's stdin, which is then closed (stdin is empty otherwise). */
  readonly input?: string | Uint8Array;
  /** The child is killed after this long; default 30 s. */
  readonly timeoutMs?: number;
  /** Added to the parent's environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Exit code the caller expects (default 0); 'any' accepts every normal exit. */
  readonly expectExitCode?: number | 'any';
  /** Limit of each captured stream; the child is killed beyond it. Default 16 MiB. */
  readonly outputBytesMax?: number;
}

export interface RunResult {
  readonly command: string;
  readonly args: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

const timeoutMsDefault = 30_000;
const outputBytesMaxDefault = 16 * 1024 * 1024;
const stderrTailBytes = 4096;

export class ClientRunError extends Error {
  override readonly name = 'ClientRunError';
  readonly stdout: string;
  readonly stderr: string;
  constructor(message: string, stdout: string, stderr: string, options?: ErrorOptions) {
    super(message, options);
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

function quote(command: string, args: readonly string[]): string {
  return [command, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ');
}

function tail(text: string): string {
  const trimmed = text.trimEnd();
  if (trimmed === '') return '(stderr empty)';
  return trimmed.length > stderrTailBytes ? `...${trimmed.slice(-stderrTailBytes)}` : trimmed;
}

/** Collects a stream up to a byte limit; `onOverflow` fires once when the limit is passed. */
class Capture {
  readonly #chunks: Buffer[] = [];
  #sizeBytes = 0;
  readonly #sizeBytesMax: number;
  readonly #onOverflow: () => void;
  overflowed = false;
  constructor(sizeBytesMax: number, onOverflow: () => void) {
    this.#sizeBytesMax = sizeBytesMax;
    this.#onOverflow = onOverflow;
  }
  push(chunk: Buffer): void {
    if (this.overflowed) return;
    if (this.#sizeBytes + chunk.length > this.#sizeBytesMax) {
      this.overflowed = true;
      this.#onOverflow();
      return;
    }
    this.#sizeBytes += chunk.length;
    this.#chunks.push(chunk);
  }
  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

/** Runs `command args` to completion; see RunOptions for the limits. */
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? timeoutMsDefault;
  const outputBytesMax = options.outputBytesMax ?? outputBytesMaxDefault;
  const shown = quote(command, args);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let killedBecause: string | undefined;
    const kill = (why: string): void => {
      killedBecause ??= why;
      child.kill('SIGKILL');
    };
    const stdout = new Capture(outputBytesMax, () => kill(`stdout passed ${outputBytesMax} bytes`));
    const stderr = new Capture(outputBytesMax, () => kill(`stderr passed ${outputBytesMax} bytes`));
    const timer = setTimeout(() => kill(`timed out after ${timeoutMs} ms`), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // A child may exit without reading its input; the broken pipe is not the failure to report.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new ClientRunError(`cannot run ${shown}: ${error.message}`, '', '', { cause: error }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = {
        command,
        args,
        exitCode: code ?? -1,
        stdout: stdout.text(),
        stderr: stderr.text(),
        durationMs: Math.round(performance.now() - started),
      };
      const problem = judge(result, signal, killedBecause, options.expectExitCode ?? 0);
      if (problem === undefined) resolve(result);
      else {
        const message = `${shown}: ${problem}\n--- stderr ---\n${tail(result.stderr)}`;
        reject(new ClientRunError(message, result.stdout, result.stderr));
      }
    });
  });
}

function judge(
  result: RunResult,
  signal: NodeJS.Signals | null,
  killedBecause: string | undefined,
  expected: number | 'any',
): string | undefined {
  if (killedBecause !== undefined) return `killed: ${killedBecause}`;
  if (signal !== null) return `ended by ${signal}`;
  if (expected === 'any' || result.exitCode === expected) return undefined;
  return `exit code ${result.exitCode}, expected ${expected}`;
}
