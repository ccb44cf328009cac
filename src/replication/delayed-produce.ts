/**
 * Where acks=-1 produces wait for replication (Kafka's produce purgatory). A waiter is one
 * partition of one request: it waits until its partition's check says done (the high
 * watermark passed the batch: NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank
 * below min.insync.replicas meanwhile), until its timeout (REQUEST_TIMED_OUT), or until its
 * partition changes hands (`release`, NOT_LEADER_OR_FOLLOWER). `poke(key)` re-runs the checks
 * of a partition (HW advance, ISR change). Bounded: past `waitersMax` a new waiter is answered
 * REQUEST_TIMED_OUT at once (the records are written; an idempotent retry is deduplicated).
 * Timers run on the injected Clock.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';

export const PRODUCE_WAITERS_MAX_DEFAULT = 50_000;

/** The Kafka error code once done, or undefined to keep waiting. */
export type ProduceCheck = () => number | undefined;

interface Waiter {
  readonly key: string;
  readonly check: ProduceCheck;
  timer: TimerHandle | undefined;
  finish(errorCode: number): void;
}

export class DelayedProducePurgatory {
  readonly #clock: Clock;
  readonly #waitersMax: number;
  readonly #byKey = new Map<string, Set<Waiter>>();
  #count = 0;
  #closed = false;

  constructor(clock: Clock, waitersMax = PRODUCE_WAITERS_MAX_DEFAULT) {
    this.#clock = clock;
    this.#waitersMax = waitersMax;
  }

  get waiting(): number {
    return this.#count;
  }

  /** Resolves with the partition's error code (NONE once replicated). */
  wait(key: string, timeoutMs: number, check: ProduceCheck): Promise<number> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    if (this.#closed) return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (timeoutMs <= 0 || this.#count >= this.#waitersMax) {
      return Promise.resolve(ErrorCode.REQUEST_TIMED_OUT);
    }
    return new Promise((resolve) => {
      let done = false;
      const waiter: Waiter = {
        key,
        check,
        timer: undefined,
        finish: (errorCode) => {
          if (done) return;
          done = true;
          waiter.timer?.cancel();
          const set = this.#byKey.get(key);
          set?.delete(waiter);
          if (set?.size === 0) this.#byKey.delete(key);
          this.#count--;
          resolve(errorCode);
        },
      };
      this.#count++;
      let set = this.#byKey.get(key);
      if (!set) this.#byKey.set(key, (set = new Set()));
      set.add(waiter);
      waiter.timer = this.#clock.setTimer(timeoutMs, () => {
        waiter.timer = undefined;
        waiter.finish(ErrorCode.REQUEST_TIMED_OUT);
      });
    });
  }

  /** Re-checks the waiters of partition `key`. */
  poke(key: string): void {
    const set = this.#byKey.get(key);
    if (!set) return;
    for (const waiter of [...set]) {
      const result = waiter.check();
      if (result !== undefined) waiter.finish(result);
    }
  }

  /** Answers every waiter of `key` with `errorCode` (the partition changed hands). */
  release(key: string, errorCode: number): void {
    const set = this.#byKey.get(key);
    if (!set) return;
    for (const waiter of [...set]) waiter.finish(errorCode);
  }

  /** Answers everyone NOT_LEADER_OR_FOLLOWER (the broker stops); later waits too. */
  close(): void {
    this.#closed = true;
    for (const set of [...this.#byKey.values()]) {
      for (const waiter of [...set]) waiter.finish(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
  }
}
