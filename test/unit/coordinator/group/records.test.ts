import { describe, expect, test } from 'vitest';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeRecordKey,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupMetadataValue,
  javaStringHashCode,
  kafkaAbs,
  partitionForGroup,
} from '../../../../src/coordinator/group/index.ts';
import { BrokerError } from '../../../../src/util/errors.ts';

describe('partition of a group', () => {
  test('javaStringHashCode matches Java String.hashCode', () => {
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('a')).toBe(97);
    expect(javaStringHashCode('hello')).toBe(99162322);
    // Wraps past 2^31 like Java int arithmetic (values printed by a real JVM).
    expect(javaStringHashCode('console-consumer-12345')).toBe(158455506);
    expect(javaStringHashCode('my-group')).toBe(-1906497762);
    // The famous string whose hash is Integer.MIN_VALUE.
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
    // UTF-16 code units, not code points: U+1F600 is the pair D83D DE00.
    expect(javaStringHashCode('\u{1F600}')).toBe(0xd83d * 31 + 0xde00);
  });

  test('Utils.abs maps MIN_VALUE to 0 and the partition follows', () => {
    expect(kafkaAbs(-2147483648)).toBe(0);
    expect(kafkaAbs(-5)).toBe(5);
    expect(partitionForGroup('polygenelubricants', 50)).toBe(0);
    expect(partitionForGroup('hello', 50)).toBe(99162322 % 50);
    expect(partitionForGroup('console-consumer-12345', 50)).toBe(6);
    expect(partitionForGroup('my-group', 50)).toBe(12);
    expect(partitionForGroup('\u{1F600}', 50)).toBe(49);
  });
});

describe('record keys', () => {
  test('offset commit key v1 bytes', () => {
    const key = encodeOffsetCommitKey('g', 't', 7);
    expect(key.toString('hex')).toBe('0001000167000174' + '00000007');
    expect(decodeRecordKey(key)).toEqual({ kind: 'offset', group: 'g', topic: 't', partition: 7 });
  });

  test('offset commit key v0 decodes the same layout', () => {
    const key = Buffer.from('0000000167000174' + '00000003', 'hex');
    expect(decodeRecordKey(key)).toEqual({ kind: 'offset', group: 'g', topic: 't', partition: 3 });
  });

  test('group metadata key v2 bytes', () => {
    const key = encodeGroupMetadataKey('grp');
    expect(key.toString('hex')).toBe(`00020003${Buffer.from('grp').toString('hex')}`);
    expect(decodeRecordKey(key)).toEqual({ kind: 'group', group: 'grp' });
  });

  test('later key versions (KIP-848 records) are unknown, not errors', () => {
    expect(decodeRecordKey(Buffer.from('0003000167', 'hex'))).toEqual({
      kind: 'unknown',
      version: 3,
    });
  });

  test('a truncated key is a BrokerError, never an assertion', () => {
    expect(() => decodeRecordKey(Buffer.from('000100', 'hex'))).toThrow(BrokerError);
    expect(() => decodeRecordKey(Buffer.from('00', 'hex'))).toThrow(/record key/);
  });
});

describe('offset commit values', () => {
  const value = {
    offset: 1234567890123,
    leaderEpoch: 5,
    metadata: 'meta',
    commitTimestamp: 1_700_000_000_000,
    expireTimestamp: 1_700_000_600_000,
  };

  test('v3 bytes: offset, leader epoch, metadata, commit timestamp', () => {
    const bytes = encodeOffsetCommitValue(value, 3);
    const expected = Buffer.alloc(2 + 8 + 4 + 2 + 4 + 8);
    let at = expected.writeInt16BE(3, 0);
    at = expected.writeBigInt64BE(1234567890123n, at);
    at = expected.writeInt32BE(5, at);
    at = expected.writeInt16BE(4, at);
    at += expected.write('meta', at);
    expected.writeBigInt64BE(1_700_000_000_000n, at);
    expect(bytes.equals(expected)).toBe(true);
  });

  test.each([0, 1, 2, 3, 4])('round-trips version %i with the fields it has', (version) => {
    const decoded = decodeOffsetCommitValue(encodeOffsetCommitValue(value, version));
    expect(decoded).toEqual({
      ...value,
      leaderEpoch: version >= 3 ? 5 : -1,
      expireTimestamp: version === 1 ? value.expireTimestamp : -1,
    });
  });

  test('a newer flexible version with tagged fields reads as v4', () => {
    const v4 = encodeOffsetCommitValue(value, 4);
    // Replace the empty tag buffer with one unknown tag (tag 9, 2 bytes).
    const v5 = Buffer.concat([
      Buffer.from([0, 5]),
      v4.subarray(2, -1),
      Buffer.from([1, 9, 2, 0xab, 0xcd]),
    ]);
    expect(decodeOffsetCommitValue(v5)).toEqual({ ...value, expireTimestamp: -1 });
  });

  test('a truncated value is a BrokerError', () => {
    const bytes = encodeOffsetCommitValue(value, 3);
    expect(() => decodeOffsetCommitValue(bytes.subarray(0, bytes.length - 1))).toThrow(BrokerError);
  });
});

describe('group metadata values', () => {
  const value: GroupMetadataValue = {
    protocolType: 'consumer',
    generation: 7,
    protocol: 'range',
    leader: 'c-1',
    currentStateTimestamp: 1_700_000_000_123,
    members: [
      {
        memberId: 'c-1',
        groupInstanceId: 'instance-1',
        clientId: 'c',
        clientHost: '/10.0.0.1',
        rebalanceTimeout: 300_000,
        sessionTimeout: 45_000,
        subscription: Buffer.from([0, 1, 2]),
        assignment: Buffer.from([9, 9]),
      },
      {
        memberId: 'c-2',
        groupInstanceId: null,
        clientId: 'c',
        clientHost: '/10.0.0.2',
        rebalanceTimeout: 60_000,
        sessionTimeout: 10_000,
        subscription: Buffer.alloc(0),
        assignment: Buffer.alloc(0),
      },
    ],
  };

  test.each([0, 1, 2, 3, 4])('round-trips version %i with the fields it has', (version) => {
    const decoded = decodeGroupMetadataValue(encodeGroupMetadataValue(value, version));
    expect(decoded).toEqual({
      ...value,
      currentStateTimestamp: version >= 2 ? value.currentStateTimestamp : -1,
      members: value.members.map((m) => ({
        ...m,
        groupInstanceId: version >= 3 ? m.groupInstanceId : null,
        rebalanceTimeout: version >= 1 ? m.rebalanceTimeout : m.sessionTimeout,
      })),
    });
  });

  test('v3 layout puts the rebalance timeout before the session timeout', () => {
    const one = { ...value, members: [value.members[1] as GroupMetadataValue['members'][0]] };
    const bytes = encodeGroupMetadataValue(one, 3);
    const tail = bytes.subarray(bytes.length - 16);
    expect(tail.readInt32BE(0)).toBe(60_000);
    expect(tail.readInt32BE(4)).toBe(10_000);
  });

  test('an empty group has null protocol and leader', () => {
    const empty = { ...value, protocol: null, leader: null, members: [] };
    expect(decodeGroupMetadataValue(encodeGroupMetadataValue(empty, 3))).toEqual(empty);
  });

  test('a hostile member count is refused before allocating', () => {
    const bytes = encodeGroupMetadataValue({ ...value, members: [] }, 3);
    bytes.writeInt32BE(0x7fffffff, bytes.length - 4);
    expect(() => decodeGroupMetadataValue(bytes)).toThrow(BrokerError);
  });
});
