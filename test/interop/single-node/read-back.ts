/**
 * Reads a partition back from the broker's own log, decoding the records, so a test can check
 * what a client wrote without needing a second client to read it.
 */
import { iterateBatches } from '../../../protocol/records/batch.ts';
import { readRecords } from '../../../protocol/records/record-iterator.ts';
import type { RunningBroker } from '../../../src/index.ts';
import { logBatches } from '../../../src/metadata/log-batches.ts';

export interface StoredRecord {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string | null>;
  readonly producerId: number;
}

export async function storedRecords(
  broker: RunningBroker,
  topic: string,
  partition = 0,
): Promise<StoredRecord[]> {
  const hosted = broker.broker.data.replicas.partition(topic, partition);
  if (!hosted) throw new Error(`${topic}-${partition} is not hosted`);
  await hosted.log.flush();
  const out: StoredRecord[] = [];
  for await (const view of logBatches(hosted.log)) {
    for (const batch of iterateBatches(view.buf)) {
      for (const r of readRecords(batch, { maxDecompressedBytes: 64 << 20 })) {
        out.push({
          offset: r.offset,
          key: r.key?.toString() ?? null,
          value: r.value?.toString() ?? null,
          headers: Object.fromEntries(
            r.headers.map((h) => [h.key.toString(), h.value?.toString() ?? null]),
          ),
          producerId: batch.producerId,
        });
      }
    }
  }
  return out;
}
