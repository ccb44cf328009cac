/**
 * sarama against an in-process Brook, filling what python-sarama.test.ts leaves: gzip and lz4,
 * acks 0 and 1, headers, records of almost 1 MB, and the oldest offset after DeleteRecords
 * (sarama asks ListOffsets for it). Every record read back is compared with what was written.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import { ofType, onlyOfType, runSarama, skipWithout } from '../harness/index.ts';

let broker: RunningBroker;
const mib = 1024 * 1024;
const large = 999_000;

beforeAll(async () => {
  broker = await startBroker({ config: { 'num.partitions': 1, 'message.max.bytes': 2 * mib } });
});

afterAll(async () => {
  await broker.stop();
});

const common = () => ['-brokers', broker.bootstrap, '-version', '2.8.0', '-timeout-ms', '30000'];

async function produce(topic: string, args: string[]): Promise<void> {
  const produced = await runSarama(
    ['produce', ...common(), '-topic', topic, '-partition', '0', ...args],
    { timeoutMs: 40_000 },
  );
  const count = Number(args[args.indexOf('-count') + 1]);
  expect(onlyOfType(produced.lines, 'summary')).toMatchObject({ produced: count, failed: 0 });
}

async function consume(topic: string, count: number, offset = 'oldest') {
  const consumed = await runSarama(
    [
      'consume',
      ...common(),
      '-topic',
      topic,
      '-offset',
      offset,
      '-count',
      String(count),
      '-fetch-max-bytes',
      String(4 * mib),
    ],
    { timeoutMs: 40_000 },
  );
  return ofType(consumed.lines, 'record');
}

describe.skipIf(skipWithout('sarama'))('sarama: codecs, acks, headers, large records', () => {
  test('gzip with acks 0, lz4 with acks 1: keys, values, headers exact', async () => {
    const topic = 'sarama-acks';
    await produce(topic, ['-count', '30', '-codec', 'gzip', '-acks', '0', '-headers', 'n=%d']);
    await produce(topic, [
      '-count',
      '30',
      '-codec',
      'lz4',
      '-acks',
      '1',
      '-headers',
      'n=%d,c=lz4',
      '-value',
      'lz4-%d',
    ]);
    const records = await consume(topic, 60);
    expect(records.map((r) => [r.offset, r.key, r.value, r.headers])).toEqual([
      ...Array.from({ length: 30 }, (_, i) => [i, `key-${i}`, `value-${i}`, { n: String(i) }]),
      ...Array.from({ length: 30 }, (_, i) => [
        30 + i,
        `key-${i}`,
        `lz4-${i}`,
        { n: String(i), c: 'lz4' },
      ]),
    ]);
  }, 90_000);

  // sarama refuses records over its Producer.MaxMessageBytes (1,000,000), which the driver
  // keeps: its large records are just under that; kcat-volume.test.ts sends 1 MiB ones.
  test('records of almost 1 MB, uncompressed and zstd', async () => {
    const topic = 'sarama-large';
    for (const codec of ['none', 'zstd']) {
      await produce(topic, [
        '-count',
        '2',
        '-codec',
        codec,
        '-value',
        `${codec}-%d-`,
        '-value-bytes',
        String(large),
      ]);
    }
    const records = await consume(topic, 4);
    const expected = ['none', 'zstd'].flatMap((codec) =>
      [0, 1].map((i) => `${codec}-${i}-`.repeat(large).slice(0, large)),
    );
    expect(records.map((r) => String(r.value).length)).toEqual([large, large, large, large]);
    expect(records.map((r) => r.value)).toEqual(expected);
  }, 90_000);

  test('oldest is the log start offset after DeleteRecords', async () => {
    const topic = 'sarama-oldest';
    await produce(topic, ['-count', '10']);
    const admin = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '6' }] });
    await admin.disconnect();
    const records = await consume(topic, 4);
    expect(records.map((r) => [r.offset, r.value])).toEqual(
      [6, 7, 8, 9].map((i) => [i, `value-${i}`]),
    );
  }, 60_000);
});
