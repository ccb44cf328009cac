/**
 * Compression codecs on realistic record data: the records section of a RecordBatch v2 of
 * 1 KiB JSON-ish records, 256 KiB in all (a typical produce batch), encoded by Brook's batch
 * builder. For each codec: compress MB/s (input bytes), decompress MB/s (output bytes) and the
 * ratio. Reference rows show snappy with Java's xerial framing and @platformatic/wasm-utils'
 * LZ4 (Rust lz4_flex in wasm), which Brook's JavaScript LZ4 is measured against.
 *
 * Run: npx node bench/compression.bench.ts
 */
import {
  lz4Compress as wasmLz4Compress,
  lz4Decompress as wasmLz4Decompress,
} from '@platformatic/wasm-utils';
import { BatchOffset, Compression } from '../protocol/records/batch.ts';
import { buildBatch } from '../protocol/records/batch-builder.ts';
import { compress, decompress } from '../protocol/records/compression/codecs.ts';
import { snappyCompressXerial, snappyDecompress } from '../protocol/records/compression/snappy.ts';
import { SeededRandom } from '../src/util/random.ts';
import { type Measurement, mbPerSecond, measure, report, timeNs } from './harness.ts';

const RUNS = 7;
const BATCH_BYTES = 256 << 10;
const RECORD_VALUE_BYTES = 1 << 10;
/** Bytes processed per run: enough repetitions of the batch for a stable timing. */
const BYTES_PER_RUN = 16 << 20;

function jsonValue(random: SeededRandom): Buffer {
  let text = '';
  while (text.length < RECORD_VALUE_BYTES) {
    text += `${JSON.stringify({
      orderId: random.int(1, 1e9),
      customer: `customer-${random.int(1, 5000)}`,
      sku: `SKU-${random.int(1000, 9999)}`,
      quantity: random.int(1, 20),
      price: random.int(100, 100_000) / 100,
      status: random.pick(['created', 'paid', 'shipped', 'delivered', 'returned']),
      at: 1_763_800_000_000 + random.int(0, 86_400_000),
    })},`;
  }
  return Buffer.from(text.slice(0, RECORD_VALUE_BYTES));
}

function recordsSection(): Buffer {
  const random = new SeededRandom(0xbe_4c);
  const records = [];
  for (let size = 0; size < BATCH_BYTES; size += RECORD_VALUE_BYTES + 40) {
    records.push({
      key: Buffer.from(`customer-${random.int(1, 5000)}`),
      value: jsonValue(random),
      headers: [{ key: 'content-type', value: Buffer.from('application/json') }],
      timestamp: 1_763_800_000_000 + records.length,
    });
  }
  return buildBatch({ records }).subarray(BatchOffset.records);
}

interface Codec {
  readonly name: string;
  readonly pack: (data: Buffer) => Buffer;
  readonly unpack: (data: Buffer, maxBytes: number) => Uint8Array;
}

const codecs: Codec[] = [
  ['gzip', Compression.gzip],
  ['snappy (raw, Brook writes)', Compression.snappy],
  ['lz4 (frame, JS)', Compression.lz4],
  ['zstd', Compression.zstd],
].map(([name, codec]) => ({
  name: name as string,
  pack: (data: Buffer) => compress(codec as 1 | 2 | 3 | 4, data),
  unpack: (data: Buffer, maxBytes: number) => decompress(codec as 1 | 2 | 3 | 4, data, maxBytes),
}));
codecs.push(
  { name: 'ref: snappy (xerial)', pack: snappyCompressXerial, unpack: snappyDecompress },
  {
    name: 'ref: lz4 (@platformatic/wasm-utils)',
    pack: (data) => wasmLz4Compress(data),
    unpack: (data) => wasmLz4Decompress(data),
  },
);

function timed(bytes: number, once: () => void): () => Promise<number> {
  const rounds = Math.ceil(BYTES_PER_RUN / bytes);
  return async () =>
    mbPerSecond(
      rounds * bytes,
      await timeNs(() => {
        for (let i = 0; i < rounds; i++) once();
      }),
    );
}

const data = recordsSection();
const rows: Measurement[] = [];
const ratios: string[] = [];
for (const codec of codecs) {
  const packed = codec.pack(data);
  const back = codec.unpack(packed, data.length);
  if (!Buffer.from(back).equals(data)) throw new Error(`${codec.name} did not round-trip`);
  ratios.push(`| ${codec.name} | ${packed.length} | ${(data.length / packed.length).toFixed(2)} |`);
  rows.push(
    await measure(
      `${codec.name}: compress`,
      'MB/s',
      RUNS,
      timed(data.length, () => {
        codec.pack(data);
      }),
    ),
  );
  rows.push(
    await measure(
      `${codec.name}: decompress`,
      'MB/s',
      RUNS,
      timed(data.length, () => {
        codec.unpack(packed, data.length);
      }),
    ),
  );
}
report(`compression of a ${data.length}-byte records section (1 KiB JSON records)`, rows);
console.log(
  ['| codec | compressed bytes | ratio |', '| --- | ---: | ---: |', ...ratios].join('\n'),
);
