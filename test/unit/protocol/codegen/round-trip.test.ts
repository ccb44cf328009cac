/**
 * Every message in protocol/schema round-trips at every version: seeded random values are
 * encoded, decoded back to an equal value, and re-encoded to the same bytes. The seed is in
 * each failure message; set BROOK_SEED to replay one.
 */

import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readSchemaDir } from '../../../../protocol/codegen/generate.ts';
import { resolveMessage } from '../../../../protocol/codegen/resolve.ts';
import { Reader } from '../../../../protocol/wire/reader.ts';
import { Writer } from '../../../../protocol/wire/writer.ts';
import { SeededRandom } from '../../../../src/util/random.ts';
import { codec, randomMessage, versionsOf } from './random-message.ts';

const schemaDir = join(import.meta.dirname, '../../../../protocol/schema');
const files = readSchemaDir(schemaDir);
const baseSeed = Number(process.env.BROOK_SEED ?? 0x5eed);
const SAMPLES_PER_VERSION = 6;

type Encode = (w: Writer, m: unknown, version: number) => void;
type Decode = (r: Reader, version: number) => unknown;

function encode(fn: Encode, m: unknown, version: number): Buffer {
  const w = new Writer(64);
  fn(w, m, version);
  const chunks = w.chunks();
  expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(w.length);
  return w.finish();
}

describe.each(files.map((f) => [f.path, f] as const))('%s', (_path, file) => {
  for (const schema of file.messages) {
    test(`${schema.name} round-trips at every version`, () => {
      const def = resolveMessage(schema);
      const enc = codec<Encode>(`encode${schema.name}`);
      const dec = codec<Decode>(`decode${schema.name}`);
      for (const version of versionsOf(def)) {
        for (let sample = 0; sample < SAMPLES_PER_VERSION; sample++) {
          const seed = (baseSeed ^ (version * 7919) ^ (sample * 104729) ^ hash(schema.name)) >>> 0;
          const where = `${schema.name} v${version} seed=${seed}`;
          const message = randomMessage(def, version, new SeededRandom(seed));
          const bytes = encode(enc, message, version);
          const r = new Reader(bytes);
          const decoded = dec(r, version);
          expect(r.error, where).toBeUndefined();
          expect(r.remaining, where).toBe(0);
          expect(decoded, where).toEqual(message);
          expect(encode(enc, decoded, version).equals(bytes), where).toBe(true);
        }
      }
    });
  }
});

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
