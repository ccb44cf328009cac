/**
 * Produce, Fetch and ListOffsets over the real data path (temp dir, real logs), with requests
 * and responses through the generated codecs at every served version.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { Apis } from '../../../protocol/generated/api-table.ts';
import {
  newProduceRequest,
  type ProduceRequest,
} from '../../../protocol/generated/apis/00-produce.ts';
import type { FetchRequest } from '../../../protocol/generated/apis/01-fetch.ts';
import { newFetchRequest } from '../../../protocol/generated/apis/01-fetch.ts';
import { newListOffsetsRequest } from '../../../protocol/generated/apis/02-list-offsets.ts';
import { BatchOffset, RecordBatchView } from '../../../protocol/records/batch.ts';
import { type BatchInput, buildBatch } from '../../../protocol/records/batch-builder.ts';
import { readRecords } from '../../../protocol/records/record-iterator.ts';
import { produceHandler } from '../../../src/handlers/00-produce.ts';
import { fetchHandler } from '../../../src/handlers/01-fetch.ts';
import { listOffsetsHandler } from '../../../src/handlers/02-list-offsets.ts';
import { SimClock } from '../../../src/util/clock.ts';
import { call, type Fixture, openFixture } from '../replication/fixture.ts';

let fixture: Fixture;
afterEach(async () => {
  await fixture?.close();
});

const NOW = 1_700_000_000_000;

async function setup(configs: Record<string, string> = {}, clock?: SimClock): Promise<void> {
  fixture = await openFixture({ clock: clock ?? new SimClock(NOW) });
  const result = await fixture.data.cluster.createTopic({
    name: 't',
    numPartitions: 2,
    replicationFactor: 1,
    configs: new Map(Object.entries(configs)),
    assignments: [],
  });
  expect(result.errorCode).toBe(0);
}

function batch(count: number, overrides: Partial<BatchInput> = {}, start = 0): Buffer {
  return buildBatch({
    records: Array.from({ length: count }, (_, i) => ({
      key: Buffer.from(`k${start + i}`),
      value: Buffer.from(`v${start + i}`),
      timestamp: NOW + start + i,
    })),
    ...overrides,
  });
}

function produceRequest(records: Buffer | null, acks = -1, topic = 't', index = 0): ProduceRequest {
  const request = newProduceRequest();
  request.acks = acks;
  request.timeoutMs = 1000;
  request.topicData = [{ name: topic, partitionData: [{ index, records }] }];
  return request;
}

async function produce(records: Buffer | null, version = 11, acks = -1, topic = 't') {
  const response = await call(
    fixture,
    Apis.Produce,
    produceHandler,
    produceRequest(records, acks, topic),
    version,
  );
  return response?.responses[0]?.partitionResponses[0];
}

function fetchRequest(
  offset: number,
  overrides: Partial<FetchRequest> = {},
  epoch = -1,
): FetchRequest {
  const request = newFetchRequest();
  request.maxWaitMs = 0;
  request.minBytes = 1;
  request.maxBytes = 1024 * 1024;
  const topicId = fixture.data.cluster.topic('t')?.topicId ?? '';
  request.topics = [
    {
      topic: 't',
      topicId,
      partitions: [
        {
          partition: 0,
          currentLeaderEpoch: epoch,
          fetchOffset: offset,
          lastFetchedEpoch: -1,
          logStartOffset: -1,
          partitionMaxBytes: 1024 * 1024,
          replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
        },
      ],
    },
  ];
  return { ...request, ...overrides };
}

async function fetchAt(
  offset: number,
  version = 17,
  overrides: Partial<FetchRequest> = {},
  epoch = -1,
) {
  const response = await call(
    fixture,
    Apis.Fetch,
    fetchHandler,
    fetchRequest(offset, overrides, epoch),
    version,
  );
  return response?.responses[0]?.partitions[0];
}

function valuesOf(records: unknown): string[] {
  expect(Buffer.isBuffer(records)).toBe(true);
  const out: string[] = [];
  let at = 0;
  const buf = records as Buffer;
  while (at < buf.length) {
    const view = new RecordBatchView(buf.subarray(at));
    for (const r of readRecords(view, { maxDecompressedBytes: 1 << 20 })) {
      out.push(`${r.offset}:${r.value?.toString()}`);
    }
    at += view.sizeBytes;
  }
  return out;
}

describe('Produce', () => {
  test('every served version appends; fetch at every version returns the same bytes', async () => {
    await setup();
    let expected = 0;
    const sent: Buffer[] = [];
    for (let version = 3; version <= 11; version++) {
      const bytes = batch(2, {}, expected);
      sent.push(Buffer.from(bytes));
      const answer = await produce(bytes, version);
      expect(answer).toMatchObject({ errorCode: 0, baseOffset: expected });
      expected += 2;
    }
    for (let version = 4; version <= 17; version++) {
      const answer = await fetchAt(0, version);
      expect(answer?.errorCode).toBe(0);
      expect(answer?.highWatermark).toBe(expected);
      const records = answer?.records as Buffer;
      // Byte-exact apart from the fields the leader stamps (base offset, leader epoch).
      let at = 0;
      for (const original of sent) {
        const stored = records.subarray(at, at + original.length);
        expect(stored.subarray(BatchOffset.magic)).toEqual(original.subarray(BatchOffset.magic));
        at += original.length;
      }
      expect(at).toBe(records.length);
    }
    expect(valuesOf((await fetchAt(4))?.records)).toContain('4:v4');
  });

  test('v0-v2 are answered UNSUPPORTED_VERSION on every partition', async () => {
    await setup();
    for (const version of [0, 1, 2]) {
      const request = newProduceRequest();
      request.acks = 1;
      request.topicData = [{ name: 't', partitionData: [{ index: 0, records: null }] }];
      const response = await call(fixture, Apis.Produce, produceHandler, request, version);
      expect(response?.responses[0]?.partitionResponses[0]?.errorCode).toBe(
        ErrorCode.UNSUPPORTED_VERSION,
      );
    }
  });

  test('acks=0 has no response but appends; bad acks is INVALID_REQUIRED_ACKS', async () => {
    await setup();
    expect(await produce(batch(1), 11, 0)).toBeUndefined();
    await fixture.data.replicas.partition('t', 0)?.log.flush();
    expect((await produce(batch(1), 11, 2))?.errorCode).toBe(ErrorCode.INVALID_REQUIRED_ACKS);
    // acks=0 to an unknown topic: no answer can carry the error, so the connection closes.
    await expect(produce(batch(1), 11, 0, 'nope')).rejects.toThrow(/closing the connection/);
    expect((await produce(batch(1), 11, 1))?.baseOffset).toBe(1);
  });

  test('partition errors: unknown, internal, corrupt, too large, control, no key', async () => {
    await setup({ 'max.message.bytes': '200' });
    expect((await produce(batch(1), 11, 1, 'nope'))?.errorCode).toBe(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    const corrupt = batch(1);
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 1) ^ 0xff, corrupt.length - 1);
    expect((await produce(corrupt))?.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect((await produce(batch(20)))?.errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect((await produce(batch(1, { control: true })))?.errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect((await produce(Buffer.concat([batch(1), batch(1)])))?.errorCode).toBe(
      ErrorCode.INVALID_RECORD,
    );
    expect(
      (
        await produce(
          batch(1, { transactional: true, producerId: 1, producerEpoch: 0, baseSequence: 0 }),
        )
      )?.errorCode,
    ).toBe(ErrorCode.INVALID_TXN_STATE);
    const future = buildBatch({
      records: [{ key: null, value: null, timestamp: NOW + 2 * 3_600_000 }],
    });
    expect((await produce(future))?.errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    expect((await produce(batch(1)))?.errorCode).toBe(0);
    await fixture.data.cluster.createTopic({
      name: 'compacted',
      numPartitions: 1,
      replicationFactor: 1,
      configs: new Map([['cleanup.policy', 'compact']]),
      assignments: [],
    });
    const keyless = buildBatch({
      records: [
        { key: Buffer.from('a'), value: null, timestamp: NOW },
        { key: null, value: Buffer.from('x'), timestamp: NOW },
      ],
    });
    const response = await produce(keyless, 11, -1, 'compacted');
    expect(response?.errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect(response?.recordErrors[0]?.batchIndex).toBe(1);
    await fixture.data.cluster.createTopic({
      name: '__consumer_offsets',
      numPartitions: 1,
      replicationFactor: 1,
      configs: new Map(),
      assignments: [],
    });
    expect((await produce(batch(1), 11, 1, '__consumer_offsets'))?.errorCode).toBe(
      ErrorCode.INVALID_TOPIC_EXCEPTION,
    );
  });

  test('idempotence: retry answered with the first offset, order and epoch enforced', async () => {
    await setup();
    const idem = (seq: number, count: number, epoch = 0) =>
      batch(count, { producerId: 42, producerEpoch: epoch, baseSequence: seq });
    expect((await produce(idem(0, 3)))?.baseOffset).toBe(0);
    expect((await produce(idem(3, 2)))?.baseOffset).toBe(3);
    const retry = await produce(idem(0, 3));
    expect(retry).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect((await produce(idem(9, 1)))?.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect((await produce(idem(0, 1, 1)))?.baseOffset).toBe(5);
    expect((await produce(idem(1, 1, 0)))?.errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect((await produce(idem(5, 1, 1)))?.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(fixture.data.replicas.partition('t', 0)?.log.logEndOffset).toBe(6);
    // State comes back after a restart (snapshot) and after a crash (replay of headers).
    await fixture.reopen();
    expect((await produce(idem(0, 1, 1)))?.baseOffset).toBe(5);
    expect((await produce(idem(1, 1, 1)))?.baseOffset).toBe(6);
  });
});

describe('Fetch', () => {
  test('errors: out of range, leader epochs, unknown topic id, sessions', async () => {
    await setup();
    await produce(batch(3));
    expect((await fetchAt(4))?.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect((await fetchAt(3))?.records).toEqual(Buffer.alloc(0));
    expect((await fetchAt(0, 17, {}, 1))?.errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    expect((await fetchAt(0, 17, {}, 0))?.errorCode).toBe(0);
    const request = fetchRequest(0);
    const unknownId = {
      ...request,
      topics: [
        {
          ...(request.topics[0] as FetchRequest['topics'][number]),
          topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
        },
      ],
    };
    const byId = await call(fixture, Apis.Fetch, fetchHandler, unknownId, 13);
    expect(byId?.responses[0]?.partitions[0]?.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
    const unknownSession = { ...request, sessionId: 5, sessionEpoch: 1 };
    const session = await call(fixture, Apis.Fetch, fetchHandler, unknownSession, 12);
    expect(session?.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    const sessionless = await call(fixture, Apis.Fetch, fetchHandler, request, 12);
    expect(sessionless?.sessionId).toBe(0);
    const committed = await fetchAt(0, 17, { isolationLevel: 1 });
    expect(committed?.abortedTransactions).toEqual([]);
    expect(committed?.lastStableOffset).toBe(3);
  });

  test('long poll: woken by an append, else answered empty when the Clock says so', async () => {
    const clock = new SimClock(NOW);
    await setup({}, clock);
    const waiting = fetchAt(0, 17, { maxWaitMs: 500, minBytes: 1 });
    await new Promise((r) => setImmediate(r));
    expect(fixture.data.replicas.purgatory.waiting).toBe(1);
    await produce(batch(2));
    expect(valuesOf((await waiting)?.records)).toEqual(['0:v0', '1:v1']);
    const timedOut = fetchAt(2, 17, { maxWaitMs: 500, minBytes: 1 });
    await new Promise((r) => setImmediate(r));
    expect(fixture.data.replicas.purgatory.waiting).toBe(1);
    clock.advance(500);
    expect((await timedOut)?.records).toEqual(Buffer.alloc(0));
    expect(fixture.data.replicas.purgatory.waiting).toBe(0);
  });
});

describe('Fetch sessions (KIP-227)', () => {
  test('open, incremental with only news, forget, wrong epoch, close', async () => {
    await setup();
    await produce(batch(2));
    for (const version of [12, 17]) {
      const full = fetchRequest(0);
      const both = { ...full, topics: [{ ...(full.topics[0] as FetchRequest['topics'][number]) }] };
      const first = both.topics[0] as FetchRequest['topics'][number];
      first.partitions = [
        first.partitions[0] as FetchRequest['topics'][number]['partitions'][number],
        {
          ...(first.partitions[0] as FetchRequest['topics'][number]['partitions'][number]),
          partition: 1,
        },
      ];
      const fetch = (overrides: Partial<FetchRequest>) =>
        call(fixture, Apis.Fetch, fetchHandler, { ...both, ...overrides }, version);
      const opened = await fetch({ sessionId: 0, sessionEpoch: 0 });
      const id = opened?.sessionId ?? 0;
      expect(id).toBeGreaterThan(0);
      expect(opened?.responses[0]?.partitions.map((p) => p.partitionIndex)).toEqual([0, 1]);
      // The client consumed partition 0 to its end: it names only that change; nothing is new.
      const end = fixture.data.replicas.partition('t', 0)?.log.logEndOffset ?? -1;
      const advanced = {
        ...first,
        partitions: [
          { ...(first.partitions[0] as (typeof first.partitions)[number]), fetchOffset: end },
        ],
      };
      const quiet = await fetch({ sessionId: id, sessionEpoch: 1, topics: [advanced] });
      expect(quiet?.responses).toEqual([]);
      await produce(batch(1, {}, 9));
      const news = await fetch({ sessionId: id, sessionEpoch: 2, topics: [] });
      expect(news?.responses[0]?.partitions.map((p) => p.partitionIndex)).toEqual([0]);
      expect(valuesOf(news?.responses[0]?.partitions[0]?.records)).toEqual([`${end}:v9`]);
      const wrong = await fetch({ sessionId: id, sessionEpoch: 7, topics: [] });
      expect(wrong?.errorCode).toBe(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
      const forget = {
        topic: 't',
        topicId: first.topicId,
        partitions: [0],
      };
      const forgotten = await fetch({
        sessionId: id,
        sessionEpoch: 3,
        topics: [],
        forgottenTopicsData: [forget],
      });
      expect(forgotten?.responses).toEqual([]);
      expect(fixture.data.replicas.fetchSessions.get(id)?.partitions.size).toBe(1);
      const closed = await fetch({ sessionId: id, sessionEpoch: -1 });
      expect(closed?.sessionId).toBe(0);
      expect(closed?.responses[0]?.partitions).toHaveLength(2);
      const gone = await fetch({ sessionId: id, sessionEpoch: 4, topics: [] });
      expect(gone?.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    }
  });
});

describe('ListOffsets', () => {
  test('earliest, latest, exact record by timestamp, max timestamp, at every version', async () => {
    await setup();
    await produce(batch(5));
    const out = buildBatch({
      records: [
        { key: null, value: null, timestamp: NOW + 100 },
        { key: null, value: null, timestamp: NOW + 300 },
        { key: null, value: null, timestamp: NOW + 200 },
      ],
    });
    await produce(out);
    const ask = async (timestamp: number, version = 10) => {
      const request = newListOffsetsRequest();
      request.replicaId = -1;
      request.topics = [
        {
          name: 't',
          partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }],
        },
      ];
      const response = await call(fixture, Apis.ListOffsets, listOffsetsHandler, request, version);
      return response?.topics[0]?.partitions[0];
    };
    for (let version = 1; version <= 10; version++) {
      expect((await ask(-2, version))?.offset).toBe(0);
      expect((await ask(-1, version))?.offset).toBe(8);
      expect(await ask(NOW + 2, version)).toMatchObject({ offset: 2, timestamp: NOW + 2 });
    }
    expect(await ask(NOW + 150)).toMatchObject({ offset: 6, timestamp: NOW + 300 });
    expect(await ask(NOW + 250)).toMatchObject({ offset: 6, timestamp: NOW + 300 });
    expect(await ask(NOW + 301)).toMatchObject({ offset: -1, timestamp: -1 });
    expect(await ask(-3)).toMatchObject({ offset: 6, timestamp: NOW + 300 });
    expect(await ask(-4)).toMatchObject({ offset: 0 });
  });
});
