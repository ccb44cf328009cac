/**
 * RecordBatch v2 (magic 2), read and patched in place.
 *
 * Byte layout of the 61-byte header (big-endian), then `recordsCount` records:
 *
 *   off len field
 *     0   8 baseOffset
 *     8   4 batchLength            bytes after this field (whole batch = batchLength + 12)
 *    12   4 partitionLeaderEpoch   not covered by the CRC: the leader stamps it on append
 *    16   1 magic                  2
 *    17   4 crc                    CRC-32C of bytes [21, end)
 *    21   2 attributes             bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control,
 *                                  6 delete horizon set
 *    23   4 lastOffsetDelta
 *    27   8 baseTimestamp
 *    35   8 maxTimestamp
 *    43   8 producerId
 *    51   2 producerEpoch
 *    53   4 baseSequence
 *    57   4 recordsCount
 *    61     records (compressed as a whole when codec != 0)
 *
 * Because baseOffset and partitionLeaderEpoch sit before the CRC'd range, a broker assigns
 * offsets and stamps epochs by rewriting those bytes without recomputing the CRC and without
 * decoding a record: that is what keeps produce, fetch and replication zero-decode.
 */

import { crc32c } from './crc32c.ts';

export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const BATCH_LOG_OVERHEAD_BYTES = 12;
export const MAGIC_V2 = 2;

export const BatchOffset = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
  records: 61,
} as const;

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionCodec = (typeof Compression)[keyof typeof Compression];

export const Attributes = {
  codecMask: 0x07,
  logAppendTime: 0x08,
  transactional: 0x10,
  control: 0x20,
  deleteHorizon: 0x40,
} as const;

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;

/** Why a batch failed validation; stable strings so callers can map them to Kafka errors. */
export type BatchProblem =
  | 'truncated'
  | 'batch-too-small'
  | 'bad-magic'
  | 'bad-crc'
  | 'bad-record-count'
  | 'bad-offset-delta';

function readInt64AsNumber(buf: Buffer, at: number): number {
  const high = buf.readInt32BE(at);
  const low = buf.readUInt32BE(at + 4);
  return high * 0x1_0000_0000 + low;
}

function writeNumberAsInt64(buf: Buffer, at: number, value: number): void {
  const high = Math.floor(value / 0x1_0000_0000);
  const low = value - high * 0x1_0000_0000;
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE(low, at + 4);
}

/** Total bytes of the batch starting at `at` (header included), or -1 if not readable. */
export function batchSizeAt(buf: Buffer, at = 0): number {
  if (buf.length - at < BATCH_LOG_OVERHEAD_BYTES) return -1;
  return buf.readInt32BE(at + BatchOffset.batchLength) + BATCH_LOG_OVERHEAD_BYTES;
}

/**
 * A view over one batch's bytes. Construction reads nothing; each getter reads its field.
 * `buf` must start at the batch's first byte; it may extend past the batch.
 */
export class RecordBatchView {
  readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  get baseOffset(): number {
    return readInt64AsNumber(this.buf, BatchOffset.baseOffset);
  }
  set baseOffset(value: number) {
    writeNumberAsInt64(this.buf, BatchOffset.baseOffset, value);
  }
  get batchLength(): number {
    return this.buf.readInt32BE(BatchOffset.batchLength);
  }
  /** Bytes of the whole batch, header included. */
  get sizeBytes(): number {
    return this.batchLength + BATCH_LOG_OVERHEAD_BYTES;
  }
  get partitionLeaderEpoch(): number {
    return this.buf.readInt32BE(BatchOffset.partitionLeaderEpoch);
  }
  set partitionLeaderEpoch(value: number) {
    this.buf.writeInt32BE(value, BatchOffset.partitionLeaderEpoch);
  }
  get magic(): number {
    return this.buf.readInt8(BatchOffset.magic);
  }
  get crc(): number {
    return this.buf.readUInt32BE(BatchOffset.crc);
  }
  get attributes(): number {
    return this.buf.readInt16BE(BatchOffset.attributes);
  }
  get compression(): number {
    return this.attributes & Attributes.codecMask;
  }
  get isTransactional(): boolean {
    return (this.attributes & Attributes.transactional) !== 0;
  }
  get isControl(): boolean {
    return (this.attributes & Attributes.control) !== 0;
  }
  get isLogAppendTime(): boolean {
    return (this.attributes & Attributes.logAppendTime) !== 0;
  }
  get lastOffsetDelta(): number {
    return this.buf.readInt32BE(BatchOffset.lastOffsetDelta);
  }
  get lastOffset(): number {
    return this.baseOffset + this.lastOffsetDelta;
  }
  get baseTimestamp(): number {
    return readInt64AsNumber(this.buf, BatchOffset.baseTimestamp);
  }
  get maxTimestamp(): number {
    return readInt64AsNumber(this.buf, BatchOffset.maxTimestamp);
  }
  get producerId(): number {
    return readInt64AsNumber(this.buf, BatchOffset.producerId);
  }
  get producerEpoch(): number {
    return this.buf.readInt16BE(BatchOffset.producerEpoch);
  }
  get baseSequence(): number {
    return this.buf.readInt32BE(BatchOffset.baseSequence);
  }
  get recordsCount(): number {
    return this.buf.readInt32BE(BatchOffset.recordsCount);
  }

  /** CRC-32C over attributes..end, as stored in the header. */
  computeCrc(): number {
    return crc32c(this.buf.subarray(BatchOffset.attributes, this.sizeBytes));
  }

  /** Rewrites the CRC after a change to a CRC-covered field (LogAppendTime, compaction). */
  updateCrc(): void {
    this.buf.writeUInt32BE(this.computeCrc(), BatchOffset.crc);
  }

  /**
   * Header-only validation, no record decoded: size, magic, offsets, count and CRC.
   * Returns undefined when the batch is sound.
   */
  validate(options: { checkCrc: boolean } = { checkCrc: true }): BatchProblem | undefined {
    if (this.buf.length < BATCH_LOG_OVERHEAD_BYTES) return 'truncated';
    const size = this.sizeBytes;
    if (size < BATCH_HEADER_BYTES) return 'batch-too-small';
    if (this.buf.length < size) return 'truncated';
    if (this.magic !== MAGIC_V2) return 'bad-magic';
    const count = this.recordsCount;
    const lastDelta = this.lastOffsetDelta;
    if (lastDelta < 0) return 'bad-offset-delta';
    // Compaction may leave fewer records than the offset span (even none), never more.
    // Produce-side rules (a client batch has exactly lastOffsetDelta + 1 records) are the
    // produce path's to check.
    if (count < 0 || count > lastDelta + 1) return 'bad-record-count';
    if (options.checkCrc && this.computeCrc() !== this.crc) return 'bad-crc';
    return undefined;
  }
}

/** Writes an int64 that is known to be a safe integer (offsets, timestamps, ids). */
export function setInt64(buf: Buffer, at: number, value: number): void {
  writeNumberAsInt64(buf, at, value);
}

/** Reads an int64 field as a number (exact up to 2^53). */
export function getInt64(buf: Buffer, at: number): number {
  return readInt64AsNumber(buf, at);
}

/**
 * Iterates the batches laid end to end in `buf` (a produce payload or a read of the log)
 * without copying. Stops at the first incomplete batch.
 */
export function* iterateBatches(buf: Buffer): Generator<RecordBatchView, void, undefined> {
  let at = 0;
  while (at < buf.length) {
    const size = batchSizeAt(buf, at);
    if (size < BATCH_LOG_OVERHEAD_BYTES || at + size > buf.length) return;
    yield new RecordBatchView(buf.subarray(at, at + size));
    at += size;
  }
}
