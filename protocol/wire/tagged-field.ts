/**
 * A tagged field this build does not know (KIP-482). Decoders keep its raw bytes so that a
 * message forwarded or re-encoded loses nothing; unknown tags are never an error.
 */
export interface TaggedField {
  readonly tag: number;
  readonly data: Buffer;
}
