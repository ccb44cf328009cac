/**
 * Our response encoders against a real client's decoders: for every API version that
 * @platformatic/kafka implements (and protocol/schema defines), a seeded random response is
 * encoded by Brook and parsed by the client's own parser, which must consume every byte.
 * This checks field order, compact/flexible encodings and tagged-field sections against
 * independent code. Error codes are zeroed, records/bytes emptied and nothing is null: the
 * client interprets those (and treats some nullable fields as required); this tests layout.
 * Set BROOK_SEED to replay.
 */

import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readSchemaDir } from '../../../../protocol/codegen/generate.ts';
import { resolveMessage } from '../../../../protocol/codegen/resolve.ts';
import { apiFor } from '../../../../protocol/generated/api-table.ts';
import { Writer } from '../../../../protocol/wire/writer.ts';
import { SeededRandom } from '../../../../src/util/random.ts';
import { randomMessage } from './random-message.ts';

const require = createRequire(import.meta.url);
const clientDir = join(require.resolve('@platformatic/kafka'), '..', 'apis');
const seed = Number(process.env.BROOK_SEED ?? 0x91a7) >>> 0;

interface ClientApi {
  readonly api: { readonly key: number; readonly version: number };
  parseResponse(correlationId: number, apiKey: number, version: number, reader: unknown): unknown;
}

const modules = readdirSync(clientDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(join(clientDir, d.name))
      .filter((f) => /-v\d+\.js$/.test(f))
      .map((f) => join(clientDir, d.name, f)),
  )
  .sort();

const responses = new Map(
  readSchemaDir(join(import.meta.dirname, '../../../../protocol/schema'))
    .flatMap((f) => f.messages)
    .filter((m) => m.kind === 'response')
    .map((m) => [m.apiKey, resolveMessage(m)]),
);

/**
 * Where the client's parsed value and ours disagree. Only values both sides hold as plain
 * numbers, strings or booleans are compared (the client keeps uuids and some int64s in other
 * forms); a misaligned parse shows up as a wrong value or a thrown out-of-bounds read.
 */
function mismatches(
  ours: unknown,
  theirs: unknown,
  path: string,
  quirks: readonly string[],
  out: string[],
): void {
  if (Array.isArray(ours) && Array.isArray(theirs)) {
    if (ours.length !== theirs.length) {
      out.push(`${path}: length ${ours.length} vs ${theirs.length}`);
      return;
    }
    for (let i = 0; i < ours.length; i++) {
      mismatches(ours[i], theirs[i], `${path}[${i}]`, quirks, out);
    }
    return;
  }
  if (typeof theirs === 'bigint' && typeof ours === 'number') theirs = Number(theirs);
  if (typeof ours === 'string' && typeof theirs === 'string' && UUID_TEXT.test(theirs)) {
    theirs = Buffer.from(theirs.replaceAll('-', ''), 'hex').toString('base64url');
  }
  const plain = (v: unknown): boolean => ['number', 'string', 'boolean'].includes(typeof v);
  if (plain(ours) && plain(theirs)) {
    if (ours !== theirs) out.push(`${path}: ${String(ours)} vs ${String(theirs)}`);
    return;
  }
  if (ours && theirs && typeof ours === 'object' && typeof theirs === 'object') {
    if (Buffer.isBuffer(ours) || Buffer.isBuffer(theirs)) return;
    for (const [key, value] of Object.entries(theirs)) {
      if (key in ours && !quirks.includes(key)) {
        mismatches((ours as Record<string, unknown>)[key], value, `${path}.${key}`, quirks, out);
      }
    }
  }
}

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Client modules whose parser does not follow Kafka's schema for that version (so they would
 * misread Kafka itself, not only Brook); checked by hand against the reference, not tested.
 */
const CLIENT_DEFECTS: Record<string, string> = {
  'admin/alter-partition-v3.js': 'reads TopicId as a string and Isr as one int32',
  'admin/consumer-group-describe-v0.js': 'reads SubscribedTopicNames as one string',
  'admin/describe-configs-v2.js': 'reads ConfigType and Documentation, which are v3+',
  'consumer/offset-for-leader-epoch-v4.js': 'reads Partition before ErrorCode',
};

/** Fields a client module fills itself in versions that do not carry them. */
const FIELD_QUIRKS: Record<string, readonly string[]> = {
  'metadata/metadata-v9.js': ['topicId'],
  'consumer/fetch-v12.js': ['topicId'],
  'admin/describe-cluster-v0.js': ['endpointType'],
  'admin/describe-log-dirs-v2.js': ['totalBytes', 'usableBytes'],
  'admin/describe-log-dirs-v3.js': ['totalBytes', 'usableBytes'],
  'producer/add-partitions-to-txn-v3.js': ['resultsByTransaction'],
};

/** Zero error codes and empty opaque bytes, recursively (see the file comment). */
function tame(value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) tame(v);
    return;
  }
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return;
  const obj = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(obj)) {
    if (/^(errorCode|.*ErrorCode)$/.test(key)) obj[key] = 0;
    else if (Buffer.isBuffer(v)) obj[key] = Buffer.alloc(0);
    else if (key === 'unknownTaggedFields') obj[key] = undefined;
    else tame(v);
  }
}

describe('@platformatic/kafka parses what Brook encodes', async () => {
  const { Reader: ClientReader } = (await import(
    join(clientDir, '..', 'protocol', 'reader.js')
  )) as { Reader: { from(b: Buffer): { position: number; length: number } } };
  const cases: [string, ClientApi][] = [];
  for (const path of modules) {
    const mod = (await import(path)) as Partial<ClientApi>;
    if (mod.api && mod.parseResponse)
      cases.push([path.slice(clientDir.length + 1), mod as ClientApi]);
  }

  test('the client has API modules to check', () => {
    expect(cases.length).toBeGreaterThan(50);
  });

  test.each(cases.filter(([name]) => !(name in CLIENT_DEFECTS)))('%s', (name, mod) => {
    const { key, version } = mod.api;
    const def = responses.get(key);
    const api = apiFor(key);
    if (!def || !api || version > api.maxVersion) {
      // The client speaks a version newer than the reference: ApiVersions will steer it down.
      expect(api === undefined || version > api.maxVersion).toBe(true);
      return;
    }
    for (let sample = 0; sample < 5; sample++) {
      const s = (seed + key * 131 + version * 17 + sample) >>> 0;
      const m = randomMessage(def, version, new SeededRandom(s), {
        largeBytesChance: 0,
        nullChance: 0,
        taggedFields: false,
      });
      tame(m);
      const w = new Writer();
      api.encodeResponse(w, m, version);
      const bytes = w.finish();
      const reader = ClientReader.from(bytes);
      const where = `${api.name} v${version} seed ${s}`;
      let parsed: unknown;
      try {
        parsed = mod.parseResponse(1, key, version, reader);
      } catch (error) {
        parsed = (error as { response?: unknown }).response;
        if (parsed === undefined) throw new Error(`${where}: ${error}`);
      }
      const out: string[] = [];
      mismatches(m, parsed, '', FIELD_QUIRKS[name] ?? [], out);
      expect(out, where).toEqual([]);
    }
  });
});
