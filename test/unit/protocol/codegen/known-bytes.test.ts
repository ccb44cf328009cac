/**
 * Messages checked against bytes written out by hand from the protocol guide, independent of
 * the generator: what real clients send and what they expect back.
 */

import { describe, expect, test } from 'vitest';
import { readRequestHeader } from '../../../../protocol/frame.ts';
import {
  Apis,
  decodeApiVersionsRequest,
  decodeMetadataRequest,
  decodeProduceRequest,
  encodeApiVersionsResponse,
  encodeMetadataResponse,
  newApiVersionsResponse,
  newMetadataResponse,
} from '../../../../protocol/generated/index.ts';
import { Reader } from '../../../../protocol/wire/reader.ts';
import { Writer } from '../../../../protocol/wire/writer.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+|\|/g, ''), 'hex');
const str = (s: string): string => Buffer.from(s).toString('hex');

describe('ApiVersions', () => {
  // librdkafka's first request: ApiVersions v3, request header v2 (client id stays a
  // non-compact string even in header v2), then compact strings for the software name/version.
  const frameBody = hex(
    `0012 0003 00000001 0007 ${str('rdkafka')} 00 |` +
      ` 0b ${str('librdkafka')} 06 ${str('2.3.0')} 00`,
  );

  test('a v3 request as librdkafka sends it', () => {
    const r = new Reader(frameBody);
    const decoded = readRequestHeader(r, frameBody);
    expect(decoded?.headerVersion).toBe(2);
    expect(decoded?.header).toEqual({
      requestApiKey: 18,
      requestApiVersion: 3,
      correlationId: 1,
      clientId: 'rdkafka',
      unknownTaggedFields: undefined,
    });
    const body = decodeApiVersionsRequest(r, 3);
    expect(r.error).toBeUndefined();
    expect(r.remaining).toBe(0);
    expect(body.clientSoftwareName).toBe('librdkafka');
    expect(body.clientSoftwareVersion).toBe('2.3.0');
  });

  test('a v3 response: compact array of keys, then throttle time, then tagged fields', () => {
    const m = newApiVersionsResponse();
    m.apiKeys = [
      { apiKey: 0, minVersion: 3, maxVersion: 11, unknownTaggedFields: undefined },
      { apiKey: 18, minVersion: 0, maxVersion: 4, unknownTaggedFields: undefined },
    ];
    const w = new Writer();
    encodeApiVersionsResponse(w, m, 3);
    expect(w.finish().toString('hex')).toBe(
      hex('0000 03 0000 0003 000b 00 0012 0000 0004 00 00000000 00').toString('hex'),
    );
    // A non-default tagged field (FinalizedFeaturesEpoch, tag 1) adds tag, size and value.
    m.finalizedFeaturesEpoch = 5;
    const w2 = new Writer();
    encodeApiVersionsResponse(w2, m, 3);
    expect(w2.finish().subarray(-11).toString('hex')).toBe('01' + '01' + '08' + '0000000000000005');
  });

  test('a v0 response has no throttle time and plain int32 array length', () => {
    const m = newApiVersionsResponse();
    m.errorCode = 35;
    m.throttleTimeMs = 100; // ignorable in v0: dropped, not an error
    m.apiKeys = [{ apiKey: 18, minVersion: 0, maxVersion: 4, unknownTaggedFields: undefined }];
    const w = new Writer();
    encodeApiVersionsResponse(w, m, 0);
    expect(w.finish().toString('hex')).toBe('0023' + '00000001' + '0012' + '0000' + '0004');
  });

  test('ApiVersions responses always use response header v0', () => {
    for (let v = Apis.ApiVersions.minVersion; v <= Apis.ApiVersions.maxVersion; v++) {
      expect(Apis.ApiVersions.responseHeaderVersion(v)).toBe(0);
      expect(Apis.ApiVersions.requestHeaderVersion(v)).toBe(v >= 3 ? 2 : 1);
    }
  });
});

describe('Metadata', () => {
  test('a v1 request for one topic and for all topics (null array)', () => {
    const one = hex(`0003 0001 00000002 0007 ${str('kafkajs')} | 00000001 0004 ${str('test')}`);
    const r = new Reader(one);
    expect(readRequestHeader(r, one)?.headerVersion).toBe(1);
    const m = decodeMetadataRequest(r, 1);
    expect(r.remaining).toBe(0);
    expect(m.topics).toEqual([
      { topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'test', unknownTaggedFields: undefined },
    ]);
    expect(m.allowAutoTopicCreation).toBe(true); // v4+ field: its default

    const all = new Reader(hex('ffffffff'));
    expect(decodeMetadataRequest(all, 1).topics).toBeNull();
    // v0 has no null array: -1 there is malformed.
    const v0 = new Reader(hex('ffffffff'));
    decodeMetadataRequest(v0, 0);
    expect(v0.error?.message).toMatch(/topics: null where a value is required/);
  });

  test('a v1 response', () => {
    const m = newMetadataResponse();
    m.brokers = [{ nodeId: 1, host: 'h', port: 9092, rack: null, unknownTaggedFields: undefined }];
    m.controllerId = 1;
    m.topics = [
      {
        errorCode: 0,
        name: 't',
        topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
        isInternal: false,
        partitions: [
          {
            errorCode: 0,
            partitionIndex: 0,
            leaderId: 1,
            leaderEpoch: -1,
            replicaNodes: [1],
            isrNodes: [1],
            offlineReplicas: [],
            unknownTaggedFields: undefined,
          },
        ],
        topicAuthorizedOperations: -2147483648,
        unknownTaggedFields: undefined,
      },
    ];
    const w = new Writer();
    encodeMetadataResponse(w, m, 1);
    const expected =
      '00000001 00000001 0001 68 00002384 ffff' + // brokers: id, host, port, rack null
      '00000001' + // controller id
      '00000001 0000 0001 74 00' + // topic: error, name, isInternal
      '00000001 0000 00000000 00000001 00000001 00000001 00000001 00000001'; // partition
    expect(w.finish().toString('hex')).toBe(hex(expected).toString('hex'));
  });

  test('a non-ignorable field a version cannot carry is our bug', () => {
    const m = newMetadataResponse();
    m.clusterAuthorizedOperations = 0; // v8-10 only, not ignorable
    expect(() => encodeMetadataResponse(new Writer(), m, 11)).toThrow(
      /clusterAuthorizedOperations/,
    );
  });
});

describe('Produce', () => {
  test('a v3 request keeps its records as a view of the frame', () => {
    const records = Buffer.alloc(70, 0x42);
    const body = Buffer.concat([
      hex(`ffff ffff 00007530 00000001 0001 ${str('t')} 00000001 00000000 00000046`),
      records,
    ]);
    const r = new Reader(body);
    const m = decodeProduceRequest(r, 3);
    expect(r.error).toBeUndefined();
    expect(m.transactionalId).toBeNull();
    expect(m.acks).toBe(-1);
    expect(m.timeoutMs).toBe(30000);
    const decoded = m.topicData[0]?.partitionData[0]?.records as Buffer;
    expect(decoded.equals(records)).toBe(true);
    expect(decoded.buffer).toBe(body.buffer);
  });
});
