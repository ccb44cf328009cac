/**
 * Time, timers and randomness as storage receives them. storage/ may not import src/, so it
 * declares the shapes of src/util/clock.ts and src/util/random.ts structurally; the real
 * SystemClock/SimClock and SeededRandom satisfy them as they are.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Wall time, ms since the Unix epoch (timestamps, segment age). */
  nowMs(): number;
  /** Monotonic ms for intervals. */
  monotonicMs(): number;
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max] (inclusive). */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
}
