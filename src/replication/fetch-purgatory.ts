/**
 * Where fetches wait for data (Kafka's fetch purgatory). A waiter names the partitions it
 * reads and how many new bytes would satisfy it; appends call `appended(key, bytes)`, which
 * adds the bytes to every waiter on that partition and releases those that now have enough.
 * A waiter is released by its timer (the injected Clock) at the latest. Bounded: past
 * `waitersMax` a new waiter is released at once (the fetch answers with what it has, which
 * Kafka clients handle like any short poll), and `close()` releases everyone.
 */
import type { Clock, TimerHandle } from '../util/clock.ts';

export const FETCH_WAITERS_MAX_DEFAULT = 10_000;

interface Waiter {
  readonly keys: readonly string[];
  readonly bytesNeeded: number;
  bytes: number;
  timer: TimerHandle | undefined;
  release: () => void;
}

export class FetchPurgatory {
  readonly #clock: Clock;
  readonly #waitersMax: number;
  readonly #byKey = new Map<string, Set<Waiter>>();
  #count = 0;
  #closed = false;

  constructor(clock: Clock, waitersMax = FETCH_WAITERS_MAX_DEFAULT) {
    this.#clock = clock;
    this.#waitersMax = waitersMax;
  }

  get waiting(): number {
    return this.#count;
  }

  /** Resolves when `bytesNeeded` new bytes were appended to `keys`, or after `timeoutMs`. */
  wait(keys: readonly string[], bytesNeeded: number, timeoutMs: number): Promise<void> {
    if (this.#closed || timeoutMs <= 0 || keys.length === 0 || this.#count >= this.#waitersMax) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let done = false;
      const waiter: Waiter = {
        keys,
        bytesNeeded,
        bytes: 0,
        timer: undefined,
        release: () => {
          if (done) return;
          done = true;
          waiter.timer?.cancel();
          for (const key of keys) {
            const set = this.#byKey.get(key);
            set?.delete(waiter);
            if (set?.size === 0) this.#byKey.delete(key);
          }
          this.#count--;
          resolve();
        },
      };
      this.#count++;
      for (const key of keys) {
        let set = this.#byKey.get(key);
        if (!set) this.#byKey.set(key, (set = new Set()));
        set.add(waiter);
      }
      waiter.timer = this.#clock.setTimer(timeoutMs, () => {
        waiter.timer = undefined;
        waiter.release();
      });
    });
  }

  /** `bytes` were appended to partition `key` (and are readable). */
  appended(key: string, bytes: number): void {
    const set = this.#byKey.get(key);
    if (!set) return;
    for (const waiter of [...set]) {
      waiter.bytes += bytes;
      if (waiter.bytes >= waiter.bytesNeeded) waiter.release();
    }
  }

  /** Releases every waiter; later waits return at once. */
  close(): void {
    this.#closed = true;
    for (const set of [...this.#byKey.values()]) for (const waiter of [...set]) waiter.release();
  }
}
