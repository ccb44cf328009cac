/**
 * Runners of the JSON-lines drivers: test/interop/python/*.py and the sarama program. Each
 * driver exits 0 when the run completed, 3 when some records failed or fewer arrived than asked
 * (its lines still tell which), 1 on a fatal error, 2 on a usage error.
 */
import { join } from 'node:path';
import { type ClientName, pythonBin, pythonDir, requireClient, saramaBin } from './clients.ts';
import { type JsonLine, parseDriverLines } from './json-lines.ts';
import { type RunOptions, type RunResult, runProcess } from './process.ts';

export const driverExit = { ok: 0, fatal: 1, usage: 2, incomplete: 3 } as const;

export type DriverOptions = Pick<RunOptions, 'input' | 'timeoutMs' | 'expectExitCode' | 'env'>;

export interface DriverResult extends RunResult {
  readonly lines: readonly JsonLine[];
}

export type PythonScript = 'confluent' | 'kafka_python';

const pythonClient: Record<PythonScript, ClientName> = {
  confluent: 'confluent-python',
  kafka_python: 'kafka-python',
};

async function runDriver(
  command: string,
  args: readonly string[],
  options: DriverOptions & { readonly cwd?: string },
): Promise<DriverResult> {
  const result = await runProcess(command, args, { timeoutMs: 30_000, ...options });
  return { ...result, lines: parseDriverLines(result.stdout) };
}

/**
 * Runs a Python driver with Debian's /usr/bin/python3 (the python3 first on PATH may be another
 * build that cannot see Debian's client packages).
 */
export function runPython(
  script: PythonScript,
  args: readonly string[],
  options: DriverOptions = {},
): Promise<DriverResult> {
  requireClient(pythonClient[script]);
  return runDriver(pythonBin, [join(pythonDir, `${script}.py`), ...args], {
    ...options,
    // No __pycache__ in the source tree; output unbuffered so a killed run still shows its lines.
    env: { PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...options.env },
  });
}

/** Runs the sarama driver (test/interop/sarama, built by .ci/run or its build.sh). */
export function runSarama(
  args: readonly string[],
  options: DriverOptions = {},
): Promise<DriverResult> {
  requireClient('sarama');
  return runDriver(saramaBin, args, options);
}
