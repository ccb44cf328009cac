/**
 * Real Brook processes for the chaos runs: `node bin/brook.js --config <yaml>` per node, each
 * with its own data directory, a fault proxy (fault-proxy.ts) in front of each listener, and
 * every address clients and peers learn (advertised.listeners, controller.quorum.voters)
 * pointing at the proxies, so cutting a node's proxies isolates it.
 *
 * - `nodes: 1` is single-node mode (no voters: the broker runs its topic commands locally),
 *   with replication factor 1; `nodes: 3` is cluster mode (every node broker+controller,
 *   RF 3, min.insync.replicas 2, short quorum and session timeouts).
 * - Readiness is a Metadata request to each node's own port (not through its proxy) until every
 *   expected broker is listed, within a bound.
 * - Each node's stdout and stderr (pino JSON lines) go to `<logDir>/node-<id>.log`, appended
 *   across restarts, for the report.
 * - Every child is registered in a process-wide set killed on exit, so no broker outlives the
 *   run, whatever happened (exceptions, SIGINT).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Apis } from '../../protocol/generated/api-table.ts';
import type { MetadataResponse } from '../../protocol/generated/apis/03-metadata.ts';
import { NodeClient, nodeClientDefaults } from '../../src/server/node-client.ts';
import { SystemClock } from '../../src/util/clock.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { FaultProxy } from './fault-proxy.ts';

/** The checkout whose bin/brook.js runs the nodes: this one, or BROOK_CHAOS_ROOT. */
const root = process.env.BROOK_CHAOS_ROOT ?? join(import.meta.dirname, '../..');
const host = '127.0.0.1';
const readyTimeoutMs = 30_000;
const stopTimeoutMs = 10_000;

/** Every broker process alive, across clusters: killed when this process exits. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killEveryChild);
}

/** SIGKILLs every broker process started here (synchronous: usable in an exit handler). */
export function killEveryChild(): void {
  for (const child of liveChildren) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  liveChildren.clear();
}

/**
 * Free loopback ports for the children: bound at port 0 by the OS and held until `release()`,
 * so that other sockets opened meanwhile (the proxies) cannot be given one of them.
 */
export async function reservePorts(
  count: number,
): Promise<{ ports: number[]; release: () => Promise<void> }> {
  const servers: Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    servers.push(server);
    ports.push((server.address() as { port: number }).port);
  }
  const release = async (): Promise<void> => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  };
  return { ports, release };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function newAdminClient(port: number, requestTimeoutMs = 3_000): NodeClient {
  return new NodeClient({
    ...nodeClientDefaults,
    host,
    port,
    clientId: 'brook-chaos',
    clock: new SystemClock(),
    logger: silentLogger(),
    requestTimeoutMs,
    backoffMsMax: 200,
  });
}

export interface ClusterOptions {
  readonly nodes: 1 | 3;
  /** Parent of every node's data directory. */
  readonly dataDir: string;
  readonly logDir: string;
  /** Extra properties for every node's YAML (they win over the defaults below). */
  readonly overrides?: Readonly<Record<string, string | number | boolean>>;
  /** The Brook checkout whose bin/brook.js runs the nodes (default: this one). */
  readonly brookRoot?: string;
}

export class ChaosNode {
  readonly id: number;
  readonly port: number;
  readonly controllerPort: number | undefined;
  readonly proxy: FaultProxy;
  readonly controllerProxy: FaultProxy | undefined;
  readonly dataDir: string;
  readonly configPath: string;
  readonly logPath: string;
  readonly brookRoot: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #paused = false;
  starts = 0;

  constructor(init: {
    id: number;
    port: number;
    controllerPort: number | undefined;
    proxy: FaultProxy;
    controllerProxy: FaultProxy | undefined;
    dataDir: string;
    configPath: string;
    logPath: string;
    brookRoot: string;
  }) {
    this.id = init.id;
    this.port = init.port;
    this.controllerPort = init.controllerPort;
    this.proxy = init.proxy;
    this.controllerProxy = init.controllerProxy;
    this.dataDir = init.dataDir;
    this.configPath = init.configPath;
    this.logPath = init.logPath;
    this.brookRoot = init.brookRoot;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): void {
    if (this.#child) throw new Error(`node ${this.id} already running`);
    const log = openSync(this.logPath, 'a');
    const brook = join(this.brookRoot, 'bin/brook.js');
    const child = spawn(process.execPath, [brook, '--config', this.configPath], {
      cwd: this.brookRoot,
      stdio: ['ignore', log, log],
      env: { ...process.env, NO_COLOR: '1' },
    });
    closeSync(log);
    this.starts += 1;
    this.#child = child;
    this.#paused = false;
    liveChildren.add(child);
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        liveChildren.delete(child);
        if (this.#child === child) this.#child = undefined;
        resolve();
      });
    });
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    this.#paused = false;
    await this.#exited;
  }

  pause(): void {
    if (!this.#child) return;
    this.#child.kill('SIGSTOP');
    this.#paused = true;
  }

  resume(): void {
    if (!this.#child) return;
    this.#child.kill('SIGCONT');
    this.#paused = false;
  }

  /** SIGTERM (a graceful stop), SIGKILL past the bound; true when it stopped by itself. */
  async stop(): Promise<boolean> {
    const child = this.#child;
    if (!child) return true;
    child.kill('SIGCONT');
    this.#paused = false;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.#exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), stopTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) await this.kill();
    return !timedOut;
  }

  /** Metadata from the node's own port (bypassing its proxy), or undefined. */
  async metadata(topics: readonly string[] | null = []): Promise<MetadataResponse | undefined> {
    const client = newAdminClient(this.port, 2_000);
    try {
      return await client.request(Apis.Metadata, 12, {
        topics: topics === null ? null : topics.map((name) => ({ topicId: zeroUuid, name })),
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
    } catch {
      return undefined;
    } finally {
      client.close();
    }
  }

  /** Waits until this node answers Metadata listing every broker in `brokerIds`. */
  async waitReady(brokerIds: readonly number[], timeoutMs = readyTimeoutMs): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (!this.#child) throw new Error(`node ${this.id} exited while starting (${this.logPath})`);
      const answer = await this.metadata();
      const listed = new Set(answer?.brokers.map((b) => b.nodeId));
      if (answer && brokerIds.every((id) => listed.has(id))) return;
      await sleep(100);
    }
    throw new Error(`node ${this.id} not ready in ${timeoutMs} ms (see ${this.logPath})`);
  }
}

export const zeroUuid = 'AAAAAAAAAAAAAAAAAAAAAA';

export class ChaosCluster {
  readonly nodes: readonly ChaosNode[];
  readonly options: ClusterOptions;

  private constructor(nodes: readonly ChaosNode[], options: ClusterOptions) {
    this.nodes = nodes;
    this.options = options;
  }

  /** Writes every node's config, starts the proxies and the nodes, waits until ready. */
  static async start(options: ClusterOptions): Promise<ChaosCluster> {
    installExitHook();
    const count = options.nodes;
    const clustered = count > 1;
    const { ports, release } = await reservePorts(clustered ? count * 2 : count);
    const proxies: FaultProxy[] = [];
    try {
      for (let i = 0; i < ports.length; i++) {
        proxies.push(new FaultProxy({ listenPort: 0, targetPort: ports[i] as number }));
      }
      for (const proxy of proxies) await proxy.start();
    } finally {
      await release();
    }
    const voters = clustered
      ? Array.from({ length: count }, (_, i) => `${i + 1}@${host}:${proxies[count + i]?.port}`)
      : [];
    mkdirSync(options.logDir, { recursive: true });
    // Every node of one cluster is formatted with the same id, as KRaft requires.
    const clusterId = randomBytes(16).toString('base64url');
    const nodes: ChaosNode[] = [];
    for (let i = 0; i < count; i++) {
      const id = i + 1;
      const dataDir = join(options.dataDir, `node-${id}`);
      mkdirSync(dataDir, { recursive: true });
      const port = ports[i] as number;
      const controllerPort = clustered ? ports[count + i] : undefined;
      const proxy = proxies[i] as FaultProxy;
      const controllerProxy = clustered ? proxies[count + i] : undefined;
      const config = nodeConfig({
        ...{ id, port, controllerPort, advertisedPort: proxy.port, dataDir },
        ...{ voters, options, clusterId },
      });
      const configPath = join(options.dataDir, `node-${id}.yaml`);
      writeFileSync(configPath, config);
      const logPath = join(options.logDir, `node-${id}.log`);
      const brookRoot = options.brookRoot ?? root;
      nodes.push(
        new ChaosNode({
          ...{ id, port, controllerPort, proxy, controllerProxy },
          ...{ dataDir, configPath, logPath, brookRoot },
        }),
      );
    }
    const cluster = new ChaosCluster(nodes, options);
    for (const node of nodes) node.start();
    await cluster.waitReady();
    return cluster;
  }

  get brokerIds(): number[] {
    return this.nodes.map((n) => n.id);
  }

  /** What clients bootstrap from: the proxies. */
  get bootstrap(): string[] {
    return this.nodes.map((n) => `${host}:${n.proxy.port}`);
  }

  node(id: number): ChaosNode {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  async waitReady(timeoutMs = readyTimeoutMs): Promise<void> {
    const ids = this.brokerIds;
    await Promise.all(this.nodes.filter((n) => n.running).map((n) => n.waitReady(ids, timeoutMs)));
  }

  healAll(): void {
    for (const node of this.nodes) {
      node.proxy.heal();
      node.controllerProxy?.heal();
      node.resume();
    }
  }

  /**
   * Creates the topic through any node that answers (a non-controller forwards it), retrying
   * until its partitions all have leaders, within the bound.
   */
  async createTopic(
    name: string,
    partitions: number,
    configs: Readonly<Record<string, string>>,
    timeoutMs = 30_000,
  ): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const replicationFactor = this.nodes.length;
    let lastError = 'no answer';
    while (performance.now() < deadline) {
      for (const node of this.nodes) {
        const client = newAdminClient(node.port, 5_000);
        try {
          const answer = await client.request(Apis.CreateTopics, 7, {
            topics: [
              {
                name,
                numPartitions: partitions,
                replicationFactor,
                assignments: [],
                configs: Object.entries(configs).map(([key, value]) => ({ name: key, value })),
              },
            ],
            timeoutMs: 10_000,
            validateOnly: false,
          });
          const result = answer.topics[0];
          // 36: TOPIC_ALREADY_EXISTS (an earlier attempt got through).
          if (result && result.errorCode !== 0 && result.errorCode !== 36) {
            lastError = `error ${result.errorCode} ${result.errorMessage ?? ''}`;
          }
        } catch (error) {
          lastError = error instanceof Error ? error.message : String(error);
        } finally {
          client.close();
        }
        const meta = await node.metadata([name]);
        const topic = meta?.topics[0];
        if (
          topic?.errorCode === 0 &&
          topic.partitions.length === partitions &&
          topic.partitions.every((p) => p.errorCode === 0 && p.leaderId >= 0)
        ) {
          return;
        }
      }
      await sleep(200);
    }
    throw new Error(`topic ${name} not created in ${timeoutMs} ms: ${lastError}`);
  }

  /** Stops every node gracefully (SIGKILL past the bound) and closes the proxies. */
  async stopAll(): Promise<void> {
    for (const node of this.nodes) {
      node.proxy.heal();
      node.controllerProxy?.heal();
    }
    await Promise.all(this.nodes.map((n) => n.stop()));
    await this.closeProxies();
  }

  async killAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    await this.closeProxies();
  }

  async closeProxies(): Promise<void> {
    for (const node of this.nodes) {
      await node.proxy.close();
      await node.controllerProxy?.close();
    }
  }
}

/** One node's YAML (JSON, which YAML reads): the properties above plus `overrides`. */
export function nodeConfig(init: {
  id: number;
  port: number;
  controllerPort: number | undefined;
  /** The port clients are told: the node's proxy. */
  advertisedPort: number;
  dataDir: string;
  /** `id@host:port` of every voter (their controller proxies); empty: single-node mode. */
  voters: readonly string[];
  options: Pick<ClusterOptions, 'nodes' | 'overrides'>;
  clusterId: string;
}): string {
  const { id, port, controllerPort, advertisedPort, dataDir, voters, options } = init;
  const clustered = voters.length > 0;
  const properties: Record<string, string | number | boolean> = {
    'node.id': id,
    'cluster.id': init.clusterId,
    'process.roles': 'broker,controller',
    listeners:
      controllerPort === undefined
        ? `PLAINTEXT://${host}:${port}`
        : `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${advertisedPort}`,
    'log.dirs': dataDir,
    'logger.level': 'info',
    'auto.create.topics.enable': false,
    'default.replication.factor': options.nodes,
    'min.insync.replicas': clustered ? 2 : 1,
    'offsets.topic.replication.factor': options.nodes,
    'transaction.state.log.replication.factor': options.nodes,
    'group.initial.rebalance.delay.ms': 0,
  };
  if (clustered) {
    Object.assign(properties, {
      'controller.quorum.voters': voters.join(','),
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'controller.quorum.election.timeout.ms': 1000,
      'controller.quorum.fetch.timeout.ms': 2000,
      'controller.quorum.request.timeout.ms': 1000,
      'broker.heartbeat.interval.ms': 500,
      'broker.session.timeout.ms': 3000,
      'replica.lag.time.max.ms': 3000,
      'replica.fetch.wait.max.ms': 200,
      'replica.fetch.backoff.ms': 200,
      'replica.socket.timeout.ms': 3000,
    });
  }
  Object.assign(properties, options.overrides ?? {});
  // JSON is YAML: every value quoted or numeric, no YAML surprises in listener strings.
  return `${JSON.stringify(properties, null, 2)}\n`;
}
