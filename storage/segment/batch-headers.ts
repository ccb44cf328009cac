/**
 * Reading batch headers out of a segment file without reading the records: the log's
 * lookups (offset -> position, timestamp -> offset, the end of a read) walk headers only.
 *
 * A walk reads the file in chunks of `HEADER_CHUNK_BYTES`: small batches are parsed from one
 * chunk, a large batch costs one small read at its header. 16 KiB covers an index interval
 * (4 KiB) plus several batches, so a lookup after an index hit is usually one read.
 *
 * Crash behaviour: these walks run only over bytes that recovery validated or that this
 * process wrote, so a header that breaks its framing means the file changed under us: it is
 * reported as StorageError `storage-corrupt`, never an assertion.
 */
import {
  BATCH_HEADER_BYTES,
  BatchOffset,
  getInt64,
  MAGIC_V2,
} from '../../protocol/records/batch.ts';
import type { FileSystem } from '../io/file-system.ts';
import { StorageError } from '../storage-error.ts';

export const HEADER_CHUNK_BYTES = 16 * 1024;

export interface BatchHeader {
  readonly position: number;
  readonly sizeBytes: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestampMs: number;
  readonly partitionLeaderEpoch: number;
}

/** Parses the header at `at` of `buf`; the caller ensures 61 bytes are present. */
export function parseHeader(buf: Buffer, at: number, position: number): BatchHeader {
  const baseOffset = getInt64(buf, at + BatchOffset.baseOffset);
  return {
    position,
    sizeBytes: buf.readInt32BE(at + BatchOffset.batchLength) + 12,
    baseOffset,
    lastOffset: baseOffset + buf.readInt32BE(at + BatchOffset.lastOffsetDelta),
    maxTimestampMs: getInt64(buf, at + BatchOffset.maxTimestamp),
    partitionLeaderEpoch: buf.readInt32BE(at + BatchOffset.partitionLeaderEpoch),
  };
}

function checkFraming(buf: Buffer, at: number, position: number, end: number, path: string): void {
  const size = buf.readInt32BE(at + BatchOffset.batchLength) + 12;
  const sane =
    size >= BATCH_HEADER_BYTES &&
    position + size <= end &&
    buf.readInt8(at + BatchOffset.magic) === MAGIC_V2 &&
    buf.readInt32BE(at + BatchOffset.lastOffsetDelta) >= 0;
  if (!sane) {
    throw new StorageError('storage-corrupt', `${path}: bad batch header at position ${position}`);
  }
}

/**
 * Visits the headers of the batches in [from, end) of `fd`, in order, until `visit` returns
 * true (stop) or the range ends. `from` must be a batch start.
 */
export async function walkHeaders(
  fs: FileSystem,
  fd: number,
  path: string,
  from: number,
  end: number,
  visit: (header: BatchHeader) => boolean | undefined,
): Promise<void> {
  let chunk = Buffer.alloc(0);
  let chunkStart = 0;
  let position = from;
  while (position < end) {
    if (position < chunkStart || position + BATCH_HEADER_BYTES > chunkStart + chunk.length) {
      const want = Math.min(HEADER_CHUNK_BYTES, end - position);
      if (want < BATCH_HEADER_BYTES) {
        throw new StorageError('storage-corrupt', `${path}: partial batch at ${position}`);
      }
      if (chunk.length !== want) chunk = Buffer.allocUnsafe(want);
      const read = await fs.read(fd, chunk, position);
      if (read < BATCH_HEADER_BYTES) {
        throw new StorageError('storage-corrupt', `${path}: short read at ${position}`);
      }
      chunk = chunk.subarray(0, read);
      chunkStart = position;
    }
    const at = position - chunkStart;
    checkFraming(chunk, at, position, end, path);
    const header = parseHeader(chunk, at, position);
    if (visit(header) === true) return;
    position += header.sizeBytes;
  }
}
