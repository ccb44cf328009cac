/**
 * The narrow storage interfaces the quorum needs. Appends and truncations act on the log's
 * volatile view at once (like writes to the page cache); durability is a separate `flush`
 * that the replica asks for as a storage action and learns about through a later call, so it
 * never counts an entry it has not been told is durable.
 *
 * A file-backed implementation maps one entry to one record of a RecordBatch in a segment, the
 * epochs to a leader-epoch checkpoint, and snapshots to `<endOffset>-<epoch>.checkpoint` files
 * written with fsync + rename (see README.md).
 */
import type { OffsetAndEpoch, RaftEntry } from './messages.ts';

/** The state machine's state at `id.endOffset` (exclusive), written by the layer above. */
export interface RaftSnapshot {
  readonly id: OffsetAndEpoch;
  readonly data: Uint8Array;
}

export interface RaftLog {
  /** The first offset still held as an entry (a snapshot's end offset, or 0). */
  startOffset(): number;
  /** One past the last entry, durable or not. */
  endOffset(): number;
  /** The epoch of the last entry, else of the latest snapshot, else 0. */
  lastEpoch(): number;
  /** The epoch of the entry at `offset`, or of the snapshot ending just past it; -1 if unknown. */
  epochAt(offset: number): number;
  /**
   * Kafka's `endOffsetForEpoch`: the largest epoch <= `epoch` this log knows, and the offset
   * where that epoch ends here (the log end if it is the last epoch).
   */
  endOffsetForEpoch(epoch: number): OffsetAndEpoch;
  /** Appends entries whose offsets start at `endOffset()` and whose epochs never decrease. */
  append(entries: readonly RaftEntry[]): void;
  /** Entries from `fromOffset` (>= startOffset) while fewer than `maxEntries`. */
  read(fromOffset: number, maxEntries: number): readonly RaftEntry[];
  /** Drops every entry at or after `offset` (>= startOffset). */
  truncateTo(offset: number): void;
  /** Makes every appended entry durable; returns the durable end offset. */
  flush(): number;
  latestSnapshot(): RaftSnapshot | undefined;
  /** Stores a snapshot of a durable prefix (written durably) and drops the entries below it. */
  storeSnapshot(snapshot: RaftSnapshot): void;
  /** Replaces the whole log by a snapshot fetched from the leader (written durably). */
  installSnapshot(snapshot: RaftSnapshot): void;
}

/** Kafka's quorum-state file: the epoch, who this replica voted for, and the known leader. */
export interface ElectionState {
  readonly epoch: number;
  /** -1 when this replica has not voted in `epoch`. */
  readonly votedId: number;
  /** -1 when the leader of `epoch` is unknown. */
  readonly leaderId: number;
}

/** Holds the ElectionState; `write` returns only once the state is durable (fsync). */
export interface QuorumStateStore {
  read(): ElectionState | undefined;
  write(state: ElectionState): void;
}
