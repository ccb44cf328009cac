/**
 * The acks=-1 waiting room on a simulated clock: done when its check says so (on a poke),
 * REQUEST_TIMED_OUT by its timer, NOT_LEADER_OR_FOLLOWER on release and close, bounded.
 */
import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { DelayedProducePurgatory } from '../../../src/replication/delayed-produce.ts';
import { SimClock } from '../../../src/util/clock.ts';

async function peek(promise: Promise<number>): Promise<number | undefined> {
  let result: number | undefined;
  void promise.then((r) => {
    result = r;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return result;
}

describe('DelayedProducePurgatory', () => {
  test('a check already done answers at once without waiting', async () => {
    const purgatory = new DelayedProducePurgatory(new SimClock(0));
    expect(await purgatory.wait('t-0', 1000, () => ErrorCode.NONE)).toBe(ErrorCode.NONE);
    expect(purgatory.waiting).toBe(0);
  });

  test('pokes re-run the checks of that partition only; the timer answers the rest', async () => {
    const clock = new SimClock(0);
    const purgatory = new DelayedProducePurgatory(clock);
    let hw = 0;
    const a = purgatory.wait('t-0', 1000, () => (hw >= 5 ? ErrorCode.NONE : undefined));
    const b = purgatory.wait('t-1', 1000, () => (hw >= 5 ? ErrorCode.NONE : undefined));
    hw = 5;
    purgatory.poke('t-0');
    expect(await peek(a)).toBe(ErrorCode.NONE);
    expect(await peek(b)).toBeUndefined();
    clock.advance(999);
    expect(await peek(b)).toBeUndefined();
    clock.advance(1);
    expect(await peek(b)).toBe(ErrorCode.REQUEST_TIMED_OUT);
    expect(purgatory.waiting).toBe(0);
  });

  test('release and close answer NOT_LEADER_OR_FOLLOWER; bounded', async () => {
    const purgatory = new DelayedProducePurgatory(new SimClock(0), 2);
    const a = purgatory.wait('t-0', 1000, () => undefined);
    const b = purgatory.wait('t-1', 1000, () => undefined);
    expect(await purgatory.wait('t-1', 1000, () => undefined)).toBe(ErrorCode.REQUEST_TIMED_OUT);
    purgatory.release('t-0', ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(await peek(a)).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    purgatory.close();
    expect(await peek(b)).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(await purgatory.wait('t-2', 1000, () => undefined)).toBe(
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
  });
});
