/**
 * One partition this broker follows: its fetch state, and how one partition of a leader's
 * Fetch answer is applied to the local log (the follower half of Kafka's
 * AbstractFetcherThread / ReplicaFetcherThread.processPartitionData).
 *
 * State. `fetching` partitions go into the next Fetch; `truncating` ones (a non-empty log
 * without any leader epoch, so KIP-320 cannot find a divergence) are cut to their high
 * watermark first, as Kafka does for such logs; `resetting` ones got OFFSET_OUT_OF_RANGE and
 * wait for follower-reset.ts; `stopped` ones (fenced, or an unusable log) wait for the image
 * to name a newer epoch (`follow` again). A per-partition delay holds a partition back after
 * a retriable error (`onPartitionError`, `onLogError`).
 *
 * Ownership of the log. Every change this module makes to the log runs inside `mutate`, one at
 * a time per state; `settled()` is what `unfollow` waits for, and a state that replaced an
 * older one (new leader or epoch) starts only once the older one settled (`gate`), so two
 * fetchers never write one log. A removed state's answers are dropped before touching the log.
 *
 * Applying records (never decoded: headers only):
 * - the answer must be for the offset asked (the log did not move meanwhile), batches are
 *   framed and start at or after it (an empty log whose start the leader's DeleteRecords put
 *   inside a batch restarts at that batch, as Kafka does); a partial batch at the end (the
 *   leader cut it at maxBytes) is dropped. The CRC-32C of every batch is checked by
 *   `appendAsFollower` (storage checks every replica batch), not a second time here.
 * - The bytes are copied when they are a small part of a large response frame: the log's
 *   tail cache keeps the Buffer, and a subarray would pin the whole frame.
 * - then: high watermark = max(current, min(leader's HW, log end)); log start offset follows
 *   the leader's (up only, never past the local HW); then `onAppended`.
 *
 * Divergence (KIP-320 divergingEpoch, or an OffsetForLeaderEpoch answer): `truncationOffset`
 * applies Kafka's rule (KIP-279): if this log knows the leader's epoch, truncate to the
 * smaller end of that epoch on both sides; if not, truncate to the end of the largest epoch
 * this log has below it and ask again (the next Fetch carries the older lastFetchedEpoch).
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors.ts';
import type { FetchResponsePartitionData } from '../../protocol/generated/apis/01-fetch.ts';
import { batchSizeAt, RecordBatchView } from '../../protocol/records/batch.ts';
import type { PartitionLog } from '../../storage/log/partition-log.ts';
import type { Logger } from '../util/logger.ts';
import type { FollowedPartition } from './replica-fetcher.ts';

export type FollowerStatus = 'fetching' | 'truncating' | 'resetting' | 'stopped';

export class FollowerPartitionState {
  followed: FollowedPartition;
  readonly key: string;
  status: FollowerStatus;
  /** Monotonic ms before which the partition is not fetched (a retriable error). */
  delayUntilMs = 0;
  /** Unfollowed or replaced: its answers are dropped, its log no longer touched. */
  removed = false;
  #applying: Promise<void> | undefined;
  #gate: Promise<void> | undefined;

  constructor(followed: FollowedPartition, key: string, gate: Promise<void> | undefined) {
    this.followed = followed;
    this.key = key;
    this.#gate = gate;
    const log = followed.log;
    const withoutEpochs = log.leaderEpochs.latest === undefined;
    this.status =
      withoutEpochs && log.logEndOffset > log.logStartOffset ? 'truncating' : 'fetching';
    gate?.then(() => {
      if (this.#gate === gate) this.#gate = undefined;
    });
  }

  get log(): PartitionLog {
    return this.followed.log;
  }

  /** The previous owner of the log is still applying something. */
  get gated(): Promise<void> | undefined {
    return this.#gate;
  }

  /** May take part in the next round of this fetcher. */
  isReady(nowMs: number): boolean {
    return (
      !this.removed &&
      this.#gate === undefined &&
      this.#applying === undefined &&
      this.delayUntilMs <= nowMs &&
      this.status !== 'stopped'
    );
  }

  /**
   * Runs `change` on the log unless the state was removed (checked synchronously, so an
   * `unfollow` that ran first always wins). One change at a time.
   */
  mutate(change: () => Promise<void>): Promise<void> {
    if (this.removed || this.log.isClosed) return Promise.resolve();
    assert(this.#applying === undefined, `two changes at once to ${this.key}`);
    const run = change();
    const tracked = run.then(
      () => undefined,
      () => undefined,
    );
    this.#applying = tracked;
    void tracked.then(() => {
      if (this.#applying === tracked) this.#applying = undefined;
    });
    return run;
  }

  /** Resolves once no change of this state is running (or queued behind its gate). */
  async settled(): Promise<void> {
    await this.#gate;
    while (this.#applying) await this.#applying;
  }
}

/**
 * Kafka's truncation point for a leader's (epoch, endOffset) answer (KIP-279). An epoch < 0
 * means the leader could not say; then only its end offset bounds this log.
 */
export function truncationOffset(
  log: PartitionLog,
  leader: { readonly epoch: number; readonly endOffset: number },
): number {
  const end = log.logEndOffset;
  if (leader.epoch < 0) return Math.min(leader.endOffset, end);
  const mine = log.leaderEpochs.endOffsetFor(leader.epoch, end);
  // endOffsetFor's `startOffset` is where that epoch ended in this log.
  if (!mine) return Math.min(leader.endOffset, end);
  if (mine.epoch !== leader.epoch) return Math.min(mine.startOffset, end);
  return Math.min(mine.startOffset, leader.endOffset, end);
}

/** What applying needs from the fetcher that owns the partition. */
export interface ApplyEnv {
  readonly logger: Logger;
  readonly nowMs: () => number;
  /** A jittered replica.fetch.backoff.ms. */
  readonly backoffMs: () => number;
}

/**
 * Reacts to a partition-level error code of any leader answer (Fetch or a reset query).
 * FENCED_LEADER_EPOCH (our epoch is older than the leader's) stops the partition: only the
 * image can move it, with `follow` at a newer epoch (Kafka's onPartitionFenced). Every other
 * code is retried after a backoff, as Kafka's fetcher does: UNKNOWN_LEADER_EPOCH,
 * NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_ID / UNKNOWN_TOPIC_OR_PARTITION all also mean "the
 * leader has not applied the metadata we already have" (it is still becoming leader, or does
 * not know the new topic yet), and a partition stopped then would never fetch again at this
 * epoch. A leader that really moved on is fenced by the image soon after.
 */
export function onPartitionError(state: FollowerPartitionState, code: number, env: ApplyEnv): void {
  const { topic, partition, leaderId, leaderEpoch } = state.followed;
  if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
    state.status = 'resetting';
    return;
  }
  if (code === ErrorCode.FENCED_LEADER_EPOCH) {
    env.logger.info({ topic, partition, leaderId, leaderEpoch }, 'follower fenced: stops fetching');
    state.status = 'stopped';
    return;
  }
  env.logger.debug({ topic, partition, leaderId, code }, 'follower fetch error, backing off');
  state.delayUntilMs = env.nowMs() + env.backoffMs();
}

/** A change to the log failed: stop when the log is unusable, else retry after a backoff. */
export function onLogError(state: FollowerPartitionState, error: unknown, env: ApplyEnv): void {
  const code = (error as { code?: unknown }).code;
  const { topic, partition, leaderId } = state.followed;
  if (code === 'storage-closed' || code === 'storage-failed') {
    env.logger.error({ topic, partition, err: error }, 'follower log unusable: stops fetching');
    state.status = 'stopped';
    return;
  }
  if (code === 'storage-append-cancelled') return; // a truncation won: fetch again
  // storage-invalid-append (bad CRC, offsets going back), storage-limit, anything else.
  env.logger.warn({ topic, partition, leaderId, err: error }, 'follower log change refused');
  state.delayUntilMs = env.nowMs() + env.backoffMs();
}

/** Applies one partition of a Fetch answer that was asked at `fetchOffset`. */
export async function applyFetched(
  state: FollowerPartitionState,
  data: FetchResponsePartitionData,
  fetchOffset: number,
  env: ApplyEnv,
): Promise<void> {
  if (state.removed) return;
  if (data.errorCode !== ErrorCode.NONE) {
    onPartitionError(state, data.errorCode, env);
    return;
  }
  const diverging = data.divergingEpoch;
  if (diverging.epoch >= 0 || diverging.endOffset >= 0) {
    await truncateForDivergence(state, diverging, env);
    return;
  }
  if (state.log.logEndOffset !== fetchOffset) return; // moved meanwhile: the answer is stale
  const records = data.records;
  if (records !== null && !Buffer.isBuffer(records)) {
    throw new TypeError('a decoded Fetch answer carries Buffers, not file regions');
  }
  await state.mutate(() => appendAndAdvance(state, records ?? EMPTY, fetchOffset, data, env));
}

const EMPTY = Buffer.alloc(0);

async function truncateForDivergence(
  state: FollowerPartitionState,
  diverging: { epoch: number; endOffset: number },
  env: ApplyEnv,
): Promise<void> {
  const log = state.log;
  const offset = truncationOffset(log, diverging);
  const { topic, partition, leaderId } = state.followed;
  const latest = log.leaderEpochs.latest;
  if (offset >= log.logEndOffset && latest !== undefined && latest.startOffset >= offset) {
    // Nothing to cut but an epoch this replica assigned as leader and never wrote in: it goes,
    // so the next Fetch names the epoch before it (truncateTo drops it at the log end).
    env.logger.info(
      { topic, partition, leaderId, diverging, epoch: latest.epoch },
      'follower log ends with an empty epoch: dropping it',
    );
    await state.mutate(() => state.log.truncateTo(offset));
    return;
  }
  if (offset >= log.logEndOffset) {
    // The leader says we diverge, yet nothing of ours lies past the point it names: its
    // answers disagree with each other. Do not spin on it.
    env.logger.warn({ topic, partition, leaderId, diverging }, 'divergence with nothing to cut');
    state.delayUntilMs = env.nowMs() + env.backoffMs();
    return;
  }
  env.logger.info(
    { topic, partition, leaderId, diverging, from: log.logEndOffset, to: offset },
    'follower log diverges from the leader: truncating',
  );
  await state.mutate(() => truncateLog(state, offset));
}

/** truncateTo, then tell the owner (producer state is rebuilt from the shorter log). */
export async function truncateLog(state: FollowerPartitionState, offset: number): Promise<void> {
  if (offset >= state.log.logEndOffset) return;
  await state.log.truncateTo(offset);
  state.followed.onTruncated?.(state.log.logEndOffset);
}

/** truncateFullyAndStartAt, then tell the owner. */
export async function restartLog(state: FollowerPartitionState, offset: number): Promise<void> {
  await state.log.truncateFullyAndStartAt(offset);
  state.followed.onTruncated?.(state.log.logEndOffset);
}

async function appendAndAdvance(
  state: FollowerPartitionState,
  records: Buffer,
  fetchOffset: number,
  data: FetchResponsePartitionData,
  env: ApplyEnv,
): Promise<void> {
  const log = state.log;
  let appended: RecordBatchView[] = [];
  const framed = completeBatches(records);
  if (framed.length > 0) {
    const problem = await checkBatches(state, framed, fetchOffset);
    if (problem !== undefined) {
      rejectAnswer(state, problem, env);
      return;
    }
    appended = await appendBatches(state, framed, env);
    if (appended.length === 0) return;
  } else if (records.length > 0) {
    // Bytes but not one whole batch: a batch larger than the leader would send (KIP-74
    // sends the first one whole), so this leader cut it; retrying at once would spin.
    rejectAnswer(state, `${records.length} bytes without a whole batch`, env);
    return;
  }
  if (data.highWatermark > log.highWatermark) {
    log.setHighWatermark(Math.min(data.highWatermark, log.logEndOffset));
  }
  const leaderStart = Math.min(data.logStartOffset, log.highWatermark);
  if (leaderStart > log.logStartOffset) await log.deleteRecordsBefore(leaderStart);
  if (appended.length === 0) return;
  try {
    state.followed.onAppended(appended);
  } catch (error) {
    // The owner's bug; the batches are in the log and fetching goes on.
    const { topic, partition } = state.followed;
    env.logger.error({ topic, partition, err: error }, 'onAppended threw');
  }
}

/** The whole batches at the front of `records` (a partial one at the end is dropped). */
function completeBatches(records: Buffer): Buffer {
  let at = 0;
  for (;;) {
    const size = batchSizeAt(records, at);
    if (size < 0 || at + size > records.length || size <= 0) break;
    at += size;
  }
  if (at === 0) return EMPTY;
  const whole = records.subarray(0, at);
  // A small slice of a big frame is copied so the tail cache does not pin the frame.
  return whole.byteLength * 2 < whole.buffer.byteLength ? Buffer.from(whole) : whole;
}

/**
 * The first batch must not start before the offset asked, with one exception (Kafka's
 * UnexpectedAppendOffsetException case): an empty log restarted at the leader's log start,
 * which DeleteRecords may have put inside a batch. The log then starts at that batch instead.
 * Storage checks the rest (framing, magic, counts, CRC, increasing offsets).
 */
async function checkBatches(
  state: FollowerPartitionState,
  framed: Buffer,
  fetchOffset: number,
): Promise<string | undefined> {
  const first = new RecordBatchView(framed);
  if (first.baseOffset >= fetchOffset) return undefined;
  const log = state.log;
  const empty = log.logEndOffset === log.logStartOffset;
  if (empty && first.lastOffset >= fetchOffset) {
    await restartLog(state, first.baseOffset);
    return undefined;
  }
  return `batch at ${first.baseOffset} starts before the fetch offset ${fetchOffset}`;
}

function splitViews(framed: Buffer): RecordBatchView[] {
  const views: RecordBatchView[] = [];
  let at = 0;
  while (at < framed.length) {
    const size = batchSizeAt(framed, at);
    views.push(new RecordBatchView(framed.subarray(at, at + size)));
    at += size;
  }
  return views;
}

async function appendBatches(
  state: FollowerPartitionState,
  framed: Buffer,
  env: ApplyEnv,
): Promise<RecordBatchView[]> {
  try {
    await state.log.appendAsFollower(framed);
  } catch (error) {
    onLogError(state, error, env);
    return [];
  }
  return splitViews(framed);
}

function rejectAnswer(state: FollowerPartitionState, why: string, env: ApplyEnv): void {
  const { topic, partition, leaderId } = state.followed;
  env.logger.warn({ topic, partition, leaderId, why }, 'unusable fetch answer from the leader');
  state.delayUntilMs = env.nowMs() + env.backoffMs();
}
