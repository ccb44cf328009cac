/**
 * Builds real RecordBatch v2 bytes for storage tests: records encoded with zigzag varints as
 * Kafka does, CRC-32C computed, so storage sees what a producer would send.
 */
import { BatchOffset, setInt64 } from '../../../protocol/records/batch.ts';
import { crc32c } from '../../../protocol/records/crc32c.ts';

function zigzagVarint(value: number): number[] {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

export interface BatchSpec {
  /** Values of the records (their count is the batch's record count). */
  readonly values: readonly Buffer[];
  readonly baseOffset?: number;
  readonly baseTimestampMs?: number;
  /** Added to the base timestamp per record index. */
  readonly timestampStepMs?: number;
  readonly partitionLeaderEpoch?: number;
}

export function buildBatch(spec: BatchSpec): Buffer {
  const base = spec.baseTimestampMs ?? 1_700_000_000_000;
  const step = spec.timestampStepMs ?? 1;
  const records: Buffer[] = [];
  spec.values.forEach((value, i) => {
    const body = Buffer.concat([
      Buffer.from([0]),
      Buffer.from(zigzagVarint(i * step)),
      Buffer.from(zigzagVarint(i)),
      Buffer.from(zigzagVarint(-1)),
      Buffer.from(zigzagVarint(value.length)),
      value,
      Buffer.from(zigzagVarint(0)),
    ]);
    records.push(Buffer.concat([Buffer.from(zigzagVarint(body.length)), body]));
  });
  const recordBytes = Buffer.concat(records);
  const buf = Buffer.alloc(61 + recordBytes.length);
  const count = spec.values.length;
  setInt64(buf, BatchOffset.baseOffset, spec.baseOffset ?? 0);
  buf.writeInt32BE(buf.length - 12, BatchOffset.batchLength);
  buf.writeInt32BE(spec.partitionLeaderEpoch ?? -1, BatchOffset.partitionLeaderEpoch);
  buf.writeInt8(2, BatchOffset.magic);
  buf.writeInt16BE(0, BatchOffset.attributes);
  buf.writeInt32BE(count - 1, BatchOffset.lastOffsetDelta);
  setInt64(buf, BatchOffset.baseTimestamp, base);
  setInt64(buf, BatchOffset.maxTimestamp, base + Math.max(0, (count - 1) * step));
  setInt64(buf, BatchOffset.producerId, -1);
  buf.writeInt16BE(-1, BatchOffset.producerEpoch);
  buf.writeInt32BE(-1, BatchOffset.baseSequence);
  buf.writeInt32BE(count, BatchOffset.recordsCount);
  recordBytes.copy(buf, 61);
  buf.writeUInt32BE(crc32c(buf.subarray(BatchOffset.attributes)), BatchOffset.crc);
  return buf;
}

function readZigzagVarint(buf: Buffer, at: number): { value: number; next: number } {
  let raw = 0;
  let scale = 1;
  let i = at;
  for (;;) {
    const byte = buf[i++] as number;
    raw += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) break;
  }
  return { value: raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2, next: i };
}

/**
 * Record timestamps of an uncompressed batch built here, decoded independently of
 * protocol/records so tests can use them as the expected answer.
 */
export function recordTimestamps(batch: Buffer): number[] {
  const base = Number(batch.readBigInt64BE(BatchOffset.baseTimestamp));
  const count = batch.readInt32BE(BatchOffset.recordsCount);
  const out: number[] = [];
  let at = 61;
  for (let i = 0; i < count; i++) {
    const length = readZigzagVarint(batch, at);
    const delta = readZigzagVarint(batch, length.next + 1);
    out.push(base + delta.value);
    at = length.next + length.value;
  }
  return out;
}

/** A batch of `count` records of `valueBytes` each, filled with a recognisable byte. */
export function simpleBatch(
  count: number,
  valueBytes: number,
  options: {
    fill?: number;
    baseTimestampMs?: number;
    /** Added per record; negative makes the first record the newest. */
    timestampStepMs?: number;
    baseOffset?: number;
    epoch?: number;
  } = {},
): Buffer {
  const values = Array.from({ length: count }, (_, i) =>
    Buffer.alloc(valueBytes, ((options.fill ?? 0) + i) & 0xff),
  );
  return buildBatch({
    values,
    baseTimestampMs: options.baseTimestampMs,
    timestampStepMs: options.timestampStepMs,
    baseOffset: options.baseOffset,
    partitionLeaderEpoch: options.epoch,
  });
}
