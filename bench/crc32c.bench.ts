/**
 * CRC-32C throughput of the two implementations protocol/records/crc32c.ts can use: crc-32's
 * table-driven JavaScript and @node-rs/crc32's native SIMD code, on 1 KiB, 16 KiB and 1 MiB
 * buffers (a small record batch, a typical produce batch, a large fetch). The faster one must
 * be crc32c.ts's default; this prints which one is.
 *
 * Run: npx node bench/crc32c.bench.ts
 */
import { crc32cImplementation, crc32cJs, crc32cNative } from '../protocol/records/crc32c.ts';
import { SeededRandom } from '../src/util/random.ts';
import { type Measurement, mbPerSecond, measure, report, timeNs } from './harness.ts';

const RUNS = 7;
/** Bytes checksummed per run, whatever the buffer size, so each run lasts long enough. */
const BYTES_PER_RUN = 32 << 20;
const sizes = [1 << 10, 16 << 10, 1 << 20];

type Crc = (data: Uint8Array, initial?: number) => number;

function buffers(size: number): Buffer[] {
  const random = new SeededRandom(size);
  // Several distinct buffers so the CPU cache does not hold the one being summed.
  return Array.from({ length: Math.max(1, Math.min(64, (4 << 20) / size)) }, () => {
    const buf = Buffer.alloc(size);
    random.fill(buf);
    return buf;
  });
}

function throughput(crc: Crc, inputs: Buffer[]): () => Promise<number> {
  const size = (inputs[0] as Buffer).length;
  const rounds = BYTES_PER_RUN / size;
  let sink = 0;
  return async () => {
    const elapsed = await timeNs(() => {
      for (let i = 0; i < rounds; i++) sink ^= crc(inputs[i % inputs.length] as Buffer);
    });
    if (sink === 0.5) console.log(sink);
    return mbPerSecond(BYTES_PER_RUN, elapsed);
  };
}

const rows: Measurement[] = [];
let baseline: Measurement | undefined;
for (const size of sizes) {
  const inputs = buffers(size);
  const label = size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`;
  const js = await measure(`crc-32 (JS), ${label}`, 'MB/s', RUNS, throughput(crc32cJs, inputs));
  baseline ??= js;
  rows.push(js);
  if (crc32cNative) {
    const native = crc32cNative;
    rows.push(
      await measure(`@node-rs/crc32 (native), ${label}`, 'MB/s', RUNS, throughput(native, inputs)),
    );
  }
}
report(
  `CRC-32C (default in crc32c.ts: ${crc32cImplementation}; baseline JS 1 KiB)`,
  rows,
  baseline,
);
if (!crc32cNative) console.log('@node-rs/crc32 did not load: only the JS implementation ran.');
