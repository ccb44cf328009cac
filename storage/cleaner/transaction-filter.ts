/**
 * The seam where transactions will plug into compaction. Until Brook has transactions every
 * batch is committed data and every control batch stays; then an implementation backed by the
 * log's aborted-transaction index (.txnindex) answers these two questions, as Kafka's
 * CleanedTransactionMetadata does:
 *
 * - `isAborted`: the batch is transactional data of an aborted transaction, so compaction may
 *   drop its records (they were never visible to read_committed consumers).
 * - `canDiscardControlBatch`: a commit/abort marker whose transaction has no data left before
 *   it and whose delete horizon (set like a tombstone's) has passed.
 *
 * Both are called for every batch of the cleaned range in offset order, so an implementation
 * may track open transactions as it goes.
 */
import type { RecordBatchView } from '../../protocol/records/batch.ts';

export interface TransactionFilter {
  isAborted(batch: RecordBatchView): boolean;
  canDiscardControlBatch(batch: RecordBatchView, nowMs: number): boolean;
}

/** No transactions yet: nothing is aborted, every marker is kept. */
export const NO_TRANSACTIONS: TransactionFilter = {
  isAborted: () => false,
  canDiscardControlBatch: () => false,
};
