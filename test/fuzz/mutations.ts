/**
 * Seed frames and their mutations. The seeds are the request frames captured from real
 * clients (test/golden/frames/<client>/*.bin); each is given a unique correlation id, so a
 * response can be matched to the request it answers even when the request was mangled.
 * Mutations never touch the correlation id, everything else is fair game.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRequestHeader } from '../../protocol/frame.ts';
import { ApiKey, apiFor } from '../../protocol/generated/api-table.ts';
import type { FetchRequest } from '../../protocol/generated/apis/01-fetch.ts';
import { Reader } from '../../protocol/wire/reader.ts';
import type { SeededRandom } from '../../src/util/random.ts';
import { encodeRequest } from './kafka-wire.ts';

export interface SeedFrame {
  readonly client: string;
  readonly name: string;
  /** Header + body, no size prefix; bytes 4..8 (correlation id) are rewritten per use. */
  readonly bytes: Buffer;
}

const framesDir = join(import.meta.dirname, '..', 'golden', 'frames');

/**
 * Every golden frame of every client. Fetches are re-encoded with maxWaitMs 0: a long poll
 * is legitimate, but would make the fuzzer wait for it instead of fuzzing.
 */
export function loadSeedFrames(): SeedFrame[] {
  const seeds: SeedFrame[] = [];
  for (const client of readdirSync(framesDir).sort()) {
    const dir = join(framesDir, client);
    for (const name of readdirSync(dir).sort()) {
      if (!name.endsWith('.bin')) continue;
      const bytes = readFileSync(join(dir, name));
      seeds.push({ client, name, bytes: withoutLongPoll(bytes) });
    }
  }
  return seeds;
}

function withoutLongPoll(frame: Buffer): Buffer {
  if (frame.readInt16BE(0) !== ApiKey.Fetch) return frame;
  const reader = new Reader(frame);
  const decoded = readRequestHeader(reader, frame);
  const api = apiFor(ApiKey.Fetch);
  if (!decoded || !api) throw new Error('a golden Fetch frame does not decode');
  const { requestApiVersion: version, correlationId, clientId } = decoded.header;
  const request = api.decodeRequest(reader, version) as FetchRequest;
  if (reader.error) throw reader.error;
  return encodeRequest(
    ApiKey.Fetch,
    version,
    { ...request, maxWaitMs: 0 },
    correlationId,
    clientId,
  );
}

/** A copy of `seed` carrying `correlationId`. */
export function withCorrelationId(bytes: Buffer, correlationId: number): Buffer {
  const out = Buffer.from(bytes);
  out.writeInt32BE(correlationId, 4);
  return out;
}

/** Offsets that may be mutated: everything but the correlation id. */
function mutableOffset(length: number, random: SeededRandom): number {
  const at = random.int(0, length - 5);
  return at < 4 ? at : at + 4;
}

const lengthValues32 = [-1, 0, 1, 0x7fffffff, -0x80000000, 0x10000, 0xffff] as const;
const lengthValues16 = [-1, 0, 0x7fff, -0x8000, 0xff] as const;
/** Unsigned varints: 0 (null), 1 (empty), huge (2^35-1 does not fit an int32). */
const varints = [[0], [1], [0xff, 0xff, 0xff, 0xff, 0x0f], [0xff, 0xff, 0xff, 0xff, 0x7f]];

export const mutationKinds = [
  'bit-flips',
  'truncate',
  'length-32',
  'length-16',
  'varint',
  'random-run',
  'random-tail',
  'append',
  'api-key',
  'api-version',
] as const;
export type MutationKind = (typeof mutationKinds)[number];

/** One mutation of `frame` (whose correlation id is already set). */
export function mutate(frame: Buffer, kind: MutationKind, random: SeededRandom): Buffer {
  const out = Buffer.from(frame);
  switch (kind) {
    case 'bit-flips':
      for (let i = random.int(1, 4); i > 0; i--) {
        const at = mutableOffset(out.length, random);
        out[at] = (out[at] as number) ^ (1 << random.int(0, 7));
      }
      return out;
    case 'truncate':
      // Below 8 bytes the header itself is cut; keep the correlation id when there is one.
      return out.subarray(0, random.chance(0.1) ? random.int(0, 7) : random.int(8, out.length - 1));
    case 'length-32': {
      const at = random.int(8, out.length - 4);
      out.writeInt32BE(random.pick(lengthValues32), at);
      return out;
    }
    case 'length-16': {
      const at = random.int(8, out.length - 2);
      out.writeInt16BE(random.pick(lengthValues16), at);
      return out;
    }
    case 'varint': {
      const at = random.int(8, out.length - 1);
      const varint = Buffer.from(random.pick(varints));
      return Buffer.concat([out.subarray(0, at), varint, out.subarray(at + varint.length)]);
    }
    case 'random-run': {
      const at = random.int(8, out.length - 1);
      random.fill(out.subarray(at, Math.min(out.length, at + random.int(1, 16))));
      return out;
    }
    case 'random-tail':
      random.fill(out.subarray(random.int(8, out.length - 1)));
      return out;
    case 'append': {
      const extra = Buffer.alloc(random.int(1, 64));
      random.fill(extra);
      return Buffer.concat([out, extra]);
    }
    case 'api-key':
      out.writeInt16BE(random.pick([random.int(0, 90), random.int(-32768, 32767), -1]), 0);
      return out;
    case 'api-version':
      out.writeInt16BE(random.pick([random.int(0, 20), random.int(-32768, 32767), -1, 99]), 2);
      return out;
  }
}
