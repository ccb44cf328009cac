/**
 * Time and timers, injected. Core code (raft, controller, replication, coordinators, the
 * log) never reads the wall clock or arms a timer itself: it is handed a Clock, so a seeded
 * simulation can drive it with SimClock and replay a run exactly.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (wall time: record timestamps, retention). */
  nowMs(): number;
  /** A monotonic millisecond reading for measuring intervals (never goes backwards). */
  monotonicMs(): number;
  /** Runs `fn` once after `delayMs`. */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

/** The real clock of a running broker. */
export class SystemClock implements Clock {
  nowMs(): number {
    return Date.now();
  }
  monotonicMs(): number {
    return performance.now();
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer = setTimeout(fn, Math.max(0, delayMs));
    // A pending timer must never be what keeps a stopped broker's process alive.
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  }
}

interface PendingTimer {
  readonly id: number;
  readonly dueMs: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * Simulated time for tests and simulations: time moves only when `advance` is called, and
 * timers fire in due order (ties in creation order), so a run is a pure function of its seed.
 */
export class SimClock implements Clock {
  #nowMs: number;
  #nextId = 0;
  #timers: PendingTimer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  monotonicMs(): number {
    return this.#nowMs;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer: PendingTimer = {
      id: this.#nextId++,
      dueMs: this.#nowMs + Math.max(0, delayMs),
      fn,
      cancelled: false,
    };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** The due time of the earliest live timer, if any. */
  nextTimerMs(): number | undefined {
    let earliest: number | undefined;
    for (const t of this.#timers) {
      if (!t.cancelled && (earliest === undefined || t.dueMs < earliest)) earliest = t.dueMs;
    }
    return earliest;
  }

  /** Moves time forward by `deltaMs`, firing every timer that falls due on the way. */
  advance(deltaMs: number): void {
    const targetMs = this.#nowMs + deltaMs;
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      let next: PendingTimer | undefined;
      for (const t of this.#timers) {
        if (t.dueMs > targetMs) continue;
        if (!next || t.dueMs < next.dueMs || (t.dueMs === next.dueMs && t.id < next.id)) next = t;
      }
      if (!next) break;
      this.#nowMs = Math.max(this.#nowMs, next.dueMs);
      next.cancelled = true;
      next.fn();
    }
    this.#nowMs = targetMs;
  }
}
