/**
 * Brook nodes for the cluster load runs, each a real `node bin/brook.js --config <yaml>`
 * process (as an operator runs them), on loopback with no proxy in between:
 *
 * - `nodes: 1` is single-node mode (no voters: the broker runs topic commands itself, RF 1);
 * - `nodes: 3` is cluster mode, every node broker+controller (a quorum voter), RF 3,
 *   min.insync.replicas 2; Brook's default timeouts unless `overrides` says otherwise.
 *
 * Also the admin side of a run over the load generator's connection (bench/load/pipeline.ts):
 * Metadata, topic creation with explicit replica assignments, leaders and ISRs, each node's
 * CPU time (/proc/<pid>/stat) and SIGKILL. Every child is SIGKILLed if this process exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Apis } from '../../protocol/generated/api-table.ts';
import {
  type MetadataResponse,
  newMetadataRequest,
} from '../../protocol/generated/apis/03-metadata.ts';
import {
  type CreateTopicsResponse,
  newCreateTopicsRequest,
  newCreateTopicsRequestCreatableTopic,
} from '../../protocol/generated/apis/19-create-topics.ts';
import { freePorts } from '../../src/server/free-ports.ts';
import { PipelinedConnection } from './pipeline.ts';
import { decodeResponse, requestFrame } from './requests.ts';

const root = join(import.meta.dirname, '../..');
const host = '127.0.0.1';
const readyTimeoutMs = 60_000;
const metadataTimeoutMs = 2_000;
/** Linux USER_HZ: the unit of utime and stime in /proc/<pid>/stat. */
const ticksPerSecond = 100;

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class BenchNode {
  readonly id: number;
  readonly port: number;
  #child: ChildProcess | undefined;
  #exited: Promise<void>;
  #cpuMs = 0;

  constructor(id: number, port: number, configPath: string, logPath: string) {
    this.id = id;
    this.port = port;
    const log = openSync(logPath, 'a');
    const child = spawn(process.execPath, [join(root, 'bin/brook.js'), '--config', configPath], {
      cwd: root,
      stdio: ['ignore', log, log],
      // Brook reads BROOK_* variables as properties: keep the bench's own out of its sight.
      env: Object.fromEntries(
        Object.entries(process.env).filter(([name]) => !name.startsWith('BROOK_BENCH_')),
      ),
    });
    closeSync(log);
    live.add(child);
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        live.delete(child);
        this.#child = undefined;
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** CPU time (user + system) of the process so far, or at its death, in ms. */
  cpuMs(): number {
    const pid = this.#child?.pid;
    if (pid === undefined) return this.#cpuMs;
    try {
      // Fields after the parenthesised command name: state is 3rd, utime 14th, stime 15th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      this.#cpuMs = (ticks * 1000) / ticksPerSecond;
    } catch {
      // The process is gone: keep the last figure read.
    }
    return this.#cpuMs;
  }

  /** SIGKILL; resolves once the process is gone. Returns the hrtime the signal was sent at. */
  kill(): { sentAt: bigint; gone: Promise<void> } {
    this.cpuMs();
    const sentAt = process.hrtime.bigint();
    this.#child?.kill('SIGKILL');
    return { sentAt, gone: this.#exited };
  }

  /** SIGTERM (graceful), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.cpuMs();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

export interface BenchClusterOptions {
  readonly nodes: 1 | 3;
  /** Parent of the nodes' data directories, configs and logs. */
  readonly dir: string;
  /** Extra properties for every node (they win over the ones set here). */
  readonly overrides?: Readonly<Record<string, string | number | boolean>>;
}

/** The properties a run sets; everything else (timeouts included) is Brook's default. */
function properties(
  id: number,
  ports: { client: number; controller: number | undefined },
  voters: readonly string[],
  options: BenchClusterOptions,
  dataDir: string,
  clusterId: string,
): Record<string, string | number | boolean> {
  const clustered = voters.length > 0;
  return {
    'node.id': id,
    'cluster.id': clusterId,
    'process.roles': 'broker,controller',
    listeners:
      ports.controller === undefined
        ? `PLAINTEXT://${host}:${ports.client}`
        : `PLAINTEXT://${host}:${ports.client},CONTROLLER://${host}:${ports.controller}`,
    'log.dirs': dataDir,
    // BROOK_BENCH_LOG_LEVEL=info for a post-mortem (the logs are node-<id>.log in `dir`).
    'logger.level': process.env.BROOK_BENCH_LOG_LEVEL ?? 'warn',
    'auto.create.topics.enable': false,
    'num.partitions': 1,
    'default.replication.factor': options.nodes,
    'offsets.topic.replication.factor': options.nodes,
    'min.insync.replicas': clustered ? 2 : 1,
    ...(clustered
      ? {
          'controller.quorum.voters': voters.join(','),
          'controller.listener.names': 'CONTROLLER',
          'inter.broker.listener.name': 'PLAINTEXT',
        }
      : {}),
    ...options.overrides,
  };
}

export class BenchCluster {
  readonly nodes: readonly BenchNode[];

  private constructor(nodes: readonly BenchNode[]) {
    this.nodes = nodes;
  }

  /** Starts the nodes and waits until each one's Metadata lists every broker. */
  static async start(options: BenchClusterOptions): Promise<BenchCluster> {
    const count = options.nodes;
    const clustered = count > 1;
    const ports = await freePorts(clustered ? count * 2 : count);
    const voters = clustered
      ? Array.from({ length: count }, (_, i) => `${i + 1}@${host}:${ports[count + i]}`)
      : [];
    const clusterId = randomBytes(16).toString('base64url');
    const nodes: BenchNode[] = [];
    for (let i = 0; i < count; i++) {
      const id = i + 1;
      const dataDir = join(options.dir, `node-${id}`);
      mkdirSync(dataDir, { recursive: true });
      const client = ports[i] as number;
      const controller = clustered ? ports[count + i] : undefined;
      const config = properties(id, { client, controller }, voters, options, dataDir, clusterId);
      const configPath = join(options.dir, `node-${id}.yaml`);
      // JSON is YAML, and quotes every listener string.
      writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
      nodes.push(new BenchNode(id, client, configPath, join(options.dir, `node-${id}.log`)));
    }
    const cluster = new BenchCluster(nodes);
    try {
      await cluster.waitListed(readyTimeoutMs);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  node(id: number): BenchNode {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  get running(): BenchNode[] {
    return this.nodes.filter((n) => n.running);
  }

  async waitListed(timeoutMs: number): Promise<void> {
    const ids = this.nodes.map((n) => n.id);
    const deadline = performance.now() + timeoutMs;
    for (const node of this.nodes) {
      for (;;) {
        if (!node.running) throw new Error(`node ${node.id} exited while starting`);
        const listed = new Set((await metadata(node.port, []))?.brokers.map((b) => b.nodeId));
        if (ids.every((id) => listed.has(id))) break;
        if (performance.now() > deadline) throw new Error(`node ${node.id} not ready`);
        await sleep(100);
      }
    }
  }

  /** Total CPU time of the nodes so far, in ms. */
  cpuMs(): number {
    return this.nodes.reduce((sum, n) => sum + n.cpuMs(), 0);
  }

  /** The active controller (the Raft leader) as the first running node reports it. */
  async controllerId(): Promise<number> {
    for (const node of this.running) {
      const answer = await metadata(node.port, []);
      if (answer && answer.controllerId >= 0) return answer.controllerId;
    }
    throw new Error('no node knows the controller');
  }

  /**
   * Creates `topic` (`assignments[p]` = replicas of partition p, leader first; empty: Brook
   * places them) and waits until every running node sees a leader and `isrSize` in-sync
   * replicas for every partition.
   */
  async createTopic(
    topic: string,
    partitions: number,
    options: { assignments?: readonly (readonly number[])[]; isrSize?: number } = {},
  ): Promise<void> {
    const request = newCreateTopicsRequest();
    request.timeoutMs = 30_000;
    const assignments = options.assignments ?? [];
    request.topics = [
      {
        ...newCreateTopicsRequestCreatableTopic(),
        name: topic,
        numPartitions: assignments.length > 0 ? -1 : partitions,
        replicationFactor: assignments.length > 0 ? -1 : this.nodes.length,
        assignments: assignments.map((brokerIds, partitionIndex) => ({
          partitionIndex,
          brokerIds: [...brokerIds],
        })),
      },
    ];
    const port = (this.running[0] as BenchNode).port;
    const connection = await PipelinedConnection.open(port);
    try {
      const frame = requestFrame(Apis.CreateTopics, 7, 1, request);
      const result = await connection.run(1, 1, () => frame);
      const answer: CreateTopicsResponse = decodeResponse(Apis.CreateTopics, 7, result.first!);
      const code = answer.topics[0]?.errorCode;
      if (code !== 0) throw new Error(`create ${topic}: error ${code}`);
    } finally {
      connection.close();
    }
    const isrSize = options.isrSize ?? this.nodes.length;
    const deadline = performance.now() + 30_000;
    for (const node of this.running) {
      while (!(await topicReady(node.port, topic, partitions, isrSize))) {
        if (performance.now() > deadline) throw new Error(`topic ${topic} not ready`);
        await sleep(50);
      }
    }
  }

  /**
   * Leader of each partition of `topic`, as the node at `askPort` (default: the first running
   * one) sees it.
   */
  async leaders(topic: string, askPort?: number): Promise<number[] | undefined> {
    const port = askPort ?? (this.running[0] as BenchNode).port;
    const answer = await metadata(port, [topic]);
    const t = answer?.topics[0];
    if (t === undefined) return undefined;
    if (t.errorCode !== 0) return undefined;
    return [...t.partitions]
      .sort((a, b) => a.partitionIndex - b.partitionIndex)
      .map((p) => (p.errorCode === 0 ? p.leaderId : -1));
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}

async function topicReady(
  port: number,
  topic: string,
  partitions: number,
  isrSize: number,
): Promise<boolean> {
  const t = (await metadata(port, [topic]))?.topics[0];
  return (
    t?.errorCode === 0 &&
    t.partitions.length === partitions &&
    t.partitions.every((p) => p.errorCode === 0 && p.leaderId >= 0 && p.isrNodes.length >= isrSize)
  );
}

/** Metadata v12 from the node at `port` (`[]`: brokers only), or undefined if it is down. */
export async function metadata(
  port: number,
  topics: readonly string[],
): Promise<MetadataResponse | undefined> {
  const request = newMetadataRequest();
  request.topics = topics.map((name) => ({ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name }));
  request.allowAutoTopicCreation = false;
  let connection: PipelinedConnection | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    connection = await PipelinedConnection.open(port);
    const frame = requestFrame(Apis.Metadata, 12, 1, request);
    const open = connection;
    // A node that stopped answering (not dead: a dead one refuses) counts as down.
    timer = setTimeout(() => open.close(), metadataTimeoutMs);
    const result = await connection.run(1, 1, () => frame);
    return decodeResponse(Apis.Metadata, 12, result.first!);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    connection?.close();
  }
}
