/**
 * The GroupStore over Brook's own log: the coordinator's records go to the partitions of the
 * compacted internal topic __consumer_offsets as RecordBatch v2 (uncompressed, no producer
 * id), one batch per append so a commit's offsets are written all or nothing, as in Kafka.
 * An append resolves once it is on disk: PartitionLog acknowledges after an fsync covering
 * it in the `fsync` durability mode; in the `kafka` mode (which counts on replication) the
 * store flushes the log itself, since a single node has no replica to fall back on.
 *
 * Loading reads a partition from its log start to the end it had when the load began (the
 * coordinator writes nothing to a partition it is loading) and yields each record's key and
 * value in log order; control batches (transaction markers) carry no group state and are
 * skipped. A record without a key cannot come from a coordinator: the load fails with
 * GROUP_RECORD_CORRUPT rather than guess.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import { iterateBatches } from '../../../protocol/records/batch.ts';
import { buildBatch } from '../../../protocol/records/batch-builder.ts';
import { iterateRecords } from '../../../protocol/records/record-iterator.ts';
import type { FileRegion } from '../../../storage/io/file-region.ts';
import type { FileSystem } from '../../../storage/io/file-system.ts';
import type { PartitionLog } from '../../../storage/log/partition-log.ts';
import type { Clock } from '../../util/clock.ts';
import { BrokerError } from '../../util/errors.ts';
import { type GroupStore, GroupStoreError } from './group-store.ts';
import type { GroupRecord } from './records.ts';

/** Kafka's name of the topic, fixed: clients and tools look for it by name. */
export const offsetsTopicName = '__consumer_offsets';

/**
 * Bytes read per step while loading. 1 MiB keeps a load's memory small and bounded; a batch
 * larger than this is still read whole (PartitionLog.read returns the first batch whole), and
 * a batch can never exceed the topic's max.message.bytes.
 */
export const loadReadBytesMax = 1024 * 1024;

/** A compressed batch written by another broker may expand at most this much while loading. */
const loadDecompressedBytesMax = 64 * 1024 * 1024;

export interface LogGroupStoreOptions {
  readonly clock: Clock;
  /** The log of partition `partition` of __consumer_offsets if this broker leads it. */
  readonly logFor: (partition: number) => PartitionLog | undefined;
  /** The leader epoch stamped on appended batches; default 0 (a single node's only epoch). */
  readonly leaderEpochOf?: (partition: number) => number;
}

export class LogGroupStore implements GroupStore {
  readonly #clock: Clock;
  readonly #logFor: (partition: number) => PartitionLog | undefined;
  readonly #leaderEpochOf: (partition: number) => number;

  constructor(options: LogGroupStoreOptions) {
    this.#clock = options.clock;
    this.#logFor = options.logFor;
    this.#leaderEpochOf = options.leaderEpochOf ?? (() => 0);
  }

  async append(partition: number, records: readonly GroupRecord[]): Promise<void> {
    if (records.length === 0) return;
    const log = this.#logFor(partition);
    if (log === undefined) {
      throw new GroupStoreError(
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `${offsetsTopicName}-${partition} is not led here`,
      );
    }
    const timestamp = this.#clock.nowMs();
    const batch = buildBatch({
      records: records.map((r) => ({ key: r.key, value: r.value, timestamp })),
    });
    try {
      const info = await log.appendAsLeader(batch, {
        leaderEpoch: this.#leaderEpochOf(partition),
        crcVerified: true,
      });
      // A log in Kafka's durability mode acknowledges before the disk has it; a committed
      // offset must not be lost by a crash of this single node, so it is flushed here.
      if (log.config.durability !== 'fsync') await log.flush();
      // One replica: what is durable on the leader is committed.
      log.setHighWatermark(Math.max(log.highWatermark, info.lastOffset + 1));
    } catch (error) {
      throw new GroupStoreError(
        storageErrorCode(error),
        `append to ${offsetsTopicName}-${partition} failed`,
        { cause: error },
      );
    }
  }
}

/** The Kafka error a failed append of the log answers (GroupStore maps it further). */
export function storageErrorCode(error: unknown): number {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'storage-record-too-large':
      return ErrorCode.MESSAGE_TOO_LARGE;
    case 'storage-closed':
    case 'storage-append-cancelled':
    case 'not-leader': // ReplicaManager.appendBatch: leadership moved before the write
      return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    case 'storage-limit':
      // Too many bytes waiting for the disk: transient, the client retries.
      return ErrorCode.REQUEST_TIMED_OUT;
    default:
      return ErrorCode.KAFKA_STORAGE_ERROR;
  }
}

/**
 * The records of `log` from its log start to its current end, in order. `fs` reads the file
 * regions the log hands out (and each region is released once copied).
 */
export async function* readGroupRecords(
  log: PartitionLog,
  fs: FileSystem,
): AsyncGenerator<GroupRecord, void, undefined> {
  const end = log.logEndOffset;
  let offset = log.logStartOffset;
  while (offset < end) {
    const result = await log.read(offset, { maxBytes: loadReadBytesMax, maxOffset: end });
    if (result.sizeBytes === 0 || result.nextOffset <= offset) break;
    const bytes = await materialize(result.chunks, fs);
    for (const batch of iterateBatches(bytes)) {
      if (batch.isControl) continue;
      const records = iterateRecords(batch, { maxDecompressedBytes: loadDecompressedBytesMax });
      for (const record of records) {
        if (record.offset < offset) continue;
        if (record.key === null) {
          throw new BrokerError(
            'GROUP_RECORD_CORRUPT',
            `record at offset ${record.offset} of ${log.topic}-${log.partition} has no key`,
          );
        }
        // Copies: the batch bytes are dropped once this step is replayed.
        const value = record.value === null ? null : Buffer.from(record.value);
        yield { key: Buffer.from(record.key), value };
      }
    }
    offset = result.nextOffset;
  }
}

async function materialize(
  chunks: readonly (FileRegion | Buffer)[],
  fs: FileSystem,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  try {
    for (const chunk of chunks) {
      parts.push(Buffer.isBuffer(chunk) ? chunk : await readRegion(chunk, fs));
    }
  } finally {
    for (const chunk of chunks) if (!Buffer.isBuffer(chunk)) chunk.release();
  }
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

async function readRegion(region: FileRegion, fs: FileSystem): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(region.length);
  let done = 0;
  while (done < region.length) {
    const n = await fs.read(region.fd, buffer.subarray(done), region.position + done);
    if (n === 0) {
      throw new BrokerError('GROUP_LOG_SHORT_READ', `file region ended after ${done} bytes`);
    }
    done += n;
  }
  return buffer;
}
