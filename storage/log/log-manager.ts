/**
 * LogManager: every partition log of a broker, across one or more log dirs.
 *
 * Per log dir it owns the checkpoint files (offset-checkpoint.ts) and the clean-shutdown
 * marker `.kafka_cleanshutdown` (Kafka's name): written last by `close()` after every log is
 * flushed, removed once the logs are loaded at startup, so its presence proves that the
 * previous process closed every log and recovery can be skipped. Its content is
 * `{"version":0,"brokerEpoch":-1}` like Kafka's; only its presence matters here.
 *
 * Bounded resources: one FileHandleCache (descriptors), one IndexCache (index memory), one
 * TailCacheBudget for all logs (storage-env.ts). Opening reads only each partition's
 * directory listing, the active segment's indexes and (after an unclean shutdown) the
 * segments past the recovery point; inactive segments' indexes load on first use. Nothing on
 * the append or read path scans all partitions: lookups are one Map get; only the periodic
 * checkpoints visit every log.
 *
 * Deletion: `deleteLog` renames `<topic>-<partition>` to `<topic>-<partition>.<id>-delete`
 * (Kafka's convention), fsyncs the log dir, and removes the tree in the background; a
 * leftover `-delete` directory found at startup is removed the same way.
 */
import { join } from 'node:path';
import { mkdirDurably, unlinkIfExists, writeFileAtomic } from '../io/atomic-file.ts';
import type { FileSystem } from '../io/file-system.ts';
import type { Clock, Random, TimerHandle } from '../runtime-interfaces.ts';
import { parsePartitionDirName, partitionDirName } from '../segment/segment-files.ts';
import { StorageError } from '../storage-error.ts';
import { forEachLimited } from './for-each-limited.ts';
import { LOG_CONFIG_DEFAULTS, type LogConfig, resolveLogConfig } from './log-config.ts';
import {
  LOG_START_OFFSET_CHECKPOINT,
  type OffsetMap,
  RECOVERY_POINT_CHECKPOINT,
  REPLICATION_OFFSET_CHECKPOINT,
  readOffsetCheckpoint,
  writeOffsetCheckpoint,
} from './offset-checkpoint.ts';
import { PartitionLog } from './partition-log.ts';
import { createStorageEnv, type StorageEnv } from './storage-env.ts';

export const CLEAN_SHUTDOWN_MARKER = '.kafka_cleanshutdown';
const DELETE_DIR_SUFFIX = '-delete';
const MARKER_CONTENT = Buffer.from('{"version":0,"brokerEpoch":-1}\n', 'utf8');
/** Kafka's defaults: log.flush.offset.checkpoint.interval.ms and the HW checkpoint. */
export const CHECKPOINT_INTERVAL_MS_DEFAULT = 60_000;
export const HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS_DEFAULT = 5_000;
/** Logs opened in parallel: enough to overlap I/O waits, few enough to bound memory. */
const OPEN_CONCURRENCY = 16;

export interface LogManagerOptions {
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly random: Random;
  readonly logDirs: readonly string[];
  readonly defaultConfig?: LogConfig;
  /** Per-topic overrides (topic configs); undefined = broker defaults. */
  readonly topicConfig?: (topic: string) => Partial<LogConfig> | undefined;
  readonly openFilesMax?: number;
  readonly indexCacheBytes?: number;
  readonly tailCacheBudgetBytes?: number;
  readonly checkpointIntervalMs?: number;
  readonly highWatermarkCheckpointIntervalMs?: number;
  readonly onBackgroundError?: (error: unknown) => void;
  /**
   * Partition directories another owner opens (the Raft metadata log in cluster mode):
   * never opened, deleted or checkpointed here.
   */
  readonly foreignTopics?: ReadonlySet<string>;
}

interface DirState {
  readonly path: string;
  readonly logs: Map<string, PartitionLog>;
  cleanShutdown: boolean;
}

export class LogManager {
  readonly env: StorageEnv;
  #options: LogManagerOptions;
  #fs: FileSystem;
  #dirs: DirState[];
  #logs = new Map<string, { log: PartitionLog; dir: DirState }>();
  #timers: TimerHandle[] = [];
  #background = new Set<Promise<void>>();
  #checkpointing: Promise<void> = Promise.resolve();
  #closed = false;
  #onBackgroundError: (error: unknown) => void;

  private constructor(options: LogManagerOptions) {
    if (options.logDirs.length === 0) throw new RangeError('at least one log dir is needed');
    this.#options = options;
    this.#fs = options.fs;
    this.#onBackgroundError = options.onBackgroundError ?? (() => {});
    this.env = createStorageEnv(options.fs, {
      openFilesMax: options.openFilesMax,
      indexCacheBytes: options.indexCacheBytes,
      tailCacheBudgetBytes: options.tailCacheBudgetBytes,
      onBackgroundError: this.#onBackgroundError,
    });
    this.#dirs = options.logDirs.map((path) => ({ path, logs: new Map(), cleanShutdown: false }));
  }

  /** Opens every partition log under the log dirs (recovering after an unclean stop). */
  static async open(options: LogManagerOptions): Promise<LogManager> {
    const manager = new LogManager(options);
    for (const dir of manager.#dirs) await manager.#openDir(dir);
    manager.#scheduleCheckpoints();
    return manager;
  }

  async #openDir(dir: DirState): Promise<void> {
    const fs = this.#fs;
    await mkdirDurably(fs, dir.path);
    const marker = join(dir.path, CLEAN_SHUTDOWN_MARKER);
    dir.cleanShutdown = (await fs.stat(marker)) !== undefined;
    const recovery = await readOffsetCheckpoint(fs, dir.path, RECOVERY_POINT_CHECKPOINT);
    const starts = await readOffsetCheckpoint(fs, dir.path, LOG_START_OFFSET_CHECKPOINT);
    const hws = await readOffsetCheckpoint(fs, dir.path, REPLICATION_OFFSET_CHECKPOINT);
    const names = await fs.readdir(dir.path);
    const toOpen: { topic: string; partition: number; name: string }[] = [];
    for (const name of names) {
      if (name.endsWith(DELETE_DIR_SUFFIX)) {
        this.#inBackground(fs.removeTree(join(dir.path, name)));
        continue;
      }
      const parsed = parsePartitionDirName(name);
      if (parsed && this.#options.foreignTopics?.has(parsed.topic)) continue;
      const stat = parsed && (await fs.stat(join(dir.path, name)));
      if (parsed && stat?.isDirectory) toOpen.push({ ...parsed, name });
    }
    await forEachLimited(toOpen, OPEN_CONCURRENCY, async ({ topic, partition, name }) => {
      const log = await this.#openLog(dir, topic, partition, {
        recoveryPoint: recovery.get(name)?.offset,
        logStartOffset: starts.get(name)?.offset,
        highWatermark: hws.get(name)?.offset,
      });
      this.#register(dir, log);
    });
    if (dir.cleanShutdown) {
      await unlinkIfExists(fs, marker);
      await fs.fsyncDir(dir.path);
    }
  }

  #openLog(
    dir: DirState,
    topic: string,
    partition: number,
    offsets: { recoveryPoint?: number; logStartOffset?: number; highWatermark?: number },
  ): Promise<PartitionLog> {
    return PartitionLog.open({
      ...this.env,
      clock: this.#options.clock,
      random: this.#options.random,
      dir: join(dir.path, partitionDirName(topic, partition)),
      topic,
      partition,
      config: this.configFor(topic),
      cleanShutdown: dir.cleanShutdown,
      ...offsets,
      onBackgroundError: this.#onBackgroundError,
    });
  }

  #register(dir: DirState, log: PartitionLog): void {
    const key = partitionDirName(log.topic, log.partition);
    dir.logs.set(key, log);
    this.#logs.set(key, { log, dir });
  }

  /** The effective config of a topic: broker defaults with the topic's overrides. */
  configFor(topic: string): LogConfig {
    const base = this.#options.defaultConfig ?? LOG_CONFIG_DEFAULTS;
    const overrides = this.#options.topicConfig?.(topic);
    return overrides ? resolveLogConfig(base, overrides) : base;
  }

  /** True when every log dir had the clean-shutdown marker at startup. */
  get openedCleanly(): boolean {
    return this.#dirs.every((d) => d.cleanShutdown);
  }

  get logCount(): number {
    return this.#logs.size;
  }

  getLog(topic: string, partition: number): PartitionLog | undefined {
    return this.#logs.get(partitionDirName(topic, partition))?.log;
  }

  logs(): IterableIterator<PartitionLog> {
    return [...this.#logs.values()].map((e) => e.log).values();
  }

  /** Creates the log (in the dir holding the fewest partitions); returns it if it exists. */
  async createLog(topic: string, partition: number): Promise<PartitionLog> {
    if (this.#closed) throw new StorageError('storage-closed', 'log manager closed');
    const existing = this.getLog(topic, partition);
    if (existing) return existing;
    let dir = this.#dirs[0] as DirState;
    for (const candidate of this.#dirs) if (candidate.logs.size < dir.logs.size) dir = candidate;
    const log = await this.#openLog(dir, topic, partition, {});
    // The partition directory's own name must survive a crash.
    await this.#fs.fsyncDir(dir.path);
    const raced = this.getLog(topic, partition);
    if (raced) {
      await log.close();
      return raced;
    }
    this.#register(dir, log);
    return log;
  }

  /** Stops the log and removes its directory (renamed first, removed in the background). */
  async deleteLog(topic: string, partition: number): Promise<boolean> {
    const key = partitionDirName(topic, partition);
    const entry = this.#logs.get(key);
    if (!entry) return false;
    this.#logs.delete(key);
    entry.dir.logs.delete(key);
    await entry.log.abandon();
    const id = Array.from({ length: 4 }, () =>
      this.#options.random.int(0, 0xffff).toString(16).padStart(4, '0'),
    ).join('');
    const doomed = join(entry.dir.path, `${key}.${id}${DELETE_DIR_SUFFIX}`);
    await this.#fs.rename(entry.log.dir, doomed);
    await this.#fs.fsyncDir(entry.dir.path);
    this.#inBackground(this.#fs.removeTree(doomed));
    return true;
  }

  #inBackground(work: Promise<void>): void {
    const tracked = work.catch(this.#onBackgroundError);
    this.#background.add(tracked);
    tracked.finally(() => this.#background.delete(tracked));
  }

  /**
   * Writes the checkpoints of every dir: all three by default, or only the high-watermark
   * file (`highWatermarksOnly`, its own shorter interval, as in Kafka).
   */
  checkpoint(options: { highWatermarksOnly?: boolean } = {}): Promise<void> {
    // One at a time: two writers of the same `.tmp` file would interleave.
    const run = this.#checkpointing.then(() => this.#writeCheckpoints(options));
    this.#checkpointing = run.catch(() => undefined);
    return run;
  }

  async #writeCheckpoints(options: { highWatermarksOnly?: boolean }): Promise<void> {
    for (const dir of this.#dirs) {
      const recovery: OffsetMap = new Map();
      const starts: OffsetMap = new Map();
      const hws: OffsetMap = new Map();
      for (const [key, log] of dir.logs) {
        const id = { topic: log.topic, partition: log.partition };
        recovery.set(key, { ...id, offset: log.recoveryPoint });
        starts.set(key, { ...id, offset: log.logStartOffset });
        hws.set(key, { ...id, offset: log.highWatermark });
      }
      await writeOffsetCheckpoint(this.#fs, dir.path, REPLICATION_OFFSET_CHECKPOINT, hws);
      if (options.highWatermarksOnly) continue;
      await writeOffsetCheckpoint(this.#fs, dir.path, RECOVERY_POINT_CHECKPOINT, recovery);
      await writeOffsetCheckpoint(this.#fs, dir.path, LOG_START_OFFSET_CHECKPOINT, starts);
    }
  }

  #scheduleCheckpoints(): void {
    const every = this.#options.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS_DEFAULT;
    const hwEvery =
      this.#options.highWatermarkCheckpointIntervalMs ??
      HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS_DEFAULT;
    this.#every(every, () => this.checkpoint());
    this.#every(hwEvery, () => this.checkpoint({ highWatermarksOnly: true }));
  }

  /** Runs `work` every `intervalMs` on the injected clock until close. */
  #every(intervalMs: number, work: () => Promise<void>): void {
    const arm = (): void => {
      if (this.#closed) return;
      const timer = this.#options.clock.setTimer(intervalMs, () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        this.#inBackground(work());
        arm();
      });
      this.#timers.push(timer);
    };
    arm();
  }

  /** Flushes and closes every log, writes checkpoints, then the clean-shutdown markers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) timer.cancel();
    this.#timers = [];
    await forEachLimited([...this.#logs.values()], OPEN_CONCURRENCY, ({ log }) => log.close());
    await this.checkpoint();
    while (this.#background.size > 0) await Promise.all([...this.#background]);
    await this.env.handles.settle();
    for (const dir of this.#dirs) {
      await writeFileAtomic(this.#fs, join(dir.path, CLEAN_SHUTDOWN_MARKER), MARKER_CONTENT);
    }
  }

  /** Resolves when background removals (deleted partitions, segments) are done. */
  async settle(): Promise<void> {
    while (this.#background.size > 0) await Promise.all([...this.#background]);
    await this.env.handles.settle();
  }
}
