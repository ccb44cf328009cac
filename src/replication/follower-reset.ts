/**
 * What a follower does when its leader answers OFFSET_OUT_OF_RANGE (Kafka's
 * AbstractFetcherThread.fetchOffsetAndTruncate, with the KIP-101 epoch query as the fallback
 * for the case Kafka leaves looping):
 *
 * 1. The leader's log end (OffsetForLeaderEpoch for its current epoch: the current epoch ends
 *    at the log end). Ours is past it (an unclean election left us ahead): truncate to it.
 * 2. Else the leader's log start (ListOffsets earliest, as a replica). Ours ends before it
 *    (the leader deleted what we still need): drop our log, start empty at the leader's start.
 * 3. Else our end lies inside the leader's log, so the answer was about our last fetched
 *    epoch, which the leader does not know (KIP-320 answers out of range then). Ask where our
 *    latest epoch ends on the leader (KIP-101) and truncate by the KIP-279 rule; if the leader
 *    knows none of our epochs, nothing of ours can be shown to be shared: start empty at its
 *    log start.
 * 4. An answer that changes nothing: retry after a backoff rather than spin.
 *
 * Every query is one request on the fetcher's channel (one in flight per fetcher); a failed
 * or unanswered query leaves the partition `resetting` behind a backoff. The state may be
 * unfollowed while a query is out: every change goes through `mutate`, which then does
 * nothing.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { EARLIEST_TIMESTAMP } from '../../storage/log/partition-log.ts';
import {
  type ApplyEnv,
  type FollowerPartitionState,
  onPartitionError,
  restartLog,
  truncateLog,
  truncationOffset,
} from './follower-partition.ts';

/** An answer about one partition; undefined when the request failed as a whole. */
export interface EpochEndAnswer {
  readonly errorCode: number;
  readonly leaderEpoch: number;
  readonly endOffset: number;
}
export interface OffsetAnswer {
  readonly errorCode: number;
  readonly offset: number;
}

/** The leader queries a reset needs, bound to one fetcher's channel. */
export interface LeaderQueries {
  endOffsetForEpoch(
    state: FollowerPartitionState,
    epoch: number,
  ): Promise<EpochEndAnswer | undefined>;
  offsetForTimestamp(
    state: FollowerPartitionState,
    timestamp: number,
  ): Promise<OffsetAnswer | undefined>;
}

export async function resetOutOfRange(
  state: FollowerPartitionState,
  ask: LeaderQueries,
  env: ApplyEnv,
): Promise<void> {
  const log = state.log;
  const leaderEnd = await ask.endOffsetForEpoch(state, state.followed.leaderEpoch);
  if (!usable(state, leaderEnd, env)) return;
  const end = log.logEndOffset;
  if (leaderEnd.endOffset >= 0 && leaderEnd.endOffset < end) {
    note(state, env, 'follower is past the leader end: truncating', end, leaderEnd.endOffset);
    return finish(state, () => truncateLog(state, leaderEnd.endOffset));
  }
  const leaderStart = await ask.offsetForTimestamp(state, EARLIEST_TIMESTAMP);
  if (!usable(state, leaderStart, env)) return;
  if (leaderStart.offset > log.logEndOffset) {
    note(state, env, 'follower ends before the leader start: restarting', end, leaderStart.offset);
    return finish(state, () => restartLog(state, leaderStart.offset));
  }
  const latest = log.leaderEpochs.latest;
  if (latest) {
    const shared = await ask.endOffsetForEpoch(state, latest.epoch);
    if (!usable(state, shared, env)) return;
    if (shared.leaderEpoch < 0 || shared.endOffset < 0) {
      note(state, env, 'leader knows none of our epochs: restarting', end, leaderStart.offset);
      return finish(state, () => restartLog(state, leaderStart.offset));
    }
    const offset = truncationOffset(log, {
      epoch: shared.leaderEpoch,
      endOffset: shared.endOffset,
    });
    if (offset < log.logEndOffset) {
      note(state, env, 'follower epochs diverge: truncating', end, offset);
      return finish(state, () => truncateLog(state, offset));
    }
  }
  env.logger.warn(
    { topic: state.followed.topic, partition: state.followed.partition, end },
    'out of range, yet the leader log covers ours: retrying later',
  );
  state.status = 'fetching';
  state.delayUntilMs = env.nowMs() + env.backoffMs();
}

function usable<T extends { readonly errorCode: number }>(
  state: FollowerPartitionState,
  answer: T | undefined,
  env: ApplyEnv,
): answer is T {
  if (state.removed) return false;
  if (answer === undefined) {
    state.delayUntilMs = env.nowMs() + env.backoffMs();
    return false;
  }
  if (answer.errorCode !== ErrorCode.NONE) {
    onPartitionError(state, answer.errorCode, env);
    // Out of range on a query itself: stay resetting, but not in a tight loop.
    if (state.status === 'resetting') state.delayUntilMs = env.nowMs() + env.backoffMs();
    return false;
  }
  return true;
}

async function finish(state: FollowerPartitionState, change: () => Promise<void>): Promise<void> {
  await state.mutate(change);
  if (state.status === 'resetting') state.status = 'fetching';
}

function note(
  state: FollowerPartitionState,
  env: ApplyEnv,
  message: string,
  from: number,
  to: number,
): void {
  const { topic, partition, leaderId } = state.followed;
  env.logger.info({ topic, partition, leaderId, from, to }, message);
}
