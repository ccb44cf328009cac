/**
 * The metadata log: where metadata records are appended and from which the image is rebuilt.
 *
 * `MetadataLog` owns only "append these records atomically and resolve once committed"; it
 * is the single-node mode's log. In cluster mode the metadata log is the Raft log
 * (src/node/metadata-quorum.ts) and ClusterMetadata forwards instead of appending.
 * `LocalMetadataLog` is the single-node version: partition `__cluster_metadata-0` of the
 * local LogManager, one record batch per append (so a crash keeps all of an operation's
 * records or none: a torn batch fails its CRC and recovery truncates it), flushed (fsync)
 * before the append resolves, whatever the topics' durability setting. Replay on open
 * decodes every batch back into records.
 */
import { buildBatch } from '../../protocol/records/batch-builder.ts';
import { readRecords } from '../../protocol/records/record-iterator.ts';
import type { LogManager } from '../../storage/log/log-manager.ts';
import type { PartitionLog } from '../../storage/log/partition-log.ts';
import type { Clock } from '../util/clock.ts';
import { BrokerError } from '../util/errors.ts';
import { logBatches } from './log-batches.ts';
import {
  decodeMetadataRecord,
  encodeMetadataRecord,
  type MetadataRecord,
} from './metadata-record.ts';

export const METADATA_TOPIC = '__cluster_metadata';
export const METADATA_PARTITION = 0;
/** One operation's records: a CreateTopics of many partitions stays well below this. */
const RECORDS_PER_APPEND_MAX = 100_000;
/** A metadata batch decompresses to at most this (they are written uncompressed). */
const DECOMPRESSED_BYTES_MAX = 64 * 1024 * 1024;

export interface MetadataLog {
  /**
   * Appends `records` as one atomic unit; resolves with the offset of the last one once it is
   * committed (durable), in call order.
   */
  append(records: readonly MetadataRecord[]): Promise<number>;
}

export interface ReplayedRecords {
  readonly records: MetadataRecord[];
  /** Offset of the last record, -1 when the log is empty. */
  readonly lastOffset: number;
}

export class LocalMetadataLog implements MetadataLog {
  readonly #log: PartitionLog;
  readonly #clock: Clock;

  private constructor(log: PartitionLog, clock: Clock) {
    this.#log = log;
    this.#clock = clock;
  }

  static async open(logs: LogManager, clock: Clock): Promise<LocalMetadataLog> {
    const log = await logs.createLog(METADATA_TOPIC, METADATA_PARTITION);
    return new LocalMetadataLog(log, clock);
  }

  /** Every record in the log, in order. */
  async replay(): Promise<ReplayedRecords> {
    const records: MetadataRecord[] = [];
    let lastOffset = -1;
    for await (const batch of logBatches(this.#log)) {
      for (const record of readRecords(batch, { maxDecompressedBytes: DECOMPRESSED_BYTES_MAX })) {
        if (record.value === null) {
          throw new BrokerError('metadata-record-corrupt', `null value at ${record.offset}`);
        }
        records.push(decodeMetadataRecord(record.value));
        lastOffset = record.offset;
      }
    }
    this.#log.setHighWatermark(this.#log.logEndOffset);
    return { records, lastOffset };
  }

  append(records: readonly MetadataRecord[]): Promise<number> {
    if (records.length === 0 || records.length > RECORDS_PER_APPEND_MAX) {
      throw new RangeError(`metadata append of ${records.length} records`);
    }
    const timestamp = this.#clock.nowMs();
    const batch = buildBatch({
      records: records.map((r) => ({ key: null, value: encodeMetadataRecord(r), timestamp })),
    });
    // Appends are ordered by the log; the flush makes each one durable before it resolves.
    return this.#log.appendAsLeader(batch, { leaderEpoch: 0 }).then(async (info) => {
      await this.#log.flush();
      this.#log.setHighWatermark(info.lastOffset + 1);
      return info.lastOffset;
    });
  }
}
