import { AssertionError } from 'node:assert';
import { describe, expect, test } from 'vitest';
import { BoundedQueue } from '../../../src/util/bounded-queue.ts';
import { SeededRandom } from '../../../src/util/random.ts';

describe('BoundedQueue', () => {
  test('behaves as a FIFO of bounded length under random pushes and shifts', () => {
    const seed = Date.now() >>> 0;
    const random = new SeededRandom(seed);
    const queue = new BoundedQueue<number>(7);
    const model: number[] = [];
    for (let i = 0; i < 5000; i++) {
      if (!queue.isFull() && random.chance(0.55)) {
        queue.push(i);
        model.push(i);
      } else {
        expect(queue.shift(), `seed ${seed}`).toBe(model.shift());
      }
      expect(queue.length).toBe(model.length);
      expect(queue.peek()).toBe(model[0]);
      expect([...queue], `seed ${seed}`).toEqual(model);
    }
    expect(queue.drain()).toEqual(model);
    expect(queue.isEmpty()).toBe(true);
  });

  test('pushing onto a full queue is a bug', () => {
    const queue = new BoundedQueue<string>(2);
    queue.push('a');
    queue.push('b');
    expect(() => queue.push('c')).toThrow(AssertionError);
    expect(() => new BoundedQueue(0)).toThrow(AssertionError);
  });
});
