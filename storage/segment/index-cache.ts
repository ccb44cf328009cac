/**
 * A memory budget for the indexes of inactive segments, shared by every log of a broker.
 *
 * The active segment's indexes stay in memory (every append writes to them). An inactive
 * segment's indexes are loaded from their files when a read or a lookup first needs them and
 * are registered here; when the total exceeds `bytesMax` the least recently used are dropped
 * (and reloaded on the next need). This is what keeps 10,000 partitions with long histories
 * within a fixed memory: index memory is bounded by the budget, not by the data on disk.
 * Default budget (64 MiB) holds the indexes of about 32 GiB of log at 4 KiB intervals.
 */
export interface EvictableIndexes {
  /** Drops the loaded indexes; the owner reloads them on the next lookup. */
  dropIndexes(): void;
}

export const INDEX_CACHE_BYTES_DEFAULT = 64 * 1024 * 1024;

export class IndexCache {
  readonly bytesMax: number;
  #entries = new Map<EvictableIndexes, number>();
  #bytes = 0;

  constructor(bytesMax = INDEX_CACHE_BYTES_DEFAULT) {
    this.bytesMax = bytesMax;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Marks `owner` as just used, holding `bytes`; evicts others if over budget. */
  touch(owner: EvictableIndexes, bytes: number): void {
    const previous = this.#entries.get(owner);
    if (previous !== undefined) {
      this.#entries.delete(owner);
      this.#bytes -= previous;
    }
    this.#entries.set(owner, bytes);
    this.#bytes += bytes;
    for (const [other, otherBytes] of this.#entries) {
      if (this.#bytes <= this.bytesMax || other === owner) break;
      this.#entries.delete(other);
      this.#bytes -= otherBytes;
      other.dropIndexes();
    }
  }

  /** Forgets `owner` (it became active, or was deleted) without calling dropIndexes. */
  forget(owner: EvictableIndexes): void {
    const bytes = this.#entries.get(owner);
    if (bytes === undefined) return;
    this.#entries.delete(owner);
    this.#bytes -= bytes;
  }
}
