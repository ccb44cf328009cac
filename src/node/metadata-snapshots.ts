/**
 * MetadataSnapshotGenerator: snapshots the metadata log so it does not grow forever (Kafka's
 * SnapshotGenerator with `metadata.log.max.record.bytes.between.snapshots` and
 * `metadata.log.max.snapshot.interval.ms`).
 *
 * Every node runs one (a controller-only node too: it has no broker image), so every node's
 * Raft log stays short, a restart replays a snapshot and a short tail, and a node that fell
 * behind the leader's log start catches up with FetchSnapshot.
 *
 * - It follows the quorum's committed stream into its own MetadataImage (decoded and applied
 *   run by run of consecutive offsets, a `snapshot: true` batch replacing it), counting the
 *   bytes of the records committed since the latest snapshot.
 * - Once that count reaches `maxBytesBetweenSnapshots`, or `maxIntervalMs` passed since the
 *   latest snapshot with records committed since, it schedules a write on the Clock: never
 *   inside a delivery, so the committed stream is not held up by it.
 * - The write takes the image as it is then (immutable: batches committed meanwhile do not
 *   change it): its offset is the end of a delivered batch, all committed, so the snapshot
 *   ends at `image.offset + 1`. Its content is `imageRecords(image)`, each framed as the log
 *   frames it, encoded a slice at a time on the Clock so a large image does not hold the
 *   event loop; MetadataQuorum.createSnapshot stores it and the Raft log drops the entries
 *   it covers (whole segments below it on disk).
 * - One write at a time: the next waits until the previous one reached the disk. A snapshot
 *   installed from the leader while one is being encoded abandons it.
 * A record that does not decode stops the generator (logged): a snapshot of an image that no
 * longer follows the log would spread the damage to every node that installs it.
 */
import { imageRecords } from '../metadata/image-records.ts';
import { MetadataImage } from '../metadata/metadata-image.ts';
import {
  decodeMetadataRecord,
  encodeMetadataRecord,
  type MetadataRecord,
} from '../metadata/metadata-record.ts';
import type { OffsetAndEpoch } from '../raft/messages.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { CommittedBatch, MetadataQuorum, MetadataQuorumListener } from './metadata-quorum.ts';

/** Kafka's default for `metadata.log.max.snapshot.interval.ms`: one hour. */
export const SNAPSHOT_INTERVAL_MS_DEFAULT = 60 * 60 * 1000;
/** After a write the quorum refused (the offset did not qualify yet), try again this late. */
const RETRY_MS = 1_000;
/** After a failed write (a bug: see `#failed`), try again this late. */
const FAILED_RETRY_MS = 60_000;
/** Records encoded per turn of the event loop (about 5 ms of work). */
const SLICE_RECORDS_DEFAULT = 4096;

/** What the generator needs of the quorum (a MetadataQuorum is one). */
export type SnapshotQuorum = Pick<
  MetadataQuorum,
  'addListener' | 'removeListener' | 'createSnapshot' | 'settled' | 'logStartOffset' | 'stopped'
>;

export interface MetadataSnapshotOptions {
  readonly quorum: SnapshotQuorum;
  readonly clock: Clock;
  readonly logger: Logger;
  /** `metadata.log.max.record.bytes.between.snapshots`. */
  readonly maxBytesBetweenSnapshots: number;
  /** `metadata.log.max.snapshot.interval.ms`; 0 turns the time bound off. */
  readonly maxIntervalMs: number;
  /** Records encoded per turn of the event loop (default 4096). */
  readonly sliceRecords?: number;
}

export interface SnapshotWritten {
  readonly id: OffsetAndEpoch;
  /** Records in the snapshot and their framed bytes. */
  readonly records: number;
  readonly bytes: number;
  /** From taking the image to storing the snapshot (slices waited for included). */
  readonly elapsedMs: number;
  /** The longest synchronous step: how long the event loop was held at once. */
  readonly longestStepMs: number;
}

/** A snapshot being encoded, slice by slice, from the image taken when it started. */
interface Job {
  readonly endOffset: number;
  /** `#bytesSince` when the image was taken: what the snapshot covers. */
  readonly bytesCovered: number;
  /** `#loads` when it started: a snapshot loaded since makes this one pointless. */
  readonly loads: number;
  readonly records: readonly MetadataRecord[];
  readonly encoded: Buffer[];
  readonly startMs: number;
  longestStepMs: number;
}

export class MetadataSnapshotGenerator {
  readonly #quorum: SnapshotQuorum;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #maxBytes: number;
  readonly #maxIntervalMs: number;
  readonly #sliceRecords: number;
  readonly #listener: MetadataQuorumListener;
  #image: MetadataImage = MetadataImage.EMPTY;
  /** Record bytes committed above the latest snapshot (or the log start). */
  #bytesSince = 0;
  /** When the latest snapshot was taken or loaded (monotonic), or the generator started. */
  #lastSnapshotMs: number;
  /** End offset of the latest snapshot this node holds; 0: none. */
  #snapshotEnd = 0;
  /** Snapshot batches loaded so far. */
  #loads = 0;
  #timer: TimerHandle | undefined;
  #timerDueMs = Number.POSITIVE_INFINITY;
  #sliceTimer: TimerHandle | undefined;
  /** A snapshot is being encoded, or its file is not yet on the disk. */
  #writing = false;
  #stopped = false;
  #written: SnapshotWritten | undefined;
  #writtenCount = 0;

  constructor(options: MetadataSnapshotOptions) {
    this.#quorum = options.quorum;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#maxBytes = options.maxBytesBetweenSnapshots;
    this.#maxIntervalMs = options.maxIntervalMs;
    this.#sliceRecords = options.sliceRecords ?? SLICE_RECORDS_DEFAULT;
    this.#lastSnapshotMs = options.clock.monotonicMs();
    this.#listener = { onCommitted: (batch) => this.#onCommitted(batch) };
    this.#quorum.addListener(this.#listener);
  }

  /** The image of the committed log this generator follows. */
  get image(): MetadataImage {
    return this.#image;
  }

  /** Record bytes committed since the latest snapshot. */
  get bytesSinceSnapshot(): number {
    return this.#bytesSince;
  }

  /** End offset of the latest snapshot stored or loaded here; 0 before any. */
  get snapshotEndOffset(): number {
    return this.#snapshotEnd;
  }

  /** The latest snapshot this generator wrote, and how many it wrote. */
  get lastWritten(): SnapshotWritten | undefined {
    return this.#written;
  }
  get writtenCount(): number {
    return this.#writtenCount;
  }

  /** Stops following the log; a snapshot already stored completes on the log's queue. */
  close(): void {
    this.#stopped = true;
    this.#cancelTimer();
    this.#sliceTimer?.cancel();
    this.#sliceTimer = undefined;
    this.#quorum.removeListener(this.#listener);
  }

  #onCommitted(batch: CommittedBatch): void {
    if (this.#stopped) return;
    try {
      this.#image = applyBatch(batch.snapshot ? MetadataImage.EMPTY : this.#image, batch);
    } catch (error) {
      this.#logger.error(
        { err: error, lastOffset: batch.lastOffset },
        'metadata snapshots stopped: a committed record does not apply',
      );
      this.close();
      return;
    }
    if (batch.snapshot) {
      this.#loads++;
      this.#bytesSince = 0;
      this.#snapshotEnd = batch.lastOffset + 1;
      this.#lastSnapshotMs = this.#clock.monotonicMs();
    } else {
      for (const record of batch.records) this.#bytesSince += record.data.length;
    }
    this.#schedule();
  }

  /** Arms the timer for the next write when one is due (now, or at the time bound). */
  #schedule(): void {
    if (this.#stopped || this.#writing || this.#bytesSince === 0) return;
    let dueMs: number;
    if (this.#bytesSince >= this.#maxBytes) dueMs = this.#clock.monotonicMs();
    else if (this.#maxIntervalMs > 0) dueMs = this.#lastSnapshotMs + this.#maxIntervalMs;
    else return;
    this.#arm(dueMs);
  }

  #arm(dueMs: number): void {
    if (dueMs >= this.#timerDueMs) return;
    this.#cancelTimer();
    this.#timerDueMs = dueMs;
    const delayMs = Math.max(0, dueMs - this.#clock.monotonicMs());
    this.#timer = this.#clock.setTimer(delayMs, () => {
      this.#timer = undefined;
      this.#timerDueMs = Number.POSITIVE_INFINITY;
      this.#start();
    });
  }

  #cancelTimer(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerDueMs = Number.POSITIVE_INFINITY;
  }

  /** Takes the image as it is now (immutable: later batches do not change it). */
  #start(): void {
    if (this.#stopped || this.#writing) return;
    const image = this.#image;
    const endOffset = image.offset + 1;
    if (endOffset <= this.#snapshotEnd) return;
    const startMs = this.#clock.monotonicMs();
    let records: MetadataRecord[];
    try {
      records = imageRecords(image);
    } catch (error) {
      this.#failed(error, endOffset);
      return;
    }
    this.#writing = true;
    const job: Job = {
      endOffset,
      bytesCovered: this.#bytesSince,
      loads: this.#loads,
      records,
      encoded: [],
      startMs,
      longestStepMs: this.#clock.monotonicMs() - startMs,
    };
    this.#encodeSlice(job);
  }

  /** Encodes the next slice of records; the next one runs on a later timer. */
  #encodeSlice(job: Job): void {
    this.#sliceTimer = undefined;
    if (this.#stopped) return;
    if (job.loads !== this.#loads) {
      // A snapshot from the leader replaced the state this one was taken from.
      this.#writing = false;
      this.#schedule();
      return;
    }
    const stepMs = this.#clock.monotonicMs();
    const end = Math.min(job.encoded.length + this.#sliceRecords, job.records.length);
    try {
      for (let i = job.encoded.length; i < end; i++) {
        job.encoded.push(encodeMetadataRecord(job.records[i] as MetadataRecord));
      }
    } catch (error) {
      this.#writing = false;
      this.#failed(error, job.endOffset);
      return;
    }
    job.longestStepMs = Math.max(job.longestStepMs, this.#clock.monotonicMs() - stepMs);
    if (end < job.records.length) {
      this.#sliceTimer = this.#clock.setTimer(0, () => this.#encodeSlice(job));
      return;
    }
    this.#store(job);
  }

  #store(job: Job): void {
    const stepMs = this.#clock.monotonicMs();
    let id: OffsetAndEpoch | undefined;
    try {
      id = this.#quorum.createSnapshot(job.endOffset, job.encoded);
    } catch (error) {
      this.#writing = false;
      this.#failed(error, job.endOffset);
      return;
    }
    const nowMs = this.#clock.monotonicMs();
    if (!id) {
      this.#writing = false;
      if (this.#quorum.stopped) {
        // Stopped, or failed for good (the quorum reported it): no retries.
        this.close();
        return;
      }
      const start = this.#quorum.logStartOffset;
      if (start >= job.endOffset) {
        // Another snapshot here already covers the image (its records are counted in it).
        this.#covered(start, job.bytesCovered);
        this.#schedule();
        return;
      }
      // Not yet durable here (a leader's flush in flight): look again later.
      this.#arm(nowMs + RETRY_MS);
      return;
    }
    const bytes = job.encoded.reduce((sum, r) => sum + r.length, 0);
    const longestStepMs = Math.max(job.longestStepMs, nowMs - stepMs);
    const elapsedMs = nowMs - job.startMs;
    this.#written = { id, records: job.encoded.length, bytes, elapsedMs, longestStepMs };
    this.#writtenCount++;
    this.#covered(id.endOffset, job.bytesCovered);
    this.#logger.info(
      { ...id, records: job.encoded.length, bytes, elapsedMs, longestStepMs },
      'metadata snapshot written',
    );
    this.#quorum.settled().then(
      () => {
        this.#writing = false;
        this.#schedule();
      },
      () => {
        // The log failed: the quorum reports it (fatal); nothing more to write.
      },
    );
  }

  /** A snapshot ending at `endOffset` now holds the first `bytes` counted. */
  #covered(endOffset: number, bytes: number): void {
    this.#bytesSince = Math.max(0, this.#bytesSince - bytes);
    this.#snapshotEnd = endOffset;
    this.#lastSnapshotMs = this.#clock.monotonicMs();
  }

  #failed(error: unknown, endOffset: number): void {
    if (this.#quorum.stopped) {
      this.close();
      return;
    }
    // Our bug (a record that does not encode, a log refusing an offset it offered): the log
    // keeps growing, which is survivable for a while; the operator must hear of it.
    this.#logger.error({ err: error, endOffset }, 'metadata snapshot failed');
    this.#arm(this.#clock.monotonicMs() + FAILED_RETRY_MS);
  }
}

/**
 * The image with a committed batch applied: each run of consecutive offsets at its own last
 * offset (leader-change entries sit between runs); a snapshot's records all at its offset.
 */
export function applyBatch(base: MetadataImage, batch: CommittedBatch): MetadataImage {
  let image = base;
  let run: MetadataRecord[] = [];
  let runEnd = -1;
  for (const { offset, data } of batch.records) {
    const record = decodeMetadataRecord(data);
    if (run.length > 0 && offset !== runEnd + 1 && !batch.snapshot) {
      image = image.apply(run, runEnd);
      run = [];
    }
    run.push(record);
    runEnd = batch.snapshot ? batch.lastOffset : offset;
  }
  if (run.length > 0) image = image.apply(run, batch.snapshot ? batch.lastOffset : runEnd);
  if (batch.lastOffset > image.offset) image = image.apply([], batch.lastOffset);
  return image;
}
