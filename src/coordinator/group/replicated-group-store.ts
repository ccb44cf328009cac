/**
 * The GroupStore of a broker: the coordinator's records go through the ReplicaManager's leader
 * path (`appendBatch`, as an acks=-1 Produce does) and an append resolves only once it is
 * COMMITTED, i.e. the partition's high watermark passed it (every ISR member has it), as
 * Kafka's GroupMetadataManager appends with acks=-1 (offsets.commit.required.acks) and waits
 * up to offsets.commit.timeout.ms. So an acknowledged commit or group write survives the loss
 * of its coordinator: the next leader is elected from the ISR and has it.
 *
 * Checks, in Kafka's order:
 * - The partition must be led here at the leader epoch the coordinator loaded it at
 *   (`loadedEpoch`); otherwise NOT_LEADER_OR_FOLLOWER (NOT_COORDINATOR for the client): state
 *   loaded under another epoch must not be extended by a write the log may not agree with.
 * - The ISR must have at least min.insync.replicas members before appending
 *   (NOT_ENOUGH_REPLICAS), and still after (NOT_ENOUGH_REPLICAS_AFTER_APPEND).
 * - The high watermark must pass the batch within `commitTimeoutMs` (REQUEST_TIMED_OUT), and
 *   leadership must not move meanwhile (NOT_LEADER_OR_FOLLOWER).
 * GroupStore's callers map these to the client's errors (group-store.ts: Kafka's mapping).
 *
 * A partition with a single replica has no copy to fall back on: in Kafka's durability mode
 * (which acknowledges before the disk has the bytes and counts on replication) the store
 * flushes the log itself before answering, as the single-node store always did.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import { RecordBatchView } from '../../../protocol/records/batch.ts';
import { buildBatch } from '../../../protocol/records/batch-builder.ts';
import type { HostedPartition, ReplicaManager } from '../../replication/replica-manager.ts';
import type { Clock } from '../../util/clock.ts';
import { type GroupStore, GroupStoreError } from './group-store.ts';
import { offsetsTopicName, storageErrorCode } from './log-group-store.ts';
import type { GroupRecord } from './records.ts';

/** Kafka's offsets.commit.timeout.ms default: how long a write waits for the ISR. */
export const offsetsCommitTimeoutMsDefault = 5000;

/** What the store uses of the ReplicaManager. */
export type GroupReplicas = Pick<ReplicaManager, 'partition' | 'appendBatch' | 'awaitReplication'>;

export interface ReplicatedGroupStoreOptions {
  readonly clock: Clock;
  readonly replicas: GroupReplicas;
  /**
   * The leader epoch the coordinator loaded `partition` at; undefined when it does not
   * coordinate it (then every append fails NOT_LEADER_OR_FOLLOWER).
   */
  readonly loadedEpoch: (partition: number) => number | undefined;
  /** min.insync.replicas of the partition (its topic's config, else the broker's). */
  readonly minInsyncReplicas: (hosted: HostedPartition) => number;
  /** offsets.commit.timeout.ms. */
  readonly commitTimeoutMs?: number;
}

export class ReplicatedGroupStore implements GroupStore {
  readonly #o: ReplicatedGroupStoreOptions;
  readonly #commitTimeoutMs: number;

  constructor(options: ReplicatedGroupStoreOptions) {
    this.#o = options;
    this.#commitTimeoutMs = options.commitTimeoutMs ?? offsetsCommitTimeoutMsDefault;
  }

  async append(partition: number, records: readonly GroupRecord[]): Promise<void> {
    if (records.length === 0) return;
    const hosted = this.#ledHere(partition);
    const minIsr = this.#o.minInsyncReplicas(hosted);
    const isr = hosted.leader?.isr.length ?? 0;
    if (isr < minIsr) {
      throw new GroupStoreError(
        ErrorCode.NOT_ENOUGH_REPLICAS,
        `${offsetsTopicName}-${partition}: ISR of ${isr} below min.insync.replicas ${minIsr}`,
      );
    }
    const nowMs = this.#o.clock.nowMs();
    const batch = new RecordBatchView(
      buildBatch({
        records: records.map((r) => ({ key: r.key, value: r.value, timestamp: nowMs })),
      }),
    );
    let endOffset: number;
    try {
      const info = await this.#o.replicas.appendBatch(hosted, batch, nowMs);
      endOffset = info.lastOffset + 1;
      // One replica: nothing else holds the bytes, so they must be on this disk.
      if (hosted.config.durability !== 'fsync' && (hosted.leader?.replicas.length ?? 1) <= 1) {
        await hosted.log.flush();
      }
    } catch (error) {
      throw new GroupStoreError(
        storageErrorCode(error),
        `append to ${offsetsTopicName}-${partition} failed`,
        { cause: error },
      );
    }
    const errorCode = await this.#o.replicas.awaitReplication(
      hosted,
      endOffset,
      minIsr,
      this.#commitTimeoutMs,
    );
    if (errorCode !== ErrorCode.NONE) {
      throw new GroupStoreError(
        errorCode,
        `${offsetsTopicName}-${partition}: write up to ${endOffset} not committed`,
      );
    }
  }

  /** The partition, led here at the epoch the coordinator loaded it at; else throws. */
  #ledHere(partition: number): HostedPartition {
    const hosted = this.#o.replicas.partition(offsetsTopicName, partition);
    const epoch = this.#o.loadedEpoch(partition);
    if (
      hosted === undefined ||
      hosted.role !== 'leader' ||
      hosted.leader === undefined ||
      epoch === undefined ||
      hosted.leaderEpoch !== epoch
    ) {
      throw new GroupStoreError(
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `${offsetsTopicName}-${partition} is not led here at the epoch its groups were loaded at`,
      );
    }
    return hosted;
  }
}
