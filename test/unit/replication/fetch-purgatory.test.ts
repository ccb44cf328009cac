/**
 * The fetch purgatory on a simulated clock: released by enough appended bytes, by its timer,
 * by close(); bounded in waiters.
 */
import { describe, expect, test } from 'vitest';
import { FetchPurgatory } from '../../../src/replication/fetch-purgatory.ts';
import { SimClock } from '../../../src/util/clock.ts';

const settled = async (promise: Promise<void>): Promise<boolean> => {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('FetchPurgatory', () => {
  test('bytes on any watched partition add up; the timer releases the rest', async () => {
    const clock = new SimClock(0);
    const purgatory = new FetchPurgatory(clock);
    const waiter = purgatory.wait(['t-0', 't-1'], 100, 1000);
    const other = purgatory.wait(['u-0'], 1, 1000);
    purgatory.appended('t-0', 60);
    expect(await settled(waiter)).toBe(false);
    purgatory.appended('t-1', 40);
    expect(await settled(waiter)).toBe(true);
    expect(purgatory.waiting).toBe(1);
    clock.advance(999);
    expect(await settled(other)).toBe(false);
    clock.advance(1);
    expect(await settled(other)).toBe(true);
    expect(purgatory.waiting).toBe(0);
  });

  test('bounded: past the limit a wait returns at once; close releases everyone', async () => {
    const purgatory = new FetchPurgatory(new SimClock(0), 2);
    const first = purgatory.wait(['a'], 1, 1000);
    const second = purgatory.wait(['a', 'b'], 1, 1000);
    expect(await settled(purgatory.wait(['a'], 1, 1000))).toBe(true);
    expect(purgatory.waiting).toBe(2);
    purgatory.close();
    expect(await settled(first)).toBe(true);
    expect(await settled(second)).toBe(true);
    expect(purgatory.waiting).toBe(0);
    expect(await settled(purgatory.wait(['a'], 1, 1000))).toBe(true);
  });
});
