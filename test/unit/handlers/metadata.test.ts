/**
 * The Metadata handler against a MetadataView that has topics (what the metadata image will
 * provide), encoded and decoded at every version so no field breaks an old version.
 */
import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import {
  decodeMetadataResponse,
  encodeMetadataResponse,
  type MetadataRequest,
  type MetadataResponse,
  newMetadataRequest,
} from '../../../protocol/generated/apis/03-metadata.ts';
import { Reader } from '../../../protocol/wire/reader.ts';
import { Writer } from '../../../protocol/wire/writer.ts';
import type { ConfigOverrides } from '../../../src/config/load-config.ts';
import { loadConfig } from '../../../src/config/load-config.ts';
import { handleMetadata } from '../../../src/handlers/03-metadata.ts';
import type { RequestContext } from '../../../src/handlers/handler.ts';
import type {
  BrokerEndpoint,
  MetadataView,
  TopicView,
} from '../../../src/handlers/metadata-view.ts';
import { SimClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';

function topic(name: string, partitions: number, isInternal = false): TopicView {
  return {
    name,
    topicId: `${name.padEnd(21, 'x').slice(0, 21)}A`.replace(/[^A-Za-z0-9_-]/g, 'x'),
    isInternal,
    partitions: Array.from({ length: partitions }, (_, i) => ({
      partitionIndex: i,
      leaderId: 1,
      leaderEpoch: 4,
      replicaNodes: [1],
      isrNodes: [1],
      offlineReplicas: [],
    })),
  };
}

class TestMetadata implements MetadataView {
  readonly clusterId = 'c1';
  readonly topicsByName = new Map<string, TopicView>();
  created: string[] = [];
  /** Whether a created topic shows its partitions at once. */
  visibleAtOnce = true;
  autoCreateTopic = async (name: string): Promise<number> => {
    this.created.push(name);
    this.topicsByName.set(name, topic(name, this.visibleAtOnce ? 2 : 0));
    return ErrorCode.NONE;
  };
  controllerId(): number {
    return 1;
  }
  brokers(): BrokerEndpoint[] {
    return [{ nodeId: 1, host: 'h', port: 9092, rack: 'r1' }];
  }
  topics(): Iterable<TopicView> {
    return this.topicsByName.values();
  }
  topic(name: string): TopicView | undefined {
    return this.topicsByName.get(name);
  }
  topicById(id: string): TopicView | undefined {
    return [...this.topicsByName.values()].find((t) => t.topicId === id);
  }
}

function context(metadata: MetadataView, config: ConfigOverrides = {}): RequestContext {
  return {
    apiKey: 3,
    version: 0,
    correlationId: 1,
    clientId: 'c',
    listenerName: 'PLAINTEXT',
    remoteAddress: '127.0.0.1',
    connectionId: 1,
    logger: silentLogger(),
    services: {
      config: loadConfig({ overrides: config }),
      nodeId: 1,
      clock: new SimClock(),
      metadata,
      apiVersions: () => [],
    },
  };
}

/** Encodes at `version` and decodes back: what a client would see. */
function roundTrip(response: MetadataResponse, version: number): MetadataResponse {
  const writer = new Writer();
  encodeMetadataResponse(writer, response, version);
  const reader = new Reader(writer.finish());
  const decoded = decodeMetadataResponse(reader, version);
  expect(reader.error).toBeUndefined();
  return decoded;
}

function named(...names: string[]): MetadataRequest {
  return {
    ...newMetadataRequest(),
    topics: names.map((name) => ({ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name })),
  };
}

const versions = Array.from({ length: 13 }, (_, v) => v);

describe('Metadata handler', () => {
  test.each(versions)('v%i lists all topics, internal ones included', async (v) => {
    const metadata = new TestMetadata();
    metadata.topicsByName.set('orders', topic('orders', 3));
    metadata.topicsByName.set('__consumer_offsets', topic('__consumer_offsets', 1, true));
    const request = { ...newMetadataRequest(), topics: v === 0 ? [] : null };
    const response = roundTrip(await handleMetadata(context(metadata), request, v), v);
    expect(response.topics.map((t) => t.name)).toEqual(['orders', '__consumer_offsets']);
    expect(response.topics[0]?.partitions).toHaveLength(3);
    expect(response.topics[1]?.isInternal).toBe(v >= 1);
    expect(response.topics[0]?.partitions[2]?.leaderEpoch).toBe(v >= 7 ? 4 : -1);
    expect(response.brokers[0]?.rack).toBe(v >= 1 ? 'r1' : null);
  });

  test('v1+ an empty topic list means none', async () => {
    const metadata = new TestMetadata();
    metadata.topicsByName.set('orders', topic('orders', 1));
    const response = await handleMetadata(context(metadata), named(), 1);
    expect(response.topics).toEqual([]);
  });

  test.each(versions)('v%i auto-creates a missing topic when allowed', async (v) => {
    const metadata = new TestMetadata();
    const response = roundTrip(await handleMetadata(context(metadata), named('new'), v), v);
    expect(metadata.created).toEqual(['new']);
    expect(response.topics.map((t) => [t.name, t.errorCode, t.partitions.length])).toEqual([
      ['new', 0, 2],
    ]);
  });

  test('no auto-creation when the request (v4+) or the config says no', async () => {
    const metadata = new TestMetadata();
    const refused = { ...named('a'), allowAutoTopicCreation: false };
    const byRequest = await handleMetadata(context(metadata), refused, 4);
    expect(byRequest.topics[0]?.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const off = context(metadata, { 'auto.create.topics.enable': false });
    const byConfig = await handleMetadata(off, named('b'), 12);
    expect(byConfig.topics[0]?.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // Before v4 the request cannot refuse: the flag does not exist on the wire.
    await handleMetadata(context(metadata), refused, 3);
    expect(metadata.created).toEqual(['a']);
  });

  test('a created topic not yet visible is LEADER_NOT_AVAILABLE', async () => {
    const metadata = new TestMetadata();
    metadata.visibleAtOnce = false;
    const response = await handleMetadata(context(metadata), named('slow'), 9);
    expect(response.topics[0]?.errorCode).toBe(ErrorCode.LEADER_NOT_AVAILABLE);
  });

  test('an invalid name is never created', async () => {
    const metadata = new TestMetadata();
    const response = await handleMetadata(context(metadata), named('..', 'x'.repeat(250)), 9);
    expect(response.topics.map((t) => t.errorCode)).toEqual([17, 17]);
    expect(metadata.created).toEqual([]);
  });

  test('authorized operations only when asked, and only in versions that carry them', async () => {
    const metadata = new TestMetadata();
    metadata.topicsByName.set('t', topic('t', 1));
    const ask = {
      ...newMetadataRequest(),
      topics: null,
      includeClusterAuthorizedOperations: true,
      includeTopicAuthorizedOperations: true,
    };
    for (const v of [8, 10, 11, 12]) {
      const response = roundTrip(await handleMetadata(context(metadata), ask, v), v);
      expect(response.topics[0]?.topicAuthorizedOperations).toBe(3576);
      expect(response.clusterAuthorizedOperations).toBe(v <= 10 ? 8096 : -2147483648);
    }
  });

  test('v12 finds a topic by id', async () => {
    const metadata = new TestMetadata();
    const t = topic('byid', 2);
    metadata.topicsByName.set('byid', t);
    const request = { ...newMetadataRequest(), topics: [{ topicId: t.topicId, name: null }] };
    const response = roundTrip(await handleMetadata(context(metadata), request, 12), 12);
    expect(response.topics.map((x) => [x.name, x.topicId, x.errorCode])).toEqual([
      ['byid', t.topicId, 0],
    ]);
  });
});
