/**
 * Snappy, in the two framings Kafka clients write:
 *
 * - raw: one snappy block, which starts with the uncompressed length as an unsigned varint.
 *   librdkafka, kafkajs-snappy, sarama and @platformatic/kafka write this.
 * - xerial (snappy-java's SnappyOutputStream, what Java clients write): a 16-byte header
 *   (magic `\x82SNAPPY\0`, int32 version, int32 compatible version), then blocks of
 *   [int32 compressed length][raw snappy block]. Streams may be concatenated, so a header can
 *   reappear at a block boundary.
 *
 * Decoding accepts both. Encoding writes raw: every known reader takes raw (snappy-java's
 * SnappyInputStream falls back to raw when the magic is missing, which is how Java brokers
 * and consumers read librdkafka's output), while @platformatic/kafka 1.x cannot read xerial.
 * Raw is also smaller and a single native call. `snappyCompressXerial` is kept for tests and
 * for a deployment that wants Java's exact bytes.
 *
 * Bounding: each raw block states its uncompressed length up front, so the limit is checked
 * before the native call allocates anything.
 */
import { createRequire } from 'node:module';
import { RecordFormatError } from '../record-error.ts';

interface SnappyBinding {
  compressSync(input: Uint8Array, options?: { copyOutputData?: boolean }): Buffer;
  uncompressSync(
    input: Uint8Array,
    options?: { asBuffer?: boolean; copyOutputData?: boolean },
  ): Buffer | string;
}

/**
 * Copying the output into a V8-owned Buffer is 3-4x faster here than the module's default
 * external buffer, whose creation and finalizer dominate at batch sizes (measured with
 * bench/compression.bench.ts: snappy decode ~200 -> ~850 MB/s on 200 KiB).
 */
const COPY = { copyOutputData: true } as const;
const COPY_AS_BUFFER = { asBuffer: true, copyOutputData: true } as const;

const require = createRequire(import.meta.url);

function loadSnappy(): SnappyBinding | undefined {
  try {
    return require('snappy') as SnappyBinding;
  } catch {
    return undefined;
  }
}

const binding = loadSnappy();
export const snappyAvailable = binding !== undefined;

export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
const XERIAL_VERSION = 1;
const XERIAL_COMPATIBLE_VERSION = 1;
/** snappy-java's default block size, so our xerial output splits like Java's. */
const XERIAL_BLOCK_BYTES = 32 * 1024;
const PREAMBLE_BYTES_MAX = 5;

function requireBinding(): SnappyBinding {
  if (binding === undefined) {
    throw new RecordFormatError('codec-unavailable', 'the snappy native module did not load');
  }
  return binding;
}

function corrupt(message: string, cause?: unknown): RecordFormatError {
  return new RecordFormatError('corrupt-compressed-data', `snappy: ${message}`, { cause });
}

/** The uncompressed length a raw snappy block declares in its preamble. */
export function snappyDeclaredLength(block: Uint8Array): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < PREAMBLE_BYTES_MAX && i < block.length; i++) {
    const b = block[i] as number;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value;
    scale *= 128;
  }
  throw corrupt('bad length preamble');
}

export function snappyCompressRaw(data: Uint8Array): Buffer {
  return requireBinding().compressSync(data, COPY);
}

export function snappyCompressXerial(data: Uint8Array): Buffer {
  const snappy = requireBinding();
  const parts: Buffer[] = [xerialHeader()];
  for (let at = 0; at < data.length; at += XERIAL_BLOCK_BYTES) {
    const block = snappy.compressSync(data.subarray(at, at + XERIAL_BLOCK_BYTES), COPY);
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

function xerialHeader(): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, 8);
  header.writeInt32BE(XERIAL_COMPATIBLE_VERSION, 12);
  return header;
}

function hasXerialMagic(data: Uint8Array, at: number): boolean {
  if (data.length - at < XERIAL_HEADER_BYTES) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) {
    if (data[at + i] !== XERIAL_MAGIC[i]) return false;
  }
  return true;
}

function decodeBlock(block: Uint8Array, allowanceBytes: number, maxBytes: number): Buffer {
  const declared = snappyDeclaredLength(block);
  if (declared > allowanceBytes) {
    throw new RecordFormatError(
      'decompressed-too-large',
      `snappy data decompresses to more than ${maxBytes} bytes`,
    );
  }
  let out: Buffer | string;
  try {
    out = requireBinding().uncompressSync(block, COPY_AS_BUFFER);
  } catch (error) {
    if (error instanceof RecordFormatError) throw error;
    throw corrupt('block does not decode', error);
  }
  if (typeof out === 'string' || out.length !== declared) throw corrupt('length mismatch');
  return out;
}

/** Decodes raw or xerial-framed snappy into at most `maxBytes` bytes. */
export function snappyDecompress(data: Uint8Array, maxBytes: number): Buffer {
  if (!hasXerialMagic(data, 0)) return decodeBlock(data, maxBytes, maxBytes);
  const view = Buffer.from(data.buffer, data.byteOffset, data.length);
  const parts: Buffer[] = [];
  let total = 0;
  let at = 0;
  while (at < view.length) {
    if (hasXerialMagic(view, at)) {
      at += XERIAL_HEADER_BYTES;
      continue;
    }
    if (view.length - at < 4) throw corrupt('xerial block length truncated');
    const length = view.readInt32BE(at);
    at += 4;
    if (length < 0 || length > view.length - at) throw corrupt('xerial block runs past the end');
    const block = decodeBlock(view.subarray(at, at + length), maxBytes - total, maxBytes);
    at += length;
    total += block.length;
    parts.push(block);
  }
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, total);
}
