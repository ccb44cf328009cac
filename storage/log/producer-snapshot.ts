/**
 * Producer-state snapshot files, `<offset>.snapshot` in the partition directory: the state
 * of every producer (last sequence, epoch, open transaction) as of `offset`, so that after a
 * restart idempotence and transactions resume by replaying only the log after the snapshot.
 * Byte layout (Kafka's ProducerSnapshot v1, big-endian):
 *
 *   off len
 *     0   2  version (1)
 *     2   4  crc: CRC-32C of every byte from offset 6 to the end
 *     6   4  entry count
 *    10  46  per entry: int64 producerId, int16 epoch, int32 lastSequence, int64 lastOffset,
 *            int32 offsetDelta, int64 timestamp, int32 coordinatorEpoch,
 *            int64 currentTxnFirstOffset (-1 when no transaction is open)
 *
 * Encoded by hand for now (the generated codecs of protocol/generated may replace this).
 * Crash behaviour: written atomically; a snapshot whose CRC fails is deleted and the next
 * older one used (or a full replay); snapshots past the log end are deleted when the log is
 * truncated or recovered (PartitionLog), since they describe offsets that no longer exist.
 */
import { join } from 'node:path';
import { crc32c } from '../../protocol/records/crc32c.ts';
import { readFileFully, unlinkIfExists, writeFileAtomic } from '../io/atomic-file.ts';
import type { FileSystem } from '../io/file-system.ts';
import { offsetFileName, parseOffsetFileName, SNAPSHOT_SUFFIX } from '../segment/segment-files.ts';

export const PRODUCER_SNAPSHOT_VERSION = 1;
const HEADER_BYTES = 10;
const ENTRY_BYTES = 46;

export interface ProducerSnapshotEntry {
  readonly producerId: number;
  readonly epoch: number;
  readonly lastSequence: number;
  readonly lastOffset: number;
  readonly offsetDelta: number;
  readonly timestampMs: number;
  readonly coordinatorEpoch: number;
  readonly currentTxnFirstOffset: number;
}

export function encodeProducerSnapshot(entries: readonly ProducerSnapshotEntry[]): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES + entries.length * ENTRY_BYTES);
  buf.writeInt16BE(PRODUCER_SNAPSHOT_VERSION, 0);
  buf.writeInt32BE(entries.length, 6);
  let at = HEADER_BYTES;
  for (const e of entries) {
    buf.writeBigInt64BE(BigInt(e.producerId), at);
    buf.writeInt16BE(e.epoch, at + 8);
    buf.writeInt32BE(e.lastSequence, at + 10);
    buf.writeBigInt64BE(BigInt(e.lastOffset), at + 14);
    buf.writeInt32BE(e.offsetDelta, at + 22);
    buf.writeBigInt64BE(BigInt(e.timestampMs), at + 26);
    buf.writeInt32BE(e.coordinatorEpoch, at + 34);
    buf.writeBigInt64BE(BigInt(e.currentTxnFirstOffset), at + 38);
    at += ENTRY_BYTES;
  }
  buf.writeUInt32BE(crc32c(buf.subarray(6)), 2);
  return buf;
}

export type SnapshotProblem = 'truncated' | 'bad-version' | 'bad-crc' | 'bad-count';

/** Decodes a snapshot; a problem instead of entries when the bytes are not a sound file. */
export function decodeProducerSnapshot(
  buf: Buffer,
): ProducerSnapshotEntry[] | { problem: SnapshotProblem } {
  if (buf.length < HEADER_BYTES) return { problem: 'truncated' };
  if (buf.readInt16BE(0) !== PRODUCER_SNAPSHOT_VERSION) return { problem: 'bad-version' };
  if (crc32c(buf.subarray(6)) !== buf.readUInt32BE(2)) return { problem: 'bad-crc' };
  const count = buf.readInt32BE(6);
  if (count < 0 || HEADER_BYTES + count * ENTRY_BYTES !== buf.length) {
    return { problem: 'bad-count' };
  }
  const out: ProducerSnapshotEntry[] = [];
  for (let at = HEADER_BYTES; at < buf.length; at += ENTRY_BYTES) {
    out.push({
      producerId: Number(buf.readBigInt64BE(at)),
      epoch: buf.readInt16BE(at + 8),
      lastSequence: buf.readInt32BE(at + 10),
      lastOffset: Number(buf.readBigInt64BE(at + 14)),
      offsetDelta: buf.readInt32BE(at + 22),
      timestampMs: Number(buf.readBigInt64BE(at + 26)),
      coordinatorEpoch: buf.readInt32BE(at + 34),
      currentTxnFirstOffset: Number(buf.readBigInt64BE(at + 38)),
    });
  }
  return out;
}

/** Snapshot offsets present in a partition directory, ascending. */
export async function listProducerSnapshots(fs: FileSystem, dir: string): Promise<number[]> {
  const offsets: number[] = [];
  for (const name of await fs.readdir(dir)) {
    const parsed = parseOffsetFileName(name);
    if (parsed?.kind === SNAPSHOT_SUFFIX && parsed.transit === '') offsets.push(parsed.offset);
  }
  return offsets.sort((a, b) => a - b);
}

/** Writes `<offset>.snapshot` atomically. */
export function writeProducerSnapshot(
  fs: FileSystem,
  dir: string,
  offset: number,
  entries: readonly ProducerSnapshotEntry[],
): Promise<void> {
  const path = join(dir, offsetFileName(offset, SNAPSHOT_SUFFIX));
  return writeFileAtomic(fs, path, encodeProducerSnapshot(entries));
}

/**
 * The newest sound snapshot at or below `maxOffset`; unsound ones met on the way (a bad CRC,
 * a torn file) are deleted, as are none of the older ones.
 */
export async function readLatestProducerSnapshot(
  fs: FileSystem,
  dir: string,
  maxOffset: number,
): Promise<{ offset: number; entries: ProducerSnapshotEntry[] } | undefined> {
  const offsets = (await listProducerSnapshots(fs, dir)).filter((o) => o <= maxOffset);
  for (const offset of offsets.reverse()) {
    const path = join(dir, offsetFileName(offset, SNAPSHOT_SUFFIX));
    const bytes = await readFileFully(fs, path);
    const decoded = bytes ? decodeProducerSnapshot(bytes) : { problem: 'truncated' as const };
    if (Array.isArray(decoded)) return { offset, entries: decoded };
    await unlinkIfExists(fs, path);
  }
  return undefined;
}

/** Deletes snapshots above `offset` (the log was truncated or recovered to it). */
export async function deleteProducerSnapshotsAbove(
  fs: FileSystem,
  dir: string,
  offset: number,
): Promise<void> {
  for (const snapshot of await listProducerSnapshots(fs, dir)) {
    if (snapshot > offset)
      await unlinkIfExists(fs, join(dir, offsetFileName(snapshot, SNAPSHOT_SUFFIX)));
  }
}
