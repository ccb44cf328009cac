/**
 * librdkafka (kcat) against an in-process Brook beyond the codec checks of kcat.test.ts: acks
 * 0 and 1 and the idempotent producer, 1 MiB records, 100,000 small records, and ListOffsets
 * (earliest, latest, by time) through kcat -Q. Every check compares the exact bytes read back.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import { runKcat, skipWithout } from '../harness/index.ts';
import { storedRecords } from './read-back.ts';

const mib = 1024 * 1024;

describe.skipIf(skipWithout('kcat'))('kcat: acks, large and many records, offsets', () => {
  let broker: RunningBroker;

  beforeAll(async () => {
    // Room for a 1 MiB record plus its batch framing (Kafka's default is 1 MiB + 12 bytes).
    broker = await startBroker({ config: { 'num.partitions': 1, 'message.max.bytes': 2 * mib } });
  });

  afterAll(async () => {
    await broker.stop();
  });

  const consume = (topic: string, format: string) =>
    runKcat(['-C', '-b', broker.bootstrap, '-t', topic, '-e', '-o', 'beginning', '-f', format], {
      timeoutMs: 60_000,
    });

  for (const [name, settings] of [
    ['acks=0', ['acks=0']],
    ['acks=1', ['acks=1']],
    ['idempotent', ['enable.idempotence=true']],
  ] as const) {
    test(`${name}: keys, values and headers come back exactly, once, in order`, async () => {
      const topic = `kcat-${name.replace('=', '')}`;
      const lines = Array.from({ length: 200 }, (_, i) => `k${i}\tv${i}-${name}`);
      await runKcat(
        [
          '-P',
          '-b',
          broker.bootstrap,
          '-t',
          topic,
          '-K',
          '\t',
          '-H',
          `mode=${name}`,
          ...settings.flatMap((s) => ['-X', s]),
        ],
        { input: `${lines.join('\n')}\n` },
      );
      if (name === 'acks=0') {
        // Nothing acknowledged the records: wait until all 200 are readable, then read to the end.
        const waited = ['-C', '-b', broker.bootstrap, '-t', topic, '-o', 'beginning', '-c', '200'];
        await runKcat([...waited, '-f', '%o\n'], { timeoutMs: 30_000 });
      }
      const consumed = await consume(topic, '%o\t%k\t%s\t%h\n');
      expect(consumed.stdout.trimEnd().split('\n')).toEqual(
        lines.map((line, i) => `${i}\t${line}\tmode=${name}`),
      );
      const producerIds = new Set((await storedRecords(broker, topic)).map((r) => r.producerId));
      expect([...producerIds].every((id) => (name === 'idempotent' ? id >= 0 : id === -1))).toBe(
        true,
      );
    });
  }

  test('1 MiB records, zstd and uncompressed', async () => {
    // Distinct, incompressible-enough content per record so a mix-up cannot pass.
    const value = (i: number) =>
      Array.from({ length: mib / 16 }, (_, j) => ((j * 2654435761 + i) >>> 0).toString(16))
        .join('')
        .padEnd(mib, 'z')
        .slice(0, mib);
    for (const codec of ['none', 'zstd']) {
      const topic = `kcat-large-${codec}`;
      const values = [0, 1, 2].map((i) => value(i + (codec === 'none' ? 0 : 10)));
      await runKcat(
        [
          '-P',
          '-b',
          broker.bootstrap,
          '-t',
          topic,
          '-z',
          codec,
          '-X',
          `message.max.bytes=${2 * mib}`,
        ],
        { input: `${values.join('\n')}\n`, timeoutMs: 60_000 },
      );
      const consumed = await consume(topic, '%o %S\n%s\n');
      expect(consumed.stdout.split('\n').slice(0, 6)).toEqual(
        values.flatMap((v, i) => [`${i} ${mib}`, v]),
      );
    }
  }, 120_000);

  test('100,000 small lz4 records exactly; ListOffsets earliest, latest, by time', async () => {
    const topic = 'kcat-many';
    const count = 100_000;
    const input = Array.from({ length: count }, (_, i) => `r${i}`).join('\n');
    await runKcat(['-P', '-b', broker.bootstrap, '-t', topic, '-z', 'lz4'], {
      input: `${input}\n`,
      timeoutMs: 90_000,
    });
    const consumed = await consume(topic, '%o=%s %T\n');
    const rows = consumed.stdout.trimEnd().split('\n');
    expect(rows.map((row) => row.split(' ')[0])).toEqual(
      Array.from({ length: count }, (_, i) => `${i}=r${i}`),
    );
    const timestamps = rows.map((row) => Number(row.split(' ')[1]));
    const middle = timestamps[count / 2] ?? 0;
    const expectedByTime = timestamps.findIndex((t) => t >= middle);
    const query = async (timestampMs: number) => {
      const run = await runKcat(['-Q', '-b', broker.bootstrap, '-t', `${topic}:0:${timestampMs}`]);
      const match = /offset (-?\d+)/.exec(run.stdout);
      return Number(match?.[1]);
    };
    expect(await query(-2)).toBe(0);
    expect(await query(-1)).toBe(count);
    expect(await query(middle)).toBe(expectedByTime);
    expect(await query((timestamps[count - 1] ?? 0) + 3_600_000)).toBe(-1);
  }, 180_000);
});
