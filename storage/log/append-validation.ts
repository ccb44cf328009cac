/**
 * Checks and stamps the batches of one append, header fields only (no record is decoded).
 *
 * An append is a Buffer of RecordBatch v2 batches end to end (a produce request's `records`
 * or a follower's fetched bytes). Hostile input: every length is checked against the buffer
 * before it is used, and every failure is a StorageError (`storage-invalid-append` or
 * `storage-record-too-large`) that the caller maps to a Kafka error code
 * (CORRUPT_MESSAGE / INVALID_RECORD / RECORD_TOO_LARGE), never an assertion.
 */
import {
  Attributes,
  BatchOffset,
  batchSizeAt,
  RecordBatchView,
  setInt64,
} from '../../protocol/records/batch.ts';
import { StorageError } from '../storage-error.ts';

export interface SplitBatch {
  readonly view: RecordBatchView;
}

/** Splits `records` into validated batches; throws when any byte is not a sound batch. */
export function splitBatches(
  records: Buffer,
  batchBytesMax: number,
  checkCrc: boolean,
): RecordBatchView[] {
  const out: RecordBatchView[] = [];
  let at = 0;
  while (at < records.length) {
    const size = batchSizeAt(records, at);
    if (size < 0 || at + size > records.length || size < 0) {
      throw new StorageError('storage-invalid-append', `truncated batch at byte ${at}`);
    }
    if (size > batchBytesMax) {
      throw new StorageError(
        'storage-record-too-large',
        `batch of ${size} bytes exceeds max.message.bytes ${batchBytesMax}`,
      );
    }
    const view = new RecordBatchView(records.subarray(at, at + size));
    const problem = view.validate({ checkCrc });
    if (problem !== undefined) {
      throw new StorageError('storage-invalid-append', `batch at byte ${at}: ${problem}`);
    }
    out.push(view);
    at += size;
  }
  if (out.length === 0) throw new StorageError('storage-invalid-append', 'no batch to append');
  return out;
}

/**
 * Leader append: assigns offsets from `nextOffset` and stamps the leader epoch (both outside
 * the CRC), and for LogAppendTime topics sets the timestamp type and max timestamp and
 * recomputes the CRC. Returns the next offset after the last batch.
 */
export function stampAsLeader(
  batches: readonly RecordBatchView[],
  nextOffset: number,
  leaderEpoch: number,
  logAppendTimeMs: number | undefined,
): number {
  let next = nextOffset;
  for (const view of batches) {
    view.baseOffset = next;
    view.partitionLeaderEpoch = leaderEpoch;
    if (logAppendTimeMs !== undefined) {
      const attributes = view.attributes | Attributes.logAppendTime;
      view.buf.writeInt16BE(attributes, BatchOffset.attributes);
      setInt64(view.buf, BatchOffset.maxTimestamp, logAppendTimeMs);
      view.updateCrc();
    }
    next = view.lastOffset + 1;
  }
  return next;
}

/**
 * Follower append: offsets stay the leader's. They must start at or after `nextOffset` and
 * strictly increase; gaps are allowed because a compacted leader log has them.
 */
export function checkFollowerOffsets(
  batches: readonly RecordBatchView[],
  nextOffset: number,
): void {
  let next = nextOffset;
  for (const view of batches) {
    if (view.baseOffset < next) {
      throw new StorageError(
        'storage-invalid-append',
        `replica batch at offset ${view.baseOffset} does not follow offset ${next - 1}`,
      );
    }
    if (!Number.isSafeInteger(view.lastOffset)) {
      throw new StorageError('storage-invalid-append', `offset ${view.baseOffset} out of range`);
    }
    next = view.lastOffset + 1;
  }
}
