/**
 * Checks a client's produce payload for one partition, Kafka's LogValidator rules, reading
 * batch headers only except where a rule needs the records (keys on compacted topics). The
 * result is the Kafka error for the whole partition, or the batch views to append.
 *
 * - exactly one RecordBatch v2 per partition (produce v3+): INVALID_RECORD otherwise;
 * - size, magic, CRC-32C, offsets: CORRUPT_MESSAGE; larger than max.message.bytes:
 *   MESSAGE_TOO_LARGE;
 *   record count equal to lastOffsetDelta + 1, no control batch from a client, a sequence
 *   when a producer id is set: INVALID_RECORD;
 * - CreateTime timestamps within message.timestamp.before/after.max.ms of now (first and
 *   max timestamp of the batch): INVALID_TIMESTAMP;
 * - compacted topics: every record has a key: INVALID_RECORD.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import {
  BATCH_HEADER_BYTES,
  batchSizeAt,
  MAGIC_V2,
  RecordBatchView,
} from '../../protocol/records/batch.ts';
import { isRecordFormatError } from '../../protocol/records/record-error.ts';
import { indexOfFirstNullKey } from '../../protocol/records/record-scan.ts';
import type { LogConfig } from '../../storage/log/log-config.ts';

export interface ProduceRules {
  readonly log: LogConfig;
  readonly timestampBeforeMaxMs: number;
  readonly timestampAfterMaxMs: number;
  readonly nowMs: number;
}

export type ValidatedProduce =
  | { readonly ok: true; readonly batch: RecordBatchView }
  | {
      readonly ok: false;
      readonly errorCode: number;
      readonly message: string;
      /** Index (in the batch) of the record at fault, for recordErrors; -1 for none. */
      readonly recordIndex: number;
    };

const fail = (errorCode: number, message: string, recordIndex = -1): ValidatedProduce => ({
  ok: false,
  errorCode,
  message,
  recordIndex,
});

/** A compacted topic's batch decompresses to at most this much when keys are checked. */
const DECOMPRESSED_BYTES_MAX = 64 * 1024 * 1024;

export function validateProduce(records: Buffer | null, rules: ProduceRules): ValidatedProduce {
  if (records === null || records.length === 0) {
    return fail(ErrorCode.INVALID_RECORD, 'Produce request has no record batch');
  }
  const size = batchSizeAt(records, 0);
  if (records.length < BATCH_HEADER_BYTES || size < BATCH_HEADER_BYTES || size > records.length) {
    return fail(ErrorCode.CORRUPT_MESSAGE, 'Record batch is truncated or corrupt');
  }
  const view = new RecordBatchView(records.subarray(0, size));
  if (view.magic !== MAGIC_V2) {
    return fail(
      ErrorCode.INVALID_RECORD,
      'Produce requests with version 3 and above must use magic 2',
    );
  }
  if (size !== records.length) {
    return fail(ErrorCode.INVALID_RECORD, 'Produce requests must contain exactly one record batch');
  }
  if (size > rules.log.maxMessageBytes) {
    return fail(
      ErrorCode.MESSAGE_TOO_LARGE,
      `The record batch of ${size} bytes exceeds max.message.bytes ${rules.log.maxMessageBytes}`,
    );
  }
  const problem = view.validate({ checkCrc: true });
  if (problem !== undefined) return fail(ErrorCode.CORRUPT_MESSAGE, `Record batch is ${problem}`);
  if (view.recordsCount !== view.lastOffsetDelta + 1 || view.recordsCount <= 0) {
    return fail(ErrorCode.INVALID_RECORD, 'Record count does not match the batch offsets');
  }
  if (view.isControl) {
    return fail(ErrorCode.INVALID_RECORD, 'Clients are not allowed to write control records');
  }
  if (view.producerId >= 0 && view.baseSequence < 0) {
    return fail(ErrorCode.INVALID_RECORD, 'Invalid sequence number for an idempotent batch');
  }
  const timestampProblem = checkTimestamps(view, rules);
  if (timestampProblem) return fail(ErrorCode.INVALID_TIMESTAMP, timestampProblem, 0);
  if (rules.log.cleanupPolicy !== 'delete') {
    try {
      const at = indexOfFirstNullKey(view, { maxDecompressedBytes: DECOMPRESSED_BYTES_MAX });
      if (at >= 0) {
        return fail(
          ErrorCode.INVALID_RECORD,
          'Compacted topic cannot accept message without key in topic partition',
          at,
        );
      }
    } catch (error) {
      if (!isRecordFormatError(error)) throw error;
      return fail(ErrorCode.CORRUPT_MESSAGE, `Records do not decode: ${error.message}`);
    }
  }
  return { ok: true, batch: view };
}

function checkTimestamps(view: RecordBatchView, rules: ProduceRules): string | undefined {
  if (rules.log.messageTimestampType !== 'CreateTime') return undefined;
  for (const timestamp of [view.baseTimestamp, view.maxTimestamp]) {
    if (timestamp < 0) continue;
    if (rules.nowMs - timestamp > rules.timestampBeforeMaxMs) {
      return `Timestamp ${timestamp} is older than message.timestamp.before.max.ms`;
    }
    if (timestamp - rules.nowMs > rules.timestampAfterMaxMs) {
      return `Timestamp ${timestamp} is further in the future than message.timestamp.after.max.ms`;
    }
  }
  return undefined;
}
