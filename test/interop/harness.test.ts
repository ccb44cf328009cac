/**
 * Tests of the interop harness itself, with no broker: the runner's limits and error messages,
 * and that every real client installed by .ci/run starts and reports its version here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { saramaBuildScript, shouldSkip, skipWithout } from './harness/clients.ts';
import {
  ClientRunError,
  driverExit,
  loadConfluentJs,
  onlyOfType,
  parseDriverLines,
  parseJsonLines,
  runKcat,
  runProcess,
  runPython,
  runSarama,
} from './harness/index.ts';

describe('runProcess', () => {
  test('captures stdout, stderr and the exit code', async () => {
    const result = await runProcess('sh', ['-c', 'echo out; echo err >&2; exit 5'], {
      expectExitCode: 5,
    });
    expect(result).toMatchObject({ exitCode: 5, stdout: 'out\n', stderr: 'err\n' });
  });

  test('feeds input on stdin', async () => {
    const input = 'line one\nline two\n';
    const result = await runProcess('cat', [], { input });
    expect(result.stdout).toBe(input);
  });

  test('an unexpected exit code fails with the tail of stderr', async () => {
    const run = runProcess('sh', ['-c', 'echo "broker said no" >&2; exit 3']);
    await expect(run).rejects.toThrow(/exit code 3, expected 0[\s\S]*broker said no/);
  });

  test('a run past its time limit is killed', async () => {
    const run = runProcess('sleep', ['30'], { timeoutMs: 200 });
    await expect(run).rejects.toThrow(/sleep 30: killed: timed out after 200 ms/);
  });

  test('output past its limit kills the child', async () => {
    const run = runProcess('head', ['-c', '100000', '/dev/zero'], { outputBytesMax: 1000 });
    await expect(run).rejects.toThrow(/killed: stdout passed 1000 bytes/);
  });

  test('a missing program is a ClientRunError naming it', async () => {
    const run = runProcess('brook-no-such-program', ['x']);
    await expect(run).rejects.toBeInstanceOf(ClientRunError);
    await expect(run).rejects.toThrow(/cannot run brook-no-such-program x: .*ENOENT/);
  });
});

describe('JSON lines', () => {
  test('parses objects and skips blank lines', () => {
    const lines = parseDriverLines('{"type":"record","offset":0}\n\n{"type":"summary"}\n');
    expect(lines).toEqual([{ type: 'record', offset: 0 }, { type: 'summary' }]);
    expect(onlyOfType(lines, 'summary')).toEqual({ type: 'summary' });
  });

  test('names the line that is not JSON', () => {
    expect(() => parseJsonLines('{"a":1}\nnot json\n')).toThrow(/line 2 is not JSON: not json/);
    expect(() => parseJsonLines('[1,2]')).toThrow(/line 1 is not a JSON object/);
    expect(() => parseDriverLines('{"a":1}')).toThrow(/has no "type"/);
  });

  test('onlyOfType rejects zero or several lines of the type', () => {
    const lines = parseDriverLines('{"type":"record"}\n{"type":"record"}');
    expect(() => onlyOfType(lines, 'record')).toThrow(/expected one "record" line, found 2/);
    expect(() => onlyOfType(lines, 'summary')).toThrow(/found 0/);
  });
});

describe('missing-client policy', () => {
  test('skips only locally, and only when a client is missing', () => {
    expect(shouldSkip(1, false)).toBe(true);
    expect(shouldSkip(1, true)).toBe(false);
    expect(shouldSkip(0, false)).toBe(false);
    expect(shouldSkip(0, true)).toBe(false);
  });
});

/** A loopback port with nothing listening: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

describe.skipIf(skipWithout('kcat'))('kcat', () => {
  test('kcat -V reports its version, librdkafka and codecs', async () => {
    const result = await runKcat(['-V'], { timeoutMs: 10_000 });
    expect(result.stdout).toMatch(/kcat - Apache Kafka producer and consumer tool/);
    expect(result.stdout).toMatch(/Version \d+\.\d+\.\d+ .*librdkafka \d+\.\d+\.\d+/);
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) expect(result.stdout).toContain(codec);
  });
});

describe.skipIf(skipWithout('confluent-python'))('confluent-kafka (Python)', () => {
  test('imports and reports its client and librdkafka versions', async () => {
    const { lines } = await runPython('confluent', ['version']);
    const version = onlyOfType(lines, 'version');
    expect(version['client']).toMatch(/^\d+\.\d+\.\d+/);
    expect(version['librdkafka']).toMatch(/^\d+\.\d+\.\d+/);
  });

  test('rejects a usage error with exit 2', async () => {
    const run = runPython('confluent', ['produce'], { expectExitCode: driverExit.usage });
    const result = await run;
    expect(result.stderr).toMatch(/--topic/);
  });
});

describe.skipIf(skipWithout('kafka-python'))('kafka-python', () => {
  test('imports and reports its version', async () => {
    const { lines } = await runPython('kafka_python', ['version']);
    expect(onlyOfType(lines, 'version')['client']).toMatch(/^\d+\.\d+\.\d+/);
  });

  test('has its compression codecs', async () => {
    const script = 'import snappy, lz4.frame, zstandard; print("codecs")';
    const result = await runProcess('/usr/bin/python3', ['-c', script]);
    expect(result.stdout.trim()).toBe('codecs');
  });
});

describe.skipIf(skipWithout('sarama'))('sarama driver', () => {
  test('--help lists the commands', async () => {
    const result = await runProcess(join(import.meta.dirname, 'sarama/bin/brook-sarama'), [
      '--help',
    ]);
    for (const command of ['metadata', 'produce', 'consume', 'version']) {
      expect(result.stdout).toContain(command);
    }
  });

  test('reports the Go and sarama versions', async () => {
    const { lines } = await runSarama(['version']);
    const version = onlyOfType(lines, 'version');
    expect(version['go']).toMatch(/^go1\.\d+/);
    expect(version['sarama']).toMatch(/^1\.\d+\.\d+/);
  });

  test('a refused connection is a fatal exit naming the address', async () => {
    const port = await closedPort();
    const run = runSarama(['metadata', '-brokers', `127.0.0.1:${port}`, '-timeout-ms', '2000']);
    await expect(run).rejects.toThrow(new RegExp(`exit code 1[\\s\\S]*127.0.0.1:${port}`));
  });
});

describe.skipIf(skipWithout('sarama-build'))('sarama driver build', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'brook-sarama-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  test('builds from source and runs', async () => {
    const binary = join(outDir, 'brook-sarama');
    await runProcess('bash', [saramaBuildScript, binary], { timeoutMs: 120_000 });
    const result = await runProcess(binary, ['produce', '-h']);
    expect(result.stdout).toMatch(/-codec string/);
    expect(result.stdout).toMatch(/-idempotent/);
  }, 150_000);
});

describe.skipIf(skipWithout('confluent-js'))('@confluentinc/kafka-javascript', () => {
  test('loads on this Node with its codecs', async () => {
    const api = await loadConfluentJs();
    expect(api.librdkafkaVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(api.features).toEqual(expect.arrayContaining(['gzip', 'snappy', 'lz4', 'zstd']));
    const kafka = new api.KafkaJS.Kafka({ kafkaJS: { brokers: ['127.0.0.1:9092'] } });
    expect(typeof kafka.producer().send).toBe('function');
  });
});
