/**
 * File names of a partition directory, Kafka's layout:
 *
 *   <log.dir>/<topic>-<partition>/
 *     00000000000000000000.log         record batches, end to end
 *     00000000000000000000.index       offset index (offset-index.ts)
 *     00000000000000000000.timeindex   time index (time-index.ts)
 *     00000000000000000000.txnindex    aborted transactions (transaction-index.ts)
 *     00000000000000000000.snapshot    producer state (producer-snapshot.ts)
 *     leader-epoch-checkpoint          (leader-epoch-cache.ts)
 *
 * The number is the segment's base offset, zero-padded to 20 digits so that names sort like
 * offsets. Suffixes after the extension mark a file in transit: `.cleaned` (a cleaner is
 * writing it), `.swap` (cleaned and complete, replacing older segments), `.deleted` (waiting
 * to be unlinked). Recovery on open acts on each (see partition-log.ts).
 */

export const LOG_SUFFIX = '.log';
export const OFFSET_INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const TXN_INDEX_SUFFIX = '.txnindex';
export const SNAPSHOT_SUFFIX = '.snapshot';
export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';
export const DELETED_SUFFIX = '.deleted';
export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';

export const SEGMENT_FILE_SUFFIXES = [
  LOG_SUFFIX,
  OFFSET_INDEX_SUFFIX,
  TIME_INDEX_SUFFIX,
  TXN_INDEX_SUFFIX,
] as const;
export type SegmentFileSuffix = (typeof SEGMENT_FILE_SUFFIXES)[number];

const OFFSET_DIGITS = 20;

export function offsetFileName(offset: number, suffix: string): string {
  return `${String(offset).padStart(OFFSET_DIGITS, '0')}${suffix}`;
}

export interface ParsedFileName {
  readonly offset: number;
  /** `.log`, `.index`, ... */
  readonly kind: string;
  /** '', `.cleaned`, `.swap` or `.deleted`. */
  readonly transit: string;
}

const NAME = /^(\d{20})(\.[a-z]+)(\.cleaned|\.swap|\.deleted)?$/;

/** Parses an offset-named file; undefined for any other name. */
export function parseOffsetFileName(name: string): ParsedFileName | undefined {
  const match = NAME.exec(name);
  if (!match) return undefined;
  const offset = Number(match[1]);
  if (!Number.isSafeInteger(offset)) return undefined;
  return { offset, kind: match[2] as string, transit: match[3] ?? '' };
}

/** `<topic>-<partition>`; the topic may itself contain '-'. */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export function parsePartitionDirName(
  name: string,
): { topic: string; partition: number } | undefined {
  const dash = name.lastIndexOf('-');
  if (dash <= 0) return undefined;
  const digits = name.slice(dash + 1);
  if (!/^\d{1,10}$/.test(digits)) return undefined;
  const partition = Number(digits);
  if (partition > 0x7fff_ffff) return undefined;
  return { topic: name.slice(0, dash), partition };
}
