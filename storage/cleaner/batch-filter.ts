/**
 * Compaction of one batch: which of its records survive, and the bytes of the batch that
 * holds them.
 *
 * A record survives when its offset is past what the offset map covers, or when it is the
 * latest record of its key (offset >= the map's offset for the key) and is not an expired
 * tombstone. A record without a key is dropped (compacted topics refuse them on produce).
 *
 * Tombstones (null values) follow Kafka's delete horizon (KIP-534): the first cleaning that
 * keeps a tombstone rewrites its batch with attribute bit 6 set and baseTimestamp set to the
 * horizon, now + delete.retention.ms; a later cleaning drops the tombstone once now reaches
 * the horizon. Record timestamps stay exact: each kept record's timestampDelta is re-encoded
 * against the new base. So a consumer that read a key's old value has at least
 * delete.retention.ms after the tombstone was first cleaned to see the tombstone itself.
 *
 * The rewritten batch keeps baseOffset, lastOffsetDelta (so the producer's last sequence is
 * unchanged), producer id/epoch, baseSequence, partitionLeaderEpoch, the timestamp type and
 * the codec: the records section is decompressed, filtered by copying the kept records' bytes,
 * and compressed again with the batch's own codec. maxTimestamp is recomputed from the kept
 * records (LogAppendTime batches keep theirs). A batch left without records is dropped, unless
 * it is its producer's last data batch: then an empty batch (no records, codec none) stays,
 * so the producer's id, epoch and last sequence survive for idempotence after a restart; a
 * later cleaning drops it once the producer has a newer batch. A batch whose records all stay
 * and that needs no horizon is written back byte for byte (not recompressed).
 *
 * Bytes are copied, not re-encoded, because a kept record is unchanged (its offset and
 * timestamp deltas are relative to a base that stays), except for timestampDelta when a
 * horizon is stamped; so headers and any field Brook does not know are kept exactly.
 */
import {
  Attributes,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BatchOffset,
  Compression,
  RecordBatchView,
  setInt64,
} from '../../protocol/records/batch.ts';
import { compress, toCompressionCodec } from '../../protocol/records/compression/codecs.ts';
import { recordSection } from '../../protocol/records/record-iterator.ts';
import {
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from '../../protocol/records/varint.ts';
import type { OffsetMap } from './offset-map.ts';
import { type RecordSlices, sliceRecords } from './record-slices.ts';
import type { TransactionFilter } from './transaction-filter.ts';

export interface BatchFilterContext {
  readonly map: OffsetMap;
  /** Records at or past this offset were not put in the map: all are kept. */
  readonly mapEndOffset: number;
  readonly nowMs: number;
  readonly deleteRetentionMs: number;
  readonly producerLastOffsets: ReadonlyMap<number, number>;
  readonly transactions: TransactionFilter;
  readonly maxDecompressedBytes: number;
}

export type BatchFilterResult =
  | { readonly kind: 'keep' }
  | { readonly kind: 'drop'; readonly recordsRemoved: number }
  | { readonly kind: 'rewrite'; readonly batch: Buffer; readonly recordsRemoved: number };

const KEEP: BatchFilterResult = { kind: 'keep' };

function hasDeleteHorizon(view: RecordBatchView): boolean {
  return (view.attributes & Attributes.deleteHorizon) !== 0;
}

function isLastBatchOfProducer(view: RecordBatchView, context: BatchFilterContext): boolean {
  return (
    view.producerId >= 0 && context.producerLastOffsets.get(view.producerId) === view.lastOffset
  );
}

/** The definition, for record `i`: past the map, or its key's latest and not expired. */
function isKept(
  slices: RecordSlices,
  i: number,
  baseOffset: number,
  tombstonesLive: boolean,
  context: BatchFilterContext,
): boolean {
  const offset = baseOffset + (slices.offsetDelta[i] as number);
  if (offset >= context.mapEndOffset) return true;
  const keyLength = slices.keyLength[i] as number;
  if (keyLength < 0) return false;
  const latest = context.map.getRange(slices.bytes, slices.keyStart[i] as number, keyLength);
  if (offset < latest) return false;
  return slices.hasValue[i] === 1 || tombstonesLive;
}

/** What compaction does with `batch`; its bytes are not modified. */
export function filterBatch(batch: Buffer, context: BatchFilterContext): BatchFilterResult {
  const view = new RecordBatchView(batch);
  if (view.isControl) {
    const discard = context.transactions.canDiscardControlBatch(view, context.nowMs);
    return discard ? { kind: 'drop', recordsRemoved: view.recordsCount } : KEEP;
  }
  // Nothing here was put in the map: all of it is newer than what this cleaning knows.
  if (view.baseOffset >= context.mapEndOffset) return KEEP;
  // An empty batch only ever stands for its producer's state: kept while it still does.
  if (view.recordsCount === 0) {
    return isLastBatchOfProducer(view, context) ? KEEP : { kind: 'drop', recordsRemoved: 0 };
  }
  const records = recordsSection(view, context.maxDecompressedBytes);
  const slices = sliceRecords(records, view.recordsCount);
  const aborted = context.transactions.isAborted(view);
  const horizonSet = hasDeleteHorizon(view);
  const tombstonesLive = !horizonSet || context.nowMs < view.baseTimestamp;
  const kept: number[] = [];
  let keptTombstone = false;
  if (!aborted) {
    for (let i = 0; i < slices.count; i++) {
      if (!isKept(slices, i, view.baseOffset, tombstonesLive, context)) continue;
      kept.push(i);
      if (slices.hasValue[i] === 0) keptTombstone = true;
    }
  }
  const recordsRemoved = slices.count - kept.length;
  const stampHorizon = !horizonSet && keptTombstone;
  if (recordsRemoved === 0 && !stampHorizon) return KEEP;
  if (kept.length === 0) {
    if (!isLastBatchOfProducer(view, context)) return { kind: 'drop', recordsRemoved };
    return { kind: 'rewrite', batch: emptyBatch(view), recordsRemoved };
  }
  const horizonMs = stampHorizon ? context.nowMs + context.deleteRetentionMs : undefined;
  const rebuilt = rebuildBatch(view, slices, kept, horizonMs);
  return { kind: 'rewrite', batch: rebuilt, recordsRemoved };
}

/** The batch's records section, decompressed (bounded by `maxDecompressedBytes`). */
export function recordsSection(view: RecordBatchView, maxDecompressedBytes: number): Buffer {
  return recordSection(view, { maxDecompressedBytes }).bytes;
}

/** The kept records' bytes, with timestamp deltas moved to `newBaseMs` when it is given. */
function keptRecordBytes(
  slices: RecordSlices,
  kept: readonly number[],
  oldBaseMs: number,
  newBaseMs: number | undefined,
): Buffer {
  const records = slices.bytes;
  if (newBaseMs === undefined) {
    let total = 0;
    for (const i of kept) total += (slices.end[i] as number) - (slices.start[i] as number);
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (const i of kept) at += records.copy(out, at, slices.start[i], slices.end[i]);
    return out;
  }
  const parts: Buffer[] = [];
  for (const i of kept) {
    const delta = oldBaseMs + (slices.timestampDelta[i] as number) - newBaseMs;
    const rest = records.subarray(slices.afterTimestampDelta[i], slices.end[i]);
    const bodyBytes = 1 + sizeOfVarlong(delta) + rest.length;
    const out = Buffer.allocUnsafe(sizeOfVarint(bodyBytes) + bodyBytes);
    let at = writeVarint(out, 0, bodyBytes);
    out.writeInt8(slices.attributes[i] as number, at++);
    at = writeVarlong(out, at, delta);
    rest.copy(out, at);
    parts.push(out);
  }
  return Buffer.concat(parts);
}

function rebuildBatch(
  view: RecordBatchView,
  slices: RecordSlices,
  kept: readonly number[],
  horizonMs: number | undefined,
): Buffer {
  const oldBaseMs = view.baseTimestamp;
  const plain = keptRecordBytes(slices, kept, oldBaseMs, horizonMs);
  const codec = toCompressionCodec(view.compression);
  const section = codec === Compression.none ? plain : compress(codec, plain);
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + section.length);
  view.buf.copy(out, 0, 0, BATCH_HEADER_BYTES);
  section.copy(out, BATCH_HEADER_BYTES);
  out.writeInt32BE(out.length - BATCH_LOG_OVERHEAD_BYTES, BatchOffset.batchLength);
  let attributes = view.attributes;
  if (horizonMs !== undefined) {
    attributes |= Attributes.deleteHorizon;
    setInt64(out, BatchOffset.baseTimestamp, horizonMs);
  }
  out.writeInt16BE(attributes, BatchOffset.attributes);
  if (!view.isLogAppendTime) {
    let maxMs = -1;
    for (const i of kept) maxMs = Math.max(maxMs, oldBaseMs + (slices.timestampDelta[i] as number));
    setInt64(out, BatchOffset.maxTimestamp, maxMs);
  }
  out.writeInt32BE(kept.length, BatchOffset.recordsCount);
  new RecordBatchView(out).updateCrc();
  return out;
}

/** A header-only batch standing for a producer's last batch once compaction emptied it. */
function emptyBatch(view: RecordBatchView): Buffer {
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
  view.buf.copy(out, 0, 0, BATCH_HEADER_BYTES);
  out.writeInt32BE(BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD_BYTES, BatchOffset.batchLength);
  const attributes = view.attributes & ~(Attributes.codecMask | Attributes.deleteHorizon);
  out.writeInt16BE(attributes, BatchOffset.attributes);
  setInt64(out, BatchOffset.baseTimestamp, view.maxTimestamp);
  out.writeInt32BE(0, BatchOffset.recordsCount);
  new RecordBatchView(out).updateCrc();
  return out;
}
