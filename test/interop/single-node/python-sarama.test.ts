/**
 * kafka-python (producer, assign()-consumer, admin) and sarama (sync producer, partition
 * consumer) against an in-process Brook, each reading back what it or another client wrote.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import { ofType, onlyOfType, runPython, runSarama, skipWithout } from '../harness/index.ts';

let broker: RunningBroker;

beforeAll(async () => {
  broker = await startBroker({ config: { 'num.partitions': 1 } });
});

afterAll(async () => {
  await broker.stop();
});

describe.skipIf(skipWithout('kafka-python'))('kafka-python', () => {
  test('admin creates a topic; producer writes, assign() consumer reads back', async () => {
    const common = ['--bootstrap', broker.bootstrap, '--timeout-ms', '20000'];
    const created = await runPython('kafka_python', [
      'admin',
      'create-topics',
      ...common,
      '--topic',
      'py',
      '--partitions',
      '2',
      '--config',
      'cleanup.policy=delete',
    ]);
    expect(ofType(created.lines, 'result')[0]).toMatchObject({ name: 'py', error: null });
    for (const codec of ['none', 'gzip', 'lz4']) {
      const produced = await runPython('kafka_python', [
        'produce',
        ...common,
        '--topic',
        'py',
        '--partition',
        '1',
        '--count',
        '20',
        '--codec',
        codec,
        '--headers',
        'h=%d',
      ]);
      expect(onlyOfType(produced.lines, 'summary')).toMatchObject({ produced: 20, failed: 0 });
    }
    const consumed = await runPython('kafka_python', [
      'consume',
      ...common,
      '--topic',
      'py',
      '--partition',
      '1',
      '--count',
      '60',
    ]);
    const records = ofType(consumed.lines, 'record');
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(records[21]).toMatchObject({ key: 'key-1', value: 'value-1', headers: { h: '1' } });
  });
});

describe.skipIf(skipWithout('sarama'))('sarama', () => {
  for (const codec of ['none', 'snappy', 'zstd']) {
    test(`produce (${codec}, idempotent) and consume from the oldest offset`, async () => {
      const topic = `sarama-${codec}`;
      const common = ['-brokers', broker.bootstrap, '-version', '2.8.0'];
      const produced = await runSarama([
        'produce',
        ...common,
        '-topic',
        topic,
        '-partition',
        '0',
        '-count',
        '30',
        '-codec',
        codec,
        '-idempotent',
        '-acks',
        'all',
      ]);
      expect(onlyOfType(produced.lines, 'summary')).toMatchObject({ produced: 30, failed: 0 });
      const consumed = await runSarama([
        'consume',
        ...common,
        '-topic',
        topic,
        '-offset',
        'oldest',
        '-count',
        '30',
      ]);
      const records = ofType(consumed.lines, 'record');
      expect(records.map((r) => r.value)).toEqual(
        Array.from({ length: 30 }, (_, i) => `value-${i}`),
      );
      expect(records[29]).toMatchObject({ offset: 29, key: 'key-29' });
    });
  }
});
