/**
 * The safety properties the cluster simulation (cluster-sim.ts) checks, on real log bytes:
 *
 * 1. Committed prefixes agree: every ISR member's batches below the leader's high watermark
 *    (and below its own end) are the leader's batches (same offsets, epoch, CRC, length).
 * 2. No truncation below the high watermark: `truncateTo(offset)` on a hosted log with
 *    offset < that log's high watermark at the call (observed by wrapping the method).
 * 3. Every acknowledged acks=-1 batch stays: on the current leader after every step (so
 *    after every crash and election), and on every ISR member at the end.
 * 4. An acknowledgement happens only with an ISR of at least min.insync.replicas: the maximal
 *    ISR the leader counted for its high watermark (Kafka's Partition
 *    .checkEnoughReplicasReachOffset uses the same), and as many replicas really holding the
 *    batch durably. The ISR the controller committed may be smaller while an expansion is in
 *    flight (AlterPartition sent, not yet committed): that is counted (`ackedWithSmallIsr`),
 *    not a violation, as in Kafka.
 * 5. An idempotent producer's batch is written once: no two batches of the leader's log carry
 *    the same producer id and base sequence (a retry after a lost answer, or sent to the next
 *    leader, is recognised as a duplicate).
 * 6. What a consumer read stays: reads (bounded by the high watermark) never return two
 *    different batches at one offset, and every batch read is on the current leader after
 *    every step and on every ISR member at the end.
 *
 * A violation is recorded (the first one wins) and thrown; code that swallows errors (a
 * fetcher loop) cannot hide it, because the simulation checks `violation` after each step.
 */
import type { RecordBatchView } from '../../protocol/records/batch.ts';
import { logBatches } from '../../src/metadata/log-batches.ts';
import type { PartitionLog } from '../../storage/log/partition-log.ts';

export class InvariantViolation extends Error {
  constructor(seed: number, message: string) {
    super(`seed ${seed}: ${message}`);
    this.name = 'InvariantViolation';
  }
}

/** One acknowledged acks=-1 batch, as the producer saw it answered. */
export interface AcknowledgedBatch {
  readonly seq: number;
  readonly partition: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly crc: number;
  readonly sizeBytes: number;
  /** The ISR the controller committed (the leader's view of it) at the acknowledgement. */
  readonly isr: readonly number[];
  /** The ISR plus pending additions the leader counted for its high watermark. */
  readonly maximalIsr: readonly number[];
  /** Live nodes whose log holds the batch durably at the acknowledgement. */
  readonly holders: readonly number[];
  readonly atMs: number;
}

/** What identifies a batch in a log, independently of where it is stored. */
export interface BatchSummary {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly leaderEpoch: number;
  readonly crc: number;
  readonly sizeBytes: number;
  /** -1 for batches of a non-idempotent producer. */
  readonly producerId: number;
  readonly baseSequence: number;
}

/** The current leader of a partition and its ISR members' logs, as the simulation sees them. */
export interface PartitionSnapshot {
  readonly partition: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly highWatermark: number;
  readonly leaderLog: PartitionLog;
  /** Live ISR members other than the leader that host the partition, with their logs. */
  readonly followers: ReadonlyMap<number, PartitionLog>;
}

export class Invariants {
  readonly seed: number;
  readonly minInsyncReplicas: number;
  readonly acknowledged: AcknowledgedBatch[] = [];
  violation: string | undefined;
  /** Per partition, every batch a consumer read, by base offset. */
  readonly consumed = new Map<number, Map<number, BatchSummary & { readonly from: number }>>();
  truncations = 0;
  checks = 0;
  ackedWithSmallIsr = 0;

  readonly #checkAckIsr: boolean;

  constructor(seed: number, minInsyncReplicas: number, checkAckIsr = true) {
    this.seed = seed;
    this.minInsyncReplicas = minInsyncReplicas;
    this.#checkAckIsr = checkAckIsr;
  }

  fail(message: string): never {
    this.violation ??= message;
    throw new InvariantViolation(this.seed, message);
  }

  /** Throws the first violation recorded anywhere (also from callbacks that swallow it). */
  throwIfViolated(): void {
    if (this.violation) throw new InvariantViolation(this.seed, this.violation);
  }

  /** Property 4, then remembers the batch for property 3. */
  onAcknowledged(batch: AcknowledgedBatch): void {
    const min = this.minInsyncReplicas;
    const small = batch.maximalIsr.length < min || batch.holders.length < min;
    if (this.#checkAckIsr && small) {
      this.fail(
        `batch ${batch.seq} (p${batch.partition} @${batch.baseOffset}) acknowledged with ` +
          `maximal ISR [${batch.maximalIsr}], held by [${batch.holders}] ` +
          `< min.insync.replicas ${min}`,
      );
    }
    if (batch.isr.length < min) this.ackedWithSmallIsr++;
    this.acknowledged.push(batch);
  }

  /** Property 6, first half: a read never contradicts an earlier one. */
  onConsumed(partition: number, from: number, batches: readonly BatchSummary[]): void {
    let seen = this.consumed.get(partition);
    if (!seen) {
      seen = new Map();
      this.consumed.set(partition, seen);
    }
    for (const b of batches) {
      const earlier = seen.get(b.baseOffset);
      if (earlier && !sameBatch(earlier, b)) {
        this.fail(
          `p${partition}: a consumer read ${describe(b)} from node ${from} where it had read ` +
            `${describe(earlier)} from node ${earlier.from}`,
        );
      }
      if (!earlier) seen.set(b.baseOffset, { ...b, from });
    }
  }

  /** Property 2: called by the wrapped `truncateTo` before it runs. */
  onTruncate(nodeId: number, partition: number, log: PartitionLog, offset: number): void {
    this.truncations++;
    if (offset < log.highWatermark) {
      this.fail(
        `node ${nodeId} truncated p${partition} to ${offset}, below its high watermark ` +
          `${log.highWatermark} (end ${log.logEndOffset})`,
      );
    }
  }

  /** Properties 1 and 3 (on the leader) after a step. */
  async checkStep(snapshots: readonly PartitionSnapshot[]): Promise<void> {
    this.checks++;
    // Batches acknowledged while the logs are being read may not be in what was read.
    const acked = this.acknowledged.slice();
    for (const s of snapshots) {
      const leader = await summaries(s.leaderLog);
      this.#ackedPresent(acked, s, s.leaderId, leader, s.leaderLog.logEndOffset);
      this.#noDuplicates(s, s.leaderId, leader);
      for (const [id, log] of s.followers) {
        const limit = Math.min(s.highWatermark, log.logEndOffset);
        const follower = await summaries(log);
        this.#samePrefix(s, id, follower, leader, limit);
      }
    }
  }

  /** After the cluster healed: properties 1 and 3 on every ISR member. */
  async checkFinal(snapshots: readonly PartitionSnapshot[]): Promise<void> {
    await this.checkStep(snapshots);
    const acked = this.acknowledged.slice();
    for (const s of snapshots) {
      for (const [id, log] of s.followers) {
        this.#ackedPresent(acked, s, id, await summaries(log), log.logEndOffset);
      }
    }
  }

  #ackedPresent(
    acknowledged: readonly AcknowledgedBatch[],
    s: PartitionSnapshot,
    nodeId: number,
    batches: readonly BatchSummary[],
    end: number,
  ): void {
    const byBase = new Map(batches.map((b) => [b.baseOffset, b]));
    for (const read of this.consumed.get(s.partition)?.values() ?? []) {
      const found = byBase.get(read.baseOffset);
      if (!found || !sameBatch(found, read)) {
        this.fail(
          `p${s.partition}: batch ${describe(read)} a consumer read from node ${read.from} is ` +
            `${found ? `replaced by ${describe(found)}` : 'missing'} on node ${nodeId} ` +
            `(${nodeId === s.leaderId ? 'leader' : 'ISR member'} in epoch ${s.leaderEpoch}, ` +
            `log end ${end})`,
        );
      }
    }
    for (const acked of acknowledged) {
      if (acked.partition !== s.partition) continue;
      const found = byBase.get(acked.baseOffset);
      if (!found || found.crc !== acked.crc || found.lastOffset !== acked.lastOffset) {
        this.fail(
          `acknowledged batch ${acked.seq} (p${s.partition} @${acked.baseOffset}, acked by ` +
            `${acked.leaderId} in epoch ${acked.leaderEpoch}, ISR [${acked.isr}]) is ` +
            `${found ? 'replaced' : 'missing'} on node ${nodeId} ` +
            `(${nodeId === s.leaderId ? 'leader' : 'ISR member'} in epoch ` +
            `${s.leaderEpoch}, log end ${end})`,
        );
      }
    }
  }

  #noDuplicates(s: PartitionSnapshot, nodeId: number, batches: readonly BatchSummary[]): void {
    const seen = new Map<string, BatchSummary>();
    for (const b of batches) {
      if (b.producerId < 0) continue;
      const key = `${b.producerId}/${b.baseSequence}`;
      const first = seen.get(key);
      if (first) {
        this.fail(
          `p${s.partition} on node ${nodeId}: producer ${b.producerId} sequence ` +
            `${b.baseSequence} written twice: ${describe(first)} and ${describe(b)}`,
        );
      }
      seen.set(key, b);
    }
  }

  #samePrefix(
    s: PartitionSnapshot,
    nodeId: number,
    follower: readonly BatchSummary[],
    leader: readonly BatchSummary[],
    limit: number,
  ): void {
    const mine = follower.filter((b) => b.lastOffset < limit);
    const theirs = leader.filter((b) => b.lastOffset < limit);
    const n = Math.max(mine.length, theirs.length);
    for (let i = 0; i < n; i++) {
      const a = mine[i];
      const b = theirs[i];
      if (!a || !b || !sameBatch(a, b)) {
        this.fail(
          `p${s.partition}: ISR member ${nodeId} and leader ${s.leaderId} (epoch ` +
            `${s.leaderEpoch}) differ below the high watermark ${s.highWatermark}: ` +
            `${describe(a)} vs ${describe(b)}`,
        );
      }
    }
  }
}

function sameBatch(a: BatchSummary, b: BatchSummary): boolean {
  return (
    a.baseOffset === b.baseOffset &&
    a.lastOffset === b.lastOffset &&
    a.leaderEpoch === b.leaderEpoch &&
    a.crc === b.crc &&
    a.sizeBytes === b.sizeBytes
  );
}

function describe(b: BatchSummary | undefined): string {
  return b ? `[${b.baseOffset}..${b.lastOffset} e${b.leaderEpoch} crc ${b.crc}]` : 'nothing';
}

/** The batches of `log` up to its end now. */
export async function summaries(log: PartitionLog): Promise<BatchSummary[]> {
  const end = log.logEndOffset;
  const out: BatchSummary[] = [];
  for await (const batch of logBatches(log, log.logStartOffset)) {
    if (batch.lastOffset >= end) break;
    out.push(summaryOf(batch));
  }
  return out;
}

export function summaryOf(batch: RecordBatchView): BatchSummary {
  return {
    baseOffset: batch.baseOffset,
    lastOffset: batch.lastOffset,
    leaderEpoch: batch.partitionLeaderEpoch,
    crc: batch.crc,
    sizeBytes: batch.sizeBytes,
    producerId: batch.producerId,
    baseSequence: batch.baseSequence,
  };
}
