/**
 * The `quorum-state` file in Kafka's format: QuorumStateData (raft-records) as JSON with a
 * `data_version` member, as Kafka's FileQuorumStateStore writes it. Brook writes version 1
 * (`leaderId`, `leaderEpoch`, `votedId`, `votedDirectoryId`) and reads 0 and 1. Written with
 * tmp + fsync + rename + fsync dir, so after a crash it holds the old or the new state whole.
 *
 * `write` is asynchronous: the driver performs a `persist-quorum-state` action with it and
 * confirms it to the replica when it resolves. `read` returns what was loaded or last written.
 */
import { join } from 'node:path';
import {
  newQuorumStateData,
  type QuorumStateData,
} from '../../protocol/generated/raft-records/quorum-state-data.ts';
import { readFileFully, writeFileAtomic } from '../../storage/io/atomic-file.ts';
import type { FileSystem } from '../../storage/io/file-system.ts';
import { BrokerError } from '../util/errors.ts';
import type { ElectionState } from './raft-log.ts';

export const quorumStateFileName = 'quorum-state';
const fileBytesMax = 64 * 1024;
const dataVersion = 1;
const zeroUuid = 'AAAAAAAAAAAAAAAAAAAAAA';

export function encodeQuorumState(state: ElectionState): Buffer {
  const data: Pick<QuorumStateData, 'leaderId' | 'leaderEpoch' | 'votedId' | 'votedDirectoryId'> = {
    leaderId: state.leaderId,
    leaderEpoch: state.epoch,
    votedId: state.votedId,
    votedDirectoryId: zeroUuid,
  };
  return Buffer.from(JSON.stringify({ ...data, data_version: dataVersion }), 'utf8');
}

/** Parses a quorum-state file; anything but a well-formed v0/v1 state is a BrokerError. */
export function decodeQuorumState(bytes: Buffer, path: string): ElectionState {
  const bad = (why: string, cause?: unknown) =>
    new BrokerError('RAFT_QUORUM_STATE_CORRUPT', `${path}: ${why}`, { cause });
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw bad('not JSON', error);
  }
  if (typeof parsed !== 'object' || parsed === null) throw bad('not an object');
  const json = parsed as Record<string, unknown>;
  const version = json.data_version;
  if (version !== 0 && version !== 1) throw bad(`unknown data_version ${String(version)}`);
  const defaults = newQuorumStateData();
  const int32 = (name: 'leaderId' | 'leaderEpoch' | 'votedId'): number => {
    const value = json[name] ?? defaults[name];
    if (!Number.isInteger(value) || (value as number) < -1 || (value as number) > 0x7fffffff) {
      throw bad(`${name} is not an int32 >= -1`);
    }
    return value as number;
  };
  const epoch = int32('leaderEpoch');
  return { epoch: Math.max(epoch, 0), votedId: int32('votedId'), leaderId: int32('leaderId') };
}

export class QuorumStateFile {
  readonly #fs: FileSystem;
  readonly #path: string;
  #state: ElectionState | undefined;

  private constructor(fs: FileSystem, path: string, state: ElectionState | undefined) {
    this.#fs = fs;
    this.#path = path;
    this.#state = state;
  }

  /** Loads `<dir>/quorum-state` (absent: no state yet). */
  static async open(fs: FileSystem, dir: string): Promise<QuorumStateFile> {
    const path = join(dir, quorumStateFileName);
    const bytes = await readFileFully(fs, path, fileBytesMax);
    return new QuorumStateFile(fs, path, bytes ? decodeQuorumState(bytes, path) : undefined);
  }

  read(): ElectionState | undefined {
    return this.#state;
  }

  /** Resolves once `state` is durable. Calls must not overlap (the driver runs them in order). */
  async write(state: ElectionState): Promise<void> {
    await writeFileAtomic(this.#fs, this.#path, encodeQuorumState(state));
    this.#state = { ...state };
  }
}
