/**
 * Errors for operators from the storage engine: a stable `code` to match on and the `cause`.
 * It mirrors src/util/errors.ts BrokerError (storage may not import src/): same name, same
 * fields, so callers treat both alike. Codes used here:
 * - `storage-corrupt`: bytes on disk are not what storage wrote (outside recovery).
 * - `storage-offset-out-of-range`: an offset outside [logStartOffset, logEndOffset].
 * - `storage-invalid-append`: a batch rejected on append (bad framing or CRC, replica
 *   offsets going back); the caller maps it to a Kafka error code (storage/README.md).
 * - `storage-record-too-large`: a batch over max.message.bytes.
 * - `storage-closed`: the log was closed or deleted.
 * - `storage-failed`: an I/O error failed the log; it takes no more appends.
 * - `storage-append-cancelled`: a truncation dropped appends not yet written.
 * - `storage-segment-gone`: a segment asked for by base offset no longer exists.
 * - `storage-limit`: too many bytes already wait to be written to this log.
 */
export class StorageError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BrokerError';
    this.code = code;
  }
}
