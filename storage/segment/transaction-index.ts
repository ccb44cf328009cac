/**
 * The aborted-transaction index of one segment (`<base>.txnindex`), Kafka's format:
 *
 *   entry (34 bytes, big-endian): int16 version (0), int64 producerId, int64 firstOffset,
 *                                 int64 lastOffset, int64 lastStableOffset
 *
 * One entry per transaction aborted in this segment, in the order the abort markers were
 * written: `firstOffset` is the transaction's first offset (possibly in an earlier segment),
 * `lastOffset` the offset of its abort marker. A fetch at READ_COMMITTED returns the entries
 * overlapping its range so the consumer can drop aborted records.
 *
 * The format and the file operations exist here; filling it is the transactions work's job
 * (through PartitionLog.appendAbortedTransaction). The file is created on first use, most
 * segments never have one.
 *
 * Crash behaviour: like the other indexes it is derived data. Unlike them it cannot be
 * rebuilt from batch headers alone (it needs the transaction markers' control records), so
 * recovery drops entries past the recovered log end; the transactions work rebuilds the rest
 * from the producer-state snapshot and control batches (TODO there).
 */
export const TXN_INDEX_ENTRY_BYTES = 34;
export const TXN_INDEX_VERSION = 0;

export interface AbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly lastStableOffset: number;
}

export function encodeAbortedTransaction(txn: AbortedTransaction, into: Buffer, at: number): void {
  into.writeInt16BE(TXN_INDEX_VERSION, at);
  into.writeBigInt64BE(BigInt(txn.producerId), at + 2);
  into.writeBigInt64BE(BigInt(txn.firstOffset), at + 10);
  into.writeBigInt64BE(BigInt(txn.lastOffset), at + 18);
  into.writeBigInt64BE(BigInt(txn.lastStableOffset), at + 26);
}

/** Decodes whole entries; stops at a partial tail or an unknown version (a torn write). */
export function decodeAbortedTransactions(bytes: Buffer): AbortedTransaction[] {
  const out: AbortedTransaction[] = [];
  for (let at = 0; at + TXN_INDEX_ENTRY_BYTES <= bytes.length; at += TXN_INDEX_ENTRY_BYTES) {
    if (bytes.readInt16BE(at) !== TXN_INDEX_VERSION) break;
    out.push({
      producerId: Number(bytes.readBigInt64BE(at + 2)),
      firstOffset: Number(bytes.readBigInt64BE(at + 10)),
      lastOffset: Number(bytes.readBigInt64BE(at + 18)),
      lastStableOffset: Number(bytes.readBigInt64BE(at + 26)),
    });
  }
  return out;
}

export function encodeAbortedTransactions(txns: readonly AbortedTransaction[]): Buffer {
  const buf = Buffer.alloc(txns.length * TXN_INDEX_ENTRY_BYTES);
  txns.forEach((txn, i) => {
    encodeAbortedTransaction(txn, buf, i * TXN_INDEX_ENTRY_BYTES);
  });
  return buf;
}

/** Entries overlapping [fetchOffset, upperBoundOffset): the ones a fetch must report. */
export function overlapping(
  txns: readonly AbortedTransaction[],
  fetchOffset: number,
  upperBoundOffset: number,
): AbortedTransaction[] {
  return txns.filter((t) => t.lastOffset >= fetchOffset && t.firstOffset < upperBoundOffset);
}
