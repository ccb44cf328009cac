/**
 * The one error type the record layer throws for bad bytes. Record bytes come from clients
 * and disks, so malformed input is an expected operating error, never an assertion: every
 * decoder in protocol/records turns it into a RecordFormatError with a stable `code`, and the
 * caller maps it to a Kafka error code with `kafkaErrorCode`.
 */

/** Kafka error codes the record layer can lead to (error-codes.tsv). */
export const RecordKafkaError = {
  corruptMessage: 2,
  messageTooLarge: 10,
  unsupportedCompressionType: 76,
  invalidRecord: 87,
} as const;
export type RecordKafkaErrorCode = (typeof RecordKafkaError)[keyof typeof RecordKafkaError];

export type RecordProblem =
  /** A length or field runs past the bytes available. */
  | 'truncated'
  /** A varint longer than its type allows, or a varlong beyond 2^53. */
  | 'bad-varint'
  /** A record's length prefix disagrees with the bytes its fields take. */
  | 'bad-record-length'
  /** A negative length other than -1 for a nullable field, or any negative count. */
  | 'bad-length'
  /** The records section holds a different number of records than the header says. */
  | 'bad-record-count'
  /** Bytes left over after the last record. */
  | 'trailing-bytes'
  /** offset or timestamp arithmetic leaves the exact integer range. */
  | 'out-of-range'
  /** A control record whose key or value does not parse. */
  | 'bad-control-record'
  /** The batch header itself is unusable (too short, wrong magic). */
  | 'bad-batch'
  /** Decompression would exceed the caller's `maxDecompressedBytes`. */
  | 'decompressed-too-large'
  /** The compressed bytes do not decode. */
  | 'corrupt-compressed-data'
  /** Codec ids 5-7, which no Kafka version defines. */
  | 'unsupported-codec'
  /** A defined codec this runtime cannot run (zstd on a Node without it). */
  | 'codec-unavailable';

export class RecordFormatError extends Error {
  readonly code: RecordProblem;

  constructor(code: RecordProblem, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RecordFormatError';
    this.code = code;
  }

  /**
   * The Kafka error for a produce that carried these bytes. A decompression bomb gets
   * MESSAGE_TOO_LARGE rather than CORRUPT_MESSAGE because the latter is retriable and the
   * client would resend the same bytes forever.
   */
  get kafkaErrorCode(): RecordKafkaErrorCode {
    switch (this.code) {
      case 'decompressed-too-large':
        return RecordKafkaError.messageTooLarge;
      case 'unsupported-codec':
      case 'codec-unavailable':
        return RecordKafkaError.unsupportedCompressionType;
      case 'bad-control-record':
        return RecordKafkaError.invalidRecord;
      default:
        return RecordKafkaError.corruptMessage;
    }
  }
}

export function isRecordFormatError(error: unknown): error is RecordFormatError {
  return error instanceof RecordFormatError;
}
