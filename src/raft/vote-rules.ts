/**
 * When a voter grants a vote or a pre-vote. A vote needs the candidate's log to be at least as
 * up to date as the voter's (last epoch, then length) — the rule that keeps every committed
 * entry in every future leader's log — and at most one vote per epoch. A pre-vote (KIP-996)
 * changes nothing durable, but a follower that has heard from its leader, or a leader, refuses
 * it, so a replica that is merely cut off cannot unseat a working leader.
 */
import type { VoteRequest } from './messages.ts';
import type { RaftLog } from './raft-log.ts';
import {
  FollowerRole,
  LeaderRole,
  ProspectiveRole,
  ResignedRole,
  type RoleState,
  UnattachedRole,
} from './roles.ts';

export function isLogUpToDate(log: RaftLog, lastOffsetEpoch: number, lastOffset: number): boolean {
  const lastEpoch = log.lastEpoch();
  return (
    lastOffsetEpoch > lastEpoch || (lastOffsetEpoch === lastEpoch && lastOffset >= log.endOffset())
  );
}

/** Whether `role` (already moved to the request's epoch for a real vote) grants `request`. */
export function canGrantVote(
  role: RoleState,
  request: VoteRequest,
  candidateLogUpToDate: boolean,
): boolean {
  if (request.preVote) {
    if (role instanceof LeaderRole || role instanceof ResignedRole) return false;
    if (role instanceof FollowerRole && role.hasFetchedFromLeader) return false;
    return candidateLogUpToDate;
  }
  if (role.votedId >= 0) return role.votedId === request.candidateId;
  const open = role instanceof UnattachedRole || role instanceof ProspectiveRole;
  return open && role.leaderId < 0 && candidateLogUpToDate;
}
