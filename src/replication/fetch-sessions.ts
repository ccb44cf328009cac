/**
 * Incremental fetch sessions (KIP-227): the broker remembers a consumer's partitions and
 * fetch positions, so later requests name only what changed and responses carry only the
 * partitions with news (records, a moved high watermark or log start, an error).
 *
 * A session is created by a full fetch with epoch 0 (the answer carries its id), then each
 * incremental fetch must carry the next epoch (1, 2, ... wrapping to 1), and epoch -1 closes
 * it. Bounded: at most `slotsMax` sessions (Kafka's max.incremental.fetch.session.cache.slots,
 * 1000); when full, a session idle for longer than `idleEvictionMs` (Kafka's 120 s) gives its
 * slot, else the new fetch runs without a session (id 0), which clients accept.
 */
import type { Clock } from '../util/clock.ts';
import type { Random } from '../util/random.ts';

export const FETCH_SESSION_SLOTS_MAX = 1000;
export const FETCH_SESSION_IDLE_EVICTION_MS = 120_000;
/** Partitions one session may hold: a consumer of more runs sessionless. */
export const FETCH_SESSION_PARTITIONS_MAX = 100_000;
const INT32_MAX = 0x7fff_ffff;

export interface SessionPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  /** What the last response told the client (-1: never sent), to detect news. */
  sentHighWatermark: number;
  sentLogStartOffset: number;
}

export class FetchSession {
  readonly id: number;
  /** The epoch the next incremental request must carry. */
  nextEpoch = 1;
  lastUsedMs: number;
  /** Partitions in the order they were added, keyed by `sessionKey`. */
  readonly partitions = new Map<string, SessionPartition>();

  constructor(id: number, nowMs: number) {
    this.id = id;
    this.lastUsedMs = nowMs;
  }

  advanceEpoch(nowMs: number): void {
    this.nextEpoch = this.nextEpoch === INT32_MAX ? 1 : this.nextEpoch + 1;
    this.lastUsedMs = nowMs;
  }
}

/** Topic ids from v13 on, names before: the key the client uses for a partition. */
export function sessionKey(byId: boolean, topic: string, topicId: string, partition: number) {
  return `${byId ? topicId : topic}\u0000${partition}`;
}

export class FetchSessionCache {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #slotsMax: number;
  readonly #idleEvictionMs: number;
  readonly #sessions = new Map<number, FetchSession>();

  constructor(
    clock: Clock,
    random: Random,
    slotsMax = FETCH_SESSION_SLOTS_MAX,
    idleEvictionMs = FETCH_SESSION_IDLE_EVICTION_MS,
  ) {
    this.#clock = clock;
    this.#random = random;
    this.#slotsMax = slotsMax;
    this.#idleEvictionMs = idleEvictionMs;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(id: number): FetchSession | undefined {
    return this.#sessions.get(id);
  }

  remove(id: number): void {
    this.#sessions.delete(id);
  }

  /** A new session, or undefined when every slot is taken by a recently used one. */
  create(): FetchSession | undefined {
    const nowMs = this.#clock.monotonicMs();
    if (this.#sessions.size >= this.#slotsMax && !this.#evictIdle(nowMs)) return undefined;
    let id: number;
    do id = this.#random.int(1, INT32_MAX);
    while (this.#sessions.has(id));
    const session = new FetchSession(id, nowMs);
    this.#sessions.set(id, session);
    return session;
  }

  nowMs(): number {
    return this.#clock.monotonicMs();
  }

  #evictIdle(nowMs: number): boolean {
    for (const [id, session] of this.#sessions) {
      if (nowMs - session.lastUsedMs > this.#idleEvictionMs) {
        this.#sessions.delete(id);
        return true;
      }
    }
    return false;
  }
}
