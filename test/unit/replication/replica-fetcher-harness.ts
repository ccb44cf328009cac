/**
 * A real leader for the replica fetcher tests: partition logs (storage/log PartitionLog on a
 * MemoryFileSystem) served by a real KafkaServer on 127.0.0.1 through a tiny HandlerRegistry
 * that answers Fetch v17 (KIP-320 divergingEpoch from the log's real epoch cache, KIP-74
 * sizes, long poll), OffsetForLeaderEpoch v4 and ListOffsets v9 as Kafka's leader does. The
 * follower reaches it through a real NodeClient. Requests arrive as bytes and are decoded by
 * the real dispatcher; only the leader's replication bookkeeping (ISR, HW from followers) is
 * left out: its high watermark is set by the test (default: its log end).
 */
import { expect } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import {
  type FetchRequest,
  type FetchResponse,
  newFetchResponse,
  newFetchResponsePartitionData,
} from '../../../protocol/generated/apis/01-fetch.ts';
import {
  type ListOffsetsRequest,
  type ListOffsetsResponse,
  newListOffsetsResponse,
  newListOffsetsResponseListOffsetsPartitionResponse,
} from '../../../protocol/generated/apis/02-list-offsets.ts';
import {
  newOffsetForLeaderEpochResponse,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
} from '../../../protocol/generated/apis/23-offset-for-leader-epoch.ts';
import { RecordBatchView } from '../../../protocol/records/batch.ts';
import { buildBatch } from '../../../protocol/records/batch-builder.ts';
import { ControlRegistry } from '../../../src/handlers/controls.ts';
import { type BrokerServices, defineHandler } from '../../../src/handlers/handler.ts';
import { HandlerRegistry } from '../../../src/handlers/registry.ts';
import {
  type FollowedPartition,
  type LeaderChannel,
  ReplicaFetcherManager,
  type ReplicaFetcherSettings,
} from '../../../src/replication/replica-fetcher.ts';
import { KafkaServer } from '../../../src/server/kafka-server.ts';
import { NodeClient, nodeClientDefaults } from '../../../src/server/node-client.ts';
import { RequestDispatcher, schemaRangeOf } from '../../../src/server/request-dispatcher.ts';
import { type Clock, SystemClock, type TimerHandle } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import type { FileStat, FileSystem, OpenMode } from '../../../storage/io/file-system.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';
import { resolveLogConfig } from '../../../storage/log/log-config.ts';
import { PartitionLog } from '../../../storage/log/partition-log.ts';
import { createStorageEnv } from '../../../storage/log/storage-env.ts';
import { logBytes as logBytesOf, materialize } from '../storage/log-harness.ts';

export const logger = silentLogger();

/** SystemClock that remembers every timer delay asked of it (backoffs are visible). */
export class RecordingClock implements Clock {
  readonly #inner = new SystemClock();
  readonly delaysMs: number[] = [];
  nowMs(): number {
    return this.#inner.nowMs();
  }
  monotonicMs(): number {
    return this.#inner.monotonicMs();
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    this.delaysMs.push(delayMs);
    return this.#inner.setTimer(delayMs, fn);
  }
}

/** A FileSystem whose writes can be held (a slow disk), delegating to a MemoryFileSystem. */
export class HoldableFileSystem implements FileSystem {
  readonly inner: MemoryFileSystem;
  #hold: Promise<void> | undefined;
  #release: (() => void) | undefined;
  /** Resolves when a write reached the hold. */
  #reached: (() => void) | undefined;

  constructor(seed: number) {
    this.inner = new MemoryFileSystem(new SeededRandom(seed));
  }

  /** Holds the next writes; resolves when one of them is waiting. */
  holdWrites(): Promise<void> {
    this.#hold = new Promise<void>((resolve) => {
      this.#release = resolve;
    });
    return new Promise<void>((resolve) => {
      this.#reached = resolve;
    });
  }

  releaseWrites(): void {
    this.#hold = undefined;
    this.#release?.();
  }

  open(path: string, mode: OpenMode): Promise<number> {
    return this.inner.open(path, mode);
  }
  close(fd: number): Promise<void> {
    return this.inner.close(fd);
  }
  size(fd: number): Promise<number> {
    return this.inner.size(fd);
  }
  read(fd: number, target: Buffer, position: number): Promise<number> {
    return this.inner.read(fd, target, position);
  }
  async write(fd: number, data: Buffer | readonly Buffer[], position: number): Promise<void> {
    if (this.#hold) {
      this.#reached?.();
      await this.#hold;
    }
    return this.inner.write(fd, data, position);
  }
  truncate(fd: number, sizeBytes: number): Promise<void> {
    return this.inner.truncate(fd, sizeBytes);
  }
  fsync(fd: number): Promise<void> {
    return this.inner.fsync(fd);
  }
  fsyncDir(path: string): Promise<void> {
    return this.inner.fsyncDir(path);
  }
  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }
  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }
  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }
  mkdir(path: string): Promise<void> {
    return this.inner.mkdir(path);
  }
  removeTree(path: string): Promise<void> {
    return this.inner.removeTree(path);
  }
  stat(path: string): Promise<FileStat | undefined> {
    return this.inner.stat(path);
  }
}

export interface OpenedLog {
  readonly fs: FileSystem;
  readonly log: PartitionLog;
}

/** A PartitionLog on its own simulated disk (small segments: reads cross several). */
export async function openLog(
  topic: string,
  partition: number,
  fs: FileSystem = new MemoryFileSystem(new SeededRandom(1)),
): Promise<OpenedLog> {
  const log = await PartitionLog.open({
    ...createStorageEnv(fs),
    clock: new SystemClock(),
    random: new SeededRandom(2),
    dir: `/data/${topic}-${partition}`,
    topic,
    partition,
    config: resolveLogConfig(undefined, { segmentBytes: 64 * 1024 }),
  });
  return { fs, log };
}

/** A batch of `count` records whose values say where they came from. */
export function batchOf(count: number, label: string): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({
    key: null,
    value: Buffer.from(`${label}-${i}-${'x'.repeat(i % 7)}`),
    timestamp: 1_700_000_000_000 + i,
  }));
  return buildBatch({ records });
}

/** Appends `batches` batches of `perBatch` records as leader in `epoch`. */
export async function fill(
  log: PartitionLog,
  epoch: number,
  batches: number,
  perBatch: number,
  label: string,
): Promise<void> {
  for (let i = 0; i < batches; i++) {
    await log.appendAsLeader(batchOf(perBatch, `${label}${i}`), { leaderEpoch: epoch });
  }
}

/** Every byte of the log from its start to its end, regions read back from its disk. */
export function logBytes(opened: OpenedLog): Promise<Buffer> {
  return logBytesOf(opened.log, opened.fs);
}

export interface LeaderPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly opened: OpenedLog;
  leaderEpoch: number;
  isLeader: boolean;
  /** The leader's high watermark; undefined: its log end. */
  highWatermark?: number;
  /** Cut the answer's last batch after this many bytes (a leader cutting at maxBytes). */
  cutTailBytes?: number;
  /** Rewrites the records of the next answer with records (bit rot on the way). */
  mangleOnce?: (records: Buffer) => Buffer;
}

type FetchedPartition = FetchResponse['responses'][number]['partitions'][number];
type AskedPartition = FetchRequest['topics'][number]['partitions'][number];

/** The leader broker: its partitions, its server, what it was asked. */
export class TestLeader {
  readonly brokerId: number;
  readonly partitions: LeaderPartition[] = [];
  readonly fetches: FetchRequest[] = [];
  readonly epochQueries: OffsetForLeaderEpochRequest[] = [];
  readonly listOffsetQueries: ListOffsetsRequest[] = [];
  /** Awaited before a Fetch is answered (a test holds an answer in flight). */
  beforeAnswer: ((request: FetchRequest) => Promise<void>) | undefined;
  #server: KafkaServer | undefined;
  #port = 0;
  #waiters = new Set<() => void>();
  readonly #registry: HandlerRegistry;
  readonly #clock = new SystemClock();

  constructor(brokerId: number) {
    this.brokerId = brokerId;
    this.#registry = new HandlerRegistry(schemaRangeOf);
    this.#registry.register(
      defineHandler<FetchRequest, FetchResponse>({
        apiKey: 1,
        minVersion: 17,
        maxVersion: 17,
        handle: (_ctx, request) => this.#fetch(request),
      }),
    );
    this.#registry.register(
      defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
        apiKey: 23,
        minVersion: 4,
        maxVersion: 4,
        handle: (_ctx, request) => this.#offsetForLeaderEpoch(request),
      }),
    );
    this.#registry.register(
      defineHandler<ListOffsetsRequest, ListOffsetsResponse>({
        apiKey: 2,
        minVersion: 9,
        maxVersion: 9,
        handle: (_ctx, request) => this.#listOffsets(request),
      }),
    );
  }

  get port(): number {
    return this.#port;
  }

  /** Listens (again, on the same port after a stop). */
  async start(): Promise<void> {
    const services = { nodeId: this.brokerId, clock: this.#clock, apiVersions: () => [] };
    const server = new KafkaServer({
      listenerName: 'REPLICATION',
      host: '127.0.0.1',
      port: this.#port,
      processor: new RequestDispatcher({
        registry: this.#registry,
        controls: new ControlRegistry(),
        services: services as unknown as BrokerServices,
        clock: this.#clock,
        logger,
      }),
      limits: {
        frameSizeBytesMax: 1 << 20,
        inFlightMax: 16,
        idleMs: 60_000,
        connectionsMax: 16,
      },
      logger,
      clock: this.#clock,
    });
    const address = await server.listen();
    this.#port = address.port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#wakeAll();
    await server?.stop(50);
  }

  add(partition: LeaderPartition): LeaderPartition {
    this.partitions.push(partition);
    return partition;
  }

  /** Appends as leader in the partition's epoch and wakes long-polling fetches. */
  async append(p: LeaderPartition, batches: number, perBatch: number, label: string) {
    await fill(p.opened.log, p.leaderEpoch, batches, perBatch, label);
    this.#wakeAll();
  }

  #wakeAll(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  async #fetch(request: FetchRequest): Promise<FetchResponse> {
    this.fetches.push(request);
    let response = await this.#read(request);
    const empty = response.responses.every((t) =>
      t.partitions.every((p) => p.errorCode === 0 && (p.records as Buffer).length === 0),
    );
    if (empty && request.maxWaitMs > 0 && this.#server) {
      await this.#longPoll(request.maxWaitMs);
      response = await this.#read(request);
    }
    await this.beforeAnswer?.(request);
    return response;
  }

  #longPoll(maxWaitMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.#clock.setTimer(maxWaitMs, () => {
        this.#waiters.delete(wake);
        resolve();
      });
      const wake = (): void => {
        timer.cancel();
        resolve();
      };
      this.#waiters.add(wake);
    });
  }

  async #read(request: FetchRequest): Promise<FetchResponse> {
    const response = newFetchResponse();
    let budget = request.maxBytes;
    for (const topic of request.topics) {
      const partitions: FetchedPartition[] = [];
      for (const asked of topic.partitions) {
        const found = this.partitions.find(
          (p) => p.topicId === topic.topicId && p.partition === asked.partition,
        );
        const answer = await this.#answer(found, asked, budget);
        budget -= (answer.records as Buffer).length;
        partitions.push(answer);
      }
      response.responses.push({ topic: '', topicId: topic.topicId, partitions });
    }
    return response;
  }

  async #answer(
    p: LeaderPartition | undefined,
    asked: AskedPartition,
    budget: number,
  ): Promise<FetchedPartition> {
    const out = { ...newFetchResponsePartitionData(), partitionIndex: asked.partition };
    out.records = Buffer.alloc(0);
    const error = this.#partitionError(p, asked.currentLeaderEpoch);
    if (error !== ErrorCode.NONE || !p) return { ...out, errorCode: error };
    const log = p.opened.log;
    const end = log.logEndOffset;
    out.highWatermark = p.highWatermark ?? end;
    out.lastStableOffset = out.highWatermark;
    out.logStartOffset = log.logStartOffset;
    if (asked.lastFetchedEpoch >= 0) {
      // KIP-320: where the follower's last epoch ends here; an unknown epoch is out of range.
      const found = this.#epochEnd(p, asked.lastFetchedEpoch);
      if (!found || asked.fetchOffset < log.logStartOffset) {
        return { ...out, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
      }
      if (found.epoch < asked.lastFetchedEpoch || found.endOffset < asked.fetchOffset) {
        out.divergingEpoch = { epoch: found.epoch, endOffset: found.endOffset };
        return out;
      }
    }
    if (asked.fetchOffset < log.logStartOffset || asked.fetchOffset > end) {
      return { ...out, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
    }
    if (budget <= 0) return out;
    const maxBytes = Math.min(asked.partitionMaxBytes, budget);
    const read = await log.read(asked.fetchOffset, { maxBytes });
    let records: Buffer = await materialize(p.opened.fs, read);
    if (p.cutTailBytes !== undefined && read.nextOffset < end) {
      const next = await log.read(read.nextOffset, { maxBytes: 1 });
      const tail = await materialize(p.opened.fs, next);
      records = Buffer.concat([records, tail.subarray(0, p.cutTailBytes)]);
    }
    const mangle = p.mangleOnce;
    if (mangle && records.length > 0) {
      p.mangleOnce = undefined;
      records = mangle(records);
    }
    out.records = records;
    return out;
  }

  #partitionError(p: LeaderPartition | undefined, currentLeaderEpoch: number): number {
    if (!p) return ErrorCode.UNKNOWN_TOPIC_ID;
    if (!p.isLeader) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < p.leaderEpoch) {
      return ErrorCode.FENCED_LEADER_EPOCH;
    }
    if (currentLeaderEpoch > p.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
    return ErrorCode.NONE;
  }

  /**
   * Kafka's LeaderEpochFileCache.endOffsetFor: the largest epoch <= `epoch` and where it ends
   * (the current epoch ends at the log end); an epoch older than every entry is answered as
   * itself, ending where the first entry starts; undefined when the cache cannot say (empty,
   * or `epoch` newer than every entry), which a Fetch answers OFFSET_OUT_OF_RANGE.
   */
  #epochEnd(p: LeaderPartition, epoch: number): { epoch: number; endOffset: number } | undefined {
    const log = p.opened.log;
    const end = log.logEndOffset;
    if (epoch >= p.leaderEpoch) return { epoch: p.leaderEpoch, endOffset: end };
    const entries = log.leaderEpochs.entries;
    if (entries.at(-1)?.epoch === epoch) return { epoch, endOffset: end };
    const higher = entries.find((e) => e.epoch > epoch);
    if (!higher) return undefined;
    const floor = entries.findLast((e) => e.epoch <= epoch);
    return { epoch: floor?.epoch ?? epoch, endOffset: higher.startOffset };
  }

  #byName(topic: string, partition: number): LeaderPartition | undefined {
    return this.partitions.find((p) => p.topic === topic && p.partition === partition);
  }

  #offsetForLeaderEpoch(request: OffsetForLeaderEpochRequest): OffsetForLeaderEpochResponse {
    this.epochQueries.push(request);
    const response = newOffsetForLeaderEpochResponse();
    response.topics = request.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((asked) => {
        const p = this.#byName(t.topic, asked.partition);
        const errorCode = this.#partitionError(p, asked.currentLeaderEpoch);
        const base = { errorCode, partition: asked.partition, leaderEpoch: -1, endOffset: -1 };
        if (errorCode !== ErrorCode.NONE || !p) return base;
        const found = this.#epochEnd(p, asked.leaderEpoch);
        return found ? { ...base, leaderEpoch: found.epoch, endOffset: found.endOffset } : base;
      }),
    }));
    return response;
  }

  #listOffsets(request: ListOffsetsRequest): ListOffsetsResponse {
    this.listOffsetQueries.push(request);
    const response = newListOffsetsResponse();
    response.topics = request.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((asked) => {
        const p = this.#byName(t.name, asked.partitionIndex);
        const errorCode = this.#partitionError(p, asked.currentLeaderEpoch);
        const base = {
          ...newListOffsetsResponseListOffsetsPartitionResponse(),
          partitionIndex: asked.partitionIndex,
          errorCode,
          offset: -1,
        };
        if (errorCode !== ErrorCode.NONE || !p) return base;
        const log = p.opened.log;
        // As Kafka: a replica asking for the latest offset gets the log end, not the HW.
        const latest = request.replicaId >= 0 ? log.logEndOffset : log.highWatermark;
        const offset = asked.timestamp === -2 ? log.logStartOffset : latest;
        return { ...base, offset, leaderEpoch: p.leaderEpoch };
      }),
    }));
    return response;
  }
}

/** A NodeClient to a test leader, with the timeouts of the fetcher under test. */
export function channelTo(leader: TestLeader, requestTimeoutMs: number): NodeClient {
  return new NodeClient({
    ...nodeClientDefaults,
    host: '127.0.0.1',
    port: leader.port,
    clientId: 'replica-fetcher-test',
    clock: new SystemClock(),
    logger,
    requestTimeoutMs,
    backoffMsMin: 20,
    backoffMsMax: 100,
  });
}

/** Offsets of every batch in `bytes` (batches end to end), to compare logs by shape. */
export function batchOffsets(bytes: Buffer): { base: number; last: number; epoch: number }[] {
  const out: { base: number; last: number; epoch: number }[] = [];
  let at = 0;
  while (at < bytes.length) {
    const view = new RecordBatchView(bytes.subarray(at));
    out.push({ base: view.baseOffset, last: view.lastOffset, epoch: view.partitionLeaderEpoch });
    at += view.sizeBytes;
  }
  return out;
}

/** Polls `condition` every few ms until true or `timeoutMs` passes (then throws). */
export async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// ---- scenario pieces shared by the test files ----------------------------------------

/** The default seed of the fetcher's Random (jitter); tests print the seed they use. */
export const SEED = 20_261_207;
export const FOLLOWER_ID = 2;
export const BROKER_EPOCH = 77;
/** Undone after each test, last first: servers, clients, managers, logs. */
export const cleanups: (() => unknown)[] = [];

export async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export const baseSettings: ReplicaFetcherSettings = {
  maxBytes: 8 * 1024,
  responseMaxBytes: 12 * 1024,
  waitMaxMs: 100,
  minBytes: 1,
  backoffMs: 50,
  requestTimeoutMs: 2_000,
  partitionsPerRequestMax: 1_000,
};

export async function startLeader(brokerId: number): Promise<TestLeader> {
  const leader = new TestLeader(brokerId);
  await leader.start();
  cleanups.push(() => leader.stop());
  return leader;
}

export function fetcherManager(
  leaders: readonly TestLeader[],
  options: { clock?: Clock; settings?: Partial<ReplicaFetcherSettings>; seed?: number } = {},
): ReplicaFetcherManager {
  const settings = { ...baseSettings, ...options.settings };
  const channels = new Map<number, LeaderChannel>();
  for (const leader of leaders) {
    const channel = channelTo(leader, settings.requestTimeoutMs);
    cleanups.push(() => channel.close());
    channels.set(leader.brokerId, channel);
  }
  const manager = new ReplicaFetcherManager({
    nodeId: FOLLOWER_ID,
    clock: options.clock ?? new SystemClock(),
    random: new SeededRandom(options.seed ?? SEED),
    logger,
    brokerEpoch: () => BROKER_EPOCH,
    channelFor: (id) => channels.get(id),
    settings,
  });
  cleanups.push(() => manager.close());
  return manager;
}

/** A follower partition that records what the fetcher told it. */
export interface Follower extends FollowedPartition {
  readonly opened: OpenedLog;
  readonly appended: { base: number; last: number }[];
  readonly truncations: number[];
}

export function follower(
  leader: TestLeader,
  p: LeaderPartition,
  opened: OpenedLog,
  leaderEpoch = p.leaderEpoch,
): Follower {
  const appended: { base: number; last: number }[] = [];
  const truncations: number[] = [];
  return {
    topic: p.topic,
    topicId: p.topicId,
    partition: p.partition,
    leaderId: leader.brokerId,
    leaderEpoch,
    log: opened.log,
    opened,
    appended,
    truncations,
    onAppended(batches: readonly RecordBatchView[]) {
      for (const b of batches) appended.push({ base: b.baseOffset, last: b.lastOffset });
    },
    onTruncated(logEndOffset: number) {
      truncations.push(logEndOffset);
    },
  };
}

export async function leaderPartition(
  leader: TestLeader,
  topic: string,
  partition: number,
  leaderEpoch: number,
): Promise<LeaderPartition> {
  const opened = await openLog(topic, partition);
  cleanups.push(() => opened.log.close());
  const topicId = `${topic.padEnd(21, 'A').slice(0, 21)}A`;
  return leader.add({ topic, topicId, partition, opened, leaderEpoch, isLeader: true });
}

export async function followerLog(topic: string, partition: number, fs?: HoldableFileSystem) {
  const opened = await openLog(topic, partition, fs);
  cleanups.push(() => opened.log.close());
  return opened;
}

export async function expectIdentical(
  leaderSide: OpenedLog,
  followerSide: OpenedLog,
): Promise<void> {
  expect(followerSide.log.logStartOffset).toBe(leaderSide.log.logStartOffset);
  expect(followerSide.log.logEndOffset).toBe(leaderSide.log.logEndOffset);
  const [mine, theirs] = await Promise.all([logBytes(followerSide), logBytes(leaderSide)]);
  const hasRecords = followerSide.log.logEndOffset > followerSide.log.logStartOffset;
  expect(mine.length > 0).toBe(hasRecords);
  expect(mine.equals(theirs)).toBe(true);
  expect(effectiveEpochs(followerSide)).toEqual(effectiveEpochs(leaderSide));
}

/**
 * The epoch entries that cover data. storage's LeaderEpochCache.assign keeps an entry whose
 * start equals the new entry's start (Kafka's drops it; patches/follower-epoch-cache.patch):
 * such an entry, e.g. left at the log end when the log start moved there, covers nothing.
 */
function effectiveEpochs(opened: OpenedLog): { epoch: number; startOffset: number }[] {
  const entries = opened.log.leaderEpochs.entries;
  return entries.filter((e, i) => entries[i + 1]?.startOffset !== e.startOffset);
}

/** The batches reported to onAppended cover [from, to) once each, in order. */
export function expectContiguous(
  appended: readonly { base: number; last: number }[],
  from: number,
) {
  let next = from;
  for (const batch of appended) {
    expect(batch.base).toBe(next);
    next = batch.last + 1;
  }
  return next;
}
