/**
 * Topics through the single-node metadata path: records appended to __cluster_metadata,
 * the image they build, the logs the ReplicaManager opens, and all of it after a restart.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { MetadataImage } from '../../../src/metadata/metadata-image.ts';
import {
  decodeMetadataRecord,
  encodeMetadataRecord,
} from '../../../src/metadata/metadata-record.ts';
import { type Fixture, openFixture } from '../replication/fixture.ts';

const newTopic = (name: string, numPartitions = 2, configs = new Map<string, string>()) => ({
  name,
  numPartitions,
  replicationFactor: 1,
  configs,
  assignments: [],
});

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('metadata records', () => {
  test('frame round trip: version 1, type, version, body', () => {
    const bytes = encodeMetadataRecord({
      type: 2,
      data: { name: 'orders', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' },
    });
    expect([...bytes.subarray(0, 3)]).toEqual([1, 2, 0]);
    expect(decodeMetadataRecord(bytes)).toMatchObject({ type: 2, data: { name: 'orders' } });
    expect(() => decodeMetadataRecord(Buffer.from([9, 2, 0]))).toThrow(/frame/);
  });

  test('image: topic, partitions, config set and unset, change, removal', () => {
    const id = 'AAAAAAAAAAAAAAAAAAAAAQ';
    const partition = (partitionId: number) => ({
      type: 3 as const,
      data: {
        partitionId,
        topicId: id,
        replicas: [1],
        isr: [1],
        removingReplicas: [],
        addingReplicas: [],
        leader: 1,
        leaderRecoveryState: 0,
        leaderEpoch: 0,
        partitionEpoch: 0,
        directories: [],
        eligibleLeaderReplicas: null,
        lastKnownElr: null,
      },
    });
    const config = (value: string | null) => ({
      type: 4 as const,
      data: { resourceType: 2, resourceName: 't', name: 'retention.ms', value },
    });
    let image = MetadataImage.EMPTY.apply(
      [{ type: 2, data: { name: 't', topicId: id } }, partition(0), partition(1), config('5')],
      3,
    );
    const before = image;
    expect(image.topic('t')?.partitions.map((p) => p.partitionIndex)).toEqual([0, 1]);
    expect(image.topic('t')?.configs.get('retention.ms')).toBe('5');
    image = image.apply([config(null)], 4);
    expect(image.topic('t')?.configs.has('retention.ms')).toBe(false);
    expect(before.topic('t')?.configs.get('retention.ms')).toBe('5');
    image = image.apply([{ type: 9, data: { topicId: id } }], 5);
    expect(image.topic('t')).toBeUndefined();
    expect(image.topicById(id)).toBeUndefined();
    expect(before.topicById(id)?.name).toBe('t');
  });
});

describe('ClusterMetadata on a local metadata log', () => {
  test('creates topics with logs, survives a restart, deletes them', async () => {
    fixture = await openFixture({ seed: 7 });
    const { cluster, replicas } = fixture.data;
    const created = await cluster.createTopic(
      newTopic('orders', 3, new Map([['cleanup.policy', 'compact']])),
    );
    expect(created.errorCode).toBe(0);
    const topic = cluster.topic('orders');
    expect(topic?.partitions).toHaveLength(3);
    expect(topic?.topicId).not.toBe('AAAAAAAAAAAAAAAAAAAAAA');
    expect(replicas.partition('orders', 2)?.config.cleanupPolicy).toBe('compact');
    expect((await cluster.createTopic(newTopic('orders'))).errorCode).toBe(
      ErrorCode.TOPIC_ALREADY_EXISTS,
    );
    const clusterId = cluster.clusterId;
    await fixture.reopen();
    const again = fixture.data.cluster;
    expect(again.clusterId).toBe(clusterId);
    expect(again.topic('orders')?.topicId).toBe(topic?.topicId);
    expect(again.topic('orders')?.configs.get('cleanup.policy')).toBe('compact');
    expect(fixture.data.replicas.partition('orders', 1)).toBeDefined();
    const props = readFileSync(join(fixture.dir, 'meta.properties'), 'utf8');
    expect(props).toContain(`cluster.id=${clusterId}`);

    expect((await again.deleteTopic(topic?.topicId ?? '')).errorCode).toBe(0);
    expect(again.topic('orders')).toBeUndefined();
    expect(fixture.data.replicas.partition('orders', 0)).toBeUndefined();
    expect(fixture.data.logs.getLog('orders', 0)).toBeUndefined();
    await fixture.reopen();
    expect(fixture.data.cluster.topic('orders')).toBeUndefined();
  });

  test('refusals: bad name, bad config, replication factor above the broker count', async () => {
    fixture = await openFixture();
    const { cluster } = fixture.data;
    expect((await cluster.createTopic(newTopic('bad/name'))).errorCode).toBe(
      ErrorCode.INVALID_TOPIC_EXCEPTION,
    );
    const badConfig = await cluster.createTopic(
      newTopic('t', 1, new Map([['retention.ms', 'soon']])),
    );
    expect(badConfig.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    const unknown = await cluster.createTopic(newTopic('t', 1, new Map([['no.such', '1']])));
    expect(unknown.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    const factor = await cluster.createTopic({ ...newTopic('t'), replicationFactor: 3 });
    expect(factor.errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
    expect(cluster.topic('t')).toBeUndefined();
  });

  test('partitions added, producer ids never reused across restarts', async () => {
    fixture = await openFixture();
    const { cluster } = fixture.data;
    await cluster.createTopic(newTopic('p', 1));
    expect((await cluster.createPartitions('p', 4, null)).errorCode).toBe(0);
    expect(cluster.topic('p')?.partitions).toHaveLength(4);
    expect(fixture.data.replicas.partition('p', 3)).toBeDefined();
    expect((await cluster.createPartitions('p', 2, null)).errorCode).toBe(
      ErrorCode.INVALID_PARTITIONS,
    );
    const first = await cluster.allocateProducerId();
    const second = await cluster.allocateProducerId();
    expect(second).toBe(first + 1);
    await fixture.reopen();
    const third = await fixture.data.cluster.allocateProducerId();
    expect(third).toBeGreaterThan(second);
    // Concurrent callers, across a block boundary, never share an id.
    const many = await Promise.all(
      Array.from({ length: 1500 }, () => fixture?.data.cluster.allocateProducerId()),
    );
    expect(new Set([third, ...many]).size).toBe(1501);
  });

  test('auto-create uses num.partitions', async () => {
    fixture = await openFixture({ config: { 'num.partitions': 3 } });
    expect(await fixture.data.cluster.autoCreateTopic?.('auto')).toBe(0);
    expect(fixture.data.cluster.topic('auto')?.partitions).toHaveLength(3);
    expect(await fixture.data.cluster.autoCreateTopic?.('auto')).toBe(0);
  });
});
