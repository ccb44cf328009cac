/**
 * A FIFO with a fixed capacity, stored in a ring so pushes and shifts never move elements.
 * Every queue in Brook has a bound: a producer that finds the queue full must wait or refuse,
 * never grow memory without limit. `push` on a full queue is a caller bug (check `isFull`).
 */
import assert from 'node:assert/strict';

export class BoundedQueue<T> {
  readonly capacity: number;
  #items: (T | undefined)[];
  #head = 0;
  #length = 0;

  constructor(capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity > 0, `bad queue capacity ${capacity}`);
    this.capacity = capacity;
    // Grown on demand up to `capacity`, so a generous bound costs nothing until it is used.
    this.#items = [];
  }

  get length(): number {
    return this.#length;
  }

  isEmpty(): boolean {
    return this.#length === 0;
  }

  isFull(): boolean {
    return this.#length === this.capacity;
  }

  push(item: T): void {
    assert(!this.isFull(), 'push on a full BoundedQueue');
    if (this.#items.length < this.capacity && this.#head === 0) {
      this.#items.push(item);
    } else {
      this.#growIfWrapped();
      this.#items[(this.#head + this.#length) % this.#items.length] = item;
    }
    this.#length++;
  }

  /** The oldest item, or undefined when empty. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#length--;
    if (this.#length === 0) {
      this.#head = 0;
      this.#items.length = 0;
    }
    return item;
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    while (this.#length > 0) out.push(this.shift() as T);
    return out;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#length; i++) {
      yield this.#items[(this.#head + i) % this.#items.length] as T;
    }
  }

  /**
   * The backing array is only allowed to grow while the ring is not wrapped; once the head has
   * moved and the array is below capacity, unwrap it into a full-capacity array first.
   */
  #growIfWrapped(): void {
    if (this.#items.length === this.capacity) return;
    const unwrapped: (T | undefined)[] = new Array(this.capacity);
    for (let i = 0; i < this.#length; i++) {
      unwrapped[i] = this.#items[(this.#head + i) % this.#items.length];
    }
    this.#items = unwrapped;
    this.#head = 0;
  }
}
