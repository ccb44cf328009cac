/**
 * librdkafka (kcat) produces to and consumes from an in-process Brook: every codec, keys,
 * headers, and the exact data read back in order.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import { runKcat, skipWithout } from '../harness/index.ts';

describe.skipIf(skipWithout('kcat'))('kcat produce and consume', () => {
  let broker: RunningBroker;

  beforeAll(async () => {
    broker = await startBroker({ config: { 'num.partitions': 1 } });
  });

  afterAll(async () => {
    await broker.stop();
  });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    test(`-z ${codec}: keys, values and headers come back exactly`, async () => {
      const topic = `kcat-${codec}`;
      const lines = Array.from({ length: 50 }, (_, i) => `key-${i}\tvalue-${i}-${'x'.repeat(i)}`);
      await runKcat(
        [
          '-P',
          '-b',
          broker.bootstrap,
          '-t',
          topic,
          '-K',
          '\t',
          '-z',
          codec,
          '-H',
          'h1=one',
          '-X',
          'acks=all',
        ],
        { input: `${lines.join('\n')}\n` },
      );
      const consumed = await runKcat([
        '-C',
        '-b',
        broker.bootstrap,
        '-t',
        topic,
        '-e',
        '-o',
        'beginning',
        '-f',
        '%k\t%s\t%o\t%h\n',
      ]);
      const expected = lines.map((line, i) => `${line}\t${i}\th1=one`);
      expect(consumed.stdout.trimEnd().split('\n')).toEqual(expected);
    });
  }

  test('consumes from an offset in the middle of a compressed batch', async () => {
    const topic = 'kcat-middle';
    const input = `${Array.from({ length: 20 }, (_, i) => `m${i}`).join('\n')}\n`;
    await runKcat(['-P', '-b', broker.bootstrap, '-t', topic, '-z', 'lz4'], { input });
    const consumed = await runKcat([
      '-C',
      '-b',
      broker.bootstrap,
      '-t',
      topic,
      '-e',
      '-o',
      '15',
      '-f',
      '%o=%s\n',
    ]);
    expect(consumed.stdout.trimEnd().split('\n')).toEqual(
      [15, 16, 17, 18, 19].map((i) => `${i}=m${i}`),
    );
  });
});
