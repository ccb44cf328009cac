/**
 * Reads a whole partition log back as record batches, segment by segment, for replays that
 * must see every record (the metadata log on startup, producer state rebuilds). Bounded: each
 * read asks for about `chunkBytes`, one batch at least, so memory stays near one chunk.
 */
import { iterateBatches, type RecordBatchView } from '../../protocol/records/batch.ts';
import type { PartitionLog } from '../../storage/log/partition-log.ts';

const CHUNK_BYTES_DEFAULT = 1024 * 1024;

/** Batches whose last offset is >= `fromOffset`, in offset order. */
export async function* logBatches(
  log: PartitionLog,
  fromOffset = 0,
  chunkBytes = CHUNK_BYTES_DEFAULT,
): AsyncGenerator<RecordBatchView> {
  for (const segment of log.segments()) {
    if (segment.endOffset <= fromOffset && !segment.isActive) continue;
    let position = 0;
    for (;;) {
      const bytes = await log.readSegmentBatches(segment.baseOffset, position, chunkBytes);
      if (bytes.length === 0) break;
      let read = 0;
      for (const batch of iterateBatches(bytes)) {
        read += batch.sizeBytes;
        if (batch.lastOffset >= fromOffset) yield batch;
      }
      if (read === 0) break;
      position += read;
    }
  }
}
