/**
 * One record inside a RecordBatch v2, and control records.
 *
 * Record layout (all varints zigzag):
 *
 *   length          varint   bytes after this field
 *   attributes      int8     unused by Kafka so far, kept as read
 *   timestampDelta  varlong  from the batch's baseTimestamp
 *   offsetDelta     varint   from the batch's baseOffset
 *   key             varint length (-1 = null) + bytes
 *   value           varint length (-1 = null) + bytes
 *   headers         varint count, then per header: key (varint length + UTF-8, never null),
 *                   value (varint length, -1 = null, + bytes)
 *
 * Control batches (attribute bit 5) carry one record whose key is [version int16][type int16];
 * a transaction marker's value is [version int16][coordinatorEpoch int32].
 */
import { RecordFormatError } from './record-error.ts';

export interface RecordHeader {
  /** The header key's UTF-8 bytes, a view into the batch. */
  readonly key: Buffer;
  readonly value: Buffer | null;
}

/** A decoded record: keys, values and headers are views into the (decompressed) batch. */
export interface KafkaRecord {
  /** baseOffset + offsetDelta. */
  readonly offset: number;
  readonly offsetDelta: number;
  /** The record's timestamp, or the batch's maxTimestamp when the batch is LogAppendTime. */
  readonly timestamp: number;
  readonly timestampDelta: number;
  readonly attributes: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
  /** Encoded bytes of this record, its length prefix included. */
  readonly sizeBytes: number;
}

/** Control record types (the `type` int16 of a control record key). */
export const ControlRecordType = {
  abort: 0,
  commit: 1,
  leaderChange: 2,
  snapshotHeader: 3,
  snapshotFooter: 4,
  kraftVersion: 5,
  kraftVoters: 6,
} as const;
export type ControlRecordTypeId = (typeof ControlRecordType)[keyof typeof ControlRecordType];

export interface ControlRecordKey {
  readonly version: number;
  /** One of ControlRecordType, or an id this version of Brook does not know. */
  readonly type: number;
}

export interface EndTxnMarker {
  readonly version: number;
  readonly coordinatorEpoch: number;
}

const CONTROL_KEY_BYTES = 4;
const END_TXN_MARKER_BYTES = 6;
const CONTROL_KEY_VERSION = 0;
const END_TXN_MARKER_VERSION = 0;

/** Parses a control record's key. Newer key versions only append fields, so they parse too. */
export function parseControlRecordKey(key: Buffer | null): ControlRecordKey {
  if (key === null || key.length < CONTROL_KEY_BYTES) {
    throw new RecordFormatError('bad-control-record', 'control record key shorter than 4 bytes');
  }
  const version = key.readInt16BE(0);
  if (version < 0) throw new RecordFormatError('bad-control-record', `key version ${version}`);
  return { version, type: key.readInt16BE(2) };
}

/** Parses the value of an abort or commit marker. */
export function parseEndTxnMarker(value: Buffer | null): EndTxnMarker {
  if (value === null || value.length < END_TXN_MARKER_BYTES) {
    throw new RecordFormatError('bad-control-record', 'transaction marker value too short');
  }
  const version = value.readInt16BE(0);
  if (version < 0) throw new RecordFormatError('bad-control-record', `marker version ${version}`);
  return { version, coordinatorEpoch: value.readInt32BE(2) };
}

export function encodeControlRecordKey(type: number): Buffer {
  const key = Buffer.alloc(CONTROL_KEY_BYTES);
  key.writeInt16BE(CONTROL_KEY_VERSION, 0);
  key.writeInt16BE(type, 2);
  return key;
}

export function encodeEndTxnMarker(coordinatorEpoch: number): Buffer {
  const value = Buffer.alloc(END_TXN_MARKER_BYTES);
  value.writeInt16BE(END_TXN_MARKER_VERSION, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return value;
}
