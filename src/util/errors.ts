/**
 * Errors for operators: a stable `code` to match on and the `cause` that led to it.
 * Clients get Kafka error codes instead (protocol/errors); our own bugs are `assert`s.
 */

export class BrokerError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BrokerError';
    this.code = code;
  }
}
