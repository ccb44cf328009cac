/**
 * The one error a decoder reports: malformed or hostile bytes. The server turns it into a
 * Kafka error code or a clean disconnect; it is never an assertion (our bugs are asserts).
 */

export class ProtocolDecodeError extends Error {
  readonly code = 'ERR_PROTOCOL_DECODE';
  /** Byte offset in the input where the failing read started. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'ProtocolDecodeError';
    this.offset = offset;
  }
}
