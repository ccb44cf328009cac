/**
 * The request path end to end on a real in-process broker: raw socket clients encode requests
 * with the generated codecs and decode the responses with them.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-table.ts';
import {
  type MetadataResponse,
  newMetadataRequest,
} from '../../../protocol/generated/apis/03-metadata.ts';
import {
  type ApiVersionsResponse,
  newApiVersionsRequest,
} from '../../../protocol/generated/apis/18-api-versions.ts';
import {
  type DescribeClusterResponse,
  newDescribeClusterRequest,
} from '../../../protocol/generated/apis/60-describe-cluster.ts';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import { createLogger } from '../../../src/util/logger.ts';
import { decodeResponse, KafkaTestClient } from './kafka-client.ts';
import { RawClient } from './raw-client.ts';

let broker: RunningBroker;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const logger = createLogger({
    level: 'info',
    format: 'json',
    destination: { write: (line: string) => logLines.push(JSON.parse(line)) },
  });
  broker = await startBroker({
    logger,
    config: { 'node.id': 3, 'cluster.id': 'test-cluster', 'auto.create.topics.enable': false },
  });
});

afterAll(async () => {
  await broker.stop();
});

async function client(): Promise<KafkaTestClient> {
  return KafkaTestClient.connect(broker.port);
}

/** A request frame whose header is right but whose body is `body`. */
function rawRequest(apiKey: number, version: number, correlationId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(10);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(version, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(-1, 8); // null client id
  return Buffer.concat([header, body]);
}

async function expectClosedWithLog(raw: RawClient, reason: RegExp): Promise<void> {
  await raw.closed;
  const line = logLines.find((l) => typeof l.reason === 'string' && reason.test(l.reason));
  expect(line, `log lines: ${JSON.stringify(logLines)}`).toBeDefined();
  expect(line?.remote).toMatch(/^127\.0\.0\.1:\d+$/);
}

describe('ApiVersions', () => {
  test.each([0, 1, 2, 3, 4])('v%i lists the registered APIs with their ranges', async (v) => {
    const c = await client();
    const request = { ...newApiVersionsRequest(), clientSoftwareName: 'brook-test' };
    const response = await c.call<ApiVersionsResponse>(ApiKey.ApiVersions, v, {
      ...request,
      clientSoftwareVersion: '1.0',
    });
    c.close();
    expect(response.errorCode).toBe(ErrorCode.NONE);
    const keys = response.apiKeys.map((k) => k.apiKey);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    expect(response.apiKeys).toContainEqual({ apiKey: 18, minVersion: 0, maxVersion: 4 });
    expect(response.apiKeys).toContainEqual({ apiKey: 3, minVersion: 0, maxVersion: 12 });
    expect(response.apiKeys).toContainEqual({ apiKey: 60, minVersion: 0, maxVersion: 1 });
    const features = response.supportedFeatures.map((f) => f.name);
    if (v < 3) expect(features).toEqual([]);
    if (v === 3) expect(features).toEqual(['metadata.version']);
    if (v === 4) expect(features).toEqual(['metadata.version', 'kraft.version']);
    if (v >= 3) {
      expect(response.finalizedFeatures).toEqual([
        { name: 'metadata.version', minVersionLevel: 25, maxVersionLevel: 25 },
      ]);
      expect(response.finalizedFeaturesEpoch).toBeGreaterThanOrEqual(0);
    }
  });

  test('v3 with an invalid client software name is INVALID_REQUEST', async () => {
    const c = await client();
    const response = await c.call<ApiVersionsResponse>(ApiKey.ApiVersions, 3, {
      ...newApiVersionsRequest(),
      clientSoftwareName: '-bad name',
      clientSoftwareVersion: '1',
    });
    c.close();
    expect(response.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(response.apiKeys).toEqual([]);
  });

  test('an unknown version is answered at v0 with UNSUPPORTED_VERSION and our ranges', async () => {
    const raw = await RawClient.connect(broker.port);
    // A v9 request from the future: a flexible header and a body we cannot know.
    raw.send(rawRequest(ApiKey.ApiVersions, 9, 4242, Buffer.from([0, 7, 1, 2, 3])));
    const frame = await raw.takeOne();
    const response = decodeResponse<ApiVersionsResponse>(frame, ApiKey.ApiVersions, 0, 4242, 0);
    expect(response.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(response.apiKeys).toContainEqual({ apiKey: 18, minVersion: 0, maxVersion: 4 });
    // The connection stays usable: the client retries at a version we serve.
    raw.send(KafkaTestClient.encodeRequest(ApiKey.ApiVersions, 2, newApiVersionsRequest(), 5));
    const retry = decodeResponse<ApiVersionsResponse>(await raw.takeOne(), 18, 2, 5);
    expect(retry.errorCode).toBe(ErrorCode.NONE);
    raw.close();
  });
});

describe('bad requests close only their connection', () => {
  test('an unknown API key', async () => {
    const bad = await RawClient.connect(broker.port);
    const canary = await client();
    bad.send(rawRequest(999, 0, 77, Buffer.alloc(0)));
    await expectClosedWithLog(bad, /unknown API key 999/);
    const line = logLines.find((l) => l.reason === 'unknown API key 999');
    expect(line).toMatchObject({ apiKey: 999, version: 0, correlationId: 77 });
    const response = await canary.call<ApiVersionsResponse>(18, 0, newApiVersionsRequest());
    expect(response.errorCode).toBe(0);
    canary.close();
  });

  test('a frame too short to hold a request header', async () => {
    const bad = await RawClient.connect(broker.port);
    bad.send(Buffer.from([0, 18, 0]));
    await expectClosedWithLog(bad, /a frame of 3 bytes holds no request header/);
  });

  test('a frame size above socket.request.max.bytes', async () => {
    const bad = await RawClient.connect(broker.port);
    const size = Buffer.alloc(4);
    size.writeInt32BE(broker.config['socket.request.max.bytes'] + 1, 0);
    bad.writeRaw(size);
    await expectClosedWithLog(bad, /exceeds socket.request.max.bytes 104857600/);
  });

  test('an unsupported version of another API', async () => {
    const bad = await RawClient.connect(broker.port);
    bad.send(rawRequest(ApiKey.Metadata, 13, 78, Buffer.alloc(4)));
    await expectClosedWithLog(bad, /unsupported version 13 of Metadata/);
  });

  test('an API with a schema but no handler', async () => {
    const bad = await RawClient.connect(broker.port);
    bad.send(rawRequest(ApiKey.LeaderAndIsr, 5, 79, Buffer.alloc(4)));
    await expectClosedWithLog(bad, /unsupported version 5 of LeaderAndIsr/);
  });

  test('an undecodable body', async () => {
    const bad = await RawClient.connect(broker.port);
    // Metadata v1: a topic array claiming 1000 entries in a 4-byte body.
    const body = Buffer.alloc(4);
    body.writeInt32BE(1000, 0);
    bad.send(rawRequest(ApiKey.Metadata, 1, 80, body));
    await expectClosedWithLog(bad, /undecodable Metadata v1 request/);
    const canary = await client();
    const ok = await canary.call<MetadataResponse>(3, 1, { ...newMetadataRequest(), topics: [] });
    expect(ok.brokers).toHaveLength(1);
    canary.close();
  });
});

describe('Metadata', () => {
  test.each(Array.from({ length: 13 }, (_, v) => v))('v%i describes this broker', async (v) => {
    const c = await client();
    const all = { ...newMetadataRequest(), topics: v === 0 ? [] : null };
    const response = await c.call<MetadataResponse>(ApiKey.Metadata, v, all);
    expect(response.brokers).toEqual([
      { nodeId: 3, host: '127.0.0.1', port: broker.port, rack: null },
    ]);
    expect(response.topics).toEqual([]);
    expect(response.controllerId).toBe(v >= 1 ? 3 : -1);
    expect(response.clusterId).toBe(v >= 2 ? 'test-cluster' : null);
    const named = {
      ...newMetadataRequest(),
      topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'foo' }],
    };
    const one = await c.call<MetadataResponse>(ApiKey.Metadata, v, named);
    expect(one.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['foo', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    c.close();
  });

  test('an invalid topic name is INVALID_TOPIC_EXCEPTION', async () => {
    const c = await client();
    const request = {
      ...newMetadataRequest(),
      topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'a b' }],
    };
    const response = await c.call<MetadataResponse>(ApiKey.Metadata, 9, request);
    expect(response.topics[0]?.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    c.close();
  });

  test('by topic id: v12 UNKNOWN_TOPIC_ID, v10 INVALID_REQUEST', async () => {
    const c = await client();
    const byId = {
      ...newMetadataRequest(),
      topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', name: null }],
    };
    const v12 = await c.call<MetadataResponse>(ApiKey.Metadata, 12, byId);
    expect(v12.topics).toMatchObject([
      { name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', errorCode: ErrorCode.UNKNOWN_TOPIC_ID },
    ]);
    const v10 = await c.call<MetadataResponse>(ApiKey.Metadata, 10, byId);
    expect(v10.topics[0]?.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    c.close();
  });
});

describe('DescribeCluster', () => {
  test.each([0, 1])('v%i describes the cluster', async (v) => {
    const c = await client();
    const request = { ...newDescribeClusterRequest(), includeClusterAuthorizedOperations: true };
    const response = await c.call<DescribeClusterResponse>(ApiKey.DescribeCluster, v, request);
    expect(response).toMatchObject({
      errorCode: 0,
      clusterId: 'test-cluster',
      controllerId: 3,
      brokers: [{ brokerId: 3, host: '127.0.0.1', port: broker.port, rack: null }],
    });
    expect(response.clusterAuthorizedOperations).toBeGreaterThan(0);
    c.close();
  });

  test('v1 asking a broker listener for controllers is MISMATCHED_ENDPOINT_TYPE', async () => {
    const c = await client();
    const request = { ...newDescribeClusterRequest(), endpointType: 2 };
    const response = await c.call<DescribeClusterResponse>(ApiKey.DescribeCluster, 1, request);
    expect(response.errorCode).toBe(ErrorCode.MISMATCHED_ENDPOINT_TYPE);
    expect(response.errorMessage).toContain('not controllers');
    expect(response.brokers).toEqual([]);
    const unknown = { ...newDescribeClusterRequest(), endpointType: 9 };
    const odd = await c.call<DescribeClusterResponse>(ApiKey.DescribeCluster, 1, unknown);
    expect(odd.errorCode).toBe(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
    c.close();
  });
});

test('pipelined requests of different APIs come back in order', async () => {
  const raw = await RawClient.connect(broker.port);
  const requests: [number, number, unknown][] = [
    [ApiKey.Metadata, 12, { ...newMetadataRequest(), topics: null }],
    [
      ApiKey.ApiVersions,
      3,
      { ...newApiVersionsRequest(), clientSoftwareName: 'a', clientSoftwareVersion: 'b' },
    ],
    [ApiKey.DescribeCluster, 0, newDescribeClusterRequest()],
    [ApiKey.Metadata, 1, { ...newMetadataRequest(), topics: null }],
  ];
  raw.send(
    ...requests.map(([key, v, body], i) => KafkaTestClient.encodeRequest(key, v, body, 100 + i)),
  );
  const frames = await raw.take(requests.length);
  frames.forEach((frame, i) => {
    const [key, v] = requests[i] as [number, number, unknown];
    expect(() => decodeResponse(frame, key, v, 100 + i)).not.toThrow();
  });
  raw.close();
});
