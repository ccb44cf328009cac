/**
 * ListOffsets by timestamp, to the record: the segment's time index and batch headers find
 * the first batch whose max timestamp reaches the target, then that batch's records (and the
 * next batches', if the matching records sit below the log start) are read to find the first
 * record at or after the target, as Kafka answers. Only this path decodes records; reads,
 * appends and replication never do.
 *
 * A batch whose records cannot be read (unknown codec, damaged bytes that still pass the
 * CRC) answers at batch granularity instead: its base offset, which is at or before the
 * exact record, so a consumer that seeks there misses nothing.
 */
import { RecordBatchView } from '../../protocol/records/batch.ts';
import { RecordFormatError } from '../../protocol/records/record-error.ts';
import { iterateRecords } from '../../protocol/records/record-iterator.ts';
import { scanTimestamps } from '../../protocol/records/record-scan.ts';
import type { BatchHeader } from '../segment/batch-headers.ts';
import type { LogSegment } from '../segment/log-segment.ts';

/**
 * Decompression bound for a searched batch: a produce batch is at most max.message.bytes
 * compressed (1 MiB by default); 64 MiB leaves room for a 64x ratio while bounding memory.
 */
export const SEARCH_DECOMPRESSED_BYTES_MAX = 64 * 1024 * 1024;

export interface TimestampAndOffset {
  readonly offset: number;
  readonly timestampMs: number;
}

async function batchAt(segment: LogSegment, header: BatchHeader): Promise<RecordBatchView> {
  return new RecordBatchView(await segment.readBytes(header.position, header.sizeBytes));
}

/** The first record at or after `targetMs` with offset >= `minOffset` in `segment`. */
export async function findRecordByTimestamp(
  segment: LogSegment,
  targetMs: number,
  minOffset: number,
): Promise<TimestampAndOffset | undefined> {
  let from = minOffset;
  for (;;) {
    const header = await segment.findByTimestamp(targetMs, from);
    if (!header) return undefined;
    const batch = await batchAt(segment, header);
    try {
      for (const record of iterateRecords(batch, {
        maxDecompressedBytes: SEARCH_DECOMPRESSED_BYTES_MAX,
      })) {
        if (record.offset >= minOffset && record.timestamp >= targetMs) {
          return { offset: record.offset, timestampMs: record.timestamp };
        }
      }
    } catch (error) {
      if (!(error instanceof RecordFormatError)) throw error;
      return { offset: Math.max(header.baseOffset, minOffset), timestampMs: header.maxTimestampMs };
    }
    // The matching records were below the log start: go on with the next batch.
    from = header.lastOffset + 1;
  }
}

/** The record holding the segment's largest timestamp (the first such, as Kafka does). */
export async function findMaxTimestampRecord(segment: LogSegment): Promise<TimestampAndOffset> {
  const fallback = {
    offset: segment.offsetOfLargestTimestamp,
    timestampMs: segment.largestTimestampMs,
  };
  const header = await segment.locate(segment.offsetOfLargestTimestamp);
  if (!header) return fallback;
  try {
    const scan = scanTimestamps(await batchAt(segment, header), {
      maxDecompressedBytes: SEARCH_DECOMPRESSED_BYTES_MAX,
    });
    if (scan.offsetOfMaxTimestamp < 0) return fallback;
    return { offset: scan.offsetOfMaxTimestamp, timestampMs: scan.maxTimestamp };
  } catch (error) {
    if (!(error instanceof RecordFormatError)) throw error;
    return fallback;
  }
}
