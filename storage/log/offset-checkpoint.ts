/**
 * The per-log-dir checkpoint files, Kafka's text format:
 *
 *   recovery-point-offset-checkpoint   offset up to which each log is flushed (recovery
 *                                      starts there after an unclean shutdown)
 *   log-start-offset-checkpoint        each log's start offset (DeleteRecords, retention)
 *   replication-offset-checkpoint      each partition's high watermark
 *
 *   0                   version
 *   2                   number of entries
 *   my-topic 0 1200     "topic partition offset"
 *   other 3 55
 *
 * Topic names cannot contain spaces (Kafka restricts them to [a-zA-Z0-9._-]), so a space is
 * a safe separator.
 *
 * Crash behaviour: replaced atomically (tmp, fsync, rename, fsync dir). A missing file means
 * "no information" (offsets default to the safe side: recovery from the first segment, start
 * offset from the first segment, high watermark 0... clamped by the log); a corrupt one is
 * an operator error (StorageError `storage-corrupt`), as in Kafka.
 */
import { join } from 'node:path';
import { readFileFully, writeFileAtomic } from '../io/atomic-file.ts';
import type { FileSystem } from '../io/file-system.ts';
import { StorageError } from '../storage-error.ts';

export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint';
export const REPLICATION_OFFSET_CHECKPOINT = 'replication-offset-checkpoint';

const VERSION = 0;
/** Well above any broker's partition count; bounds the parse of a hostile file. */
const ENTRIES_MAX = 10_000_000;

/** Offsets by `<topic>-<partition>` key (partitionDirName). */
export type OffsetMap = Map<string, { topic: string; partition: number; offset: number }>;

export function encodeOffsetCheckpoint(entries: OffsetMap): Buffer {
  const lines = [String(VERSION), String(entries.size)];
  for (const e of entries.values()) lines.push(`${e.topic} ${e.partition} ${e.offset}`);
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

export function decodeOffsetCheckpoint(text: string, path: string): OffsetMap {
  const bad = (why: string): StorageError => new StorageError('storage-corrupt', `${path}: ${why}`);
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== String(VERSION)) throw bad(`unknown version ${JSON.stringify(lines[0])}`);
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count < 0 || count > ENTRIES_MAX) throw bad('bad count');
  if (lines.length !== count + 2) throw bad(`expected ${count} entries`);
  const out: OffsetMap = new Map();
  for (const line of lines.slice(2)) {
    const match = /^(\S+) (\d+) (-?\d+)$/.exec(line);
    if (!match) throw bad(`bad line ${JSON.stringify(line)}`);
    const topic = match[1] as string;
    const partition = Number(match[2]);
    const offset = Number(match[3]);
    if (!Number.isSafeInteger(offset) || partition > 0x7fff_ffff) throw bad('out of range');
    out.set(`${topic}-${partition}`, { topic, partition, offset });
  }
  return out;
}

export async function readOffsetCheckpoint(
  fs: FileSystem,
  dir: string,
  name: string,
): Promise<OffsetMap> {
  const path = join(dir, name);
  const bytes = await readFileFully(fs, path, 1024 * 1024 * 1024);
  return bytes ? decodeOffsetCheckpoint(bytes.toString('utf8'), path) : new Map();
}

export function writeOffsetCheckpoint(
  fs: FileSystem,
  dir: string,
  name: string,
  entries: OffsetMap,
): Promise<void> {
  return writeFileAtomic(fs, join(dir, name), encodeOffsetCheckpoint(entries));
}
