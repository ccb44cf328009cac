/**
 * Tagged fields (KIP-482) and nullable structs, byte for byte: what is written, in which order,
 * what is skipped, and that unknown tags survive a decode/encode cycle.
 */

import { describe, expect, test } from 'vitest';
import {
  decodeApiVersionsResponse,
  decodeConsumerGroupHeartbeatResponse,
  decodeConsumerGroupMemberMetadataValue,
  encodeApiVersionsResponse,
  encodeConsumerGroupHeartbeatResponse,
  encodeConsumerGroupMemberMetadataValue,
  newApiVersionsResponse,
  newConsumerGroupHeartbeatResponse,
  newConsumerGroupMemberMetadataValue,
} from '../../../../protocol/generated/index.ts';
import { Reader } from '../../../../protocol/wire/reader.ts';
import { Writer } from '../../../../protocol/wire/writer.ts';

function bytes<T>(encode: (w: Writer, m: T, v: number) => void, m: T, v: number): Buffer {
  const w = new Writer();
  encode(w, m, v);
  return w.finish();
}

describe('tagged fields', () => {
  test('known tags are written in order, only when not default, then unknown tags', () => {
    const m = newApiVersionsResponse();
    m.zkMigrationReady = true; // tag 3
    m.finalizedFeaturesEpoch = 2; // tag 1
    m.unknownTaggedFields = [
      { tag: 7, data: Buffer.from([0xab]) },
      { tag: 300, data: Buffer.alloc(0) },
    ];
    const out = bytes(encodeApiVersionsResponse, m, 3);
    // error code, empty compact array, throttle time, then 4 tagged fields
    expect(out.toString('hex')).toBe(
      `0000 01 00000000 04 01 08 0000000000000002 03 01 01 07 01 ab ac02 00`.replace(/ /g, ''),
    );
    const r = new Reader(out);
    const back = decodeApiVersionsResponse(r, 3);
    expect(r.remaining).toBe(0);
    expect(back).toEqual(m);
    expect(bytes(encodeApiVersionsResponse, back, 3).equals(out)).toBe(true);
  });

  test('ignorable tagged fields are dropped in versions without them', () => {
    const m = newApiVersionsResponse();
    m.finalizedFeaturesEpoch = 2;
    expect(bytes(encodeApiVersionsResponse, m, 2).toString('hex')).toBe(
      '0000' + '00000000' + '00000000',
    );
  });

  test('a known tag whose declared size does not match its value is a decode error', () => {
    const good = Buffer.from('0000 01 00000000 01 01 08 0000000000000002'.replace(/ /g, ''), 'hex');
    expect(decodeApiVersionsResponse(new Reader(good), 3).finalizedFeaturesEpoch).toBe(2);
    const bad = Buffer.from(good);
    bad[9] = 0x09; // size 9 for an int64
    const r = new Reader(Buffer.concat([bad, Buffer.from([0])]));
    decodeApiVersionsResponse(r, 3);
    expect(r.error?.message).toMatch(/tagged field 1: size mismatch/);
  });

  test('unknown tags in a non-flexible version cannot be encoded (our bug)', () => {
    const m = newApiVersionsResponse();
    m.unknownTaggedFields = [{ tag: 9, data: Buffer.alloc(1) }];
    expect(() => bytes(encodeApiVersionsResponse, m, 2)).toThrow(/unknownTaggedFields/);
  });
});

describe('nullable structs', () => {
  test('an untagged nullable struct carries an int8 marker: -1 null, 1 present', () => {
    const m = newConsumerGroupHeartbeatResponse();
    const none = bytes(encodeConsumerGroupHeartbeatResponse, m, 0);
    expect(none.subarray(-2).toString('hex')).toBe('ff00');
    m.assignment = { topicPartitions: [], unknownTaggedFields: undefined };
    const some = bytes(encodeConsumerGroupHeartbeatResponse, m, 0);
    expect(some.subarray(-4).toString('hex')).toBe('01' + '01' + '00' + '00');
    expect(decodeConsumerGroupHeartbeatResponse(new Reader(some), 0)).toEqual(m);
    expect(decodeConsumerGroupHeartbeatResponse(new Reader(none), 0).assignment).toBeNull();
  });

  test('a tagged nullable struct: absent when null, else an unsigned varint marker of 1', () => {
    const m = newConsumerGroupMemberMetadataValue();
    const none = bytes(encodeConsumerGroupMemberMetadataValue, m, 0);
    expect(none.subarray(-1).toString('hex')).toBe('00');
    m.classicMemberMetadata = {
      sessionTimeoutMs: 45000,
      supportedProtocols: [],
      unknownTaggedFields: undefined,
    };
    const some = bytes(encodeConsumerGroupMemberMetadataValue, m, 0);
    // one tagged field: tag 0, size 7 (marker, int32, empty compact array, no tags)
    expect(some.subarray(-10).toString('hex')).toBe(
      '01' + '00' + '07' + '01' + '0000afc8' + '01' + '00',
    );
    expect(decodeConsumerGroupMemberMetadataValue(new Reader(some), 0)).toEqual(m);
  });
});
