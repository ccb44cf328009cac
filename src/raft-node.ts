/**
 * A composition root that runs one member of the controller quorum and nothing else:
 *
 *   node src/raft-node.ts --node-id 1 --voters 1@127.0.0.1:19091,2@127.0.0.1:19092,...
 *     --data-dir D --port P [--host H] [--cluster-id C] [--election-timeout-ms N]
 *     [--fetch-timeout-ms N] [--log-level L] [--stdin-control]
 *
 * The metadata log, its snapshots and `quorum-state` live in `D/__cluster_metadata-0`
 * (Kafka's layout). Peers are reached with NodeClient, requests served on a controller
 * listener with the controller handler registry. Logs (pino, JSON) go to stderr; SIGTERM and
 * SIGINT stop it cleanly (exit 0); a storage failure or a committed-truncation request stops
 * it with exit 1, to restart from the disk.
 *
 * `--stdin-control` is a test hook, off by default: each stdin line `append <text>` appends a
 * record (answered on stdout with `{"event":"appended"|"not-leader"|...}`), `read` prints the
 * committed data records, `resign` resigns; commits and leader changes are printed as
 * `{"event":"commit"|"leader"}` lines. It stands in for the controller that will append
 * metadata records.
 *
 * Deliberately small: the cluster work folds this into `process.roles=controller` of the
 * broker's own composition root (src/broker.ts, src/cli.ts).
 */
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NodeFileSystem } from '../storage/io/node-file-system.ts';
import type {
  ControllerRaft,
  ControllerServices,
} from './handlers/controller/controller-services.ts';
import { controllerRegistry } from './handlers/controller/index.ts';
import { ControlRegistry } from './handlers/controls.ts';
import type { BrokerServices } from './handlers/handler.ts';
import { QuorumStateFile } from './raft/quorum-state-file.ts';
import { RaftDriver } from './raft/raft-driver.ts';
import { type PeerChannel, RaftRpc } from './raft/raft-rpc.ts';
import { RaftReplica } from './raft/replica.ts';
import { type RaftConfig, raftConfigDefaults } from './raft/replica-config.ts';
import { StorageRaftLog } from './raft/storage-raft-log.ts';
import { KafkaServer } from './server/kafka-server.ts';
import { NodeClient, nodeClientDefaults } from './server/node-client.ts';
import { RequestDispatcher, schemaRangeOf } from './server/request-dispatcher.ts';
import { SystemClock } from './util/clock.ts';
import { BrokerError } from './util/errors.ts';
import { createLogger, type Logger, type LogLevel, logLevels } from './util/logger.ts';
import { systemRandom } from './util/random.ts';

export interface RaftNodeArgs {
  readonly nodeId: number;
  readonly voters: ReadonlyMap<number, { readonly host: string; readonly port: number }>;
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly clusterId: string;
  readonly electionTimeoutMs: number;
  readonly fetchTimeoutMs: number;
  readonly logLevel: LogLevel;
  readonly stdinControl: boolean;
}

function integer(name: string, text: string | undefined, fallback?: number): number {
  if (text === undefined && fallback !== undefined) return fallback;
  const value = Number(text);
  if (text === undefined || !Number.isSafeInteger(value) || value < 0) {
    throw new BrokerError('RAFT_NODE_ARGS', `--${name} needs a non-negative integer`);
  }
  return value;
}

/** `1@host:port,2@host:port`. */
export function parseVoters(text: string): Map<number, { host: string; port: number }> {
  const voters = new Map<number, { host: string; port: number }>();
  for (const part of text.split(',')) {
    const match = /^(\d+)@(.+):(\d+)$/.exec(part.trim());
    if (!match) throw new BrokerError('RAFT_NODE_ARGS', `--voters: bad entry "${part}"`);
    const id = Number(match[1]);
    voters.set(id, { host: match[2] as string, port: integer('voters', match[3]) });
  }
  return voters;
}

export function parseRaftNodeArgs(argv: readonly string[]): RaftNodeArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'node-id': { type: 'string' },
      voters: { type: 'string' },
      'data-dir': { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      'cluster-id': { type: 'string', default: 'brook-quorum' },
      'election-timeout-ms': { type: 'string' },
      'fetch-timeout-ms': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      'stdin-control': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const nodeId = integer('node-id', values['node-id']);
  const voters = parseVoters(values.voters ?? '');
  if (!voters.has(nodeId)) throw new BrokerError('RAFT_NODE_ARGS', '--voters must list --node-id');
  const dataDir = values['data-dir'];
  if (!dataDir) throw new BrokerError('RAFT_NODE_ARGS', '--data-dir is required');
  const level = values['log-level'] as LogLevel;
  if (!logLevels.includes(level)) throw new BrokerError('RAFT_NODE_ARGS', '--log-level');
  const electionTimeoutMs = raftConfigDefaults.electionTimeoutMs;
  return {
    nodeId,
    voters,
    dataDir,
    host: values.host,
    port: integer('port', values.port, voters.get(nodeId)?.port),
    clusterId: values['cluster-id'],
    electionTimeoutMs: integer(
      'election-timeout-ms',
      values['election-timeout-ms'],
      electionTimeoutMs,
    ),
    fetchTimeoutMs: integer(
      'fetch-timeout-ms',
      values['fetch-timeout-ms'],
      raftConfigDefaults.fetchTimeoutMs,
    ),
    logLevel: level,
    stdinControl: values['stdin-control'],
  };
}

export interface RunningRaftNode {
  readonly driver: RaftDriver;
  readonly port: number;
  stop(): Promise<void>;
}

function raftConfigOf(args: RaftNodeArgs): RaftConfig {
  return {
    ...raftConfigDefaults,
    nodeId: args.nodeId,
    clusterId: args.clusterId,
    voterIds: [...args.voters.keys()].sort((a, b) => a - b),
    electionTimeoutMs: args.electionTimeoutMs,
    fetchTimeoutMs: args.fetchTimeoutMs,
    requestTimeoutMs: Math.max(args.fetchTimeoutMs / 2, 200),
    fetchMaxWaitMs: Math.min(500, Math.max(args.fetchTimeoutMs / 4, 50)),
  };
}

function peerClients(args: RaftNodeArgs, clock: SystemClock, logger: Logger) {
  const peers = new Map<number, NodeClient>();
  for (const [id, endpoint] of args.voters) {
    if (id === args.nodeId) continue;
    const client = new NodeClient({
      ...nodeClientDefaults,
      ...endpoint,
      clientId: `raft-${args.nodeId}`,
      clock,
      logger: logger.child({ peer: id }),
      // Longer than any parked fetch, shorter than the time a voter waits for its leader.
      requestTimeoutMs: args.fetchTimeoutMs,
    });
    peers.set(id, client);
  }
  return peers;
}

/** The CONTROLLER listener: the controller handler registry over a KafkaServer. */
function controllerListener(
  args: RaftNodeArgs,
  clock: SystemClock,
  logger: Logger,
  raft: ControllerRaft,
): KafkaServer {
  const registry = controllerRegistry(schemaRangeOf);
  const services: ControllerServices = {
    nodeId: args.nodeId,
    clock,
    apiVersions: () => registry.apiVersions(),
    raft,
  };
  return new KafkaServer({
    listenerName: 'CONTROLLER',
    host: args.host,
    port: args.port,
    processor: new RequestDispatcher({
      registry,
      controls: new ControlRegistry(),
      // The controller handlers read only the members ControllerServices declares.
      services: services as unknown as BrokerServices,
      clock,
      logger,
    }),
    limits: {
      frameSizeBytesMax: 100 * 1024 * 1024,
      inFlightMax: 64,
      idleMs: 600_000,
      connectionsMax: 256,
    },
    logger,
    clock,
  });
}

export async function startRaftNode(args: RaftNodeArgs, logger: Logger): Promise<RunningRaftNode> {
  const clock = new SystemClock();
  const random = systemRandom();
  const fs = new NodeFileSystem();
  const dir = `${args.dataDir}/__cluster_metadata-0`;
  const config = raftConfigOf(args);
  let onFatal: (error: Error) => void = () => {};
  const log = await StorageRaftLog.open({
    fs,
    clock,
    random,
    dir,
    snapshotBytesMax: config.snapshotBytesMax,
    onFailure: (error) => onFatal(error),
  });
  const stateFile = await QuorumStateFile.open(fs, dir);
  const replica = new RaftReplica(config, log, stateFile.read(), random, clock.nowMs());
  const clients = peerClients(args, clock, logger);
  const rpc = new RaftRpc({
    nodeId: args.nodeId,
    peers: clients as ReadonlyMap<number, PeerChannel>,
    clock,
    logger,
    fetchMaxWaitMs: config.fetchMaxWaitMs,
    inboundTimeoutMs: config.fetchMaxWaitMs + config.requestTimeoutMs,
    inboundMax: 1024,
  });
  const driver = new RaftDriver({
    replica,
    log,
    stateStore: stateFile,
    transport: rpc,
    clock,
    onFatal: (e) => onFatal(e),
  });
  rpc.attach(driver);
  const server = controllerListener(args, clock, logger, {
    fetchMaxEntries: config.fetchMaxEntries,
    call: (source, message) => rpc.call(source, message),
    describeQuorum: () => replica.describeQuorum(),
  });
  const bound = await server.listen();
  const stop = async (): Promise<void> => {
    await driver.stop();
    rpc.close();
    for (const client of clients.values()) client.close();
    await server.stop(1_000);
    await log.close();
  };
  let failed = false;
  onFatal = (error) => {
    // The log's own failure and the driver's report of it may both arrive: stop once.
    if (failed) return;
    failed = true;
    logger.fatal({ err: error }, 'raft node stopping: restart it from its disk');
    void stop().finally(() => process.exit(1));
  };
  driver.start();
  logger.info({ port: bound.port, voters: config.voterIds }, 'raft node started');
  return { driver, port: bound.port, stop };
}

/** The stdin/stdout test hook (see the header). */
function attachStdinControl(node: RunningRaftNode): void {
  const print = (line: object): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
  const replica = node.driver.replica;
  replica.addListener({
    onCommit: (highWatermark) => print({ event: 'commit', highWatermark }),
    onLeaderChange: ({ leaderId, epoch }) => print({ event: 'leader', leaderId, epoch }),
  });
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [command, ...rest] = line.split(' ');
    if (command === 'append') {
      const result = node.driver.append([Buffer.from(rest.join(' '), 'utf8')]);
      print({ event: result?.kind ?? 'stopped', ...result });
    } else if (command === 'read') {
      const values: string[] = [];
      for (let offset = 0; offset < replica.highWatermark; ) {
        const read = replica.readCommitted(offset, 256);
        if (read.kind === 'snapshot') {
          offset = read.snapshot.id.endOffset;
          continue;
        }
        if (read.entries.length === 0) break;
        for (const entry of read.entries) {
          if (entry.kind === 'data') values.push(Buffer.from(entry.data).toString('utf8'));
          offset = entry.offset + 1;
        }
      }
      print({ event: 'entries', highWatermark: replica.highWatermark, values });
    } else if (command === 'resign') {
      print({ event: 'resign', resigned: node.driver.resign() });
    }
  });
}

async function main(): Promise<void> {
  const args = parseRaftNodeArgs(process.argv.slice(2));
  const logger = createLogger({
    level: args.logLevel,
    format: 'json',
    destination: process.stderr,
    bindings: { nodeId: args.nodeId },
  });
  const node = await startRaftNode(args, logger);
  if (args.stdinControl) attachStdinControl(node);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'raft node stopping');
    node.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

// Run as a program, not when imported (import.meta.main is Node >= 24.2 only).
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`raft node failed to start: ${String(error)}\n`);
    process.exit(1);
  });
}
