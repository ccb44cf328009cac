/**
 * Idempotent-producer state of one partition (Kafka's ProducerStateManager, without
 * transactions): per producer id, its epoch and the last five batches' sequence ranges with
 * the offsets they were written at. Read from batch headers only.
 *
 * Rules for a batch from producer P with epoch E and sequences [first, last] (Kafka 4):
 * - E below P's epoch: INVALID_PRODUCER_EPOCH.
 * - E equal and [first, last] matching one of the last five batches: a duplicate (a retry);
 *   it is not written again, and answered with the offsets it was first written at.
 * - E above P's epoch (a bumped epoch): `first` must be 0, unless P is unknown.
 * - E equal: `first` must follow the last sequence (wrapping after 2^31 - 1), else
 *   OUT_OF_ORDER_SEQUENCE_NUMBER. An unknown producer (new, or expired with its records) may
 *   start at any sequence: UNKNOWN_PRODUCER_ID is no longer answered by Kafka brokers.
 *
 * Bounded: at most `producersMax` producers are kept; the least recently written is forgotten
 * first (it will be treated as unknown, as Kafka treats an expired one).
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { NO_PRODUCER_ID, type RecordBatchView } from '../../protocol/records/batch.ts';
import type { ProducerSnapshotEntry } from '../../storage/log/producer-snapshot.ts';

export const BATCHES_PER_PRODUCER = 5;
export const PRODUCERS_PER_PARTITION_MAX = 100_000;
const INT32_MAX = 0x7fff_ffff;

interface BatchMetadata {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly timestampMs: number;
}

interface ProducerEntry {
  epoch: number;
  batches: BatchMetadata[];
}

export type SequenceCheck =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly firstOffset: number; readonly timestampMs: number }
  | { readonly kind: 'error'; readonly errorCode: number; readonly message: string };

const APPEND: SequenceCheck = { kind: 'append' };

/** The sequence of the batch's last record (sequences wrap after INT32_MAX). */
export function lastSequenceOf(view: RecordBatchView): number {
  const last = view.baseSequence + view.lastOffsetDelta;
  return last > INT32_MAX ? last - INT32_MAX - 1 : last;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

export class ProducerStateTable {
  readonly #producers = new Map<number, ProducerEntry>();
  readonly #producersMax: number;

  constructor(producersMax = PRODUCERS_PER_PARTITION_MAX) {
    this.#producersMax = producersMax;
  }

  get size(): number {
    return this.#producers.size;
  }

  /** What to do with `view` (not yet written). */
  check(view: RecordBatchView): SequenceCheck {
    const producerId = view.producerId;
    if (producerId === NO_PRODUCER_ID || producerId < 0) return APPEND;
    const entry = this.#producers.get(producerId);
    if (!entry) return APPEND;
    const epoch = view.producerEpoch;
    const firstSeq = view.baseSequence;
    if (epoch < entry.epoch) {
      return {
        kind: 'error',
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message:
          `Epoch of producer ${producerId} at offset ${view.baseOffset} is ${epoch}, ` +
          `which is smaller than the last seen epoch ${entry.epoch}`,
      };
    }
    if (epoch > entry.epoch) {
      return firstSeq === 0
        ? APPEND
        : outOfOrder(
            `Invalid sequence number for new epoch of producer ${producerId}: ` +
              `${epoch} (request epoch), ${firstSeq} (seq. number), ${entry.epoch} (current epoch)`,
          );
    }
    const lastSeq = lastSequenceOf(view);
    const duplicate = entry.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq);
    if (duplicate) {
      return {
        kind: 'duplicate',
        firstOffset: duplicate.firstOffset,
        timestampMs: duplicate.timestampMs,
      };
    }
    const currentLast = entry.batches.at(-1)?.lastSeq;
    if (currentLast !== undefined && !inSequence(currentLast, firstSeq)) {
      return outOfOrder(
        `Out of order sequence number for producer ${producerId} at offset ` +
          `${view.baseOffset}: ${firstSeq} (incoming seq. number), ${currentLast} ` +
          '(current end sequence number)',
      );
    }
    return APPEND;
  }

  /** Records a batch that was written (its baseOffset is the assigned offset). */
  update(view: RecordBatchView, timestampMs: number): void {
    const producerId = view.producerId;
    if (producerId < 0 || view.isControl) return;
    let entry = this.#producers.get(producerId);
    if (entry) this.#producers.delete(producerId);
    if (!entry || view.producerEpoch !== entry.epoch) {
      entry = { epoch: view.producerEpoch, batches: [] };
    }
    this.#producers.set(producerId, entry);
    entry.batches.push({
      firstSeq: view.baseSequence,
      lastSeq: lastSequenceOf(view),
      firstOffset: view.baseOffset,
      lastOffset: view.lastOffset,
      timestampMs,
    });
    if (entry.batches.length > BATCHES_PER_PRODUCER) entry.batches.shift();
    if (this.#producers.size > this.#producersMax) {
      const oldest = this.#producers.keys().next();
      if (!oldest.done) this.#producers.delete(oldest.value);
    }
  }

  /** Drops what is known of a producer (its last append failed). */
  forget(producerId: number): void {
    this.#producers.delete(producerId);
  }

  /** Entries for a snapshot: one per producer, its last batch. */
  snapshotEntries(): ProducerSnapshotEntry[] {
    const out: ProducerSnapshotEntry[] = [];
    for (const [producerId, entry] of this.#producers) {
      const last = entry.batches.at(-1);
      if (!last) continue;
      out.push({
        producerId,
        epoch: entry.epoch,
        lastSequence: last.lastSeq,
        lastOffset: last.lastOffset,
        offsetDelta: last.lastOffset - last.firstOffset,
        timestampMs: last.timestampMs,
        coordinatorEpoch: -1,
        currentTxnFirstOffset: -1,
      });
    }
    return out;
  }

  /** Restores producers from a snapshot (their last batch only, as Kafka's snapshot holds). */
  load(entries: readonly ProducerSnapshotEntry[]): void {
    for (const e of entries) {
      const firstSeq = e.lastSequence - e.offsetDelta;
      this.#producers.set(e.producerId, {
        epoch: e.epoch,
        batches: [
          {
            firstSeq: firstSeq < 0 ? firstSeq + INT32_MAX + 1 : firstSeq,
            lastSeq: e.lastSequence,
            firstOffset: e.lastOffset - e.offsetDelta,
            lastOffset: e.lastOffset,
            timestampMs: e.timestampMs,
          },
        ],
      });
    }
  }
}

function outOfOrder(message: string): SequenceCheck {
  return { kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message };
}
