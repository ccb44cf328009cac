/**
 * The seam between the cleaners and a partition log: the little a cleaner needs to see and to
 * change. storage/log's PartitionLog implements it (or an adapter over it does); the tests run
 * the cleaners against an in-memory implementation and against the real log.
 *
 * What the log promises:
 * - `segments()` lists the segments oldest first; the last one is the active segment, which
 *   receives appends and which no cleaner reads or changes. Every other segment is immutable
 *   until a cleaner replaces or deletes it.
 * - `readBatches()` yields a segment's batches whole (header included), in offset order.
 * - `deleteOldestSegments(n)` is crash-safe: it moves the log start offset to the base offset
 *   of the first segment kept (durably, before anything is removed), renames the segments'
 *   files to `<name>.deleted`, then removes them (after the last reader lets go). A crash
 *   between the steps leaves `.deleted` files that opening the log removes.
 * - `createCleanedSegment(base)` starts a new segment file `<base>.log.cleaned` (with its
 *   indexes) that `replaceSegments` swaps in atomically: fsync the cleaned files, rename them
 *   to `.swap`, fsync the directory, rename the replaced segments to `.deleted`, rename the
 *   `.swap` files to their final names, fsync the directory, remove the `.deleted` files.
 *   On open, a log finishes the protocol from whatever step a crash stopped it at: `.cleaned`
 *   files are removed (the old segments are intact), `.swap` files are completed (the cleaned
 *   data is durable and replaces every segment whose offsets it covers), `.deleted` are removed.
 * - The cleaner checkpoint (Kafka's `cleaner-offset-checkpoint` entry) is where the last
 *   compaction stopped: offsets below it are clean. The log persists it.
 */

export interface CleanableSegment {
  readonly baseOffset: number;
  /** Bytes of the segment's .log file. */
  readonly sizeBytes: number;
  /**
   * The newest timestamp in the segment (largest batch maxTimestamp), or the file's
   * modification time when no batch carries one, as Kafka does.
   */
  readonly largestTimestampMs: number;
  /** The segment's batches, oldest first, each a whole batch. */
  readBatches(): AsyncIterable<Buffer>;
}

export interface CleanedSegmentWriter {
  readonly baseOffset: number;
  /** Bytes appended so far. */
  readonly sizeBytes: number;
  /** Appends one batch; batches come in increasing offset order. */
  append(batch: Buffer): Promise<void>;
  /** Drops the unfinished cleaned segment (its `.cleaned` files). */
  abort(): Promise<void>;
}

export interface CleanableLog {
  /** For log lines and errors, e.g. 'orders-3'. */
  readonly name: string;
  /** Oldest first; the last is the active segment. Never empty. */
  segments(): readonly CleanableSegment[];
  readonly logStartOffset: number;
  /** Offsets at or beyond the high watermark may still be truncated: never compacted. */
  readonly highWatermark: number;
  /**
   * The first offset of a transaction not yet decided (the last stable offset), or undefined.
   * Compaction stops before it. Undefined until transactions arrive.
   */
  readonly firstUnstableOffset?: number | undefined;
  /**
   * producerId -> last offset of that producer's last data batch in the whole log. The cleaner
   * keeps that batch (emptied if need be) so the producer's sequence survives compaction.
   */
  producerLastOffsets(): Promise<ReadonlyMap<number, number>>;
  /**
   * Deletes up to `count` of the oldest segments (never the active one, nor data at or above
   * the high watermark); resolves to how many it deleted.
   */
  deleteOldestSegments(count: number): Promise<number>;
  createCleanedSegment(baseOffset: number): Promise<CleanedSegmentWriter>;
  /** Replaces `replaced` (a contiguous run of non-active segments) by `cleaned`. */
  replaceSegments(
    replaced: readonly CleanableSegment[],
    cleaned: CleanedSegmentWriter,
  ): Promise<void>;
  /** Offsets below this were compacted; undefined when the log never was. */
  cleanerCheckpoint(): number | undefined;
  writeCleanerCheckpoint(offset: number): Promise<void>;
}
