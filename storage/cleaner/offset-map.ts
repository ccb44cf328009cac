/**
 * The compaction cleaner's key -> latest offset map, in a fixed block of memory.
 *
 * Layout: `slots` entries in two flat arrays. `words` holds 5 uint32 per slot: 4 words of key
 * identity, then a tag; `offsets` holds the offset (-1 = empty slot). An entry costs 28 bytes,
 * so `memoryBytes` holds `memoryBytes / 28` slots, of which `loadFactor` may be used before the
 * map reports itself full (open addressing degrades past ~0.9).
 *
 * Key identity: a key of at most 16 bytes is stored as itself (zero-padded, tag = length), so
 * short keys, the common case, are exact and cost no hashing. A longer key is stored as its
 * 16-byte MD5 digest (tag 0x100), as Kafka's SkimpyOffsetMap does for every key: memory stays
 * bounded whatever the key sizes. Two long keys with one digest would be treated as one (the
 * older record of the pair dropped); MD5 makes that a deliberate act, never an accident, and
 * Kafka accepts the same. The tag keeps a short key from ever equalling a digest.
 *
 * Probing is linear from a 32-bit mix of the identity words (murmur3's finalizer).
 *
 * The arrays start at INITIAL_SLOTS and double (rehashing) as keys arrive, up to the slots
 * `memoryBytes` allows: a log with few keys gets a table that stays in the CPU cache instead
 * of random accesses over the whole budget (64 MiB by default), which cost a cache miss each.
 */
import assert from 'node:assert';
import { hash } from 'node:crypto';

const WORDS_PER_SLOT = 5;
export const OFFSET_MAP_ENTRY_BYTES = WORDS_PER_SLOT * 4 + 8;
const EXACT_KEY_BYTES_MAX = 16;
const DIGEST_TAG = 0x100;
const INITIAL_SLOTS = 4096;

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class OffsetMap {
  /** The most slots the memory budget allows. */
  readonly slots: number;
  /** Distinct keys the map accepts before `put` of a new key fails. */
  readonly capacity: number;
  readonly #loadFactor: number;
  #tableSlots: number;
  #tableCapacity: number;
  #words: Uint32Array;
  #offsets: Float64Array;
  /** The identity of the key being looked up (reused: no allocation per record). */
  readonly #probe = new Uint32Array(WORDS_PER_SLOT);
  readonly #probeBytes = Buffer.from(this.#probe.buffer, 0, EXACT_KEY_BYTES_MAX);
  #size = 0;
  #latestOffset = -1;

  constructor(memoryBytes: number, loadFactor = 0.9) {
    assert(loadFactor > 0 && loadFactor <= 1);
    this.slots = Math.floor(memoryBytes / OFFSET_MAP_ENTRY_BYTES);
    assert(this.slots >= 2, 'offset map memory below two entries');
    this.#loadFactor = loadFactor;
    this.capacity = OffsetMap.#capacityOf(this.slots, loadFactor);
    this.#tableSlots = Math.min(this.slots, INITIAL_SLOTS);
    this.#tableCapacity = OffsetMap.#capacityOf(this.#tableSlots, loadFactor);
    this.#words = new Uint32Array(this.#tableSlots * WORDS_PER_SLOT);
    this.#offsets = new Float64Array(this.#tableSlots).fill(-1);
  }

  static #capacityOf(slots: number, loadFactor: number): number {
    // One slot always stays empty so that a probe for a missing key ends.
    return Math.min(slots - 1, Math.max(1, Math.floor(slots * loadFactor)));
  }

  /** Doubles the table (within the budget) and re-inserts every entry. */
  #grow(): void {
    const oldWords = this.#words;
    const oldOffsets = this.#offsets;
    this.#tableSlots = Math.min(this.slots, this.#tableSlots * 2);
    this.#tableCapacity = OffsetMap.#capacityOf(this.#tableSlots, this.#loadFactor);
    this.#words = new Uint32Array(this.#tableSlots * WORDS_PER_SLOT);
    this.#offsets = new Float64Array(this.#tableSlots).fill(-1);
    for (let i = 0; i < oldOffsets.length; i++) {
      const offset = oldOffsets[i] as number;
      if (offset < 0) continue;
      this.#probe.set(oldWords.subarray(i * WORDS_PER_SLOT, (i + 1) * WORDS_PER_SLOT));
      const slot = this.#slotOfProbe();
      this.#words.set(this.#probe, slot * WORDS_PER_SLOT);
      this.#offsets[slot] = offset;
    }
  }

  get size(): number {
    return this.#size;
  }

  /** The largest offset put so far, -1 when none. */
  get latestOffset(): number {
    return this.#latestOffset;
  }

  get full(): boolean {
    return this.#size >= this.capacity;
  }

  /** Loads the identity of the key `buf[start, start + length)` into #probe. */
  #identify(buf: Buffer, start: number, length: number): void {
    const probe = this.#probe;
    if (length <= EXACT_KEY_BYTES_MAX) {
      probe.fill(0);
      buf.copy(this.#probeBytes, 0, start, start + length);
      probe[4] = length;
    } else {
      hash('md5', buf.subarray(start, start + length), 'buffer').copy(this.#probeBytes);
      probe[4] = DIGEST_TAG;
    }
  }

  /** The slot holding #probe's key, or the empty slot where it would go. */
  #slotOfProbe(): number {
    const p = this.#probe;
    const p0 = p[0] as number;
    const p1 = p[1] as number;
    const p2 = p[2] as number;
    const p3 = p[3] as number;
    const p4 = p[4] as number;
    const words = this.#words;
    const slots = this.#tableSlots;
    let slot = mix(p0 ^ mix(p1 ^ mix(p2 ^ mix(p3 ^ p4)))) % slots;
    for (;;) {
      if ((this.#offsets[slot] as number) < 0) return slot;
      const at = slot * WORDS_PER_SLOT;
      if (
        words[at] === p0 &&
        words[at + 1] === p1 &&
        words[at + 2] === p2 &&
        words[at + 3] === p3 &&
        words[at + 4] === p4
      ) {
        return slot;
      }
      slot = slot + 1 === slots ? 0 : slot + 1;
    }
  }

  /**
   * Records `offset` as the latest for `key`. Returns false, changing nothing, when the key is
   * new and the map is full. Offsets must be put in increasing order.
   */
  put(key: Buffer, offset: number): boolean {
    return this.putRange(key, 0, key.length, offset);
  }

  /** `put` of the key `buf[start, start + length)`, without slicing it out. */
  putRange(buf: Buffer, start: number, length: number, offset: number): boolean {
    assert(offset > this.#latestOffset, 'offsets are put in increasing order');
    this.#identify(buf, start, length);
    let slot = this.#slotOfProbe();
    if ((this.#offsets[slot] as number) < 0) {
      if (this.full) return false;
      if (this.#size >= this.#tableCapacity) {
        this.#grow();
        this.#identify(buf, start, length);
        slot = this.#slotOfProbe();
      }
      this.#words.set(this.#probe, slot * WORDS_PER_SLOT);
      this.#size++;
    }
    this.#offsets[slot] = offset;
    this.#latestOffset = offset;
    return true;
  }

  /** The latest offset put for `key`, or -1. */
  get(key: Buffer): number {
    return this.getRange(key, 0, key.length);
  }

  /** `get` of the key `buf[start, start + length)`. */
  getRange(buf: Buffer, start: number, length: number): number {
    this.#identify(buf, start, length);
    return this.#offsets[this.#slotOfProbe()] as number;
  }

  clear(): void {
    if (this.#tableSlots > INITIAL_SLOTS) {
      this.#tableSlots = Math.min(this.slots, INITIAL_SLOTS);
      this.#tableCapacity = OffsetMap.#capacityOf(this.#tableSlots, this.#loadFactor);
      this.#words = new Uint32Array(this.#tableSlots * WORDS_PER_SLOT);
      this.#offsets = new Float64Array(this.#tableSlots);
    }
    this.#offsets.fill(-1);
    this.#size = 0;
    this.#latestOffset = -1;
  }
}
