import { describe, expect, it } from 'vitest';
import {
  allowedTransitions,
  assertTransition,
  CandidateRole,
  FollowerRole,
  isTransitionAllowed,
  LeaderRole,
  ProspectiveRole,
  ResignedRole,
  RoleName,
  UnattachedRole,
} from '../../../src/raft/roles.ts';

describe('role transition table', () => {
  it('lists a row for every role', () => {
    expect(Object.keys(allowedTransitions).sort()).toEqual(Object.values(RoleName).sort());
  });

  it('lets only a candidate become leader', () => {
    for (const from of Object.values(RoleName)) {
      expect(isTransitionAllowed(from, 'leader')).toBe(from === 'candidate');
    }
  });

  it('makes a candidate come from a prospective replica (pre-vote first)', () => {
    for (const from of Object.values(RoleName)) {
      expect(isTransitionAllowed(from, 'candidate')).toBe(from === 'prospective');
    }
  });

  it('lets only a leader resign', () => {
    for (const from of Object.values(RoleName)) {
      expect(isTransitionAllowed(from, 'resigned')).toBe(from === 'leader');
    }
  });

  it('asserts on a move the table does not list', () => {
    const unattached = new UnattachedRole(1, -1, 0);
    expect(() => assertTransition(unattached, new LeaderRole(2, 1, 0))).toThrow(/illegal/);
    expect(() => assertTransition(unattached, new CandidateRole(2, 1, 0))).toThrow(/illegal/);
    const leader = new LeaderRole(3, 1, 0);
    expect(() => assertTransition(leader, new ProspectiveRole(3, 1, -1, 0))).toThrow(/illegal/);
  });

  it('asserts when the epoch goes backwards', () => {
    const follower = new FollowerRole(5, -1, 2, 0);
    expect(() => assertTransition(follower, new UnattachedRole(4, -1, 0))).toThrow(/epoch/);
  });

  it('asserts when a vote changes within an epoch, not when one is cast', () => {
    const open = new UnattachedRole(2, -1, 0);
    const voted = new UnattachedRole(2, 3, 0);
    expect(() => assertTransition(open, voted)).not.toThrow();
    expect(() => assertTransition(voted, new UnattachedRole(2, 4, 0))).toThrow(/vote/);
    expect(() => assertTransition(voted, new UnattachedRole(3, -1, 0))).not.toThrow();
  });

  it('asserts when the leader of an epoch changes, but lets an observer forget it', () => {
    const following = new FollowerRole(2, -1, 3, 0);
    expect(() => assertTransition(following, new FollowerRole(2, -1, 4, 0))).toThrow(/leader/);
    expect(() => assertTransition(following, new UnattachedRole(2, -1, 0))).not.toThrow();
  });

  it('keeps a resigned leader in its epoch', () => {
    const leader = new LeaderRole(4, 1, 10);
    expect(() => assertTransition(leader, new ResignedRole(4, 1, [2, 3], 0))).not.toThrow();
  });
});
