/**
 * `npm run bench`: runs every bench/*.bench.ts in turn, each in its own Node process so one
 * benchmark's heap and JIT state cannot skew the next, and prints their tables. Node flags a
 * benchmark needs are taken from its `Run: npx node <flags> bench/...` header line.
 *
 *   npx node bench/main.ts [name-filter ...]     e.g. `npx node bench/main.ts crc32c`
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const here = import.meta.dirname;
const filters = process.argv.slice(2);

function nodeFlags(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const match = /Run:\s*npx node\s+((?:--[\w-]+(?:=\S+)?\s+)*)bench\//.exec(text);
  return match?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}

const files = readdirSync(here)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .sort();

const results: string[] = [];
for (const name of files) {
  const file = join(here, name);
  const flags = nodeFlags(file);
  console.log(`\n## ${name}${flags.length > 0 ? ` (${flags.join(' ')})` : ''}\n`);
  const started = performance.now();
  const run = spawnSync(process.execPath, [...flags, file], { stdio: 'inherit' });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const status = run.status === 0 ? 'ok' : `failed (${run.status ?? run.signal})`;
  results.push(`| ${name} | ${status} | ${seconds} s |`);
}
console.log(
  ['\n## summary\n', '| benchmark | result | time |', '| --- | --- | ---: |', ...results].join(
    '\n',
  ),
);
if (results.some((line) => line.includes('failed'))) process.exitCode = 1;
