#!/usr/bin/env node
// The `brook` command. Plain JavaScript so any Node >= 22.15 can start it.
//
// Which code runs:
// - In a checkout (src/cli.ts present, not under node_modules): the TypeScript sources, so
//   what runs is what was edited. Node 24 strips types by itself (process.features.typescript);
//   on Node 22.15-22.17 the shim re-executes Node with --experimental-strip-types.
// - In an installed package (no src/, or under node_modules where Node refuses to strip
//   types): the compiled dist/src/cli.js from `npm run build`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'cli.ts');
const compiled = join(root, 'dist', 'src', 'cli.js');
const inNodeModules = root.split(/[\\/]/).includes('node_modules');

// Before any Brook module loads: with a warm cache even src/cli.ts skips type stripping, so
// the stripper (a WebAssembly module of some 30 MB) is never instantiated.
enableCompileCache();

if (existsSync(source) && !inNodeModules) {
  if (process.features.typescript) {
    await import(pathToFileURL(source).href);
  } else {
    reexecWithTypeStripping();
  }
} else if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  process.stderr.write(`brook: neither ${source} nor ${compiled} exists; run npm run build\n`);
  process.exit(1);
}

function reexecWithTypeStripping() {
  const args = ['--experimental-strip-types', '--no-warnings=ExperimentalWarning', source];
  const child = spawn(process.execPath, [...args, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  // The child handles signals itself (graceful stop, second signal exits): pass them on.
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
