/**
 * Raft snapshots as files next to the metadata log's segments, named like Kafka's
 * `<20-digit endOffset>-<10-digit epoch>.checkpoint`. A file holds one RecordBatch v2
 * (partitionLeaderEpoch = the snapshot's epoch) with one record whose value is the snapshot's
 * bytes, so CRC-32C guards it. Written with tmp + fsync + rename + fsync dir: after a crash a
 * snapshot is whole or absent. The state machine's own encoding of the bytes is the layer
 * above's business (Kafka writes header/footer control records around metadata records;
 * Brook's controller may later do the same inside the data).
 */
import { join } from 'node:path';
import { iterateBatches } from '../../protocol/records/batch.ts';
import { buildBatch } from '../../protocol/records/batch-builder.ts';
import { readRecords } from '../../protocol/records/record-iterator.ts';
import { readFileFully, unlinkIfExists, writeFileAtomic } from '../../storage/io/atomic-file.ts';
import type { FileSystem } from '../../storage/io/file-system.ts';
import { BrokerError } from '../util/errors.ts';
import type { OffsetAndEpoch } from './messages.ts';
import type { RaftSnapshot } from './raft-log.ts';

export const snapshotSuffix = '.checkpoint';
const namePattern = /^(\d{20})-(\d{10})\.checkpoint$/;
/** A batch's framing around the value: header, record varints and a little slack. */
const framingBytesMax = 256;

export function snapshotFileName(id: OffsetAndEpoch): string {
  const offset = String(id.endOffset).padStart(20, '0');
  return `${offset}-${String(id.epoch).padStart(10, '0')}${snapshotSuffix}`;
}

export function parseSnapshotFileName(name: string): OffsetAndEpoch | undefined {
  const match = namePattern.exec(name);
  if (!match) return undefined;
  return { endOffset: Number(match[1]), epoch: Number(match[2]) };
}

/** Every snapshot id in `dir`, oldest first. */
export async function listSnapshots(fs: FileSystem, dir: string): Promise<OffsetAndEpoch[]> {
  const ids: OffsetAndEpoch[] = [];
  for (const name of await fs.readdir(dir)) {
    const id = parseSnapshotFileName(name);
    if (id) ids.push(id);
  }
  return ids.sort((a, b) => a.endOffset - b.endOffset || a.epoch - b.epoch);
}

export async function writeSnapshotFile(
  fs: FileSystem,
  dir: string,
  snapshot: RaftSnapshot,
): Promise<void> {
  const value = Buffer.from(snapshot.data);
  const batch = buildBatch({
    records: [{ key: null, value, timestamp: 0 }],
    baseOffset: 0,
    partitionLeaderEpoch: snapshot.id.epoch,
  });
  await writeFileAtomic(fs, join(dir, snapshotFileName(snapshot.id)), batch);
}

/** Reads a snapshot back; a damaged file is a BrokerError for the operator. */
export async function readSnapshotFile(
  fs: FileSystem,
  dir: string,
  id: OffsetAndEpoch,
  snapshotBytesMax: number,
): Promise<RaftSnapshot> {
  const path = join(dir, snapshotFileName(id));
  const bytes = await readFileFully(fs, path, snapshotBytesMax + framingBytesMax);
  const damaged = (why: string, cause?: unknown) =>
    new BrokerError('RAFT_SNAPSHOT_CORRUPT', `${path}: ${why}`, { cause });
  if (!bytes) throw damaged('missing');
  try {
    const batches = [...iterateBatches(bytes)];
    const batch = batches[0];
    if (batches.length !== 1 || !batch || batch.sizeBytes !== bytes.length) {
      throw damaged('not exactly one record batch');
    }
    const invalid = batch.validate();
    if (invalid !== undefined) throw damaged(`invalid batch (${String(invalid)})`);
    const records = [...readRecords(batch, { maxDecompressedBytes: snapshotBytesMax })];
    const record = records[0];
    if (records.length !== 1 || !record) throw damaged('not exactly one record');
    return { id, data: new Uint8Array(record.value ?? Buffer.alloc(0)) };
  } catch (error) {
    if (error instanceof BrokerError) throw error;
    throw damaged('unreadable', error);
  }
}

export async function deleteSnapshotFile(
  fs: FileSystem,
  dir: string,
  id: OffsetAndEpoch,
): Promise<void> {
  await unlinkIfExists(fs, join(dir, snapshotFileName(id)));
}
