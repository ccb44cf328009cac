/**
 * One entry point for the four Kafka codecs (attributes bits 0-2 of a batch):
 * `compress(codec, data)` and `decompress(codec, data, maxBytes)`.
 *
 * All four run synchronously and return a Buffer: gzip and zstd through node:zlib's sync calls
 * (a batch is at most about a MiB, where the thread-pool round trip costs more than it saves),
 * snappy through its N-API module, lz4 in JavaScript. Synchronous also keeps the batch
 * builder and the record iterator synchronous, which the compaction cleaner relies on.
 *
 * `maxBytes` bounds the decompressed size for every codec while it is produced: a
 * decompression bomb raises `decompressed-too-large` without allocating past the limit.
 */
import { Compression, type CompressionCodec } from '../batch.ts';
import { RecordFormatError } from '../record-error.ts';
import { lz4Compress, lz4Decompress } from './lz4-frame.ts';
import { snappyCompressRaw, snappyDecompress } from './snappy.ts';
import { gzipCompress, gzipDecompress, zstdCompress, zstdDecompress } from './zlib-codecs.ts';

export interface CompressOptions {
  /** gzip 1-9 (default 6), zstd 1-22 (default 3); ignored by snappy and lz4. */
  readonly level?: number;
}

/** Narrows a batch's codec bits to a codec Kafka defines, or throws `unsupported-codec`. */
export function toCompressionCodec(bits: number): CompressionCodec {
  if (bits >= Compression.none && bits <= Compression.zstd) return bits as CompressionCodec;
  throw new RecordFormatError('unsupported-codec', `compression codec id ${bits}`);
}

export function compress(
  codec: CompressionCodec,
  data: Uint8Array,
  options: CompressOptions = {},
): Buffer {
  switch (codec) {
    case Compression.none:
      return Buffer.from(data.buffer, data.byteOffset, data.length);
    case Compression.gzip:
      return gzipCompress(data, options.level);
    case Compression.snappy:
      return snappyCompressRaw(data);
    case Compression.lz4:
      return lz4Compress(data);
    case Compression.zstd:
      return zstdCompress(data, options.level);
  }
}

/** Decompresses `data` into at most `maxBytes` bytes; RecordFormatError on any bad input. */
export function decompress(codec: CompressionCodec, data: Uint8Array, maxBytes: number): Buffer {
  let out: Buffer;
  switch (codec) {
    case Compression.none:
      out = Buffer.from(data.buffer, data.byteOffset, data.length);
      break;
    case Compression.gzip:
      out = gzipDecompress(data, maxBytes);
      break;
    case Compression.snappy:
      out = snappyDecompress(data, maxBytes);
      break;
    case Compression.lz4:
      out = lz4Decompress(data, maxBytes);
      break;
    case Compression.zstd:
      out = zstdDecompress(data, maxBytes);
      break;
  }
  if (out.length > maxBytes) {
    throw new RecordFormatError('decompressed-too-large', `more than ${maxBytes} bytes`);
  }
  return out;
}
