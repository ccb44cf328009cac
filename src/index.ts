/**
 * Brook as a library: `startBroker()` runs a broker inside the current process, for tests and
 * tools. It listens on a free loopback port by default, keeps its data in a fresh temporary
 * directory (removed on stop) unless given one, logs nothing unless asked, and is ready to
 * serve when the promise resolves. Any number can run side by side.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FileSystem } from '../storage/io/file-system.ts';
import { NodeFileSystem } from '../storage/io/node-file-system.ts';
import { Broker } from './broker.ts';
import type { BrokerConfig } from './config/catalogue.ts';
import { type ConfigOverrides, loadConfig } from './config/load-config.ts';
import type { ControlFn, ControlHandle, ControlOptions } from './handlers/controls.ts';
import type { WriteChunks } from './server/chunk-writer.ts';
import { freePorts } from './server/free-ports.ts';
import type { Clock } from './util/clock.ts';
import { createLogger, type Logger, type LogLevel, silentLogger } from './util/logger.ts';

export { Broker } from './broker.ts';
export type { BrokerConfig } from './config/catalogue.ts';
export type { ConfigOverrides } from './config/load-config.ts';
export type { ControlAction, ControlFn, ControlHandle } from './handlers/controls.ts';

export interface StartBrokerOptions {
  /** Property values (Kafka names), e.g. `{ 'num.partitions': 3 }`. */
  readonly config?: ConfigOverrides;
  /** `name=value` strings, as `--set` takes them. */
  readonly sets?: readonly string[];
  /** Environment to read BROOK_* variables from; default: none (tests stay hermetic). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Port of the first listener; default 0 (a free port) unless `listeners` is configured. */
  readonly port?: number;
  /** Data directory to use and keep; default: a temporary one removed on stop. */
  readonly dataDir?: string;
  /** A logger, or a level for a logger to stdout; default: silent. */
  readonly logger?: Logger | LogLevel;
  readonly clock?: Clock;
  readonly writeChunks?: WriteChunks;
  /** The file system for the data directory and file regions; default: the real disk. */
  readonly fileSystem?: FileSystem;
}

export interface RunningBroker {
  /** `host:port` of the first listener, as clients' bootstrap.servers wants it. */
  readonly bootstrap: string;
  readonly port: number;
  readonly config: BrokerConfig;
  readonly dataDir: string;
  readonly broker: Broker;
  /** Intercept requests of one API key (kfake's ControlKey; see handlers/controls.ts). */
  control<Request = unknown>(
    apiKey: number,
    fn: ControlFn<Request>,
    options?: ControlOptions,
  ): ControlHandle;
  /** Graceful stop; removes the temporary data directory. Idempotent. */
  stop(): Promise<void>;
}

export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const fileSystem = options.fileSystem ?? new NodeFileSystem();
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await makeTempDir(fileSystem));
  try {
    const listenersGiven =
      options.config?.listeners !== undefined ||
      (options.sets ?? []).some((s) => s.trim().startsWith('listeners='));
    const port = options.port ?? (listenersGiven ? undefined : 0);
    const config = loadConfig({
      ...(options.env ? { env: options.env } : {}),
      ...(options.config ? { overrides: options.config } : {}),
      ...(options.sets ? { sets: options.sets } : {}),
      ...(port !== undefined ? { port } : {}),
      dataDir,
    });
    const broker = new Broker({
      config,
      fileSystem,
      logger: loggerOf(options.logger),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.writeChunks ? { writeChunks: options.writeChunks } : {}),
    });
    await broker.start();
    const first = broker.listeners[0];
    if (!first) throw new Error('broker started without a listener');
    let stopping: Promise<void> | undefined;
    return {
      bootstrap: `${first.advertised.host}:${first.port}`,
      port: first.port,
      config,
      dataDir,
      broker,
      control: (apiKey, fn, controlOptions) => broker.control(apiKey, fn, controlOptions),
      stop: () => {
        stopping ??= broker
          .stop()
          .then(() => (temporary ? fileSystem.removeTree(dataDir) : undefined));
        return stopping;
      },
    };
  } catch (error) {
    if (temporary) await fileSystem.removeTree(dataDir);
    throw error;
  }
}

function loggerOf(logger: Logger | LogLevel | undefined): Logger {
  if (logger === undefined) return silentLogger();
  if (typeof logger === 'string') return createLogger({ level: logger });
  return logger;
}

async function makeTempDir(fileSystem: FileSystem): Promise<string> {
  // 96 random bits: two test brokers never pick the same name.
  const dir = resolve(join(tmpdir(), `brook-${randomBytes(12).toString('hex')}`));
  await fileSystem.mkdir(dir);
  return dir;
}

export interface StartClusterOptions {
  /** Nodes, each a combined broker and controller (a quorum voter); default 3. */
  readonly nodes?: number;
  /** Property values given to every node (node ids, listeners and voters are set here). */
  readonly config?: ConfigOverrides;
  /** A parent directory for the nodes' data (`node-<id>` in it); default: temporary ones. */
  readonly dataDir?: string;
  readonly logger?: Logger | LogLevel;
}

export interface RunningCluster {
  /** Every node's `host:port`, comma-separated, as bootstrap.servers takes it. */
  readonly bootstrap: string;
  readonly clusterId: string;
  /** The nodes in node-id order (ids 1..n). */
  readonly nodes: readonly RunningBroker[];
  /** Stops every node; removes temporary data directories. Idempotent. */
  stop(): Promise<void>;
}

/**
 * A cluster in this process: `nodes` combined broker+controller nodes on free loopback ports
 * forming one Raft quorum, with replication factor and min.insync.replicas defaults fitting
 * the size (RF = min(3, n), min ISR = RF - 1 or 1) and timeouts sized for tests (sessions of
 * 4 s, elections of 0.5-1 s; `config` overrides them). Resolves once every node is registered,
 * unfenced and sees all the others.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<RunningCluster> {
  const count = options.nodes ?? 3;
  if (!Number.isSafeInteger(count) || count < 1 || count > 64) {
    throw new RangeError(`startCluster: nodes must be 1-64, got ${count}`);
  }
  const ports = await freePorts(count * 2);
  const clusterId = randomBytes(16).toString('base64url');
  const voters = Array.from({ length: count }, (_, i) => `${i + 1}@127.0.0.1:${ports[count + i]}`);
  const replicationFactor = Math.min(3, count);
  const nodeConfig = (i: number): ConfigOverrides => ({
    'default.replication.factor': replicationFactor,
    'offsets.topic.replication.factor': replicationFactor,
    'transaction.state.log.replication.factor': replicationFactor,
    'min.insync.replicas': Math.max(1, replicationFactor - 1),
    // Test-sized timeouts: a stopped node is noticed and replaced in seconds, not tens.
    'controller.quorum.election.timeout.ms': 500,
    'controller.quorum.fetch.timeout.ms': 1_000,
    'broker.heartbeat.interval.ms': 500,
    'broker.session.timeout.ms': 4_000,
    'replica.lag.time.max.ms': 5_000,
    ...options.config,
    'node.id': i + 1,
    'cluster.id': clusterId,
    'process.roles': ['broker', 'controller'],
    listeners: [`PLAINTEXT://127.0.0.1:${ports[i]}`, `CONTROLLER://127.0.0.1:${ports[count + i]}`],
    'controller.listener.names': ['CONTROLLER'],
    'controller.quorum.voters': voters,
  });
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      startBroker({
        config: nodeConfig(i),
        ...(options.dataDir !== undefined
          ? { dataDir: join(options.dataDir, `node-${i + 1}`) }
          : {}),
        ...(options.logger !== undefined ? { logger: options.logger } : {}),
      }),
    ),
  );
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw failed.reason;
  }
  try {
    // Each node resolved once the controller unfenced it; wait until every node's own image
    // lists all of them, so a client's first Metadata answer shows the whole cluster.
    await Promise.all(nodes.map((n) => untilBrokersListed(n.broker, count)));
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    bootstrap: nodes.map((n) => n.bootstrap).join(','),
    clusterId,
    nodes,
    stop: () => {
      stopping ??= Promise.all(nodes.map((n) => n.stop())).then(() => undefined);
      return stopping;
    },
  };
}

async function untilBrokersListed(
  broker: Broker,
  count: number,
  timeoutMs = 30_000,
): Promise<void> {
  const listener = broker.listeners[0]?.name ?? 'PLAINTEXT';
  const deadline = performance.now() + timeoutMs;
  while (broker.metadata.brokers(listener).length < count) {
    if (performance.now() > deadline) {
      throw new Error(`node ${broker.nodeId} did not see ${count} brokers in ${timeoutMs} ms`);
    }
    // Images arrive with the quorum's commits, a few milliseconds apart.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
