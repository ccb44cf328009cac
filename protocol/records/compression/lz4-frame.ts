/**
 * The LZ4 frame format, as Kafka uses it for codec 3 since magic v1 (KIP-57).
 *
 *   magic       uint32 LE 0x184D2204
 *   FLG         bits 7-6 version (01), 5 block independence, 4 block checksum,
 *               3 content size, 2 content checksum, 1 reserved (0), 0 dictionary id
 *   BD          bits 6-4 block max size: 4 = 64 KiB, 5 = 256 KiB, 6 = 1 MiB, 7 = 4 MiB
 *   [content size uint64 LE] [dictionary id uint32 LE]
 *   HC          (xxh32(FLG .. last descriptor byte) >> 8) & 0xff
 *   blocks      uint32 LE size (high bit: stored uncompressed; 0: end mark), data,
 *               [uint32 block checksum]
 *   [content checksum uint32]
 *
 * Frames may be concatenated and skippable frames (magic 0x184D2A5x) skipped. Decoding
 * verifies the header checksum (Java's reader does too) but not the block and content
 * xxhashes: the batch's CRC-32C already covers these bytes. Linked blocks (independence 0)
 * decode against the whole output so far. Output is bounded by `maxBytes`.
 *
 * Encoding writes what Java's KafkaLZ4BlockOutputStream writes: version 1, independent
 * blocks, no checksums, 64 KiB blocks. Every Kafka client reads it, and 64 KiB blocks keep a
 * reader's working memory small.
 */
import { RecordFormatError } from '../record-error.ts';
import { decodeLz4Block, encodeLz4Block, LZ4_OVERFLOW, lz4BlockBound } from './lz4-block.ts';
import { xxh32Short } from './xxh32.ts';

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const FLG_VERSION = 0x40;
const FLG_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICTIONARY = 0x01;
const UNCOMPRESSED_BIT = 0x8000_0000;
const BLOCK_MAX_BYTES_BY_ID = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20] as const;
const ENCODE_BLOCK_BYTES = 64 << 10;
const ENCODE_BD = 4 << 4;
const ENCODE_FLG = FLG_VERSION | FLG_INDEPENDENT;

function corrupt(message: string): RecordFormatError {
  return new RecordFormatError('corrupt-compressed-data', `lz4: ${message}`);
}

function tooLarge(maxBytes: number): RecordFormatError {
  return new RecordFormatError(
    'decompressed-too-large',
    `lz4 data decompresses to more than ${maxBytes} bytes`,
  );
}

export function lz4Compress(data: Uint8Array): Buffer {
  const blocks = Math.ceil(data.length / ENCODE_BLOCK_BYTES);
  const out = Buffer.allocUnsafe(7 + blocks * (4 + lz4BlockBound(ENCODE_BLOCK_BYTES)) + 4);
  out.writeUInt32LE(FRAME_MAGIC, 0);
  out[4] = ENCODE_FLG;
  out[5] = ENCODE_BD;
  out[6] = (xxh32Short(out, 4, 6) >>> 8) & 0xff;
  let d = 7;
  for (let at = 0; at < data.length; at += ENCODE_BLOCK_BYTES) {
    const end = Math.min(at + ENCODE_BLOCK_BYTES, data.length);
    const size = encodeLz4Block(data, at, end, out, d + 4) - (d + 4);
    if (size < end - at) {
      out.writeUInt32LE(size, d);
      d += 4 + size;
    } else {
      // Incompressible: storing is smaller and faster to read back.
      out.writeUInt32LE(((end - at) | UNCOMPRESSED_BIT) >>> 0, d);
      out.set(data.subarray(at, end), d + 4);
      d += 4 + (end - at);
    }
  }
  out.writeUInt32LE(0, d);
  d += 4;
  // Copy out of the worst-case allocation when it wastes much: callers may keep the result.
  return d * 2 < out.length ? Buffer.from(out.subarray(0, d)) : out.subarray(0, d);
}

interface FrameHeader {
  readonly flg: number;
  readonly blockMaxBytes: number;
  readonly contentSize: number;
  /** Position of the first block. */
  readonly dataStart: number;
}

function readFrameHeader(data: Buffer, at: number): FrameHeader {
  if (data.length - at < 7) throw corrupt('frame header truncated');
  const flg = data[at + 4] as number;
  const bd = data[at + 5] as number;
  if ((flg & 0xc0) !== FLG_VERSION) throw corrupt(`frame version ${(flg >>> 6) & 3}`);
  if ((flg & FLG_RESERVED) !== 0 || (bd & 0x8f) !== 0) throw corrupt('reserved bits set');
  if ((flg & FLG_DICTIONARY) !== 0) throw corrupt('preset dictionaries are not supported');
  const blockMaxBytes = BLOCK_MAX_BYTES_BY_ID[(bd >>> 4) & 7] ?? 0;
  if (blockMaxBytes === 0) throw corrupt(`block max size id ${(bd >>> 4) & 7}`);
  let end = at + 6;
  let contentSize = -1;
  if ((flg & FLG_CONTENT_SIZE) !== 0) {
    if (data.length - end < 8) throw corrupt('content size truncated');
    const high = data.readUInt32LE(end + 4);
    // Beyond 2^53 no limit could allow it anyway.
    contentSize = high > 0x1f_ffff ? Number.POSITIVE_INFINITY : high * 2 ** 32;
    contentSize += data.readUInt32LE(end);
    end += 8;
  }
  if (end >= data.length) throw corrupt('header checksum truncated');
  if (((xxh32Short(data, at + 4, end) >>> 8) & 0xff) !== data[end]) {
    throw corrupt('header checksum mismatch');
  }
  return { flg, blockMaxBytes, contentSize, dataStart: end + 1 };
}

/** A growable output that never exceeds `maxBytes`. */
class BoundedOutput {
  buf: Buffer;
  length = 0;
  readonly maxBytes: number;

  constructor(initialBytes: number, maxBytes: number) {
    this.maxBytes = maxBytes;
    this.buf = Buffer.allocUnsafe(Math.min(initialBytes, maxBytes));
  }

  /** Makes room for `bytes` more (capped at maxBytes); returns the usable limit. */
  reserve(bytes: number): number {
    const want = Math.min(this.length + bytes, this.maxBytes);
    if (want > this.buf.length) {
      const grown = Buffer.allocUnsafe(
        Math.min(Math.max(want, this.buf.length * 2), this.maxBytes),
      );
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    return want;
  }
}

function decodeBlocks(data: Buffer, header: FrameHeader, out: BoundedOutput): number {
  const independent = (header.flg & FLG_INDEPENDENT) !== 0;
  const frameStart = out.length;
  let at = header.dataStart;
  for (;;) {
    if (data.length - at < 4) throw corrupt('block size truncated');
    const word = data.readUInt32LE(at);
    at += 4;
    if (word === 0) break;
    const size = word & ~UNCOMPRESSED_BIT;
    if (size > data.length - at) throw corrupt('block runs past the end');
    if (size > header.blockMaxBytes) throw corrupt('block larger than the frame allows');
    const limit = out.reserve(header.blockMaxBytes);
    if ((word & UNCOMPRESSED_BIT) !== 0) {
      if (size > limit - out.length) throw tooLarge(out.maxBytes);
      data.copy(out.buf, out.length, at, at + size);
      out.length += size;
    } else {
      const history = independent ? out.length : frameStart;
      const end = decodeLz4Block(data, at, at + size, out.buf, out.length, limit, history);
      if (end === LZ4_OVERFLOW) {
        if (limit === out.maxBytes) throw tooLarge(out.maxBytes);
        throw corrupt('block decodes past the frame block size');
      }
      if (end < 0) throw corrupt('malformed block');
      out.length = end;
    }
    at += size + ((header.flg & FLG_BLOCK_CHECKSUM) !== 0 ? 4 : 0);
  }
  if ((header.flg & FLG_CONTENT_CHECKSUM) !== 0) at += 4;
  if (at > data.length) throw corrupt('content checksum truncated');
  if (header.contentSize >= 0 && header.contentSize !== out.length - frameStart) {
    throw corrupt('content size mismatch');
  }
  return at;
}

/** Decodes one or more LZ4 frames into at most `maxBytes` bytes. */
export function lz4Decompress(data: Uint8Array, maxBytes: number): Buffer {
  const view = Buffer.from(data.buffer, data.byteOffset, data.length);
  const out = new BoundedOutput(Math.max(64 << 10, view.length * 4), maxBytes);
  let at = 0;
  let frames = 0;
  while (at < view.length || frames === 0) {
    if (view.length - at < 4) throw corrupt('frame magic truncated');
    const magic = view.readUInt32LE(at);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (view.length - at < 8) throw corrupt('skippable frame truncated');
      at += 8 + view.readUInt32LE(at + 4);
      if (at > view.length) throw corrupt('skippable frame truncated');
      continue;
    }
    if (magic !== FRAME_MAGIC) throw corrupt('bad frame magic');
    const header = readFrameHeader(view, at);
    if (header.contentSize > maxBytes - out.length) throw tooLarge(maxBytes);
    if (header.contentSize > 0) out.reserve(header.contentSize);
    at = decodeBlocks(view, header, out);
    frames++;
  }
  return out.buf.subarray(0, out.length);
}
