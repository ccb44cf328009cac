/**
 * Constants and failure helpers that generated codecs share. Encoding a value a version
 * cannot carry is our bug (the caller built a response the negotiated version cannot hold),
 * so these throw AssertionErrors; hostile input never reaches them (decoders use the Reader).
 */

import { AssertionError } from 'node:assert';
import type { TaggedField } from './tagged-field.ts';

export const EMPTY_BYTES: Buffer = Buffer.alloc(0);
/** Kafka's Uuid.ZERO_UUID in its base64url form. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
export const NO_TAGGED_FIELDS: readonly TaggedField[] = Object.freeze([]);

export function unsupportedVersion(message: string, version: number): never {
  throw new AssertionError({ message: `${message}: cannot encode version ${version}` });
}

export function absentValue(field: string, version: number): never {
  throw new AssertionError({
    message: `${field}: a non-default value cannot be encoded in version ${version}`,
  });
}

export function nullValue(field: string, version: number): never {
  throw new AssertionError({ message: `${field}: null is not allowed in version ${version}` });
}
