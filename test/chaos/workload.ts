/**
 * The chaos workload: idempotent producers (kafkajs, acks=all, retries on, one send in flight
 * each, every value unique: `p<proc>-<n>`) and assign-based consumers reading every partition
 * continuously with Fetch, all recording into one HistoryRecorder; then, once the nemesis has
 * stopped and everything healed, a final read of every partition's committed log from its
 * leader, and dumps of every replica from the nodes' log directories.
 *
 * A producer that saw an error is dropped and replaced by a new one (a new producer id): after
 * an unknown outcome, kafkajs' sequence numbers may no longer match what the broker holds, and
 * a stale sequence reused for a new value could be "deduplicated" into the old one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Apis } from '../../protocol/generated/api-table.ts';
import type { FetchResponse } from '../../protocol/generated/apis/01-fetch.ts';
import { iterateBatches } from '../../protocol/records/batch.ts';
import { readRecords } from '../../protocol/records/record-iterator.ts';
import type { NodeClient } from '../../src/server/node-client.ts';
import type { SeededRandom } from '../../src/util/random.ts';
import { type ChaosCluster, newAdminClient, sleep, zeroUuid } from './cluster.ts';
import type { FinalRead, HistoryRecorder, ReadRecord, ReplicaDump } from './history.ts';

/** Bounds one send, whatever kafkajs' own retries do. */
const sendTimeoutMs = 15_000;
const connectTimeoutMs = 10_000;
const fetchMaxWaitMs = 200;
const fetchPartitionMaxBytes = 256 * 1024;
const maxDecompressedBytes = 16 * 1024 * 1024;
/** Kafka error codes a consumer answers by refreshing where the leaders are. */
const refreshMetadataErrors = new Set([3, 5, 6, 74, 75]);
const offsetOutOfRange = 1;

export interface WorkloadOptions {
  readonly cluster: ChaosCluster;
  readonly topic: string;
  readonly partitions: number;
  readonly producers: number;
  readonly consumers: number;
  /** kafkajs consumers in one group (subscribe, rebalances, committed offsets). */
  readonly groupConsumers?: number;
  readonly history: HistoryRecorder;
  readonly random: SeededRandom;
}

export interface Workload {
  /** Stops every client and waits for their loops (bounded by the send timeout). */
  stop(): Promise<void>;
}

function message(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function startWorkload(options: WorkloadOptions): Workload {
  const state = { stopped: false };
  const loops: Promise<void>[] = [];
  for (let i = 1; i <= options.producers; i++) {
    loops.push(produceLoop(options, i, options.random.fork(), state));
  }
  for (let i = 1; i <= options.consumers; i++) {
    loops.push(consumeLoop(options, `c${i}`, state));
  }
  for (let i = 1; i <= (options.groupConsumers ?? 0); i++) {
    loops.push(groupConsumeLoop(options, i, state));
  }
  return {
    async stop() {
      state.stopped = true;
      await Promise.all(loops);
    },
  };
}

function newProducer(cluster: ChaosCluster, process: string): Producer {
  const kafka = new Kafka({
    clientId: `chaos-${process}`,
    brokers: cluster.bootstrap,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 3_000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

function discard(producer: Producer): void {
  // Not awaited: a paused broker can hold a disconnect for a long time.
  producer.disconnect().catch(() => {});
}

async function produceLoop(
  options: WorkloadOptions,
  index: number,
  random: SeededRandom,
  state: { stopped: boolean },
): Promise<void> {
  const { history, topic } = options;
  const process = `p${index}`;
  let producer: Producer | undefined;
  let n = 0;
  while (!state.stopped) {
    if (!producer) {
      const fresh = newProducer(options.cluster, process);
      try {
        await withTimeout(fresh.connect(), connectTimeoutMs, 'connect');
        producer = fresh;
      } catch {
        discard(fresh);
        await sleep(200);
        continue;
      }
    }
    const value = `${process}-${n++}`;
    const partition = random.int(0, options.partitions - 1);
    history.add({ process, type: 'invoke', f: 'send', value, partition });
    try {
      const sent = producer.send({
        topic,
        acks: -1,
        timeout: 5_000,
        messages: [{ partition, key: value, value }],
      });
      const [meta] = await withTimeout(sent, sendTimeoutMs, 'send');
      if (meta?.errorCode !== 0) throw new Error(`error code ${meta?.errorCode}`);
      const offset = Number(meta.baseOffset);
      history.add({ process, type: 'ok', f: 'send', value, partition: meta.partition, offset });
    } catch (error) {
      // Retries may have written it: the outcome is unknown.
      history.add({ process, type: 'info', f: 'send', value, error: message(error) });
      discard(producer);
      producer = undefined;
    }
  }
  if (producer) await withTimeout(producer.disconnect(), 5_000, 'disconnect').catch(() => {});
}

/** Leaders and client connections (through the proxies, as clients see the cluster). */
class LeaderMap {
  readonly #cluster: ChaosCluster;
  readonly #topic: string;
  readonly leaders = new Map<number, number>();
  readonly #endpoints = new Map<number, number>();
  readonly #clients = new Map<number, NodeClient>();

  constructor(cluster: ChaosCluster, topic: string) {
    this.#cluster = cluster;
    this.#topic = topic;
  }

  /** Asks the nodes in turn (through their proxies) until one answers. */
  async refresh(): Promise<boolean> {
    for (const node of this.#cluster.nodes) {
      const client = this.client(node.id, node.proxy.port);
      try {
        const answer = await client.request(Apis.Metadata, 12, {
          topics: [{ topicId: zeroUuid, name: this.#topic }],
          allowAutoTopicCreation: false,
          includeClusterAuthorizedOperations: false,
          includeTopicAuthorizedOperations: false,
        });
        for (const b of answer.brokers) this.#endpoints.set(b.nodeId, b.port);
        const topic = answer.topics[0];
        if (topic?.errorCode !== 0) continue;
        for (const p of topic.partitions) this.leaders.set(p.partitionIndex, p.leaderId);
        return true;
      } catch {}
    }
    return false;
  }

  client(brokerId: number, port = this.#endpoints.get(brokerId)): NodeClient {
    let client = this.#clients.get(brokerId);
    if (!client) {
      client = newAdminClient(port ?? 0, 3_000);
      this.#clients.set(brokerId, client);
    }
    return client;
  }

  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}

async function consumeLoop(
  options: WorkloadOptions,
  process: string,
  state: { stopped: boolean },
): Promise<void> {
  const { history, topic } = options;
  const positions = new Map<number, number>();
  for (let p = 0; p < options.partitions; p++) {
    positions.set(p, 0);
    history.add({ process, type: 'ok', f: 'seek', partition: p, offset: 0 });
  }
  const leaders = new LeaderMap(options.cluster, topic);
  try {
    while (!state.stopped) {
      if (leaders.leaders.size < options.partitions && !(await leaders.refresh())) {
        await sleep(200);
        continue;
      }
      const byLeader = new Map<number, number[]>();
      for (const [partition, leader] of leaders.leaders) {
        if (leader < 0) continue;
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition]);
      }
      if (byLeader.size === 0) {
        leaders.leaders.clear();
        await sleep(200);
        continue;
      }
      const rounds = [...byLeader].map(([leader, partitions]) =>
        fetchOnce(leaders.client(leader), topic, partitions, positions, fetchMaxWaitMs),
      );
      for (const outcome of await Promise.all(rounds)) {
        if ('error' in outcome) {
          history.add({ process, type: 'fail', f: 'poll', error: outcome.error });
          leaders.leaders.clear();
          leaders.close();
          await sleep(100);
          continue;
        }
        if (outcome.records.length > 0) {
          history.add({ process, type: 'ok', f: 'poll', records: outcome.records });
        }
        for (const { partition, errorCode, highWatermark } of outcome.errors) {
          if (errorCode === offsetOutOfRange) {
            const offset = Math.max(0, Math.min(positions.get(partition) ?? 0, highWatermark));
            positions.set(partition, offset);
            history.add({ process, type: 'ok', f: 'seek', partition, offset });
          } else if (refreshMetadataErrors.has(errorCode)) leaders.leaders.clear();
        }
      }
    }
  } finally {
    leaders.close();
  }
}

/**
 * A kafkajs group member. Each group generation it joins reads under its own process name
 * (`g<i>.<generation>`): after a rebalance a member legitimately re-reads from the committed
 * offsets, which the checker must not take for a consumer going backwards.
 */
async function groupConsumeLoop(
  options: WorkloadOptions,
  index: number,
  state: { stopped: boolean },
): Promise<void> {
  const { history, topic } = options;
  let generation = 0;
  while (!state.stopped) {
    let process = `g${index}.${++generation}`;
    const kafka = new Kafka({
      clientId: `chaos-g${index}`,
      brokers: options.cluster.bootstrap,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1_000,
      requestTimeout: 5_000,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const consumer = kafka.consumer({
      groupId: 'chaos-group',
      sessionTimeout: 6_000,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 10_000,
      allowAutoTopicCreation: false,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    let crashed = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      process = `g${index}.${++generation}`;
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart) crashed = true;
    });
    try {
      await withTimeout(consumer.connect(), connectTimeoutMs, 'connect');
      await withTimeout(
        consumer.subscribe({ topics: [topic], fromBeginning: true }),
        10_000,
        'subscribe',
      );
      await consumer.run({
        eachBatch: async ({ batch }) => {
          const records = batch.messages.map((m) => ({
            partition: batch.partition,
            offset: Number(m.offset),
            value: String(m.value),
          }));
          if (records.length > 0) history.add({ process, type: 'ok', f: 'poll', records });
        },
      });
      while (!state.stopped && !crashed) await sleep(100);
    } catch (error) {
      history.add({ process, type: 'fail', f: 'poll', error: message(error) });
      await sleep(200);
    } finally {
      await withTimeout(consumer.disconnect(), 5_000, 'disconnect').catch(() => {});
    }
  }
}

interface FetchOutcome {
  readonly records: ReadRecord[];
  readonly errors: { partition: number; errorCode: number; highWatermark: number }[];
  readonly highWatermarks: Map<number, number>;
  readonly logStartOffsets: Map<number, number>;
}

/** One Fetch of `partitions` at `positions`, which it advances past the records returned. */
async function fetchOnce(
  client: NodeClient,
  topic: string,
  partitions: readonly number[],
  positions: Map<number, number>,
  maxWaitMs: number,
): Promise<FetchOutcome | { error: string }> {
  let fetched: FetchResponse;
  try {
    fetched = await client.request(Apis.Fetch, 12, {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1 },
      maxWaitMs,
      minBytes: 1,
      maxBytes: 4 * fetchPartitionMaxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          topicId: zeroUuid,
          partitions: partitions.map((partition) => ({
            partition,
            currentLeaderEpoch: -1,
            fetchOffset: positions.get(partition) ?? 0,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: fetchPartitionMaxBytes,
            replicaDirectoryId: zeroUuid,
          })),
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
  } catch (error) {
    return { error: message(error) };
  }
  if (fetched.errorCode !== 0) return { error: `fetch error ${fetched.errorCode}` };
  const outcome: FetchOutcome = {
    records: [],
    errors: [],
    highWatermarks: new Map(),
    logStartOffsets: new Map(),
  };
  for (const data of fetched.responses.flatMap((t) => t.partitions)) {
    const partition = data.partitionIndex;
    outcome.highWatermarks.set(partition, data.highWatermark);
    outcome.logStartOffsets.set(partition, data.logStartOffset);
    if (data.errorCode !== 0) {
      outcome.errors.push({
        partition,
        errorCode: data.errorCode,
        highWatermark: data.highWatermark,
      });
      continue;
    }
    if (!Buffer.isBuffer(data.records)) continue;
    const from = positions.get(partition) ?? 0;
    let next = from;
    for (const batch of iterateBatches(data.records)) {
      if (!batch.isControl) {
        for (const record of readRecords(batch, { maxDecompressedBytes })) {
          // A batch comes whole: records before the position were read already.
          if (record.offset < from) continue;
          outcome.records.push({ partition, offset: record.offset, value: String(record.value) });
        }
      }
      next = Math.max(next, batch.lastOffset + 1);
    }
    positions.set(partition, next);
  }
  return outcome;
}

/**
 * Reads every partition's committed log from its leader (each node's own port, past the
 * proxies), from the log start up to the high watermark, until a read returns nothing more.
 */
export async function finalReads(
  cluster: ChaosCluster,
  topic: string,
  partitions: number,
  timeoutMs = 60_000,
): Promise<FinalRead[]> {
  const deadline = performance.now() + timeoutMs;
  const out: FinalRead[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    let read: FinalRead | undefined;
    while (!read) {
      if (performance.now() > deadline) throw new Error(`final read of ${partition} timed out`);
      read = await finalReadOf(cluster, topic, partition);
      if (!read) await sleep(200);
    }
    out.push(read);
  }
  return out;
}

async function finalReadOf(
  cluster: ChaosCluster,
  topic: string,
  partition: number,
): Promise<FinalRead | undefined> {
  const meta = await cluster.nodes[0]?.metadata([topic]);
  const leaderId = meta?.topics[0]?.partitions.find(
    (p) => p.partitionIndex === partition,
  )?.leaderId;
  if (leaderId === undefined || leaderId < 0) return undefined;
  const client = newAdminClient(cluster.node(leaderId).port, 10_000);
  try {
    const positions = new Map([[partition, 0]]);
    const records: { offset: number; value: string }[] = [];
    let startOffset: number | undefined;
    for (;;) {
      const outcome = await fetchOnce(client, topic, [partition], positions, 0);
      if ('error' in outcome || outcome.errors.length > 0) return undefined;
      const logStart = outcome.logStartOffsets.get(partition) ?? 0;
      if (startOffset === undefined) {
        startOffset = logStart;
        if (logStart > 0) {
          positions.set(partition, logStart);
          continue;
        }
      }
      for (const r of outcome.records) records.push({ offset: r.offset, value: r.value });
      const highWatermark = outcome.highWatermarks.get(partition) ?? 0;
      const position = positions.get(partition) ?? 0;
      if (outcome.records.length === 0 && position >= highWatermark) {
        return { partition, startOffset, endOffset: highWatermark, records };
      }
    }
  } finally {
    client.close();
  }
}

/**
 * Every replica of the topic, read straight from each (stopped) node's log directory: the
 * segments' batches in order, up to the first incomplete or corrupt one, and the high
 * watermark from the node's replication-offset-checkpoint (0 when there is none).
 */
export function dumpReplicas(
  cluster: ChaosCluster,
  topic: string,
  partitions: number,
): ReplicaDump[] {
  const dumps: ReplicaDump[] = [];
  for (const node of cluster.nodes) {
    const highWatermarks = readCheckpoint(join(node.dataDir, 'replication-offset-checkpoint'));
    for (let partition = 0; partition < partitions; partition++) {
      const dir = join(node.dataDir, `${topic}-${partition}`);
      let files: string[];
      try {
        files = readdirSync(dir)
          .filter((f) => /^\d{20}\.log$/.test(f))
          .sort();
      } catch {
        continue; // Not a replica on this node.
      }
      const records: { offset: number; value: string }[] = [];
      for (const file of files) {
        for (const batch of iterateBatches(readFileSync(join(dir, file)))) {
          if (batch.validate() !== undefined) break;
          if (batch.isControl) continue;
          for (const record of readRecords(batch, { maxDecompressedBytes })) {
            records.push({ offset: record.offset, value: String(record.value) });
          }
        }
      }
      const highWatermark = highWatermarks.get(`${topic} ${partition}`) ?? 0;
      dumps.push({ node: node.id, partition, highWatermark, records });
    }
  }
  return dumps;
}

/** Kafka's checkpoint text ("0\n<n>\n<topic> <partition> <offset>\n..."), by "topic partition". */
function readCheckpoint(path: string): Map<string, number> {
  const out = new Map<string, number>();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n').slice(2)) {
    const match = /^(\S+) (\d+) (\d+)$/.exec(line);
    if (match) out.set(`${match[1]} ${match[2]}`, Number(match[3]));
  }
  return out;
}
