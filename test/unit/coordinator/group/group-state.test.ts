import { describe, expect, test } from 'vitest';
import {
  allGroupStates,
  assertTransition,
  canTransition,
  GroupState,
} from '../../../../src/coordinator/group/index.ts';

describe('classic group transitions', () => {
  const allowed = new Set([
    'PreparingRebalance->Empty',
    'Stable->PreparingRebalance',
    'CompletingRebalance->PreparingRebalance',
    'Empty->PreparingRebalance',
    'PreparingRebalance->CompletingRebalance',
    'CompletingRebalance->Stable',
    'Stable->Dead',
    'PreparingRebalance->Dead',
    'CompletingRebalance->Dead',
    'Empty->Dead',
    'Dead->Dead',
  ]);

  test.each(allGroupStates.flatMap((from) => allGroupStates.map((to) => [from, to] as const)))(
    '%s -> %s follows Kafka',
    (from, to) => {
      const legal = allowed.has(`${from}->${to}`);
      expect(canTransition(from, to)).toBe(legal);
      if (legal) expect(() => assertTransition('g', from, to)).not.toThrow();
      else expect(() => assertTransition('g', from, to)).toThrow(/illegal transition/);
    },
  );

  test('five states', () => {
    expect(allGroupStates).toEqual([
      GroupState.Empty,
      GroupState.PreparingRebalance,
      GroupState.CompletingRebalance,
      GroupState.Stable,
      GroupState.Dead,
    ]);
  });
});
