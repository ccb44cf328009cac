/** kcat (librdkafka's command-line client) runner. */
import { requireClient } from './clients.ts';
import { type JsonObject, parseJsonLines } from './json-lines.ts';
import { type RunOptions, type RunResult, runProcess } from './process.ts';

export type KcatOptions = Pick<RunOptions, 'input' | 'timeoutMs' | 'expectExitCode' | 'env'>;

/**
 * Runs `kcat args`. kcat has no time limit of its own on most modes: pass `-e` to consumers so
 * they end at the partition end, and keep `timeoutMs` as the backstop.
 */
export function runKcat(args: readonly string[], options: KcatOptions = {}): Promise<RunResult> {
  requireClient('kcat');
  return runProcess('kcat', args, { timeoutMs: 20_000, ...options });
}

/** Runs kcat with `-J` (JSON envelope per message or metadata) and parses its output. */
export async function runKcatJson(
  args: readonly string[],
  options: KcatOptions = {},
): Promise<JsonObject[]> {
  const result = await runKcat(['-J', ...args], options);
  return parseJsonLines(result.stdout);
}
