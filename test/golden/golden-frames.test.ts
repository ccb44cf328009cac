/**
 * Frames captured from real clients (test/golden/capture.ts) are decoded by Brook's generated
 * codecs and re-encoded byte for byte; the record batches inside captured Produce requests are
 * CRC-checked and their records decoded to exactly what each client was told to send.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readRequestHeader, requestHeaderVersion } from '../../protocol/frame.ts';
import { apiFor } from '../../protocol/generated/api-table.ts';
import { encodeRequestHeader } from '../../protocol/generated/headers.ts';
import type { ProduceRequest } from '../../protocol/generated/index.ts';
import { iterateBatches } from '../../protocol/records/batch.ts';
import { readRecords } from '../../protocol/records/record-iterator.ts';
import { Reader } from '../../protocol/wire/reader.ts';
import { Writer } from '../../protocol/wire/writer.ts';

const framesDir = join(import.meta.dirname, 'frames');
const clients = readdirSync(framesDir).sort();

function framesOf(client: string): { name: string; bytes: Buffer }[] {
  return readdirSync(join(framesDir, client))
    .filter((n) => n.endsWith('.bin'))
    .sort()
    .map((name) => ({ name, bytes: readFileSync(join(framesDir, client, name)) }));
}

interface Decoded {
  readonly apiKey: number;
  readonly version: number;
  readonly body: unknown;
}

function decodeFrame(frame: Buffer): Decoded {
  const r = new Reader(frame);
  const decoded = readRequestHeader(r, frame);
  expect(decoded, String(r.error)).toBeDefined();
  const { requestApiKey: apiKey, requestApiVersion: version } = decoded!.header;
  const api = apiFor(apiKey);
  expect(api).toBeDefined();
  const body = api!.decodeRequest(r, version);
  expect(r.error).toBeUndefined();
  expect(r.remaining).toBe(0);
  return { apiKey, version, body };
}

/** Client-visible content of every record the capture script produced. */
function recordsOf(produce: ProduceRequest): string[] {
  const out: string[] = [];
  for (const topic of produce.topicData) {
    for (const partition of topic.partitionData) {
      const records = partition.records;
      if (!Buffer.isBuffer(records)) continue;
      for (const batch of iterateBatches(records)) {
        expect(batch.validate()).toBeUndefined();
        for (const record of readRecords(batch, { maxDecompressedBytes: 1 << 20 })) {
          const headers = record.headers.map((h) => `${h.key}=${h.value?.toString() ?? 'null'}`);
          out.push(`${record.key?.toString() ?? 'null'}:${record.value?.toString()}|${headers}`);
        }
      }
    }
  }
  return out;
}

test('frames were captured from every client the capture script drives', () => {
  expect(clients).toEqual(['confluent-python', 'kafka-python', 'kafkajs', 'kcat', 'platformatic']);
});

describe.each(clients)('golden frames from %s', (client) => {
  const frames = framesOf(client);

  test('there are frames, ApiVersions first', () => {
    expect(frames.length).toBeGreaterThan(3);
    expect(frames[0]?.name).toMatch(/-ApiVersions-v\d+\.bin$/);
  });

  test.each(frames.map((f) => [f.name, f.bytes] as const))(
    '%s decodes and re-encodes byte for byte',
    (name, bytes) => {
      const { apiKey, version, body } = decodeFrame(bytes);
      expect(name).toContain(`-${apiFor(apiKey)!.name}-v${version}.bin`);
      const r = new Reader(bytes);
      const header = readRequestHeader(r, bytes)!.header;
      const w = new Writer(bytes.length);
      encodeRequestHeader(w, header, requestHeaderVersion(apiKey, version));
      apiFor(apiKey)!.encodeRequest(w, body, version);
      expect(w.finish().equals(bytes)).toBe(true);
    },
  );

  test('Produce requests carry CRC-valid batches with exactly the records sent', () => {
    const produced = frames
      .filter((f) => f.name.includes('-Produce-'))
      .flatMap((f) => recordsOf(decodeFrame(f.bytes).body as ProduceRequest));
    const keyed = 'k1:v1|h=1';
    const unkeyed = 'null:no-key|';
    // kcat's -K splits ':no-key' into an empty (not null) key.
    const perRun = client === 'kcat' ? [keyed, 'k2:v2|h=1', ':no-key|h=1'] : [keyed, unkeyed];
    const runs = client === 'kafkajs' ? 3 : 5;
    expect(produced).toEqual(Array.from({ length: runs }, () => perRun).flat());
  });
});
