/**
 * Seeded mutation fuzzing of everything that reads client bytes: the record iterator, the
 * scans and each decompressor. The property: valid or not, only RecordFormatError escapes.
 * Set FUZZ_SEED to explore other seeds; a failure names the seed and the mutant's index.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  BatchOffset,
  type CompressionCodec,
  RecordBatchView,
} from '../../../../protocol/records/batch.ts';
import { buildBatch, type RecordInput } from '../../../../protocol/records/batch-builder.ts';
import { compress, decompress } from '../../../../protocol/records/compression/codecs.ts';
import { RecordFormatError } from '../../../../protocol/records/record-error.ts';
import { readRecords } from '../../../../protocol/records/record-iterator.ts';
import { indexOfFirstNullKey, scanTimestamps } from '../../../../protocol/records/record-scan.ts';
import { SeededRandom } from '../../../../src/util/random.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 0xf022_5eed);
const MUTANTS_PER_CODEC = 400;
const LIMIT = { maxDecompressedBytes: 1 << 20 };
const codecs: readonly CompressionCodec[] = [0, 1, 2, 3, 4];
const goldenDir = join(import.meta.dirname, '../../../golden/records');
const goldenFiles = readdirSync(goldenDir).filter((name) => name.endsWith('.bin'));
const MUTANTS_PER_GOLDEN = 60;

function sampleRecords(random: SeededRandom): RecordInput[] {
  const count = random.int(1, 12);
  return Array.from({ length: count }, (_, i) => ({
    key: random.chance(0.2) ? null : Buffer.from(`key-${random.int(0, 99)}`),
    value: random.chance(0.1) ? null : Buffer.from('v'.repeat(random.int(0, 300))),
    headers: random.chance(0.5)
      ? [{ key: `h${i}`, value: random.chance(0.3) ? null : Buffer.from('x') }]
      : [],
    timestamp: 1_763_800_000_000 + random.int(-1000, 1000),
  }));
}

/** One random structural damage: flips, truncation, insertion, deletion or a 0xff run. */
function mutate(input: Buffer, random: SeededRandom, from: number): Buffer {
  const buf = Buffer.from(input);
  const at = random.int(from, Math.max(from, buf.length - 1));
  switch (random.int(0, 4)) {
    case 0: {
      for (let i = random.int(1, 4); i > 0; i--) {
        const p = random.int(from, buf.length - 1);
        buf[p] = (buf[p] as number) ^ (1 << random.int(0, 7));
      }
      return buf;
    }
    case 1:
      return buf.subarray(0, at);
    case 2: {
      const extra = Buffer.alloc(random.int(1, 8));
      random.fill(extra);
      return Buffer.concat([buf.subarray(0, at), extra, buf.subarray(at)]);
    }
    case 3:
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + random.int(1, 8))]);
    default:
      buf.fill(0xff, at, Math.min(buf.length, at + random.int(1, 10)));
      return buf;
  }
}

function onlyTypedErrors(what: string, fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (error instanceof RecordFormatError) return;
    throw new Error(`${what}: ${String(error)}`, { cause: error });
  }
}

/** Keeps the batch length field consistent with a mutated buffer, as a framed read would. */
function asBatch(bytes: Buffer): RecordBatchView {
  if (bytes.length >= BatchOffset.partitionLeaderEpoch) {
    bytes.writeInt32BE(bytes.length - BatchOffset.partitionLeaderEpoch, BatchOffset.batchLength);
  }
  return new RecordBatchView(bytes);
}

describe(`fuzz (seed ${SEED})`, () => {
  for (const codec of codecs) {
    test(`record iterator and scans, codec ${codec}`, () => {
      const random = new SeededRandom(SEED + codec);
      let typed = 0;
      for (let i = 0; i < MUTANTS_PER_CODEC; i++) {
        const batch = buildBatch({ records: sampleRecords(random), compression: codec });
        // Mostly damage the records; sometimes the header too.
        const from = random.chance(0.9) ? BatchOffset.records : 0;
        const view = asBatch(mutate(batch, random, from));
        const label = `seed ${SEED} codec ${codec} mutant ${i}`;
        onlyTypedErrors(label, () => readRecords(view, LIMIT));
        onlyTypedErrors(label, () => indexOfFirstNullKey(view, LIMIT));
        onlyTypedErrors(label, () => scanTimestamps(view, { ...LIMIT, targetTimestamp: 0 }));
        try {
          readRecords(view, LIMIT);
        } catch {
          typed++;
        }
      }
      // The mutations must actually break things, or this test proves nothing.
      expect(typed).toBeGreaterThan(MUTANTS_PER_CODEC / 4);
    });
  }

  for (const codec of codecs.filter((c) => c !== 0)) {
    test(`decompressor, codec ${codec}`, () => {
      const random = new SeededRandom(SEED ^ (codec << 8));
      const plain = Buffer.from(
        Array.from({ length: 200 }, (_, i) => `{"i":${i},"v":"${'ab'.repeat(i % 13)}"}`).join(''),
      );
      const packed = compress(codec, plain);
      let typed = 0;
      for (let i = 0; i < MUTANTS_PER_CODEC; i++) {
        const mutant = mutate(packed, random, 0);
        const limit = random.chance(0.2) ? random.int(0, plain.length) : LIMIT.maxDecompressedBytes;
        try {
          const out = decompress(codec, mutant, limit);
          expect(out.length).toBeLessThanOrEqual(limit);
        } catch (error) {
          if (!(error instanceof RecordFormatError)) {
            throw new Error(`seed ${SEED} codec ${codec} mutant ${i}: ${String(error)}`);
          }
          typed++;
        }
      }
      expect(typed).toBeGreaterThan(MUTANTS_PER_CODEC / 4);
    });
  }

  test('batches written by real clients (golden files)', () => {
    expect(goldenFiles.length).toBeGreaterThan(0);
    const random = new SeededRandom(SEED ^ 0x90_1d);
    for (const name of goldenFiles) {
      const golden = readFileSync(join(goldenDir, name));
      for (let i = 0; i < MUTANTS_PER_GOLDEN; i++) {
        const view = asBatch(mutate(golden, random, BatchOffset.records));
        const label = `seed ${SEED} ${name} mutant ${i}`;
        onlyTypedErrors(label, () => readRecords(view, LIMIT));
        onlyTypedErrors(label, () => scanTimestamps(view, LIMIT));
      }
    }
  });
});
