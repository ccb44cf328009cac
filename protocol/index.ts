/**
 * The protocol layer's public surface: wire primitives, generated codecs and tables, framing
 * and error codes. Record batches live in protocol/records and are imported from there.
 */

export * from './errors.ts';
export * from './frame.ts';
export * from './generated/index.ts';
export * from './wire/codec-support.ts';
export * from './wire/decode-error.ts';
export * from './wire/file-region.ts';
export * from './wire/reader.ts';
export * from './wire/tagged-field.ts';
export * from './wire/writer.ts';
