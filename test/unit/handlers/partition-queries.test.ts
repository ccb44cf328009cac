/**
 * OffsetForLeaderEpoch, DeleteRecords, DescribeTopicPartitions, GetTelemetrySubscriptions,
 * DescribeLogDirs and DescribeProducers through the real codecs at every served version,
 * against real logs.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { Apis } from '../../../protocol/generated/api-table.ts';
import {
  newDeleteRecordsRequest,
  newDescribeLogDirsRequest,
  newDescribeProducersRequest,
  newDescribeTopicPartitionsRequest,
  newGetTelemetrySubscriptionsRequest,
  newOffsetForLeaderEpochRequest,
} from '../../../protocol/generated/index.ts';
import { RecordBatchView } from '../../../protocol/records/batch.ts';
import { buildBatch } from '../../../protocol/records/batch-builder.ts';
import { ZERO_UUID } from '../../../protocol/wire/codec-support.ts';
import { deleteRecordsHandler } from '../../../src/handlers/21-delete-records.ts';
import { offsetForLeaderEpochHandler } from '../../../src/handlers/23-offset-for-leader-epoch.ts';
import { call, type Fixture, handlerOf, openFixture } from '../replication/fixture.ts';

const getTelemetrySubscriptionsHandler = handlerOf(Apis.GetTelemetrySubscriptions.apiKey);
const describeTopicPartitionsHandler = handlerOf(Apis.DescribeTopicPartitions.apiKey);

let fixture: Fixture;
afterEach(async () => {
  await fixture?.close();
});

async function setup(partitions = 1): Promise<void> {
  fixture = await openFixture();
  for (const name of ['a', 'b']) {
    await fixture.data.cluster.createTopic({
      name,
      numPartitions: partitions,
      replicationFactor: 1,
      configs: new Map(),
      assignments: [],
    });
  }
  const hosted = fixture.data.replicas.partition('a', 0);
  if (!hosted) throw new Error('a-0 not hosted');
  const batch = buildBatch({
    records: Array.from({ length: 10 }, (_, i) => ({ key: null, value: null, timestamp: i })),
  });
  await fixture.data.replicas.appendBatch(hosted, new RecordBatchView(batch), 0);
}

describe('OffsetForLeaderEpoch', () => {
  test('current epoch ends at the log end; stale and future epochs are refused', async () => {
    await setup();
    for (let version = 2; version <= 4; version++) {
      const request = newOffsetForLeaderEpochRequest();
      request.replicaId = -1;
      request.topics = [
        {
          topic: 'a',
          partitions: [
            { partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 },
            { partition: 1, currentLeaderEpoch: -1, leaderEpoch: 0 },
          ],
        },
        { topic: 'b', partitions: [{ partition: 0, currentLeaderEpoch: 3, leaderEpoch: 0 }] },
      ];
      const response = await call(
        fixture,
        Apis.OffsetForLeaderEpoch,
        offsetForLeaderEpochHandler,
        request,
        version,
      );
      expect(response?.topics[0]?.partitions).toMatchObject([
        { errorCode: 0, leaderEpoch: 0, endOffset: 10 },
        { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
      ]);
      expect(response?.topics[1]?.partitions[0]?.errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    }
  });
});

describe('DeleteRecords', () => {
  test('moves the log start; above the high watermark is refused', async () => {
    await setup();
    for (let version = 0; version <= 2; version++) {
      const request = newDeleteRecordsRequest();
      request.topics = [
        {
          name: 'a',
          partitions: [{ partitionIndex: 0, offset: 3 + version }],
        },
        { name: 'b', partitions: [{ partitionIndex: 0, offset: 5 }] },
      ];
      const response = await call(
        fixture,
        Apis.DeleteRecords,
        deleteRecordsHandler,
        request,
        version,
      );
      expect(response?.topics[0]?.partitions[0]).toMatchObject({
        errorCode: 0,
        lowWatermark: 3 + version,
      });
      expect(response?.topics[1]?.partitions[0]?.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    }
    expect(fixture.data.replicas.partition('a', 0)?.log.logStartOffset).toBe(5);
  });
});

describe('DescribeTopicPartitions and GetTelemetrySubscriptions', () => {
  test('pages through partitions with a cursor; unknown topics named', async () => {
    await setup(3);
    const request = newDescribeTopicPartitionsRequest();
    request.responsePartitionLimit = 4;
    const first = await call(
      fixture,
      Apis.DescribeTopicPartitions,
      describeTopicPartitionsHandler,
      request,
      0,
    );
    expect(first?.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)])).toEqual([
      ['a', [0, 1, 2]],
      ['b', [0]],
    ]);
    expect(first?.nextCursor).toEqual({ topicName: 'b', partitionIndex: 1 });
    const next = await call(
      fixture,
      Apis.DescribeTopicPartitions,
      describeTopicPartitionsHandler,
      { ...request, cursor: first?.nextCursor ?? null },
      0,
    );
    expect(next?.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)])).toEqual([
      ['b', [1, 2]],
    ]);
    expect(next?.nextCursor).toBeNull();
    const named = { ...request, topics: [{ name: 'zz' }] };
    const unknown = await call(
      fixture,
      Apis.DescribeTopicPartitions,
      describeTopicPartitionsHandler,
      named,
      0,
    );
    expect(unknown?.topics[0]).toMatchObject({
      name: 'zz',
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
  });

  test('telemetry: no metrics requested, an instance id assigned', async () => {
    await setup();
    const request = newGetTelemetrySubscriptionsRequest();
    const response = await call(
      fixture,
      Apis.GetTelemetrySubscriptions,
      getTelemetrySubscriptionsHandler,
      request,
      0,
    );
    expect(response?.requestedMetrics).toEqual([]);
    expect(response?.clientInstanceId).not.toBe(ZERO_UUID);
  });
});

describe('DescribeLogDirs and DescribeProducers', () => {
  test('log dir lists the partitions with sizes; producers of a partition', async () => {
    await setup(2);
    const logDirs = handlerOf(Apis.DescribeLogDirs.apiKey);
    for (let version = 1; version <= 4; version++) {
      const request = { ...newDescribeLogDirsRequest(), topics: null };
      const response = await call(fixture, Apis.DescribeLogDirs, logDirs, request, version);
      expect(response?.results).toHaveLength(1);
      const topics = response?.results[0]?.topics ?? [];
      expect(topics.map((t) => t.name).sort()).toEqual(['a', 'b']);
      const a = topics.find((t) => t.name === 'a');
      expect(a?.partitions.map((p) => p.partitionIndex)).toEqual([0, 1]);
      expect(a?.partitions[0]?.partitionSize).toBeGreaterThan(0);
    }
    const hosted = fixture.data.replicas.partition('b', 1);
    if (!hosted) throw new Error('b-1 not hosted');
    const idempotent = buildBatch({
      records: [{ key: null, value: null, timestamp: 5 }],
      producerId: 77,
      producerEpoch: 2,
      baseSequence: 0,
    });
    await fixture.data.replicas.appendBatch(hosted, new RecordBatchView(idempotent), 5);
    const request = newDescribeProducersRequest();
    request.topics = [{ name: 'b', partitionIndexes: [1, 9] }];
    const producers = handlerOf(Apis.DescribeProducers.apiKey);
    const response = await call(fixture, Apis.DescribeProducers, producers, request, 0);
    expect(response?.topics[0]?.partitions).toMatchObject([
      { errorCode: 0, activeProducers: [{ producerId: 77, producerEpoch: 2, lastSequence: 0 }] },
      { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
    ]);
  });
});
