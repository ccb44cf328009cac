/**
 * The simulation's log: MemoryRaftLog (which loses unflushed entries on `crash`) plus a chain
 * hash per offset, the hash of the whole prefix up to and including that entry. Two logs agree
 * on a prefix exactly when their chain hashes at its last offset agree, which makes log matching
 * and "a committed entry never changes" O(1) checks. The sim's state machine folds committed
 * entries with the same function, so its state at offset N equals the chain hash at N - 1; a
 * snapshot is that state.
 */
import { MemoryRaftLog } from '../../src/raft/memory-log.ts';
import type { RaftEntry } from '../../src/raft/messages.ts';
import type { RaftSnapshot } from '../../src/raft/raft-log.ts';

const twoPow32 = 0x1_0000_0000;

/** Folds one entry into a prefix hash (53 bits: two mixed 32-bit lanes). */
export function chainHash(previous: number, epoch: number, data: Uint8Array): number {
  let lo = previous % twoPow32;
  let hi = Math.floor(previous / twoPow32);
  const mix = (x: number): void => {
    lo = Math.imul(lo ^ x, 0x01000193) >>> 0;
    hi = Math.imul(hi ^ x ^ (lo >>> 7), 0x5bd1e995) >>> 0;
  };
  mix(epoch);
  mix(data.length);
  for (const byte of data) mix(byte);
  return (hi & 0x1fffff) * twoPow32 + lo;
}

export function encodeState(hash: number): Uint8Array {
  const data = new Uint8Array(8);
  new DataView(data.buffer).setFloat64(0, hash);
  return data;
}

export function decodeState(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(0);
}

export class SimLog extends MemoryRaftLog {
  /** Chain hash by absolute offset; holes below a fetched snapshot. */
  #hashes: number[] = [];
  readonly #onAppend: ((offset: number, epoch: number, hash: number) => void) | undefined;

  constructor(onAppend?: (offset: number, epoch: number, hash: number) => void) {
    super();
    this.#onAppend = onAppend;
  }

  override append(entries: readonly RaftEntry[]): void {
    const first = entries[0];
    let previous = first ? (this.hashAt(first.offset - 1) ?? 0) : 0;
    super.append(entries);
    for (const entry of entries) {
      previous = chainHash(previous, entry.epoch, entry.data);
      this.#hashes[entry.offset] = previous;
      this.#onAppend?.(entry.offset, entry.epoch, previous);
    }
  }

  override truncateTo(offset: number): void {
    super.truncateTo(offset);
    if (this.#hashes.length > offset) this.#hashes.length = offset;
  }

  override installSnapshot(snapshot: RaftSnapshot): void {
    super.installSnapshot(snapshot);
    this.#hashes = [];
  }

  override crash(): void {
    super.crash();
    if (this.#hashes.length > this.endOffset()) this.#hashes.length = this.endOffset();
  }

  /** The prefix hash at `offset`, if this log still knows it. */
  hashAt(offset: number): number | undefined {
    if (offset < 0 || offset >= this.endOffset()) return undefined;
    const snapshot = this.latestSnapshot();
    if (snapshot && offset === snapshot.id.endOffset - 1) return decodeState(snapshot.data);
    return this.#hashes[offset];
  }

  /** Whether this log's durable part holds the committed prefix of length `length`. */
  holdsDurably(committed: readonly number[], length: number): boolean {
    if (length === 0) return true;
    if (this.durableEndOffset() < length) return false;
    const hash = this.hashAt(length - 1);
    if (hash !== undefined) return hash === committed[length - 1];
    // Compacted away: the snapshot's prefix hash covers the offset.
    const start = this.startOffset();
    return start >= length && this.hashAt(start - 1) === committed[start - 1];
  }
}
