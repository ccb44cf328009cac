/**
 * The one place that decides a partition's next leader and ISR (after Kafka's
 * PartitionChangeBuilder). Callers say what should change — an ISR without a broker, an
 * election — and get the PartitionChangeRecord that does it, or null when nothing changes.
 *
 * Rules:
 * - A leader must be active (registered, unfenced, not in controlled shutdown) and in the ISR.
 *   A leader that still qualifies is kept unless a preferred election asks for replicas[0].
 * - Otherwise the first active ISR member in replica order leads (a clean election).
 * - With none: if unclean election is allowed, the first active replica leads alone with
 *   leaderRecoveryState RECOVERING; else the partition goes leaderless (-1).
 * - The ISR never becomes empty: removing its last member keeps that member (it holds the
 *   latest data, so it must lead again once it returns), with the leader -1.
 * - The record names a leader only when the leader changes, so its replay's leader-epoch bump
 *   happens exactly on a leader change.
 */

import {
  newPartitionChangeRecord,
  type PartitionChangeRecord,
} from '../../protocol/generated/index.ts';
import { LEADER_UNCHANGED, LeaderRecoveryState, NO_LEADER } from './controller-record.ts';
import type { PartitionState } from './controller-state.ts';

export const Election = {
  /** Keep a leader that still qualifies. */
  KEEP: 'keep',
  /** Move to replicas[0] when it qualifies. */
  PREFERRED: 'preferred',
} as const;
export type Election = (typeof Election)[keyof typeof Election];

export interface PartitionChangeRequest {
  /** The ISR wanted; undefined keeps the current one. */
  readonly isr?: readonly number[];
  readonly election?: Election;
  readonly uncleanAllowed: boolean;
  /** Set leaderRecoveryState (AlterPartition reporting recovery). */
  readonly leaderRecoveryState?: number;
}

export function partitionChange(
  partition: PartitionState,
  request: PartitionChangeRequest,
  isActive: (brokerId: number) => boolean,
): PartitionChangeRecord | null {
  const wanted = request.isr ?? partition.isr;
  let isr = wanted.length === 0 ? partition.isr : [...wanted];
  let leader = electLeader(partition, isr, request.election ?? Election.KEEP, isActive);
  let recovery = request.leaderRecoveryState ?? partition.leaderRecoveryState;
  if (leader === NO_LEADER && request.uncleanAllowed) {
    const unclean = partition.replicas.find(isActive);
    if (unclean !== undefined) {
      leader = unclean;
      isr = [unclean];
      recovery = LeaderRecoveryState.RECOVERING;
    }
  }
  const isrChanged = !sameMembers(isr, partition.isr);
  const leaderChanged = leader !== partition.leader;
  const recoveryChanged = recovery !== partition.leaderRecoveryState;
  if (!isrChanged && !leaderChanged && !recoveryChanged) return null;
  const record = newPartitionChangeRecord();
  record.topicId = partition.topicId;
  record.partitionId = partition.partitionId;
  if (isrChanged) record.isr = [...isr];
  record.leader = leaderChanged ? leader : LEADER_UNCHANGED;
  if (recoveryChanged) record.leaderRecoveryState = recovery;
  return record;
}

function electLeader(
  partition: PartitionState,
  isr: readonly number[],
  election: Election,
  isActive: (brokerId: number) => boolean,
): number {
  const eligible = (id: number) => isr.includes(id) && isActive(id);
  const preferred = partition.replicas[0];
  if (election === Election.PREFERRED && preferred !== undefined && eligible(preferred)) {
    return preferred;
  }
  if (partition.leader !== NO_LEADER && eligible(partition.leader)) return partition.leader;
  return partition.replicas.find(eligible) ?? NO_LEADER;
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
