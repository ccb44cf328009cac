/**
 * Builds the sendfile addon (storage/native/sendfile.c) with node-gyp; run by `npm install`.
 *
 * It never fails the install: Brook runs without the addon (storage/io/sendfile.ts falls back
 * to pooled positional reads + socket.write), so a machine without a compiler, Python or Node
 * headers gets a working broker and one line saying why reads are not zero-copy.
 *
 * node-gyp is looked for where npm keeps it (npm sets `npm_config_node_gyp` for lifecycle
 * scripts; otherwise next to npm's own cli), then on PATH. Node headers come from npm's
 * `nodedir` config when set (offline machines), else node-gyp fetches them. N-API is ABI-stable,
 * so headers of another Node version build an addon that loads on this one.
 * Set BROOK_SKIP_NATIVE=1 to skip the build.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';

const BUILD_TIMEOUT_MS = 5 * 60_000;
const here = import.meta.dirname;

function candidates(): string[][] {
  const scripts = new Set<string>();
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm) scripts.add(fromNpm);
  const npmCli = process.env.npm_execpath;
  if (npmCli) scripts.add(join(dirname(npmCli), '..', 'node_modules/node-gyp/bin/node-gyp.js'));
  return [...[...scripts].map((script) => [process.execPath, script]), ['node-gyp']];
}

/** The lines of node-gyp's output that say what failed, not its standard footer. */
function why(output: string): string {
  const footer = /gyp ERR! (cwd|node -v|node-gyp -v|not ok|command|System|\$npm)/;
  const lines = output.split('\n').filter((l) => /error|ERR!/i.test(l) && !footer.test(l));
  return lines.slice(0, 3).join(' | ') || output.trim().split('\n').slice(-3).join(' | ');
}

function build(): string | undefined {
  const nodedir = process.env.BROOK_NODEDIR ?? process.env.npm_config_nodedir;
  const args = ['rebuild', '--directory', here, ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const failures: string[] = [];
  for (const [command, ...prefix] of candidates()) {
    const result = spawnSync(command as string, [...prefix, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: BUILD_TIMEOUT_MS,
      encoding: 'utf8',
    });
    if (result.status === 0) return undefined;
    const reason = result.error?.message ?? why(`${result.stdout}\n${result.stderr}`);
    failures.push(`${[command, ...prefix].join(' ')}: ${reason}`);
  }
  return failures.join('\n  ');
}

if (process.env.BROOK_SKIP_NATIVE) {
  console.log('brook: BROOK_SKIP_NATIVE set, sendfile addon not built (fallback reads in use)');
} else {
  const failure = build();
  if (failure === undefined) console.log('brook: sendfile addon built (zero-copy fetch reads)');
  else {
    console.log(`brook: sendfile addon not built, fetch reads use the fallback:\n  ${failure}`);
  }
}
process.exitCode = 0;
