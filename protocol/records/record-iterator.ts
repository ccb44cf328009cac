/**
 * Reads the records of one RecordBatch v2 (layout in record.ts), compressed or not.
 *
 * Keys, values and headers are views into the batch (uncompressed) or into the one buffer
 * decompression produced. Every length is checked against the bytes left before it is used,
 * and the count, each record's length prefix and the absence of trailing bytes are checked
 * too, so bad bytes raise RecordFormatError and nothing else. Decompression is bounded by
 * `maxDecompressedBytes`, which the caller derives from its own limits (a produce request's
 * size, `message.max.bytes`) so a small compressed batch cannot expand without limit.
 *
 * Only paths that must see records use this (compaction, key checks on compacted topics,
 * timestamp search); produce, fetch and replication pass batches through untouched.
 */
import {
  BATCH_HEADER_BYTES,
  BatchOffset,
  Compression,
  MAGIC_V2,
  type RecordBatchView,
} from './batch.ts';
import { decompress, toCompressionCodec } from './compression/codecs.ts';
import type { KafkaRecord, RecordHeader } from './record.ts';
import { RecordFormatError } from './record-error.ts';
import { ByteCursor } from './varint.ts';

export interface RecordReadOptions {
  /** The most bytes a compressed records section may decompress to. */
  readonly maxDecompressedBytes: number;
}

/** The smallest possible record: length, attributes, two deltas, null key, value, 0 headers. */
export const RECORD_BYTES_MIN = 7;

/** What iteration needs from the batch header, read once. */
export interface RecordSection {
  /** Uncompressed records. */
  readonly bytes: Buffer;
  readonly count: number;
  readonly baseOffset: number;
  readonly baseTimestamp: number;
  /** The batch's maxTimestamp when it is LogAppendTime, else -1 (use each record's). */
  readonly logAppendTime: number;
}

function checkHeader(batch: RecordBatchView): void {
  const buf = batch.buf;
  if (buf.length < BATCH_HEADER_BYTES) throw new RecordFormatError('truncated', 'batch header');
  const size = batch.sizeBytes;
  if (size < BATCH_HEADER_BYTES) throw new RecordFormatError('bad-batch', `batch size ${size}`);
  if (buf.length < size) throw new RecordFormatError('truncated', 'batch shorter than its size');
  if (batch.magic !== MAGIC_V2) throw new RecordFormatError('bad-batch', `magic ${batch.magic}`);
  if (batch.recordsCount < 0) throw new RecordFormatError('bad-record-count', 'negative count');
}

/** The batch's records, decompressed when the batch is compressed. */
export function recordSection(batch: RecordBatchView, options: RecordReadOptions): RecordSection {
  checkHeader(batch);
  const raw = batch.buf.subarray(BatchOffset.records, batch.sizeBytes);
  const codec = toCompressionCodec(batch.compression);
  const bytes =
    codec === Compression.none ? raw : decompress(codec, raw, options.maxDecompressedBytes);
  const count = batch.recordsCount;
  if (count > bytes.length / RECORD_BYTES_MIN) {
    throw new RecordFormatError('bad-record-count', `${count} records cannot fit`);
  }
  const baseTimestamp = batch.baseTimestamp;
  const logAppendTime = batch.isLogAppendTime ? batch.maxTimestamp : -1;
  return { bytes, count, baseOffset: batch.baseOffset, baseTimestamp, logAppendTime };
}

/** Reads a record's length prefix and returns the end of its body. */
export function recordBodyEnd(cursor: ByteCursor): number {
  const length = cursor.varint();
  if (length < 0) throw new RecordFormatError('bad-length', `record length ${length}`);
  if (length > cursor.remaining) throw new RecordFormatError('truncated', 'record body');
  return cursor.pos + length;
}

export function checkedSum(a: number, b: number, what: string): number {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) throw new RecordFormatError('out-of-range', what);
  return sum;
}

function readHeaders(body: ByteCursor): RecordHeader[] {
  const count = body.varint();
  if (count < 0) throw new RecordFormatError('bad-length', `header count ${count}`);
  // Each header takes at least two bytes: check before allocating for a hostile count.
  if (count > body.remaining / 2) throw new RecordFormatError('truncated', 'headers');
  const headers: RecordHeader[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const key = body.nullableBytes('header key');
    if (key === null) throw new RecordFormatError('bad-length', 'null header key');
    headers[i] = { key, value: body.nullableBytes('header value') };
  }
  return headers;
}

/** Decodes the record at `cursor` and moves past it. */
export function decodeRecord(cursor: ByteCursor, section: RecordSection): KafkaRecord {
  const start = cursor.pos;
  const end = recordBodyEnd(cursor);
  const body = new ByteCursor(cursor.buf, cursor.pos, end);
  const attributes = body.int8();
  const timestampDelta = body.varlong();
  const offsetDelta = body.varint();
  const key = body.nullableBytes('key');
  const value = body.nullableBytes('value');
  const headers = readHeaders(body);
  if (body.pos !== end) {
    throw new RecordFormatError('bad-record-length', `${end - body.pos} bytes left in record`);
  }
  cursor.pos = end;
  const offset = checkedSum(section.baseOffset, offsetDelta, 'record offset');
  const timestamp =
    section.logAppendTime >= 0
      ? section.logAppendTime
      : checkedSum(section.baseTimestamp, timestampDelta, 'record timestamp');
  return {
    offset,
    offsetDelta,
    timestamp,
    timestampDelta,
    attributes,
    key,
    value,
    headers,
    sizeBytes: end - start,
  };
}

/** Iterates a section's records; checks the count and that no bytes trail the last one. */
export class RecordIterator implements IterableIterator<KafkaRecord> {
  readonly #section: RecordSection;
  readonly #cursor: ByteCursor;
  #index = 0;

  constructor(section: RecordSection) {
    this.#section = section;
    this.#cursor = new ByteCursor(section.bytes);
  }

  next(): IteratorResult<KafkaRecord, undefined> {
    if (this.#index === this.#section.count) {
      if (this.#cursor.remaining !== 0) {
        throw new RecordFormatError('trailing-bytes', `${this.#cursor.remaining} bytes`);
      }
      return { done: true, value: undefined };
    }
    if (this.#cursor.remaining === 0) {
      throw new RecordFormatError('bad-record-count', `only ${this.#index} records`);
    }
    this.#index++;
    return { done: false, value: decodeRecord(this.#cursor, this.#section) };
  }

  [Symbol.iterator](): RecordIterator {
    return this;
  }
}

/** Iterates the batch's records lazily (decompressing first when needed). */
export function iterateRecords(batch: RecordBatchView, options: RecordReadOptions): RecordIterator {
  return new RecordIterator(recordSection(batch, options));
}

/** All the batch's records. */
export function readRecords(batch: RecordBatchView, options: RecordReadOptions): KafkaRecord[] {
  return Array.from(iterateRecords(batch, options));
}
