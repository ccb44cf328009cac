/**
 * The simulation's clock: a min-heap of events keyed by (time, insertion order), so two runs
 * of one seed pop the same events in the same order.
 */

export interface SimEvent {
  readonly timeMs: number;
  readonly seq: number;
  readonly run: () => void;
}

export class EventQueue {
  #heap: SimEvent[] = [];
  #seq = 0;
  #nowMs: number;

  constructor(startMs: number) {
    this.#nowMs = startMs;
  }

  get nowMs(): number {
    return this.#nowMs;
  }

  get size(): number {
    return this.#heap.length;
  }

  at(timeMs: number, run: () => void): void {
    const event = { timeMs: Math.max(timeMs, this.#nowMs), seq: this.#seq++, run };
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(event, heap[parent] as SimEvent)) break;
      heap[i] = heap[parent] as SimEvent;
      i = parent;
    }
    heap[i] = event;
  }

  after(delayMs: number, run: () => void): void {
    this.at(this.#nowMs + delayMs, run);
  }

  /** Pops and runs the next event; false when none is left. */
  step(): boolean {
    const heap = this.#heap;
    const top = heap[0];
    if (!top) return false;
    const last = heap.pop() as SimEvent;
    if (heap.length > 0) siftDown(heap, last);
    this.#nowMs = top.timeMs;
    top.run();
    return true;
  }

  peekTimeMs(): number | undefined {
    return this.#heap[0]?.timeMs;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq);
}

function siftDown(heap: SimEvent[], event: SimEvent): void {
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    let child = left;
    if (right < heap.length && before(heap[right] as SimEvent, heap[left] as SimEvent))
      child = right;
    if (!before(heap[child] as SimEvent, event)) break;
    heap[i] = heap[child] as SimEvent;
    i = child;
  }
  heap[i] = event;
}
