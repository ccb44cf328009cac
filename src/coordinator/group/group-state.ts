/**
 * The five states of a classic group and the only moves between them. Every transition is
 * checked against this table: an illegal one is our bug, so it is an assertion, never an
 * error code.
 *
 *   Empty -> PreparingRebalance -> CompletingRebalance -> Stable
 *              ^      |  (no members left: back to Empty)     |
 *              +------+---------------------------------------+  (any member change)
 *   Dead is reachable from every state and is final (unloaded, deleted, or expired).
 */
import assert from 'node:assert/strict';

export const GroupState = {
  Empty: 'Empty',
  PreparingRebalance: 'PreparingRebalance',
  CompletingRebalance: 'CompletingRebalance',
  Stable: 'Stable',
  Dead: 'Dead',
} as const;

export type GroupStateName = (typeof GroupState)[keyof typeof GroupState];

/** For each state, the states a group may be in just before entering it (Kafka's table). */
export const validPreviousStates: Readonly<Record<GroupStateName, readonly GroupStateName[]>> = {
  Empty: [GroupState.PreparingRebalance],
  PreparingRebalance: [GroupState.Stable, GroupState.CompletingRebalance, GroupState.Empty],
  CompletingRebalance: [GroupState.PreparingRebalance],
  Stable: [GroupState.CompletingRebalance],
  Dead: [
    GroupState.Stable,
    GroupState.PreparingRebalance,
    GroupState.CompletingRebalance,
    GroupState.Empty,
    GroupState.Dead,
  ],
};

export function canTransition(from: GroupStateName, to: GroupStateName): boolean {
  return validPreviousStates[to].includes(from);
}

export function assertTransition(groupId: string, from: GroupStateName, to: GroupStateName): void {
  assert(canTransition(from, to), `group ${groupId}: illegal transition ${from} -> ${to}`);
}

export const allGroupStates: readonly GroupStateName[] = Object.values(GroupState);
