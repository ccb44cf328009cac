/**
 * Seeded fuzzing of every request decoder through the path the server takes (request header,
 * table lookup, body decode). Valid frames are mutated (bit flips, truncation, lengths set to
 * -1/0/huge, random runs, insertions, deletions); only a clean result or a
 * ProtocolDecodeError may come out, and nothing decoded may be larger than the input
 * (array elements and string characters, a uuid's 16 bytes counting as its 22 characters).
 * Responses and on-disk records get the same treatment with a smaller budget.
 * The seed is printed on failure; set BROOK_SEED to replay.
 */

import { join } from 'node:path';
import { expect, test } from 'vitest';
import { readSchemaDir } from '../../../../protocol/codegen/generate.ts';
import { resolveMessage } from '../../../../protocol/codegen/resolve.ts';
import { readRequestHeader } from '../../../../protocol/frame.ts';
import { apiFor } from '../../../../protocol/generated/api-table.ts';
import { encodeRequestHeader } from '../../../../protocol/generated/headers.ts';
import { ZERO_UUID } from '../../../../protocol/wire/codec-support.ts';
import { ProtocolDecodeError } from '../../../../protocol/wire/decode-error.ts';
import { Reader } from '../../../../protocol/wire/reader.ts';
import { Writer } from '../../../../protocol/wire/writer.ts';
import { SeededRandom } from '../../../../src/util/random.ts';
import { codec, randomMessage, versionsOf } from './random-message.ts';

const FRAMES_MIN = 100_000;
const seed = Number(process.env.BROOK_SEED ?? 0xf022) >>> 0;

const all = readSchemaDir(join(import.meta.dirname, '../../../../protocol/schema')).flatMap(
  (f) => f.messages,
);
const requests = all.filter((m) => m.kind === 'request').map(resolveMessage);
/** Responses (Brook reads them from peers) and records (read back from disk). */
const others = all.filter((m) => m.kind !== 'request').map(resolveMessage);
const OTHER_FRAMES_MIN = 30_000;

function validFrame(rnd: SeededRandom, apiKey: number, version: number, body: unknown): Buffer {
  const api = apiFor(apiKey);
  if (!api) throw new Error(`no api ${apiKey}`);
  const w = new Writer();
  const header = {
    requestApiKey: apiKey,
    requestApiVersion: version,
    correlationId: rnd.int(0, 1e6),
    clientId: 'fuzz',
    unknownTaggedFields: undefined,
  };
  encodeRequestHeader(w, header, api.requestHeaderVersion(version));
  api.encodeRequest(w, body, version);
  return w.finish();
}

const SPECIAL_INT32 = [-1, 0, 1, 0x7fffffff, -0x80000000, 0x10000];

function mutate(rnd: SeededRandom, input: Buffer): Buffer {
  const buf = Buffer.from(input);
  const at = (): number => rnd.int(0, Math.max(0, buf.length - 1));
  switch (rnd.int(0, 7)) {
    case 0: {
      for (let i = rnd.int(1, 4); i > 0 && buf.length > 0; i--) buf[at()]! ^= 1 << rnd.int(0, 7);
      return buf;
    }
    case 1:
      return buf.subarray(0, rnd.int(0, buf.length));
    case 2: {
      const o = at();
      if (o + 4 <= buf.length) buf.writeInt32BE(rnd.pick(SPECIAL_INT32), o);
      return buf;
    }
    case 3: {
      const o = at();
      if (o + 2 <= buf.length) buf.writeInt16BE(rnd.pick([-1, -2, 0, 0x7fff]), o);
      return buf;
    }
    case 4: {
      const o = at();
      const varint = rnd.pick([[0x00], [0xff, 0xff, 0xff, 0xff, 0x0f], [0x80, 0x80, 0x01], [0xff]]);
      for (let i = 0; i < varint.length && o + i < buf.length; i++) buf[o + i] = varint[i]!;
      return buf;
    }
    case 5: {
      const o = at();
      rnd.fill(buf.subarray(o, o + rnd.int(1, 16)));
      return buf;
    }
    case 6: {
      const o = at();
      const extra = Buffer.alloc(rnd.int(1, 8));
      rnd.fill(extra);
      return rnd.chance(0.5)
        ? Buffer.concat([buf.subarray(0, o), extra, buf.subarray(o)])
        : Buffer.concat([buf.subarray(0, o), buf.subarray(o + extra.length)]);
    }
    default: {
      const random = Buffer.alloc(rnd.int(0, 64));
      rnd.fill(random);
      return rnd.chance(0.5) ? random : Buffer.concat([buf.subarray(0, 8), random]);
    }
  }
}

/**
 * Array elements plus string characters in a decoded value: what decoding allocated from the
 * input. The zero uuid is a shared constant (the default of absent uuid fields), not input.
 */
function allocatedUnits(value: unknown): number {
  if (typeof value === 'string') return value === ZERO_UUID ? 0 : value.length;
  if (Array.isArray(value))
    return value.reduce((n: number, v) => n + allocatedUnits(v), value.length);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return 0;
  let n = 0;
  for (const v of Object.values(value)) n += allocatedUnits(v);
  return n;
}

/** Decodes like the server: header, lookup, body. Returns what came out. */
function decodeFrame(frame: Buffer): { error: ProtocolDecodeError | undefined; body: unknown } {
  const r = new Reader(frame);
  const header = readRequestHeader(r, frame);
  if (!header) return { error: r.error, body: undefined };
  const api = apiFor(header.header.requestApiKey);
  const version = header.header.requestApiVersion;
  if (!api || version < api.minVersion || version > api.maxVersion)
    return { error: undefined, body: undefined };
  const body = api.decodeRequest(r, version);
  return { error: r.error, body };
}

test(`every request decoder survives ${FRAMES_MIN} mutated frames (seed ${seed})`, () => {
  const rnd = new SeededRandom(seed);
  const combos = requests.flatMap((def) => versionsOf(def).map((v) => [def, v] as const));
  const perCombo = Math.ceil(FRAMES_MIN / combos.length);
  let frames = 0;
  let failures = 0;
  for (const [def, version] of combos) {
    const apiKey = def.schema.apiKey ?? -1;
    const bases = [0, 1].map(() =>
      validFrame(rnd, apiKey, version, randomMessage(def, version, rnd, { largeBytesChance: 0 })),
    );
    for (let i = 0; i < perCombo; i++) {
      const frame = mutate(rnd, rnd.pick(bases));
      const where = `${def.schema.name} v${version} frame ${frames} (seed ${seed})`;
      let result: ReturnType<typeof decodeFrame>;
      try {
        result = decodeFrame(frame);
      } catch (error) {
        throw new Error(`${where}: decoder threw ${String(error)}; frame ${frame.toString('hex')}`);
      }
      if (result.error !== undefined) {
        failures++;
        expect(result.error, where).toBeInstanceOf(ProtocolDecodeError);
      }
      // A uuid's 16 bytes become 22 characters, so the bound is 22/16 of the input.
      const units = allocatedUnits(result.body);
      if (units > (frame.length * 22) / 16) {
        throw new Error(`${where}: decoded ${units} units from ${frame.length} bytes`);
      }
      frames++;
    }
  }
  expect(frames).toBeGreaterThanOrEqual(FRAMES_MIN);
  // Most mutations must be caught; a fuzzer whose frames all decode cleanly tests nothing.
  expect(failures).toBeGreaterThan(frames / 4);
});

const othersTitle = `response and record decoders survive ${OTHER_FRAMES_MIN} inputs, seed ${seed}`;
test(othersTitle, () => {
  const rnd = new SeededRandom(seed ^ 0x5a5a5a5a);
  const combos = others.flatMap((def) => versionsOf(def).map((v) => [def, v] as const));
  const perCombo = Math.ceil(OTHER_FRAMES_MIN / combos.length);
  let inputs = 0;
  for (const [def, version] of combos) {
    const encode = codec<(w: Writer, m: unknown, v: number) => void>(`encode${def.schema.name}`);
    const decode = codec<(r: Reader, v: number) => unknown>(`decode${def.schema.name}`);
    const w = new Writer();
    encode(w, randomMessage(def, version, rnd, { largeBytesChance: 0 }), version);
    const base = w.finish();
    for (let i = 0; i < perCombo; i++) {
      const input = mutate(rnd, base);
      const where = `${def.schema.name} v${version} input ${inputs} (seed ${seed})`;
      const r = new Reader(input);
      let decoded: unknown;
      try {
        decoded = decode(r, version);
      } catch (error) {
        throw new Error(`${where}: decoder threw ${String(error)}; input ${input.toString('hex')}`);
      }
      if (r.error !== undefined) expect(r.error, where).toBeInstanceOf(ProtocolDecodeError);
      if (allocatedUnits(decoded) > (input.length * 22) / 16) {
        throw new Error(`${where}: decoded more than the input holds`);
      }
      inputs++;
    }
  }
  expect(inputs).toBeGreaterThanOrEqual(OTHER_FRAMES_MIN);
});
