/**
 * gzip and zstd through node:zlib's synchronous calls. Batches are small (a produce batch is
 * at most `message.max.bytes`, 1 MiB by default), so a sync call costs less than the thread
 * pool round trip, and `maxOutputLength` bounds the output while it is produced rather than
 * after: a decompression bomb stops at the limit without allocating past it.
 *
 * zstd is in node:zlib from Node 22.15; on an older runtime it reports `codec-unavailable`.
 */
import { constants as bufferConstants } from 'node:buffer';
import zlib from 'node:zlib';
import { RecordFormatError } from '../record-error.ts';

/** Java's GZIPOutputStream default (Deflater.DEFAULT_COMPRESSION), Kafka's gzip default. */
export const GZIP_LEVEL_DEFAULT = 6;
/** zstd's own default level, which Kafka keeps (compression.zstd.level = 3). */
export const ZSTD_LEVEL_DEFAULT = 3;

type ZstdSync = (data: Uint8Array, options?: zlib.ZstdOptions) => Buffer;
const zstdCompressSync = (zlib as { zstdCompressSync?: ZstdSync }).zstdCompressSync;
const zstdDecompressSync = (zlib as { zstdDecompressSync?: ZstdSync }).zstdDecompressSync;

export const zstdAvailable = typeof zstdCompressSync === 'function';

/** zlib refuses a maxOutputLength outside [1, buffer.constants.MAX_LENGTH]. */
function outputLimit(maxBytes: number): number {
  return Math.min(Math.max(1, maxBytes), bufferConstants.MAX_LENGTH);
}

function decodeFailure(codec: string, maxBytes: number, error: unknown): RecordFormatError {
  if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
    return new RecordFormatError(
      'decompressed-too-large',
      `${codec} data decompresses to more than ${maxBytes} bytes`,
      { cause: error },
    );
  }
  return new RecordFormatError('corrupt-compressed-data', `${codec} data does not decode`, {
    cause: error,
  });
}

export function gzipCompress(data: Uint8Array, level = GZIP_LEVEL_DEFAULT): Buffer {
  return zlib.gzipSync(data, { level });
}

export function gzipDecompress(data: Uint8Array, maxBytes: number): Buffer {
  try {
    return zlib.gunzipSync(data, { maxOutputLength: outputLimit(maxBytes) });
  } catch (error) {
    throw decodeFailure('gzip', maxBytes, error);
  }
}

function requireZstd(fn: ZstdSync | undefined): ZstdSync {
  if (fn === undefined) {
    throw new RecordFormatError(
      'codec-unavailable',
      `zstd needs Node >= 22.15 (${process.version})`,
    );
  }
  return fn;
}

export function zstdCompress(data: Uint8Array, level = ZSTD_LEVEL_DEFAULT): Buffer {
  const compress = requireZstd(zstdCompressSync);
  return compress(data, { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } });
}

export function zstdDecompress(data: Uint8Array, maxBytes: number): Buffer {
  const decompress = requireZstd(zstdDecompressSync);
  try {
    return decompress(data, { maxOutputLength: outputLimit(maxBytes) });
  } catch (error) {
    throw decodeFailure('zstd', maxBytes, error);
  }
}
