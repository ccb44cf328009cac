/**
 * Batches Brook builds, read back by real clients' decoders: kafkajs (its consumer-side
 * RecordBatch decoder, with kafkajs-snappy and kafkajs-lz4) and @platformatic/kafka
 * (readRecordsBatch, every codec). A client that cannot read what the compaction cleaner or
 * an internal topic writes would break on fetch.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createRecordsBatch, Reader, readRecordsBatch } from '@platformatic/kafka';
import { describe, expect, test } from 'vitest';
import { type CompressionCodec, RecordBatchView } from '../../../../protocol/records/batch.ts';
import { buildBatch } from '../../../../protocol/records/batch-builder.ts';
import { readRecords } from '../../../../protocol/records/record-iterator.ts';
import {
  type FixtureRecord,
  kafkajsFixture,
  platformaticFixture,
} from '../../../golden/records/fixtures.ts';

const helper = join(import.meta.dirname, '../../../golden/records/kafkajs-decode.cjs');
const BASE_OFFSET = 500;

function brookBatch(codec: CompressionCodec, records: readonly FixtureRecord[]): Buffer {
  return buildBatch({
    compression: codec,
    baseOffset: BASE_OFFSET,
    partitionLeaderEpoch: 3,
    records: records.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: r.timestamp,
    })),
  });
}

interface KafkajsDecoded {
  readonly records: {
    offset: string;
    timestamp: string;
    key: string | null;
    value: string | null;
    headers: [string, string | null][];
  }[];
}

/**
 * kafkajs-lz4 loads the `lz4` native module, which is built for one Node ABI only; try this
 * Node first, then the system one. Returns undefined when no Node here can load it.
 */
function kafkajsDecode(batch: Buffer): KafkajsDecoded | undefined {
  for (const node of [process.execPath, '/usr/bin/node', '/usr/local/bin/node']) {
    const run = spawnSync(node, [helper], { input: batch, maxBuffer: 16 << 20 });
    if (run.status === 0) return JSON.parse(run.stdout.toString('utf8')) as KafkajsDecoded;
  }
  return undefined;
}

const b64 = (data: Buffer | null): string | null =>
  data === null ? null : data.toString('base64');

describe('kafkajs decodes batches Brook builds', () => {
  for (const codec of [0, 1, 2, 3] as const) {
    test(`codec ${codec}`, () => {
      const decoded = kafkajsDecode(brookBatch(codec, kafkajsFixture));
      if (decoded === undefined) {
        throw new Error('no node binary here can run kafkajs with kafkajs-lz4 (lz4 native)');
      }
      expect(decoded.records).toEqual(
        kafkajsFixture.map((r, i) => ({
          offset: String(BASE_OFFSET + i),
          timestamp: String(r.timestamp),
          key: b64(r.key),
          value: b64(r.value),
          headers: r.headers.map((h) => [h.key, b64(h.value)]),
        })),
      );
    });
  }
});

describe('@platformatic/kafka decodes batches Brook builds', () => {
  for (const codec of [0, 1, 2, 3, 4] as const) {
    test(`codec ${codec}`, () => {
      const batch = brookBatch(codec, platformaticFixture);
      const decoded = readRecordsBatch(Reader.from(batch));
      expect(decoded.firstOffset).toBe(BigInt(BASE_OFFSET));
      expect(decoded.crc).toBe(new RecordBatchView(batch).computeCrc());
      expect(decoded.records).toHaveLength(platformaticFixture.length);
      decoded.records.forEach((record, i) => {
        const want = platformaticFixture[i] as FixtureRecord;
        expect(record.offsetDelta).toBe(i);
        expect(decoded.firstTimestamp + record.timestampDelta).toBe(BigInt(want.timestamp));
        expect(record.key).toEqual(want.key);
        expect(record.value).toEqual(want.value);
        expect(record.headers.map(([k, v]) => [(k as Buffer).toString('utf8'), v])).toEqual(
          want.headers.map((h) => [h.key, h.value]),
        );
      });
    });
  }
});

describe('Brook decodes what @platformatic/kafka builds today, not only the golden copies', () => {
  test('every codec', () => {
    for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const messages = platformaticFixture.map((r) => ({
        topic: 't',
        partition: 0,
        key: r.key ?? undefined,
        value: r.value ?? undefined,
        headers: new Map(r.headers.map((h) => [Buffer.from(h.key), h.value])),
        timestamp: BigInt(r.timestamp),
      }));
      const batch = createRecordsBatch(messages as never, { compression }).buffer;
      const view = new RecordBatchView(batch);
      expect(view.validate()).toBeUndefined();
      const records = readRecords(view, { maxDecompressedBytes: 1 << 20 });
      expect(records.map((r) => r.value?.length ?? -1)).toEqual(
        platformaticFixture.map((r) => (r.value === null ? -1 : r.value.length)),
      );
    }
  });
});
