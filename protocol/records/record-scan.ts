/**
 * Light passes over a batch's records that decode only what they need, for the two places a
 * broker must look inside batches it otherwise passes through:
 *
 * - produce to a compacted topic: every record needs a key (Kafka answers INVALID_RECORD);
 * - ListOffsets by timestamp and the time index: the first record at or after a time, and
 *   the true max timestamp, because some clients (sarama) leave the header's maxTimestamp
 *   unset.
 *
 * Structure is checked exactly as record-iterator.ts does; bad bytes raise RecordFormatError.
 */
import type { RecordBatchView } from './batch.ts';
import { RecordFormatError } from './record-error.ts';
import {
  checkedSum,
  type RecordReadOptions,
  type RecordSection,
  recordBodyEnd,
  recordSection,
} from './record-iterator.ts';
import { ByteCursor } from './varint.ts';

/** What a scan sees of one record. */
interface RecordSummary {
  index: number;
  offsetDelta: number;
  timestampDelta: number;
  hasKey: boolean;
}

/** Walks the records; `visit` returns false to stop early (the rest is then not checked). */
function walk(section: RecordSection, visit: (record: RecordSummary) => boolean): void {
  const cursor = new ByteCursor(section.bytes);
  const summary: RecordSummary = { index: 0, offsetDelta: 0, timestampDelta: 0, hasKey: false };
  for (let i = 0; i < section.count; i++) {
    if (cursor.remaining === 0) {
      throw new RecordFormatError('bad-record-count', `only ${i} records`);
    }
    const end = recordBodyEnd(cursor);
    const body = new ByteCursor(cursor.buf, cursor.pos, end);
    body.int8();
    summary.index = i;
    summary.timestampDelta = body.varlong();
    summary.offsetDelta = body.varint();
    summary.hasKey = body.skipNullableBytes('key');
    body.skipNullableBytes('value');
    const headers = body.varint();
    if (headers < 0) throw new RecordFormatError('bad-length', `header count ${headers}`);
    for (let h = 0; h < headers; h++) {
      if (!body.skipNullableBytes('header key')) {
        throw new RecordFormatError('bad-length', 'null header key');
      }
      body.skipNullableBytes('header value');
    }
    if (body.pos !== end) {
      throw new RecordFormatError('bad-record-length', `${end - body.pos} bytes left in record`);
    }
    cursor.pos = end;
    if (!visit(summary)) return;
  }
  if (cursor.remaining !== 0) {
    throw new RecordFormatError('trailing-bytes', `${cursor.remaining} bytes`);
  }
}

/** Index (within the batch) of the first record without a key, or -1 when all have one. */
export function indexOfFirstNullKey(batch: RecordBatchView, options: RecordReadOptions): number {
  let found = -1;
  walk(recordSection(batch, options), (record) => {
    if (record.hasKey) return true;
    found = record.index;
    return false;
  });
  return found;
}

export interface TimestampScan {
  /** The largest record timestamp (the batch's maxTimestamp when LogAppendTime); -1 if none. */
  readonly maxTimestamp: number;
  /** Offset of the first record carrying maxTimestamp; -1 if the batch has no records. */
  readonly offsetOfMaxTimestamp: number;
  /** Offset of the first record with timestamp >= target; -1 when none or no target. */
  readonly offsetAtOrAfterTarget: number;
  /** That record's timestamp; -1 when none. */
  readonly timestampAtOrAfterTarget: number;
}

/**
 * Scans record timestamps. With `targetTimestamp`, also finds the first record at or after
 * it, as ListOffsets needs. A LogAppendTime batch stamps every record with its maxTimestamp.
 */
export function scanTimestamps(
  batch: RecordBatchView,
  options: RecordReadOptions & { readonly targetTimestamp?: number },
): TimestampScan {
  const section = recordSection(batch, options);
  const target = options.targetTimestamp;
  let max = -1;
  let offsetOfMax = -1;
  let atOrAfter = -1;
  let timestampAtOrAfter = -1;
  walk(section, (record) => {
    const offset = checkedSum(section.baseOffset, record.offsetDelta, 'record offset');
    const timestamp =
      section.logAppendTime >= 0
        ? section.logAppendTime
        : checkedSum(section.baseTimestamp, record.timestampDelta, 'record timestamp');
    if (offsetOfMax < 0 || timestamp > max) {
      max = timestamp;
      offsetOfMax = offset;
    }
    if (target !== undefined && atOrAfter < 0 && timestamp >= target) {
      atOrAfter = offset;
      timestampAtOrAfter = timestamp;
    }
    return true;
  });
  return {
    maxTimestamp: max,
    offsetOfMaxTimestamp: offsetOfMax,
    offsetAtOrAfterTarget: atOrAfter,
    timestampAtOrAfterTarget: timestampAtOrAfter,
  };
}
