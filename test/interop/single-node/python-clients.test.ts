/**
 * confluent-kafka (python, librdkafka) and kafka-python against an in-process Brook: every
 * codec each client has, with keys and headers, under acks 0, 1 and all (and idempotence where
 * the client has it); the exact records read back; ListOffsets earliest, latest and by time
 * through the clients' own offset APIs. Also: a Fetch error response carries an empty records
 * field, never null (kafka-python fails on a null one), and kafka-python recovers from it.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-table.ts';
import {
  decodeFetchResponse,
  encodeFetchResponse,
  type FetchRequest,
  type FetchResponse,
  newFetchRequest,
  newFetchRequestFetchPartition,
} from '../../../protocol/generated/apis/01-fetch.ts';
import { Reader } from '../../../protocol/wire/reader.ts';
import { Writer } from '../../../protocol/wire/writer.ts';
import { fetchHandler } from '../../../src/handlers/01-fetch.ts';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import {
  type JsonLine,
  ofType,
  onlyOfType,
  type PythonScript,
  runProcess,
  runPython,
  skipWithout,
} from '../harness/index.ts';
import { parseDriverLines } from '../harness/json-lines.ts';

let broker: RunningBroker;

beforeAll(async () => {
  broker = await startBroker({ config: { 'num.partitions': 1 } });
});

afterAll(async () => {
  await broker.stop();
});

const perCodec = 20;

interface Round {
  readonly codec: string;
  readonly acks: string;
  readonly idempotent: boolean;
}

const rounds = (idempotence: boolean): Round[] => [
  { codec: 'none', acks: '0', idempotent: false },
  { codec: 'gzip', acks: '1', idempotent: false },
  { codec: 'snappy', acks: 'all', idempotent: false },
  { codec: 'lz4', acks: 'all', idempotent: idempotence },
  { codec: 'zstd', acks: '-1', idempotent: false },
];

function common(): string[] {
  return ['--bootstrap', broker.bootstrap, '--timeout-ms', '20000'];
}

async function produceRounds(script: PythonScript, topic: string, plan: readonly Round[]) {
  for (const round of plan) {
    const produced = await runPython(script, [
      'produce',
      ...common(),
      '--topic',
      topic,
      '--partition',
      '0',
      '--count',
      String(perCodec),
      '--codec',
      round.codec,
      '--acks',
      round.acks,
      '--key',
      `k-${round.codec}-%d`,
      '--value',
      `v-${round.codec}-%d-${'x'.repeat(round.codec.length * 10)}`,
      '--headers',
      `n=%d,codec=${round.codec}`,
      ...(round.idempotent ? ['--idempotent'] : []),
    ]);
    expect(onlyOfType(produced.lines, 'summary')).toMatchObject({
      produced: perCodec,
      failed: 0,
    });
  }
}

function expectedRecords(plan: readonly Round[]) {
  return plan.flatMap((round, r) =>
    Array.from({ length: perCodec }, (_, i) => ({
      offset: r * perCodec + i,
      key: `k-${round.codec}-${i}`,
      value: `v-${round.codec}-${i}-${'x'.repeat(round.codec.length * 10)}`,
      headers: { n: String(i), codec: round.codec },
    })),
  );
}

async function consumeAll(script: PythonScript, topic: string, count: number) {
  const consumed = await runPython(script, [
    'consume',
    ...common(),
    '--topic',
    topic,
    '--partition',
    '0',
    '--count',
    String(count),
  ]);
  return ofType(consumed.lines, 'record');
}

function shape(records: readonly JsonLine[]) {
  return records.map((r) => ({
    offset: r.offset,
    key: r.key,
    value: r.value,
    headers: r.headers,
  }));
}

/** The first offset whose timestamp is at or after `timestampMs`, from records read back. */
function firstAtOrAfter(records: readonly JsonLine[], timestampMs: number): number {
  const found = records.find((r) => Number(r.timestampMs) >= timestampMs);
  return found === undefined ? -1 : Number(found.offset);
}

async function listOffsets(script: PythonScript, topic: string, timestampMs: number) {
  const run = await runProcess(
    '/usr/bin/python3',
    [
      join(import.meta.dirname, 'list_offsets.py'),
      script,
      broker.bootstrap,
      topic,
      '0',
      String(timestampMs),
    ],
    { timeoutMs: 40_000, env: { PYTHONDONTWRITEBYTECODE: '1' } },
  );
  return onlyOfType(parseDriverLines(run.stdout), 'offsets');
}

for (const [script, client, idempotence] of [
  ['confluent', 'confluent-python', true],
  ['kafka_python', 'kafka-python', false],
] as const) {
  describe.skipIf(skipWithout(client))(`${client}: codecs, acks, offsets`, () => {
    test('every codec and acks setting; exact records; ListOffsets', async () => {
      const topic = `py-matrix-${script}`;
      const plan = rounds(idempotence);
      await produceRounds(script, topic, plan);
      const total = plan.length * perCodec;
      const records = await consumeAll(script, topic, total);
      expect(shape(records)).toEqual(expectedRecords(plan));
      const middle = Number(records[total / 2]?.timestampMs);
      const offsets = await listOffsets(script, topic, middle);
      expect(offsets).toMatchObject({
        earliest: 0,
        latest: total,
        byTime: firstAtOrAfter(records, middle),
      });
      const future = await listOffsets(script, topic, middle + 3_600_000);
      // Kafka answers -1 for a time past every record; kafka-python shows that as None.
      expect(future.byTime).toBe(script === 'confluent' ? -1 : null);
    }, 120_000);
  });
}

/** An error response of Fetch as the client decodes it off the wire. */
function errorFetchOnWire(version: number): FetchResponse {
  const request: FetchRequest = newFetchRequest();
  request.topics = [
    {
      topic: 't',
      topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
      partitions: [{ ...newFetchRequestFetchPartition(), partition: 0 }],
      unknownTaggedFields: undefined,
    },
  ];
  const response = fetchHandler.errorResponse?.(request, version, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  const writer = new Writer();
  encodeFetchResponse(writer, response as FetchResponse, version);
  return decodeFetchResponse(new Reader(writer.finish()), version);
}

describe('regression: Fetch error response had null records (kafka-python fails on it)', () => {
  test('every partition carries an empty records field, never null', () => {
    for (const version of [4, 11, 12, 16]) {
      const partition = errorFetchOnWire(version).responses[0]?.partitions[0];
      expect(partition?.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      expect(partition?.records).toEqual(Buffer.alloc(0));
    }
  });
});

describe.skipIf(skipWithout('kafka-python'))('Fetch answered with an error', () => {
  test('kafka-python retries and reads every record', async () => {
    const topic = 'fetch-error-records';
    await produceRounds('kafka_python', topic, [{ codec: 'none', acks: 'all', idempotent: false }]);
    let injected = 0;
    broker.broker.control(ApiKey.Fetch, () => {
      injected++;
      return { action: 'error', errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    });
    const records = await consumeAll('kafka_python', topic, perCodec);
    expect(injected).toBe(1);
    expect(shape(records)).toEqual(
      expectedRecords([{ codec: 'none', acks: 'all', idempotent: false }]),
    );
  }, 60_000);
});
