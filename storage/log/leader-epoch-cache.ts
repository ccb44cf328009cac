/**
 * The leader-epoch cache of a partition and its file, `leader-epoch-checkpoint`, in Kafka's
 * text format:
 *
 *   0                  version
 *   2                  number of entries
 *   0 0                "epoch startOffset": the first offset written in that epoch
 *   3 1200
 *
 * Invariants: epochs and start offsets strictly increase down the list. A follower uses it
 * to answer OffsetsForLeaderEpoch and to find where its log diverges from the leader's.
 *
 * Crash behaviour: written atomically (tmp, fsync, rename, fsync dir) whenever it changes;
 * after an unclean shutdown recovery re-assigns the epoch of every batch it scans and then
 * drops entries past the recovered log end, so a lost or stale file heals itself.
 */
import { join } from 'node:path';
import { readFileFully, writeFileAtomic } from '../io/atomic-file.ts';
import type { FileSystem } from '../io/file-system.ts';
import { LEADER_EPOCH_CHECKPOINT } from '../segment/segment-files.ts';
import { StorageError } from '../storage-error.ts';

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

const VERSION = 0;
/** A partition sees a new epoch per leader change; thousands would mean a bug upstream. */
const ENTRIES_MAX = 100_000;

export function encodeEpochCheckpoint(entries: readonly EpochEntry[]): Buffer {
  const lines = [String(VERSION), String(entries.length)];
  for (const e of entries) lines.push(`${e.epoch} ${e.startOffset}`);
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

export function decodeEpochCheckpoint(text: string, path: string): EpochEntry[] {
  const bad = (why: string): StorageError => new StorageError('storage-corrupt', `${path}: ${why}`);
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== String(VERSION)) throw bad(`unknown version ${JSON.stringify(lines[0])}`);
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count < 0 || count > ENTRIES_MAX) throw bad('bad count');
  if (lines.length !== count + 2) throw bad(`expected ${count} entries`);
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const match = /^(\d+) (\d+)$/.exec(line);
    if (!match) throw bad(`bad line ${JSON.stringify(line)}`);
    const epoch = Number(match[1]);
    const startOffset = Number(match[2]);
    if (!Number.isSafeInteger(startOffset) || epoch > 0x7fff_ffff) throw bad('out of range');
    entries.push({ epoch, startOffset });
  }
  return entries;
}

export class LeaderEpochCache {
  #entries: EpochEntry[] = [];
  #fs: FileSystem;
  readonly path: string;
  #dirty = false;

  constructor(fs: FileSystem, dir: string) {
    this.#fs = fs;
    this.path = join(dir, LEADER_EPOCH_CHECKPOINT);
  }

  async load(): Promise<void> {
    const bytes = await readFileFully(this.#fs, this.path, 8 * 1024 * 1024);
    this.#entries = bytes ? decodeEpochCheckpoint(bytes.toString('utf8'), this.path) : [];
  }

  get entries(): readonly EpochEntry[] {
    return this.#entries;
  }

  get latest(): EpochEntry | undefined {
    return this.#entries.at(-1);
  }

  get isDirty(): boolean {
    return this.#dirty;
  }

  /**
   * Records that `epoch` starts at `startOffset`. An epoch older than the latest is ignored
   * (epochs only move forward); an entry it conflicts with is replaced.
   */
  assign(epoch: number, startOffset: number): void {
    if (epoch < 0) return;
    const latest = this.latest;
    if (latest && (epoch < latest.epoch || epoch === latest.epoch)) return;
    if (latest && startOffset <= latest.startOffset) {
      // A newer epoch starting at or before the last one means the older entries from there
      // cover no data (a truncated follower, or a log start moved to the log end): drop them,
      // so start offsets stay strictly increasing (Kafka's assign does the same).
      this.#entries = this.#entries.filter((e) => e.startOffset < startOffset);
    }
    this.#entries.push({ epoch, startOffset });
    this.#dirty = true;
  }

  /**
   * OffsetsForLeaderEpoch: the largest epoch <= `requested` and the offset where it ended
   * (the next epoch's start, or `logEndOffset` for the latest). undefined when `requested`
   * is older than every entry.
   */
  endOffsetFor(requested: number, logEndOffset: number): EpochEntry | undefined {
    let found: EpochEntry | undefined;
    let nextStart = logEndOffset;
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const entry = this.#entries[i] as EpochEntry;
      if (entry.epoch <= requested) {
        found = entry;
        break;
      }
      nextStart = entry.startOffset;
    }
    if (!found) return undefined;
    return { epoch: found.epoch, startOffset: nextStart };
  }

  /** Drops entries starting at or after `endOffset` (the log was truncated there). */
  truncateFromEnd(endOffset: number): void {
    const kept = this.#entries.filter((e) => e.startOffset < endOffset);
    if (kept.length === this.#entries.length) return;
    this.#entries = kept;
    this.#dirty = true;
  }

  /** The log now starts at `startOffset`: the epoch covering it starts there. */
  truncateFromStart(startOffset: number): void {
    let covering = -1;
    for (let i = 0; i < this.#entries.length; i++) {
      if ((this.#entries[i] as EpochEntry).startOffset <= startOffset) covering = i;
    }
    if (covering < 0) return;
    const entry = this.#entries[covering] as EpochEntry;
    if (covering === 0 && entry.startOffset === startOffset) return;
    this.#entries = [{ epoch: entry.epoch, startOffset }, ...this.#entries.slice(covering + 1)];
    this.#dirty = true;
  }

  clear(): void {
    if (this.#entries.length === 0) return;
    this.#entries = [];
    this.#dirty = true;
  }

  /** Writes the file atomically if anything changed since the last write. */
  async flush(): Promise<void> {
    if (!this.#dirty) return;
    this.#dirty = false;
    try {
      await writeFileAtomic(this.#fs, this.path, encodeEpochCheckpoint(this.#entries));
    } catch (error) {
      this.#dirty = true;
      throw error;
    }
  }
}
