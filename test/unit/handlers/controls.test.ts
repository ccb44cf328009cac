/**
 * Test controls (kfake's ControlKey) on a real in-process broker: a control answers, injects
 * an error, delays or drops; one-shot controls disarm after acting, kept ones stay.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-table.ts';
import {
  type MetadataRequest,
  type MetadataResponse,
  newMetadataRequest,
  newMetadataResponse,
} from '../../../protocol/generated/apis/03-metadata.ts';
import {
  type DescribeClusterResponse,
  newDescribeClusterRequest,
} from '../../../protocol/generated/apis/60-describe-cluster.ts';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import { KafkaTestClient } from '../server/kafka-client.ts';

let broker: RunningBroker;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker.stop();
});

const allTopics = { ...newMetadataRequest(), topics: null };

describe('broker.control', () => {
  test('respond: answers with the given response once, then the real handler answers', async () => {
    const seen: MetadataRequest[] = [];
    const handle = broker.control<MetadataRequest>(ApiKey.Metadata, ({ request }) => {
      seen.push(request);
      const response = newMetadataResponse();
      response.topics = [
        {
          errorCode: 0,
          name: 'injected',
          topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
          isInternal: false,
          partitions: [],
          topicAuthorizedOperations: -2147483648,
        },
      ];
      return { action: 'respond', response };
    });
    const c = await KafkaTestClient.connect(broker.port);
    const first = await c.call<MetadataResponse>(ApiKey.Metadata, 12, allTopics);
    expect(first.topics.map((t) => t.name)).toEqual(['injected']);
    const second = await c.call<MetadataResponse>(ApiKey.Metadata, 12, allTopics);
    expect(second.topics).toEqual([]);
    expect(second.brokers).toHaveLength(1);
    expect(seen).toHaveLength(1);
    expect(handle.fired).toBe(1);
    c.close();
  });

  test('error: a top-level error code where the API has one', async () => {
    broker.control(ApiKey.DescribeCluster, () => ({
      action: 'error',
      errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    }));
    const c = await KafkaTestClient.connect(broker.port);
    const request = newDescribeClusterRequest();
    const failed = await c.call<DescribeClusterResponse>(ApiKey.DescribeCluster, 1, request);
    expect(failed.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const ok = await c.call<DescribeClusterResponse>(ApiKey.DescribeCluster, 1, request);
    expect(ok.errorCode).toBe(ErrorCode.NONE);
    c.close();
  });

  test('error: the handler places it where the API reports errors (Metadata topics)', async () => {
    broker.control(ApiKey.Metadata, () => ({
      action: 'error',
      errorCode: ErrorCode.LEADER_NOT_AVAILABLE,
    }));
    const c = await KafkaTestClient.connect(broker.port);
    const request = {
      ...newMetadataRequest(),
      topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 't' }],
    };
    const response = await c.call<MetadataResponse>(ApiKey.Metadata, 9, request);
    expect(response.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['t', ErrorCode.LEADER_NOT_AVAILABLE],
    ]);
    c.close();
  });

  test('drop: closes the connection; the next connection is served', async () => {
    broker.control(ApiKey.Metadata, () => ({ action: 'drop' }));
    const c = await KafkaTestClient.connect(broker.port);
    await expect(c.call(ApiKey.Metadata, 1, allTopics)).rejects.toThrow(/closed/);
    const next = await KafkaTestClient.connect(broker.port);
    const response = await next.call<MetadataResponse>(ApiKey.Metadata, 1, allTopics);
    expect(response.brokers).toHaveLength(1);
    next.close();
  });

  test('delay: holds a request; responses on the connection stay in order', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // An async control is a delay the test ends itself: no timer, no sleep.
    const holding = broker.control(ApiKey.Metadata, async () => {
      await held;
      return { action: 'pass' };
    });
    broker.control(ApiKey.DescribeCluster, () => ({ action: 'delay', delayMs: 20 }));
    const c = await KafkaTestClient.connect(broker.port);
    const raw = c.raw;
    raw.send(
      KafkaTestClient.encodeRequest(ApiKey.Metadata, 1, allTopics, 1),
      KafkaTestClient.encodeRequest(ApiKey.DescribeCluster, 0, newDescribeClusterRequest(), 2),
    );
    const frames = raw.take(2);
    release();
    const [first, second] = await frames;
    expect(first?.readInt32BE(0)).toBe(1);
    expect(second?.readInt32BE(0)).toBe(2);
    holding.remove();
    c.close();
  });

  test('keep: stays armed until removed; pass does not count as firing', async () => {
    let calls = 0;
    const kept = broker.control(
      ApiKey.DescribeCluster,
      ({ request }) => {
        calls++;
        const wantsOps = (request as { includeClusterAuthorizedOperations: boolean })
          .includeClusterAuthorizedOperations;
        return wantsOps ? { action: 'pass' } : { action: 'error', errorCode: 31 };
      },
      { keep: true },
    );
    const c = await KafkaTestClient.connect(broker.port);
    const plain = newDescribeClusterRequest();
    const withOps = { ...plain, includeClusterAuthorizedOperations: true };
    for (let i = 0; i < 3; i++) {
      const r = await c.call<DescribeClusterResponse>(ApiKey.DescribeCluster, 0, plain);
      expect(r.errorCode).toBe(31);
    }
    const passed = await c.call<DescribeClusterResponse>(ApiKey.DescribeCluster, 0, withOps);
    expect(passed.errorCode).toBe(0);
    expect(kept.fired).toBe(3);
    kept.remove();
    const after = await c.call<DescribeClusterResponse>(ApiKey.DescribeCluster, 0, plain);
    expect(after.errorCode).toBe(0);
    expect(calls).toBe(4);
    c.close();
  });

  test('the control sees the request header fields', async () => {
    const seen: unknown[] = [];
    const watching = broker.control(ApiKey.Metadata, (r) => {
      seen.push({ v: r.version, c: r.correlationId, id: r.clientId });
      return { action: 'pass' };
    });
    const c = await KafkaTestClient.connect(broker.port);
    await c.call(ApiKey.Metadata, 4, allTopics);
    expect(seen).toEqual([{ v: 4, c: 1, id: 'brook-test' }]);
    watching.remove();
    c.close();
  });
});
