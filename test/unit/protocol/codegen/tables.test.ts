import { describe, expect, test } from 'vitest';
import { responseHeaderVersion } from '../../../../protocol/frame.ts';
import { ApiKey, Apis, apiFor, apiTable } from '../../../../protocol/generated/api-table.ts';
import {
  CoordinatorRecords,
  consumerOffsetsRecordFor,
} from '../../../../protocol/generated/coordinator-record-table.ts';
import {
  MetadataRecords,
  MetadataRecordType,
  metadataRecordFor,
} from '../../../../protocol/generated/metadata-record-table.ts';
import { Reader } from '../../../../protocol/wire/reader.ts';
import { Writer } from '../../../../protocol/wire/writer.ts';

describe('API table', () => {
  test('keys as a const object and lookup by key', () => {
    expect(ApiKey.Produce).toBe(0);
    expect(ApiKey.Fetch).toBe(1);
    expect(ApiKey.ApiVersions).toBe(18);
    expect(ApiKey.ShareGroupHeartbeat).toBe(76);
    expect(apiFor(0)).toBe(Apis.Produce);
    expect(apiFor(-1)).toBeUndefined();
    expect(apiFor(5000)).toBeUndefined();
    expect(apiTable.filter((a) => a !== undefined)).toHaveLength(Object.keys(ApiKey).length);
    for (const [name, key] of Object.entries(ApiKey)) expect(apiFor(key)?.name).toBe(name);
  });

  test('version ranges, flexible versions and listeners as Kafka defines them', () => {
    expect(Apis.Produce).toMatchObject({ minVersion: 0, maxVersion: 11, flexibleMinVersion: 9 });
    expect(Apis.Produce.deprecatedMaxVersion).toBe(6);
    expect(Apis.Produce.listeners).toContain('broker');
    expect(Apis.Vote.listeners).toEqual(['controller']);
    expect(Apis.SaslHandshake.flexibleMinVersion).toBe(-1);
    expect(Apis.EndTxn.latestVersionUnstable).toBe(true);
    expect(Apis.Metadata.latestVersionUnstable).toBe(false);
  });

  test('header versions follow the flexible versions of each API', () => {
    for (const api of apiTable) {
      if (!api) continue;
      for (let v = api.minVersion; v <= api.maxVersion; v++) {
        const flexible = api.flexibleMinVersion >= 0 && v >= api.flexibleMinVersion;
        const request = api.apiKey === ApiKey.ControlledShutdown && v === 0 ? 0 : flexible ? 2 : 1;
        expect(api.requestHeaderVersion(v), `${api.name} v${v}`).toBe(request);
        const response = api.apiKey === ApiKey.ApiVersions ? 0 : flexible ? 1 : 0;
        expect(responseHeaderVersion(api.apiKey, v), `${api.name} v${v}`).toBe(response);
      }
    }
  });

  test('decoding a version outside the range is a decode error, encoding one is our bug', () => {
    const r = new Reader(Buffer.alloc(64));
    Apis.Produce.decodeRequest(r, 12);
    expect(r.error?.message).toMatch(/ProduceRequest: unsupported version 12/);
    expect(() => Apis.Produce.encodeRequest(new Writer(), Apis.Produce.newRequest(), -1)).toThrow();
  });
});

describe('metadata record table', () => {
  test('record type ids as Kafka assigns them', () => {
    expect(MetadataRecordType.RegisterBrokerRecord).toBe(0);
    expect(MetadataRecordType.TopicRecord).toBe(2);
    expect(MetadataRecordType.PartitionRecord).toBe(3);
    expect(MetadataRecordType.PartitionChangeRecord).toBe(5);
    expect(metadataRecordFor(2)).toBe(MetadataRecords.TopicRecord);
    expect(metadataRecordFor(999)).toBeUndefined();
  });

  test('a TopicRecord round-trips through the table', () => {
    const table = MetadataRecords.TopicRecord;
    const record = table.newRecord();
    record.name = 'orders';
    record.topicId = Buffer.alloc(16, 5).toString('base64url');
    const w = new Writer();
    table.encode(w, record, table.maxVersion);
    expect(table.decode(new Reader(w.finish()), table.maxVersion)).toEqual(record);
  });
});

describe('coordinator record table', () => {
  test('a __consumer_offsets key version names its record', () => {
    expect(consumerOffsetsRecordFor(0)).toBe(CoordinatorRecords.OffsetCommit);
    expect(consumerOffsetsRecordFor(1)).toBe(CoordinatorRecords.OffsetCommit);
    expect(consumerOffsetsRecordFor(2)).toBe(CoordinatorRecords.GroupMetadata);
    expect(consumerOffsetsRecordFor(3)).toBe(CoordinatorRecords.ConsumerGroupMetadata);
    expect(consumerOffsetsRecordFor(99)).toBeUndefined();
    expect(CoordinatorRecords.TransactionLog.log).toBe('__transaction_state');
  });

  test('an offset commit key and value in the bytes Kafka writes (after the int16 version)', () => {
    const table = CoordinatorRecords.OffsetCommit;
    const key = table.newKey();
    key.group = 'g';
    key.topic = 't';
    key.partition = 5;
    const wk = new Writer();
    table.encodeKey(wk, key, 1);
    expect(wk.finish().toString('hex')).toBe('000167' + '000174' + '00000005');
    const value = table.newValue();
    value.offset = 42;
    value.leaderEpoch = 3;
    value.metadata = '';
    value.commitTimestamp = 1000;
    const wv = new Writer();
    table.encodeValue(wv, value, 3);
    const bytes = wv.finish();
    expect(bytes.toString('hex')).toBe(
      '000000000000002a' + '00000003' + '0000' + '00000000000003e8',
    );
    expect(table.decodeValue(new Reader(bytes), 3)).toEqual(value);
  });
});
