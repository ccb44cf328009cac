/**
 * The simulated network and process clocks of the cluster simulation (cluster-sim.ts).
 *
 * - `SimNetwork` delivers a message after a seeded 1-`delayMaxMs` ms, unless the link is cut
 *   (a node isolated, or one pair cut) when it is sent or when it arrives, or it is dropped
 *   (probability `dropRate`). A dropped request is never answered: callers time out on their
 *   own timers, as over TCP.
 * - `ProcessClock` is one node incarnation's view of the shared SimClock: once the process
 *   "dies" its timers never fire again, so a crashed node's code stops without being asked.
 */
import type { Clock, SimClock, TimerHandle } from '../../src/util/clock.ts';
import type { SeededRandom } from '../../src/util/random.ts';

export class ProcessClock implements Clock {
  readonly #clock: SimClock;
  alive = true;

  constructor(clock: SimClock) {
    this.#clock = clock;
  }

  nowMs(): number {
    return this.#clock.nowMs();
  }

  monotonicMs(): number {
    return this.#clock.monotonicMs();
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    return this.#clock.setTimer(delayMs, () => {
      if (this.alive) fn();
    });
  }
}

export class SimNetwork {
  readonly #clock: SimClock;
  readonly #random: SeededRandom;
  /** Nodes cut off from every other node. */
  readonly isolated = new Set<number>();
  /** Cut links, as `min-max` of the two node ids. */
  readonly cutLinks = new Set<string>();
  dropRate = 0;
  delayMaxMs = 5;
  sent = 0;
  dropped = 0;

  constructor(clock: SimClock, random: SeededRandom) {
    this.#clock = clock;
    this.#random = random;
  }

  connected(a: number, b: number): boolean {
    if (a === b) return true;
    if (this.isolated.has(a) || this.isolated.has(b)) return false;
    return !this.cutLinks.has(linkKey(a, b));
  }

  /** Runs `deliver` at `to` later, if the link holds; `alive` says whether both ends live. */
  send(from: number, to: number, alive: () => boolean, deliver: () => void): void {
    this.sent++;
    if (!this.connected(from, to) || this.#random.chance(this.dropRate)) {
      this.dropped++;
      return;
    }
    this.#clock.setTimer(this.#random.int(1, this.delayMaxMs), () => {
      if (this.connected(from, to) && alive()) deliver();
      else this.dropped++;
    });
  }

  heal(): void {
    this.isolated.clear();
    this.cutLinks.clear();
    this.dropRate = 0;
  }
}

export function linkKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}
