/**
 * The layering rule and the banned calls of ARCHITECTURE.md, enforced on every run rather than
 * by review (in the spirit of TigerBeetle's tidy.zig). Each rule names the files that break it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string): void => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|js|mjs)$/.test(entry.name)) out.push(relative(root, full));
    }
  };
  walk(join(root, dir));
  return out.sort();
}

interface Source {
  readonly path: string;
  readonly text: string;
  readonly imports: readonly string[];
}

function load(path: string): Source {
  const text = readFileSync(join(root, path), 'utf8');
  const imports: string[] = [];
  const pattern =
    /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const match of text.matchAll(pattern)) imports.push((match[1] ?? match[2]) as string);
  return { path, text, imports };
}

/** Source with comments and string contents blanked, so banned names in prose do not count. */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/\/\/[^\n]*/g, '')
    .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, "''");
}

const runtimeDirs = ['protocol', 'storage', 'src'];
const runtime = runtimeDirs.flatMap(sourceFiles).map(load);

function resolvesInto(from: string, specifier: string, dir: string): boolean {
  if (!specifier.startsWith('.')) return false;
  const target = relative(root, join(root, from, '..', specifier));
  return target === dir || target.startsWith(`${dir}/`);
}

function violations(
  files: readonly Source[],
  breaks: (file: Source) => string | undefined,
): string[] {
  return files.flatMap((file) => {
    const why = breaks(file);
    return why ? [`${file.path}: ${why}`] : [];
  });
}

describe('layering', () => {
  test('protocol/ imports nothing from storage/ or src/', () => {
    const files = runtime.filter((f) => f.path.startsWith('protocol/'));
    expect(files.length).toBeGreaterThan(0);
    const bad = violations(files, (f) =>
      f.imports.find((s) => resolvesInto(f.path, s, 'storage') || resolvesInto(f.path, s, 'src')),
    );
    expect(bad).toEqual([]);
  });

  test('storage/ imports nothing from src/', () => {
    const files = runtime.filter((f) => f.path.startsWith('storage/'));
    const bad = violations(files, (f) => f.imports.find((s) => resolvesInto(f.path, s, 'src')));
    expect(bad).toEqual([]);
  });

  test('only storage/io imports node:fs (protocol/codegen is a build tool, not runtime)', () => {
    const fsModules = new Set(['fs', 'node:fs', 'fs/promises', 'node:fs/promises']);
    const allowed = (p: string): boolean =>
      p.startsWith('storage/io/') || p.startsWith('protocol/codegen/');
    const bad = violations(
      runtime.filter((f) => !allowed(f.path)),
      (f) => f.imports.find((s) => fsModules.has(s)),
    );
    expect(bad).toEqual([]);
  });

  test('src/node (the node runtime) is imported only by the composition roots', () => {
    const roots = new Set(['src/broker.ts', 'src/cli.ts', 'src/index.ts', 'src/raft-node.ts']);
    const files = runtime.filter(
      (f) => f.path.startsWith('src/') && !f.path.startsWith('src/node/') && !roots.has(f.path),
    );
    const bad = violations(files, (f) =>
      f.imports.find((s) => resolvesInto(f.path, s, 'src/node')),
    );
    expect(bad).toEqual([]);
  });

  test('only src/server imports node:net or node:tls', () => {
    const netModules = new Set(['net', 'node:net', 'tls', 'node:tls']);
    const bad = violations(
      runtime.filter((f) => !f.path.startsWith('src/server/')),
      (f) => f.imports.find((s) => netModules.has(s)),
    );
    expect(bad).toEqual([]);
  });
});

describe('banned calls', () => {
  const coreDirs = [
    'src/raft/',
    'src/controller/',
    'src/replication/',
    'src/coordinator/',
    'storage/log/',
    'storage/cleaner/',
  ];
  const banned = [
    /\bDate\.now\s*\(/,
    /\bMath\.random\s*\(/,
    /\bsetTimeout\s*\(/,
    /\bsetInterval\s*\(/,
  ];

  test('core code takes time, timers and randomness only from Clock and Random', () => {
    const core = runtime.filter((f) => coreDirs.some((d) => f.path.startsWith(d)));
    const bad = violations(core, (f) => {
      const stripped = code(f.text);
      return banned.find((b) => b.test(stripped))?.source;
    });
    expect(bad).toEqual([]);
  });

  test('the checker itself sees a banned call (it can fail)', () => {
    const sample = 'const t = Date.now(); // Math.random() in a comment is fine';
    expect(banned.some((b) => b.test(code(sample)))).toBe(true);
    expect(/\bMath\.random/.test(code(sample))).toBe(false);
  });
});

describe('hygiene', () => {
  const everything = [...runtime, ...['test', 'bench'].flatMap(sourceFiles).map(load)];

  test('no focused or skipped tests', () => {
    const pattern = /\b(?:it|test|describe)\.(?:only|skip)\(|\bx(?:it|describe)\(/;
    const tests = everything.filter(
      (f) => f.path.startsWith('test/') && f.path !== 'test/tidy.test.ts',
    );
    expect(
      violations(tests, (f) => (pattern.test(code(f.text)) ? 'only/skip' : undefined)),
    ).toEqual([]);
  });

  test('no leftover FIXME or XXX markers', () => {
    const bad = violations(everything, (f) =>
      /\b(FIXME|XXX)\b/.test(f.text) && f.path !== 'test/tidy.test.ts' ? 'marker' : undefined,
    );
    expect(bad).toEqual([]);
  });

  test('hand-written lines stay within 100 columns', () => {
    const handWritten = everything.filter((f) => !f.path.startsWith('protocol/generated/'));
    const bad = violations(handWritten, (f) => {
      const line = f.text.split('\n').findIndex((l) => l.length > 100);
      return line >= 0 ? `line ${line + 1} is longer than 100 columns` : undefined;
    });
    expect(bad).toEqual([]);
  });
});
