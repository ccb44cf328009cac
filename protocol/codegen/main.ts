/**
 * `npm run gen`: regenerates protocol/generated/** from protocol/schema/**. Files no longer
 * produced are removed, so the folder always equals what the schemas define.
 */

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { generate } from './generate.ts';

const protocolDir = join(import.meta.dirname, '..');
const outDir = join(protocolDir, 'generated');

function existingFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(relative(outDir, full));
    }
  };
  walk(dir);
  return out;
}

const files = generate(join(protocolDir, 'schema'));
mkdirSync(outDir, { recursive: true });
for (const stale of existingFiles(outDir)) {
  if (!files.has(stale)) rmSync(join(outDir, stale));
}
for (const [path, text] of files) {
  const target = join(outDir, path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
}
console.log(`generated ${files.size} files in protocol/generated`);
