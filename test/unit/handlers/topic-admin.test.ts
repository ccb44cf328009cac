/**
 * CreateTopics, DeleteTopics, CreatePartitions and InitProducerId through the real codecs at
 * every served version, against the real single-node metadata path.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { Apis } from '../../../protocol/generated/api-table.ts';
import {
  type CreateTopicsRequest,
  newCreateTopicsRequest,
} from '../../../protocol/generated/apis/19-create-topics.ts';
import { newDeleteTopicsRequest } from '../../../protocol/generated/apis/20-delete-topics.ts';
import { newInitProducerIdRequest } from '../../../protocol/generated/apis/22-init-producer-id.ts';
import { newCreatePartitionsRequest } from '../../../protocol/generated/index.ts';
import { ZERO_UUID } from '../../../protocol/wire/codec-support.ts';
import { createTopicsHandler } from '../../../src/handlers/19-create-topics.ts';
import { deleteTopicsHandler } from '../../../src/handlers/20-delete-topics.ts';
import { initProducerIdHandler } from '../../../src/handlers/22-init-producer-id.ts';
import { createPartitionsHandler } from '../../../src/handlers/37-create-partitions.ts';
import { call, type Fixture, openFixture } from '../replication/fixture.ts';

let fixture: Fixture;
afterEach(async () => {
  await fixture?.close();
});

type Topic = CreateTopicsRequest['topics'][number];
const topic = (name: string, extra: Partial<Topic> = {}): Topic => ({
  name,
  numPartitions: 2,
  replicationFactor: 1,
  assignments: [],
  configs: [],
  ...extra,
});

async function create(topics: Topic[], version = 7, validateOnly = false) {
  const request = newCreateTopicsRequest();
  request.topics = topics;
  request.timeoutMs = 1000;
  request.validateOnly = validateOnly;
  return (
    (await call(fixture, Apis.CreateTopics, createTopicsHandler, request, version))?.topics ?? []
  );
}

describe('CreateTopics', () => {
  test('creates at every version; v5+ answers configs with sources', async () => {
    fixture = await openFixture();
    for (let version = 2; version <= 7; version++) {
      const [result] = await create(
        [topic(`t${version}`, { configs: [{ name: 'retention.ms', value: '1000' }] })],
        version,
      );
      expect(result?.errorCode).toBe(0);
      expect(fixture.data.cluster.topic(`t${version}`)?.partitions).toHaveLength(2);
      if (version >= 5) {
        expect(result?.numPartitions).toBe(2);
        const retention = result?.configs?.find((c) => c.name === 'retention.ms');
        expect(retention).toMatchObject({ value: '1000', configSource: 1 });
        const segment = result?.configs?.find((c) => c.name === 'segment.bytes');
        expect(segment).toMatchObject({ value: String(1024 * 1024 * 1024), configSource: 5 });
      }
      if (version >= 7) expect(result?.topicId).toBe(fixture.data.cluster.topic('t7')?.topicId);
    }
  });

  test('refusals per topic, validateOnly creates nothing', async () => {
    fixture = await openFixture();
    await create([topic('exists')]);
    const results = await create([
      topic('exists'),
      topic('bad name'),
      topic('dup'),
      topic('dup'),
      topic('rf', { replicationFactor: 2 }),
      topic('parts', { numPartitions: 0 }),
      topic('cfg', { configs: [{ name: 'cleanup.policy', value: 'shred' }] }),
      topic('defaults', { numPartitions: -1, replicationFactor: -1 }),
    ]);
    expect(results.map((r) => r.errorCode)).toEqual([
      ErrorCode.TOPIC_ALREADY_EXISTS,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REPLICATION_FACTOR,
      ErrorCode.INVALID_PARTITIONS,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.NONE,
    ]);
    expect(results[0]?.configs).toBeNull();
    expect(results[6]?.errorMessage).toMatch(/cleanup.policy/);
    const [validated] = await create([topic('dry')], 7, true);
    expect(validated?.errorCode).toBe(0);
    expect(fixture.data.cluster.topic('dry')).toBeUndefined();
  });
});

describe('DeleteTopics and CreatePartitions', () => {
  test('delete by name (v1-v5) and by id (v6); unknown ones', async () => {
    fixture = await openFixture();
    await create([topic('a'), topic('b'), topic('c')]);
    const byName = newDeleteTopicsRequest();
    byName.topicNames = ['a', 'missing'];
    const named = await call(fixture, Apis.DeleteTopics, deleteTopicsHandler, byName, 5);
    expect(named?.responses.map((r) => r.errorCode)).toEqual([
      0,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    expect(fixture.data.cluster.topic('a')).toBeUndefined();
    expect(fixture.data.logs.getLog('a', 0)).toBeUndefined();
    const id = fixture.data.cluster.topic('b')?.topicId ?? '';
    const byId = newDeleteTopicsRequest();
    byId.topics = [
      { name: null, topicId: id },
      { name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' },
      { name: 'c', topicId: ZERO_UUID },
    ];
    const ided = await call(fixture, Apis.DeleteTopics, deleteTopicsHandler, byId, 6);
    expect(ided?.responses).toMatchObject([
      { name: 'b', topicId: id, errorCode: 0 },
      { errorCode: ErrorCode.UNKNOWN_TOPIC_ID },
      { name: 'c', errorCode: 0 },
    ]);
    expect([...fixture.data.cluster.topics()]).toHaveLength(0);
  });

  test('create partitions: grow, not shrink, unknown topic', async () => {
    fixture = await openFixture();
    await create([topic('g')]);
    for (let version = 0; version <= 3; version++) {
      const request = newCreatePartitionsRequest();
      request.topics = [
        { name: 'g', count: 3 + version, assignments: null },
        { name: 'nope', count: 2, assignments: null },
      ];
      const response = await call(
        fixture,
        Apis.CreatePartitions,
        createPartitionsHandler,
        request,
        version,
      );
      expect(response?.results.map((r) => r.errorCode)).toEqual([
        0,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ]);
    }
    expect(fixture.data.cluster.topic('g')?.partitions).toHaveLength(6);
    expect(fixture.data.replicas.partition('g', 5)).toBeDefined();
    const shrink = newCreatePartitionsRequest();
    shrink.topics = [{ name: 'g', count: 1, assignments: null }];
    const response = await call(fixture, Apis.CreatePartitions, createPartitionsHandler, shrink, 3);
    expect(response?.results[0]?.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
  });
});

describe('InitProducerId', () => {
  test('distinct ids at every version; transactional ids are refused', async () => {
    fixture = await openFixture();
    const ids = new Set<number>();
    for (let version = 0; version <= 5; version++) {
      const request = { ...newInitProducerIdRequest(), transactionalId: null };
      const response = await call(
        fixture,
        Apis.InitProducerId,
        initProducerIdHandler,
        request,
        version,
      );
      expect(response).toMatchObject({ errorCode: 0, producerEpoch: 0 });
      ids.add(response?.producerId ?? -1);
    }
    expect(ids.size).toBe(6);
    const txn = { ...newInitProducerIdRequest(), transactionalId: 'tx' };
    const refused = await call(fixture, Apis.InitProducerId, initProducerIdHandler, txn, 5);
    expect(refused?.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});
