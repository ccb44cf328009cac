/**
 * Builds RecordBatch v2 bytes (layout in batch.ts, records in record.ts): lengths, offsets,
 * the max timestamp and the CRC-32C are computed here. Used by the compaction cleaner (which
 * re-encodes retained records with the batch's original codec), internal topics
 * (__consumer_offsets), transaction markers, the load generator and tests.
 *
 * Callers are Brook's own code, so a malformed input (offsets out of order, an unsafe
 * integer) is a bug and fails an assertion; client bytes never come through here.
 */
import assert from 'node:assert';
import {
  Attributes,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BatchOffset,
  Compression,
  type CompressionCodec,
  MAGIC_V2,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  setInt64,
} from './batch.ts';
import { compress } from './compression/codecs.ts';
import { crc32c } from './crc32c.ts';
import { ControlRecordType, encodeControlRecordKey, encodeEndTxnMarker } from './record.ts';
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.ts';

export interface HeaderInput {
  /** A string is written as UTF-8. */
  readonly key: Buffer | string;
  readonly value: Buffer | null;
}

export interface RecordInput {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: readonly HeaderInput[];
  /** Create time in ms; ignored on read when the batch is LogAppendTime. */
  readonly timestamp: number;
  /** Defaults to the record's index; compaction keeps the original deltas. */
  readonly offsetDelta?: number;
  /** Record attributes: Kafka defines none yet, so 0 unless re-encoding what was read. */
  readonly attributes?: number;
}

export interface BatchInput {
  readonly records: readonly RecordInput[];
  readonly compression?: CompressionCodec;
  /** gzip or zstd level; the codec's default when absent. */
  readonly compressionLevel?: number;
  readonly baseOffset?: number;
  readonly partitionLeaderEpoch?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly transactional?: boolean;
  readonly control?: boolean;
  /** When set the batch is LogAppendTime and this becomes its maxTimestamp. */
  readonly logAppendTimeMs?: number;
  /** Compaction's tombstone horizon: sets attribute bit 6 and becomes baseTimestamp. */
  readonly deleteHorizonMs?: number;
  /** Keeps an offset span wider than the records (compaction removed the last ones). */
  readonly lastOffsetDelta?: number;
  /** baseTimestamp of a batch without records (default -1). */
  readonly emptyBaseTimestamp?: number;
}

interface Sized {
  readonly bodyBytes: number;
  readonly headerKeys: readonly Buffer[];
}

function fieldBytes(data: Buffer | null): number {
  return data === null ? 1 : sizeOfVarint(data.length) + data.length;
}

function toKeyBuffer(key: Buffer | string): Buffer {
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
}

function sizeRecord(record: RecordInput, offsetDelta: number, baseTimestamp: number): Sized {
  const headers = record.headers ?? [];
  const headerKeys = headers.map((h) => toKeyBuffer(h.key));
  let bytes = 1 + sizeOfVarlong(record.timestamp - baseTimestamp) + sizeOfVarint(offsetDelta);
  bytes += fieldBytes(record.key) + fieldBytes(record.value) + sizeOfVarint(headers.length);
  for (let i = 0; i < headers.length; i++) {
    bytes += fieldBytes(headerKeys[i] as Buffer) + fieldBytes((headers[i] as HeaderInput).value);
  }
  return { bodyBytes: bytes, headerKeys };
}

function writeField(buf: Buffer, at: number, data: Buffer | null): number {
  if (data === null) return writeVarint(buf, at, -1);
  at = writeVarint(buf, at, data.length);
  data.copy(buf, at);
  return at + data.length;
}

function writeRecord(
  buf: Buffer,
  at: number,
  record: RecordInput,
  sized: Sized,
  offsetDelta: number,
  baseTimestamp: number,
): number {
  at = writeVarint(buf, at, sized.bodyBytes);
  buf.writeInt8(record.attributes ?? 0, at++);
  at = writeVarlong(buf, at, record.timestamp - baseTimestamp);
  at = writeVarint(buf, at, offsetDelta);
  at = writeField(buf, at, record.key);
  at = writeField(buf, at, record.value);
  const headers = record.headers ?? [];
  at = writeVarint(buf, at, headers.length);
  for (let i = 0; i < headers.length; i++) {
    at = writeField(buf, at, sized.headerKeys[i] as Buffer);
    at = writeField(buf, at, (headers[i] as HeaderInput).value);
  }
  return at;
}

interface Timestamps {
  readonly base: number;
  readonly max: number;
}

function timestampsOf(input: BatchInput): Timestamps {
  let max = -1;
  for (const record of input.records) {
    assert(Number.isSafeInteger(record.timestamp), 'record timestamp must be a safe integer');
    if (record.timestamp > max) max = record.timestamp;
  }
  const first = input.records[0];
  const base = input.deleteHorizonMs ?? first?.timestamp ?? input.emptyBaseTimestamp ?? -1;
  return { base, max: input.logAppendTimeMs ?? max };
}

function offsetDeltasOf(input: BatchInput): number[] {
  const deltas = input.records.map((r, i) => r.offsetDelta ?? i);
  for (let i = 0; i < deltas.length; i++) {
    const delta = deltas[i] as number;
    assert(delta >= 0 && delta <= 0x7fff_ffff, 'offsetDelta out of int32 range');
    assert(i === 0 || delta > (deltas[i - 1] as number), 'offsetDeltas must increase');
  }
  return deltas;
}

/** Encodes the records section (uncompressed). */
function encodeRecords(input: BatchInput, deltas: readonly number[], baseTimestamp: number) {
  const sized = input.records.map((r, i) => sizeRecord(r, deltas[i] as number, baseTimestamp));
  let total = 0;
  for (const s of sized) total += sizeOfVarint(s.bodyBytes) + s.bodyBytes;
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < sized.length; i++) {
    const record = input.records[i] as RecordInput;
    at = writeRecord(buf, at, record, sized[i] as Sized, deltas[i] as number, baseTimestamp);
  }
  assert(at === total, 'record sizing and writing disagree');
  return buf;
}

function attributesOf(input: BatchInput, codec: CompressionCodec): number {
  let attributes = codec;
  if (input.logAppendTimeMs !== undefined) attributes |= Attributes.logAppendTime;
  if (input.transactional) attributes |= Attributes.transactional;
  if (input.control) attributes |= Attributes.control;
  if (input.deleteHorizonMs !== undefined) attributes |= Attributes.deleteHorizon;
  return attributes;
}

/** Builds one RecordBatch v2. */
export function buildBatch(input: BatchInput): Buffer {
  const codec = input.compression ?? Compression.none;
  const deltas = offsetDeltasOf(input);
  const lastDelta = deltas.length > 0 ? (deltas[deltas.length - 1] as number) : 0;
  const lastOffsetDelta = input.lastOffsetDelta ?? lastDelta;
  assert(lastOffsetDelta >= lastDelta, 'lastOffsetDelta below the last record');
  const timestamps = timestampsOf(input);
  const plain = encodeRecords(input, deltas, timestamps.base);
  const level = input.compressionLevel;
  const section = codec === Compression.none ? plain : compress(codec, plain, { level });
  const batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + section.length);
  setInt64(batch, BatchOffset.baseOffset, input.baseOffset ?? 0);
  batch.writeInt32BE(batch.length - BATCH_LOG_OVERHEAD_BYTES, BatchOffset.batchLength);
  batch.writeInt32BE(
    input.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    BatchOffset.partitionLeaderEpoch,
  );
  batch.writeInt8(MAGIC_V2, BatchOffset.magic);
  batch.writeInt16BE(attributesOf(input, codec), BatchOffset.attributes);
  batch.writeInt32BE(lastOffsetDelta, BatchOffset.lastOffsetDelta);
  setInt64(batch, BatchOffset.baseTimestamp, timestamps.base);
  setInt64(batch, BatchOffset.maxTimestamp, timestamps.max);
  setInt64(batch, BatchOffset.producerId, input.producerId ?? NO_PRODUCER_ID);
  batch.writeInt16BE(input.producerEpoch ?? NO_PRODUCER_EPOCH, BatchOffset.producerEpoch);
  batch.writeInt32BE(input.baseSequence ?? NO_SEQUENCE, BatchOffset.baseSequence);
  batch.writeInt32BE(input.records.length, BatchOffset.recordsCount);
  section.copy(batch, BatchOffset.records);
  const crc = crc32c(batch.subarray(BatchOffset.attributes));
  batch.writeUInt32BE(crc, BatchOffset.crc);
  return batch;
}

export interface EndTxnMarkerInput {
  readonly commit: boolean;
  readonly coordinatorEpoch: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly timestamp: number;
  readonly baseOffset?: number;
  readonly partitionLeaderEpoch?: number;
}

/** A transaction marker: a transactional control batch with one commit or abort record. */
export function buildEndTxnMarkerBatch(input: EndTxnMarkerInput): Buffer {
  const type = input.commit ? ControlRecordType.commit : ControlRecordType.abort;
  return buildBatch({
    records: [
      {
        key: encodeControlRecordKey(type),
        value: encodeEndTxnMarker(input.coordinatorEpoch),
        timestamp: input.timestamp,
      },
    ],
    baseOffset: input.baseOffset,
    partitionLeaderEpoch: input.partitionLeaderEpoch,
    producerId: input.producerId,
    producerEpoch: input.producerEpoch,
    transactional: true,
    control: true,
  });
}
