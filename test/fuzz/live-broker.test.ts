/**
 * Seeded fuzzing of a LIVE broker (`startBroker()`, real sockets, real logs on disk): frames
 * captured from every real client, mutated; bad frame sizes; unknown API keys and versions;
 * produce batches with garbage CRCs; slow and stalled partial frames; many connections.
 *
 * After every burst the broker must have answered each request with a well-formed response
 * (an error code where the request was bad) or closed that connection with a log line saying
 * why; a canary on its own connection keeps getting the same ApiVersions and Metadata answers
 * throughout; and the data produced before the fuzzing reads back byte for byte.
 *
 * The seed is printed; `BROOK_SEED=<n> npx vitest run test/fuzz` replays a run.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey, apiFor } from '../../protocol/generated/api-table.ts';
import { BatchOffset } from '../../protocol/records/batch.ts';
import { buildBatch } from '../../protocol/records/batch-builder.ts';
import { crc32c } from '../../protocol/records/crc32c.ts';
import { SeededRandom } from '../../src/util/random.ts';
import { FuzzConnection, sized } from './fuzz-connection.ts';
import { type RunResult, runConnection, type SentFrame } from './fuzz-run.ts';
import { decodeResponse, encodeRequest, KafkaCaller } from './kafka-wire.ts';
import {
  canaryApiVersions,
  canaryFetch,
  canaryMetadata,
  canaryPartitions,
  type LiveFixture,
  openLiveFixture,
  produce,
  requestBytesMax,
} from './live-fixture.ts';
import { loadSeedFrames, mutate, mutationKinds, withCorrelationId } from './mutations.ts';

const seed = process.env.BROOK_SEED ? Number(process.env.BROOK_SEED) >>> 0 : Date.now() >>> 0;
const random = new SeededRandom(seed);
const replay = `seed ${seed} (replay: BROOK_SEED=${seed} npx vitest run test/fuzz)`;
console.log(`live-broker fuzz: ${replay}`);

const bursts = 14;
const connectionsPerBurst = 160;
const framesPerConnectionMax = 7;
const concurrentConnections = 12;

const seeds = loadSeedFrames();
let fixture: LiveFixture;
let nextCorrelationId = 1_000;
const stats = {
  mutatedFrames: 0,
  validFrames: 0,
  connections: 0,
  responses: 0,
  answered: 0,
  closed: 0,
  held: 0,
};
const canaryLoop = { running: true, answers: 0, failure: undefined as string | undefined };
let canaryDone: Promise<void> = Promise.resolve();

beforeAll(async () => {
  fixture = await openLiveFixture(random.fork());
  canaryDone = runCanary();
});

afterAll(async () => {
  canaryLoop.running = false;
  await canaryDone;
  fixture?.canary.close();
  await fixture?.broker.stop();
  const reasons = new Map<string, number>();
  for (const line of fixture?.logs ?? []) {
    if (!line.msg.startsWith('closing connection')) continue;
    const reason = (line.reason ?? '').replace(/\d+/g, 'N').slice(0, 60);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  const summary = JSON.stringify({ ...stats, canary: canaryLoop }, null, 1);
  const why = [...reasons].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${n}\t${r}`);
  console.log(`live-broker fuzz: ${replay}\n${summary}\nclose reasons:\n${why.join('\n')}`);
});

/** The canary: ApiVersions every ~20 ms on its own connection, compared with the first. */
async function runCanary(): Promise<void> {
  while (canaryLoop.running) {
    try {
      const answer = await canaryApiVersions(fixture.canary);
      if (JSON.stringify(answer) !== JSON.stringify(fixture.apiVersions)) {
        throw new Error('ApiVersions answer changed');
      }
      canaryLoop.answers++;
    } catch (error) {
      canaryLoop.failure ??= (error as Error).message;
      return;
    }
    // Pacing, not waiting for an event: the canary must not eat the fuzzers' CPU.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** After a burst: the canary still answers the same, the old data reads back unchanged. */
async function expectHealthy(): Promise<void> {
  expect(canaryLoop.failure, replay).toBeUndefined();
  expect(await canaryApiVersions(fixture.canary), replay).toEqual(fixture.apiVersions);
  expect(await canaryMetadata(fixture.canary), replay).toEqual(fixture.metadata);
  const now = await canaryFetch(fixture.canary);
  for (let p = 0; p < canaryPartitions; p++) {
    const before = fixture.snapshot[p];
    expect(now[p]?.highWatermark, replay).toBe(before?.highWatermark);
    expect(now[p]?.records.equals(before?.records ?? Buffer.alloc(0)), replay).toBe(true);
  }
}

/**
 * The broker's reasons for closing the connection from our `localPort`, among the lines
 * logged from `from` on (ports are reused over thousands of connections).
 */
function closeReasons(localPort: number, from = 0): string[] {
  return fixture.logs
    .slice(from)
    .filter((l) => l.msg.startsWith('closing connection') && l.remote?.endsWith(`:${localPort}`))
    .map((l) => l.reason ?? '');
}

function expectClosedWithReason(
  result: { localPort: number },
  pattern: RegExp,
  from: number,
): void {
  const reasons = closeReasons(result.localPort, from);
  expect(reasons.length, `${replay}: no log line for port ${result.localPort}`).toBe(1);
  expect(reasons[0], replay).toMatch(pattern);
}

function fuzzFrames(count: number): SentFrame[] {
  const frames: SentFrame[] = [];
  for (let i = 0; i < count; i++) {
    const base = random.pick(seeds);
    const bytes = withCorrelationId(base.bytes, nextCorrelationId++);
    const where = `${base.client}/${base.name}`;
    if (random.chance(0.15)) {
      stats.validFrames++;
      frames.push({ bytes, label: `${where} unmutated` });
      continue;
    }
    const kind = random.pick(mutationKinds);
    const mutated = mutate(bytes, kind, random);
    stats.mutatedFrames++;
    frames.push({ bytes: mutated, label: `${where} ${kind} -> ${mutated.toString('hex')}` });
  }
  return frames;
}

interface Judged extends RunResult {
  /** Why the broker closed it, from the log lines written while it was open. */
  readonly reasons: string[];
}

/** Runs one fuzz connection and collects the broker's log lines about it. */
async function fuzzJob(frames: SentFrame[], probeId: number, rnd: SeededRandom): Promise<Judged> {
  const from = fixture.logs.length;
  const result = await runConnection(fixture.broker.port, frames, probeId, rnd);
  return { ...result, reasons: closeReasons(result.localPort, from) };
}

function tally(result: Judged): void {
  stats.connections++;
  stats[result.outcome]++;
  stats.responses += result.responses;
  expect(result.findings, replay).toEqual([]);
  if (result.outcome === 'closed') {
    expect(result.reasons.length, `${replay}: unexplained close`).toBe(1);
  }
}

/** Runs `jobs` with at most `limit` at once. */
async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await (jobs[index] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

describe(`live broker under hostile input (${replay})`, () => {
  test('every data byte written before the fuzzing is there', async () => {
    expect(fixture.snapshot.every((p) => p.highWatermark > 0)).toBe(true);
    await expectHealthy();
  });

  test('frame sizes -1, 0, 2^31-1, -2^31, socket.request.max.bytes+1 close', async () => {
    for (const size of [-1, 0, 0x7fffffff, -0x80000000, requestBytesMax + 1]) {
      const logsFrom = fixture.logs.length;
      const connection = await FuzzConnection.open(fixture.broker.port);
      const before = withCorrelationId(seeds[0]?.bytes as Buffer, nextCorrelationId++);
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(size);
      const tail = size === 0 ? Buffer.alloc(0) : Buffer.alloc(64, 0x41);
      await connection.write(Buffer.concat([sized(before), prefix, tail]));
      await connection.closed;
      // The request that arrived whole before the bad size is still answered.
      expect(connection.frames.length, `size ${size}`).toBe(1);
      expect(connection.closedByBroker).toBe(true);
      const pattern = size === 0 ? /0 bytes holds no request header/ : /frame size/;
      expectClosedWithReason(connection, pattern, logsFrom);
    }
    await expectHealthy();
  });

  test('unknown API keys and unsupported versions', async () => {
    const served = fixture.apiVersions.apiKeys;
    const cases: { apiKey: number; version: number }[] = [
      { apiKey: -1, version: 0 },
      { apiKey: 32767, version: 0 },
      { apiKey: -32768, version: 0 },
      { apiKey: 10_000, version: 1 },
    ];
    for (let key = 0; key < 100; key++) {
      if (!served.some((a) => a.apiKey === key)) cases.push({ apiKey: key, version: 0 });
    }
    for (const api of served) {
      if (api.apiKey === ApiKey.ApiVersions) continue;
      cases.push({ apiKey: api.apiKey, version: api.maxVersion + 1 });
      cases.push({ apiKey: api.apiKey, version: -1 });
      if (api.minVersion > 0) cases.push({ apiKey: api.apiKey, version: api.minVersion - 1 });
    }
    await pool(
      cases.map((c) => () => expectRefused(c.apiKey, c.version)),
      concurrentConnections,
    );
    for (const version of [-1, 5, 99, 32767]) await expectApiVersionsDowngrade(version);
    await expectHealthy();
  });

  test('produce batches with garbage CRCs, bodies and counts are refused', async () => {
    const producer = await KafkaCaller.connect(fixture.broker.port);
    try {
      for (let i = 0; i < 30; i++) {
        const partition = random.int(0, canaryPartitions - 1);
        const kind = i % 3;
        const acks = random.pick([1, -1]);
        await produce(producer, partition, badBatch(kind), acks, ...refusals).catch((error) => {
          throw new Error(`bad batch kind ${kind}, acks ${acks}: ${error.message}; ${replay}`);
        });
      }
    } finally {
      producer.close();
    }
    await expectHealthy();
  });

  test('slow frames a byte at a time are answered; stalled ones closed when idle', async () => {
    const slow = seeds.filter((s) => s.name.includes('Metadata') || s.name.includes('ApiVersions'));
    const runs = Array.from({ length: 6 }, async () => {
      const base = random.pick(slow);
      const bytes = sized(withCorrelationId(base.bytes, nextCorrelationId++));
      const connection = await FuzzConnection.open(fixture.broker.port);
      for (let i = 0; i < bytes.length; i++) await connection.write(bytes.subarray(i, i + 1));
      await connection.waitFor(1);
      const response = connection.frames[0] as Buffer;
      decodeResponse(response, bytes.readInt16BE(4), bytes.readInt16BE(6));
      connection.close();
    });
    const stalls = Array.from({ length: 10 }, async (_, n) => {
      const base = random.pick(seeds);
      const bytes = sized(withCorrelationId(base.bytes, nextCorrelationId++));
      // Stop inside the size prefix, inside the header, or inside the body.
      const stopAt = n % 3 === 0 ? random.int(1, 3) : random.int(4, bytes.length - 1);
      const logsFrom = fixture.logs.length;
      const connection = await FuzzConnection.open(fixture.broker.port);
      for (let i = 0; i < stopAt; i++) await connection.write(bytes.subarray(i, i + 1));
      await connection.closed;
      expect(connection.closedByBroker).toBe(true);
      expect(connection.frames.length).toBe(0);
      expectClosedWithReason(connection, /idle for \d+ ms/, logsFrom);
    });
    await Promise.all([...runs, ...stalls]);
    await expectHealthy();
  });

  for (let burst = 0; burst < bursts; burst++) {
    test(`burst ${burst + 1}/${bursts}: mutated golden frames from every client`, async () => {
      const jobs = Array.from({ length: connectionsPerBurst }, () => {
        const frames = fuzzFrames(random.int(1, framesPerConnectionMax));
        const probeId = nextCorrelationId++;
        const connectionRandom = random.fork();
        return () => fuzzJob(frames, probeId, connectionRandom);
      });
      for (const result of await pool(jobs, concurrentConnections)) tally(result);
      await expectHealthy();
    });
  }

  test('many connections at once, each with a few mutated frames', async () => {
    const count = 300;
    const jobs = Array.from({ length: count }, () => {
      const frames = fuzzFrames(random.int(1, 3));
      const probeId = nextCorrelationId++;
      const connectionRandom = random.fork();
      return () => fuzzJob(frames, probeId, connectionRandom);
    });
    for (const result of await pool(jobs, count)) tally(result);
    await expectHealthy();
  });

  test('the canary was answered throughout, and the broker logged no errors', async () => {
    expect(canaryLoop.failure, replay).toBeUndefined();
    expect(canaryLoop.answers).toBeGreaterThan(10);
    expect(stats.mutatedFrames).toBeGreaterThan(2_000);
    // A handler may refuse a request by throwing a BrokerError (the connection closes);
    // anything else thrown on hostile input is a bug.
    const errors = fixture.logs.filter((l) => l.level >= 50 && l.err?.type !== 'BrokerError');
    expect(errors, replay).toEqual([]);
    await expectHealthy();
  });
});

/** A request with this key and version closes its connection, with the reason logged. */
async function expectRefused(apiKey: number, version: number): Promise<void> {
  const bytes = Buffer.alloc(24, 0);
  bytes.writeInt16BE(apiKey, 0);
  bytes.writeInt16BE(version, 2);
  bytes.writeInt32BE(nextCorrelationId++, 4);
  bytes.writeInt16BE(-1, 8); // null client id
  const logsFrom = fixture.logs.length;
  const connection = await FuzzConnection.open(fixture.broker.port);
  await connection.write(sized(bytes));
  await connection.closed;
  const what = `API key ${apiKey} v${version}`;
  expect(connection.frames.length, what).toBe(0);
  expect(connection.closedByBroker, what).toBe(true);
  const name = apiFor(apiKey)?.name;
  const pattern = name
    ? new RegExp(`unsupported version ${version} of ${name}`)
    : new RegExp(`unknown API key ${apiKey}`);
  expectClosedWithReason(connection, pattern, logsFrom);
}

/** ApiVersions at a version not served: answered at v0 with UNSUPPORTED_VERSION, kept open. */
async function expectApiVersionsDowngrade(version: number): Promise<void> {
  const connection = await FuzzConnection.open(fixture.broker.port);
  const bytes = Buffer.alloc(10);
  bytes.writeInt16BE(ApiKey.ApiVersions, 0);
  bytes.writeInt16BE(version, 2);
  bytes.writeInt32BE(nextCorrelationId++, 4);
  bytes.writeInt16BE(-1, 8);
  const probe = encodeRequest(ApiKey.ApiVersions, 0, {}, nextCorrelationId++);
  await connection.write(Buffer.concat([sized(bytes), sized(probe)]));
  await connection.waitFor(2);
  const answer = decodeResponse(connection.frames[0] as Buffer, ApiKey.ApiVersions, version) as {
    errorCode: number;
    apiKeys: unknown[];
  };
  expect(answer.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
  expect(answer.apiKeys.length).toBe(fixture.apiVersions.apiKeys.length);
  expect(connection.isClosed).toBe(false);
  connection.close();
}

/** What a broker may answer to a batch it cannot accept. */
const refusals = [ErrorCode.CORRUPT_MESSAGE, ErrorCode.INVALID_RECORD];

/**
 * 0: a wrong CRC; 1: random record bytes under a stale CRC; 2: a record count that does not
 * match the offsets, under a valid CRC. (Garbage compressed bytes under a valid CRC are
 * accepted: the produce path does not decompress what it only passes through.)
 */
function badBatch(kind: number): Buffer {
  const records = Array.from({ length: random.int(1, 20) }, (_, i) => ({
    key: Buffer.from(`bad-${i}`),
    value: Buffer.alloc(random.int(1, 200), i),
    timestamp: 1_700_000_000_000,
  }));
  const batch = buildBatch({ records });
  if (kind === 0) {
    const crc = (batch.readUInt32BE(BatchOffset.crc) ^ random.int(1, 0xffffffff)) >>> 0;
    batch.writeUInt32BE(crc, BatchOffset.crc);
  } else if (kind === 1) {
    const at = random.int(BatchOffset.records, batch.length - 1);
    random.fill(batch.subarray(at));
    batch[at] = (batch[at] as number) ^ 0xff;
  } else {
    batch.writeInt32BE(records.length + random.int(1, 1000), BatchOffset.recordsCount);
    batch.writeUInt32BE(crc32c(batch.subarray(BatchOffset.attributes)), BatchOffset.crc);
  }
  return batch;
}
