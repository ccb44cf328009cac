/**
 * An immutable map split into shards by key hash, for the image's topic indexes: a batch that
 * changes k topics of n copies at most k shards of about n / SHARDS entries each, instead of
 * the whole map, so a stream of small metadata batches on a cluster of many topics stays
 * cheap (with 10k topics, about 80 entries copied per touched shard instead of 10k).
 *
 * Iteration is shard by shard, then in insertion order within a shard: deterministic for
 * the same sequence of changes, but not overall insertion order.
 */

const SHARDS = 128;
const EMPTY_SHARD: ReadonlyMap<string, never> = new Map<string, never>();

/** FNV-1a over UTF-16 code units: cheap, and spreads topic names and ids well enough. */
function shardOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % SHARDS;
}

export class ShardedMap<V> {
  static empty<V>(): ShardedMap<V> {
    return new ShardedMap<V>(new Array<ReadonlyMap<string, V>>(SHARDS).fill(EMPTY_SHARD), 0);
  }

  readonly #shards: readonly ReadonlyMap<string, V>[];
  readonly size: number;

  private constructor(shards: readonly ReadonlyMap<string, V>[], size: number) {
    this.#shards = shards;
    this.size = size;
  }

  get(key: string): V | undefined {
    return this.#shards[shardOf(key)]?.get(key);
  }

  has(key: string): boolean {
    return this.#shards[shardOf(key)]?.has(key) ?? false;
  }

  *values(): IterableIterator<V> {
    for (const shard of this.#shards) yield* shard.values();
  }

  /** A draft that shares every shard with this map until it changes one. */
  edit(): ShardedMapDraft<V> {
    return new ShardedMapDraft(this.#shards, this.size, (shards, size) => {
      return new ShardedMap(shards, size);
    });
  }
}

export class ShardedMapDraft<V> {
  readonly #shards: ReadonlyMap<string, V>[];
  /** Shards this draft copied: changed in place until finish. */
  readonly #own = new Set<number>();
  readonly #make: (shards: readonly ReadonlyMap<string, V>[], size: number) => ShardedMap<V>;
  #size: number;

  constructor(
    shards: readonly ReadonlyMap<string, V>[],
    size: number,
    make: (shards: readonly ReadonlyMap<string, V>[], size: number) => ShardedMap<V>,
  ) {
    this.#shards = [...shards];
    this.#size = size;
    this.#make = make;
  }

  get(key: string): V | undefined {
    return this.#shards[shardOf(key)]?.get(key);
  }

  set(key: string, value: V): void {
    const shard = this.#ownShard(shardOf(key));
    if (!shard.has(key)) this.#size++;
    shard.set(key, value);
  }

  delete(key: string): void {
    const index = shardOf(key);
    if (!this.#shards[index]?.has(key)) return;
    this.#ownShard(index).delete(key);
    this.#size--;
  }

  finish(): ShardedMap<V> {
    return this.#make(this.#shards, this.#size);
  }

  #ownShard(index: number): Map<string, V> {
    if (!this.#own.has(index)) {
      this.#shards[index] = new Map(this.#shards[index]);
      this.#own.add(index);
    }
    return this.#shards[index] as Map<string, V>;
  }
}
