/**
 * A RaftLog on the storage engine: the metadata partition `__cluster_metadata-0` as a
 * PartitionLog (one entry = one record; one RecordBatch v2 per run of one epoch and kind,
 * partitionLeaderEpoch = the epoch, so the log's leader-epoch checkpoint matches the entries),
 * plus snapshot files (snapshot-files.ts).
 *
 * RaftLog is synchronous (the replica is a pure state machine) and the disk is not, so this
 * log keeps a volatile view in memory (a MemoryRaftLog of the entries above the latest
 * snapshot: the metadata log stays small because the layer above snapshots it) and applies
 * every change to the PartitionLog in call order on one queue. The view is what the page
 * cache would show; the queue is the disk catching up. Hence:
 * - `append` and `truncateTo` return at once; `flushDurably()` resolves, after every earlier
 *   change was written, with the fsynced end offset: that is the `flush-log` storage action.
 *   The synchronous `flush()` cannot be honest here and is an assertion (use flushDurably).
 * - truncations and snapshot writes are durable only once their turn on the queue completed;
 *   a driver must not reveal their effect to a peer before `settled()` (raft-driver.ts waits
 *   for it before sending messages whenever `hasUnsettledRewrites` holds).
 * - PartitionLog truncates whole batches; a truncation inside a batch re-appends the kept
 *   head of that batch, so batch boundaries are tracked here.
 * An I/O failure fails the log for good (`failure`, `onFailure`): a quorum member that cannot
 * write must stop, not limp on with a view the disk does not hold.
 */
import assert from 'node:assert';
import { iterateBatches } from '../../protocol/records/batch.ts';
import type { FileSystem } from '../../storage/io/file-system.ts';
import { LOG_CONFIG_DEFAULTS, type LogConfig } from '../../storage/log/log-config.ts';
import { PartitionLog } from '../../storage/log/partition-log.ts';
import { createStorageEnv } from '../../storage/log/storage-env.ts';
import type { Clock, Random } from '../../storage/runtime-interfaces.ts';
import { BrokerError } from '../util/errors.ts';
import { MemoryRaftLog } from './memory-log.ts';
import type { OffsetAndEpoch, RaftEntry } from './messages.ts';
import type { RaftLog, RaftSnapshot } from './raft-log.ts';
import {
  deleteSnapshotFile,
  listSnapshots,
  readSnapshotFile,
  writeSnapshotFile,
} from './snapshot-files.ts';
import { decodeEntries, encodeEntries, metadataTopicName } from './transport-codec.ts';

export interface StorageRaftLogOptions {
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly random: Random;
  /** The partition directory, e.g. `<metadata.log.dir>/__cluster_metadata-0`. */
  readonly dir: string;
  readonly snapshotBytesMax: number;
  readonly segmentBytes?: number;
  /** Called once, with the first I/O error; the log refuses all work afterwards. */
  readonly onFailure?: (error: Error) => void;
}

/** Bytes read per step while loading the log into memory at open. */
const loadChunkBytes = 1024 * 1024;

export class StorageRaftLog implements RaftLog {
  readonly #log: PartitionLog;
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #view: MemoryRaftLog;
  readonly #onFailure: (error: Error) => void;
  /** Base offsets of the batches the PartitionLog will hold once the queue drains. */
  #batchStarts: number[];
  #queue: Promise<void> = Promise.resolve();
  #rewritesQueued = 0;
  #failure: Error | undefined;
  /** The end of the latest snapshot on disk: the log may end below it (see truncateTo). */
  #diskSnapshotEnd: number;

  private constructor(
    options: StorageRaftLogOptions,
    log: PartitionLog,
    view: MemoryRaftLog,
    batchStarts: number[],
  ) {
    this.#log = log;
    this.#fs = options.fs;
    this.#dir = options.dir;
    this.#view = view;
    this.#batchStarts = batchStarts;
    this.#diskSnapshotEnd = view.startOffset();
    this.#onFailure = options.onFailure ?? (() => {});
  }

  static async open(options: StorageRaftLogOptions): Promise<StorageRaftLog> {
    const config: LogConfig = {
      ...LOG_CONFIG_DEFAULTS,
      durability: 'kafka',
      segmentBytes: options.segmentBytes ?? LOG_CONFIG_DEFAULTS.segmentBytes,
    };
    const log = await PartitionLog.open({
      ...createStorageEnv(options.fs),
      clock: options.clock,
      random: options.random,
      dir: options.dir,
      topic: metadataTopicName,
      partition: 0,
      config,
    });
    const snapshots = await listSnapshots(options.fs, options.dir);
    const latest = snapshots.at(-1);
    const snapshot = latest
      ? await readSnapshotFile(options.fs, options.dir, latest, options.snapshotBytesMax)
      : undefined;
    const view = new MemoryRaftLog();
    if (snapshot) view.installSnapshot(snapshot);
    const batchStarts = await loadEntries(log, view, snapshot);
    view.flush();
    const opened = new StorageRaftLog(options, log, view, batchStarts);
    for (const old of snapshots.slice(0, -1))
      await deleteSnapshotFile(options.fs, options.dir, old);
    return opened;
  }

  // ---- RaftLog: the volatile view -----------------------------------------------------------

  startOffset(): number {
    return this.#view.startOffset();
  }
  endOffset(): number {
    return this.#view.endOffset();
  }
  lastEpoch(): number {
    return this.#view.lastEpoch();
  }
  epochAt(offset: number): number {
    return this.#view.epochAt(offset);
  }
  endOffsetForEpoch(epoch: number): OffsetAndEpoch {
    return this.#view.endOffsetForEpoch(epoch);
  }
  read(fromOffset: number, maxEntries: number): readonly RaftEntry[] {
    return this.#view.read(fromOffset, maxEntries);
  }
  latestSnapshot(): RaftSnapshot | undefined {
    return this.#view.latestSnapshot();
  }

  append(entries: readonly RaftEntry[]): void {
    if (entries.length === 0) return;
    this.#view.append(entries);
    const bytes = encodeEntries(entries);
    this.#noteBatchStarts(entries);
    this.#enqueue(async () => {
      await this.#log.appendAsFollower(bytes);
    });
  }

  truncateTo(offset: number): void {
    if (offset >= this.#view.endOffset()) return;
    const keptHead = this.#keptHeadOfCutBatch(offset);
    this.#view.truncateTo(offset);
    this.#batchStarts = this.#batchStarts.filter((start) => start < offset);
    if (keptHead.length > 0) this.#batchStarts.pop();
    this.#noteBatchStarts(keptHead);
    this.#rewrite(async () => {
      await this.#log.truncateTo(offset);
      if (keptHead.length > 0) await this.#log.appendAsFollower(encodeEntries(keptHead));
      await this.#log.flush();
    });
  }

  flush(): number {
    assert.fail('StorageRaftLog.flush: the disk is asynchronous, call flushDurably()');
  }

  /** Writes and fsyncs every change made so far; resolves with the durable end offset. */
  flushDurably(): Promise<number> {
    return this.#enqueue(async () => {
      await this.#log.flush();
      // The view's own durable mark only guards storeSnapshot's precondition.
      this.#view.flush();
      return Math.max(this.#log.durableEndOffset, this.#diskSnapshotEnd);
    });
  }

  storeSnapshot(snapshot: RaftSnapshot): void {
    const previous = this.#view.latestSnapshot();
    this.#view.storeSnapshot(snapshot);
    const { endOffset } = snapshot.id;
    this.#rewrite(async () => {
      await writeSnapshotFile(this.#fs, this.#dir, snapshot);
      this.#diskSnapshotEnd = endOffset;
      if (previous) await deleteSnapshotFile(this.#fs, this.#dir, previous.id);
      // Whole segments below the snapshot go; the rest is skipped when loading.
      this.#log.setHighWatermark(endOffset);
      await this.#log.deleteRecordsBefore(Math.min(endOffset, this.#log.highWatermark));
    });
  }

  installSnapshot(snapshot: RaftSnapshot): void {
    const previous = this.#view.latestSnapshot();
    this.#view.installSnapshot(snapshot);
    this.#batchStarts = [];
    this.#rewrite(async () => {
      // The file first: a crash in between leaves the old log beside a newer snapshot, which
      // open() reconciles; the other order could leave neither.
      await writeSnapshotFile(this.#fs, this.#dir, snapshot);
      this.#diskSnapshotEnd = snapshot.id.endOffset;
      await this.#log.truncateFullyAndStartAt(snapshot.id.endOffset);
      if (previous && previous.id.endOffset !== snapshot.id.endOffset) {
        await deleteSnapshotFile(this.#fs, this.#dir, previous.id);
      }
    });
  }

  // ---- the disk queue -----------------------------------------------------------------------

  /** The first I/O error, after which the log does nothing more. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** A truncation or snapshot is queued but not yet durable. */
  get hasUnsettledRewrites(): boolean {
    return this.#rewritesQueued > 0;
  }

  /** Resolves once every change queued so far reached the disk (or the log failed). */
  settled(): Promise<void> {
    return this.#queue;
  }

  /** The PartitionLog beneath, for tests that compare it with the view. */
  get partitionLog(): PartitionLog {
    return this.#log;
  }

  async close(): Promise<void> {
    await this.#queue;
    if (!this.#log.isClosed) await this.#log.close();
  }

  #rewrite(work: () => Promise<void>): void {
    this.#rewritesQueued++;
    this.#enqueue(async () => {
      try {
        await work();
      } finally {
        this.#rewritesQueued--;
      }
    });
  }

  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#failure) throw this.#failure;
      return work();
    });
    this.#queue = run.then(
      () => {},
      (error: unknown) => this.#fail(error),
    );
    // Callers that do not await (appends) learn of a failure through `failure`/`onFailure`.
    run.catch(() => {});
    return run;
  }

  #fail(error: unknown): void {
    if (this.#failure) return;
    this.#failure = error instanceof Error ? error : new Error(String(error));
    this.#onFailure(this.#failure);
  }

  #noteBatchStarts(entries: readonly RaftEntry[]): void {
    let previous: RaftEntry | undefined;
    for (const entry of entries) {
      if (!previous || previous.epoch !== entry.epoch || previous.kind !== entry.kind) {
        this.#batchStarts.push(entry.offset);
      }
      previous = entry;
    }
  }

  /** The entries of the batch holding `offset` that lie below it (kept by a truncation). */
  #keptHeadOfCutBatch(offset: number): readonly RaftEntry[] {
    let start: number | undefined;
    for (let i = this.#batchStarts.length - 1; i >= 0; i--) {
      const candidate = this.#batchStarts[i] as number;
      if (candidate <= offset) {
        start = candidate;
        break;
      }
    }
    if (start === undefined || start === offset) return [];
    const from = Math.max(start, this.#view.startOffset());
    return this.#view.read(from, offset - from);
  }
}

/**
 * Loads the PartitionLog's entries above the snapshot into `view`; returns the batch starts.
 * A log that does not continue the snapshot (a crash between writing a fetched snapshot and
 * emptying the log) is emptied to start at the snapshot's end.
 */
async function loadEntries(
  log: PartitionLog,
  view: MemoryRaftLog,
  snapshot: RaftSnapshot | undefined,
): Promise<number[]> {
  const all: RaftEntry[] = [];
  const batchStarts = new Set<number>();
  for (const segment of log.segments()) {
    let position = 0;
    for (;;) {
      const bytes = await log.readSegmentBatches(segment.baseOffset, position, loadChunkBytes);
      if (bytes.length === 0) break;
      position += bytes.length;
      for (const batch of iterateBatches(bytes)) {
        const entries = decodeEntries(batch.buf);
        if (!entries) {
          throw new BrokerError('RAFT_LOG_CORRUPT', `${log.dir}: undecodable metadata batch`);
        }
        batchStarts.add(batch.baseOffset);
        for (const entry of entries) all.push(entry);
      }
    }
  }
  const from = view.startOffset();
  if (snapshot && !continuesSnapshot(all, log.logEndOffset, snapshot)) {
    await log.truncateFullyAndStartAt(from);
    return [];
  }
  const kept = all.filter((entry) => entry.offset >= from);
  view.append(kept);
  // The batch holding `from` may start below it; its start is what truncation must know.
  const starts = [...batchStarts].filter((start) => start >= from);
  const holdingFrom = [...batchStarts].filter((start) => start < from).at(-1);
  if (holdingFrom !== undefined && kept.length > 0) starts.unshift(holdingFrom);
  return starts;
}

/**
 * Whether the log continues the snapshot: it holds the snapshot's last entry with its epoch,
 * or no entry there at all but reaches past it (a truncation at the snapshot's end drops the
 * whole batch holding it, leaving a gap below entries appended after the snapshot).
 */
function continuesSnapshot(
  entries: readonly RaftEntry[],
  logEndOffset: number,
  snapshot: RaftSnapshot,
): boolean {
  const { endOffset, epoch } = snapshot.id;
  if (logEndOffset < endOffset) return false;
  const last = entries.find((e) => e.offset === endOffset - 1);
  return last === undefined || last.epoch === epoch;
}
