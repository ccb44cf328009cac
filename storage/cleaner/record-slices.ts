/**
 * The records of a (decompressed) records section as byte ranges, with just the fields
 * compaction decides on: offset delta, timestamp delta, where the key is, whether the value
 * is null.
 *
 * Compaction keeps a record by copying its encoded bytes, so it needs where each record starts
 * and ends rather than a decoded record; headers are never parsed (the length prefix says
 * where the record ends). The fields sit in typed arrays, one entry per record, so slicing a
 * batch allocates a handful of arrays rather than an object and a key Buffer per record.
 * Every length is bounds-checked by protocol/records' ByteCursor; bad bytes raise
 * RecordFormatError, never an assertion.
 */
import { RecordFormatError } from '../../protocol/records/record-error.ts';
import { ByteCursor } from '../../protocol/records/varint.ts';

export interface RecordSlices {
  readonly count: number;
  readonly bytes: Buffer;
  /** Bytes [start, end) of record i, its length prefix included. */
  readonly start: Uint32Array;
  readonly end: Uint32Array;
  /** Where the fields after timestampDelta begin (offsetDelta, key, value, headers). */
  readonly afterTimestampDelta: Uint32Array;
  readonly attributes: Int8Array;
  readonly offsetDelta: Int32Array;
  readonly timestampDelta: Float64Array;
  /** Key bytes [keyStart, keyStart + keyLength); keyLength -1 = null key. */
  readonly keyStart: Uint32Array;
  readonly keyLength: Int32Array;
  readonly hasValue: Uint8Array;
}

function skipNullable(body: ByteCursor, what: string): number {
  const length = body.varint();
  if (length === -1) return -1;
  if (length < 0) throw new RecordFormatError('bad-length', `${what} length ${length}`);
  if (length > body.remaining) throw new RecordFormatError('truncated', `${what} runs past`);
  body.pos += length;
  return length;
}

export function sliceRecords(bytes: Buffer, count: number): RecordSlices {
  // Every record takes at least 7 bytes: a hostile count cannot make these arrays big.
  if (count < 0 || count > bytes.length / 7) {
    throw new RecordFormatError('bad-record-count', `${count} records in ${bytes.length} bytes`);
  }
  const s: RecordSlices = {
    count,
    bytes,
    start: new Uint32Array(count),
    end: new Uint32Array(count),
    afterTimestampDelta: new Uint32Array(count),
    attributes: new Int8Array(count),
    offsetDelta: new Int32Array(count),
    timestampDelta: new Float64Array(count),
    keyStart: new Uint32Array(count),
    keyLength: new Int32Array(count),
    hasValue: new Uint8Array(count),
  };
  const all = new ByteCursor(bytes);
  for (let i = 0; i < count; i++) {
    s.start[i] = all.pos;
    const length = all.varint();
    if (length < 0 || length > all.remaining) {
      throw new RecordFormatError('bad-record-length', `record ${i} length ${length}`);
    }
    const end = all.pos + length;
    const body = new ByteCursor(bytes, all.pos, end);
    s.attributes[i] = body.int8();
    s.timestampDelta[i] = body.varlong();
    s.afterTimestampDelta[i] = body.pos;
    s.offsetDelta[i] = body.varint();
    const keyLength = skipNullable(body, 'key');
    s.keyLength[i] = keyLength;
    s.keyStart[i] = keyLength >= 0 ? body.pos - keyLength : 0;
    s.hasValue[i] = skipNullable(body, 'value') >= 0 ? 1 : 0;
    s.end[i] = end;
    all.pos = end;
  }
  if (all.remaining !== 0) {
    throw new RecordFormatError('trailing-bytes', `${all.remaining} bytes after ${count} records`);
  }
  return s;
}
