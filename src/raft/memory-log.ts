/**
 * An in-memory RaftLog for simulations and tests. It models a disk with a volatile tail:
 * entries past the last `flush` are lost by `crash()`. Truncations and snapshots are durable at
 * once (a file truncate and an fsync'd rename), which is the order a file-backed log must keep.
 */
import assert from 'node:assert';
import type { OffsetAndEpoch, RaftEntry } from './messages.ts';
import type { ElectionState, QuorumStateStore, RaftLog, RaftSnapshot } from './raft-log.ts';

interface EpochStart {
  readonly epoch: number;
  startOffset: number;
}

export class MemoryRaftLog implements RaftLog {
  #entries: RaftEntry[] = [];
  #startOffset = 0;
  #durableEndOffset = 0;
  #epochStarts: EpochStart[] = [];
  #snapshot: RaftSnapshot | undefined;

  startOffset(): number {
    return this.#startOffset;
  }

  endOffset(): number {
    return this.#startOffset + this.#entries.length;
  }

  /** One past the last entry a crash would keep. */
  durableEndOffset(): number {
    return this.#durableEndOffset;
  }

  lastEpoch(): number {
    const last = this.#epochStarts.at(-1);
    return last ? last.epoch : (this.#snapshot?.id.epoch ?? 0);
  }

  epochAt(offset: number): number {
    const entry = this.#entries[offset - this.#startOffset];
    if (entry) return entry.epoch;
    if (this.#snapshot && offset === this.#snapshot.id.endOffset - 1)
      return this.#snapshot.id.epoch;
    return -1;
  }

  endOffsetForEpoch(epoch: number): OffsetAndEpoch {
    let index = -1;
    for (let i = this.#epochStarts.length - 1; i >= 0; i--) {
      if ((this.#epochStarts[i] as EpochStart).epoch <= epoch) {
        index = i;
        break;
      }
    }
    if (index < 0) {
      const snapshotEpoch = this.#snapshot?.id.epoch ?? 0;
      if (snapshotEpoch > epoch) return { epoch: -1, endOffset: -1 };
      return { epoch: snapshotEpoch, endOffset: this.#startOffset };
    }
    const found = this.#epochStarts[index] as EpochStart;
    const next = this.#epochStarts[index + 1];
    return { epoch: found.epoch, endOffset: next ? next.startOffset : this.endOffset() };
  }

  append(entries: readonly RaftEntry[]): void {
    for (const entry of entries) {
      assert.equal(entry.offset, this.endOffset(), 'append must continue the log');
      const lastEpoch = this.lastEpoch();
      assert.ok(entry.epoch >= lastEpoch, 'entry epochs never decrease');
      if (entry.epoch > lastEpoch || this.#epochStarts.length === 0) {
        this.#epochStarts.push({ epoch: entry.epoch, startOffset: entry.offset });
      }
      this.#entries.push(entry);
    }
  }

  read(fromOffset: number, maxEntries: number): readonly RaftEntry[] {
    assert.ok(fromOffset >= this.#startOffset, 'read below the log start');
    const from = fromOffset - this.#startOffset;
    return this.#entries.slice(from, from + maxEntries);
  }

  truncateTo(offset: number): void {
    assert.ok(offset >= this.#startOffset, 'truncation below the log start');
    if (offset >= this.endOffset()) return;
    this.#entries.length = offset - this.#startOffset;
    this.#epochStarts = this.#epochStarts.filter((e) => e.startOffset < offset);
    this.#durableEndOffset = Math.min(this.#durableEndOffset, offset);
  }

  flush(): number {
    this.#durableEndOffset = this.endOffset();
    return this.#durableEndOffset;
  }

  latestSnapshot(): RaftSnapshot | undefined {
    return this.#snapshot;
  }

  storeSnapshot(snapshot: RaftSnapshot): void {
    const { endOffset, epoch } = snapshot.id;
    assert.ok(endOffset > this.#startOffset && endOffset <= this.#durableEndOffset);
    assert.equal(this.epochAt(endOffset - 1), epoch, 'snapshot epoch must match its last entry');
    this.#entries = this.#entries.slice(endOffset - this.#startOffset);
    this.#startOffset = endOffset;
    this.#epochStarts = this.#epochStarts.filter((_e, i) => {
      const next = this.#epochStarts[i + 1];
      return !next || next.startOffset > endOffset;
    });
    for (const e of this.#epochStarts) e.startOffset = Math.max(e.startOffset, endOffset);
    if (this.#epochStarts.length > 0 && this.#entries.length === 0) this.#epochStarts = [];
    this.#snapshot = snapshot;
  }

  installSnapshot(snapshot: RaftSnapshot): void {
    this.#entries = [];
    this.#epochStarts = [];
    this.#startOffset = snapshot.id.endOffset;
    this.#durableEndOffset = snapshot.id.endOffset;
    this.#snapshot = snapshot;
  }

  /** A power loss: every entry past the last flush is gone. */
  crash(): void {
    this.truncateTo(Math.max(this.#durableEndOffset, this.#startOffset));
  }
}

/** A QuorumStateStore in memory: `write` stands for write + fsync, so it survives `crash`. */
export class MemoryQuorumStateStore implements QuorumStateStore {
  #state: ElectionState | undefined;

  read(): ElectionState | undefined {
    return this.#state;
  }

  write(state: ElectionState): void {
    this.#state = { ...state };
  }
}
