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
 * The quorum member itself is src/node/metadata-quorum.ts (composed once, also for the broker
 * in cluster mode); this file adds only arguments, the controller listener and the hook.
 */
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NodeFileSystem } from '../storage/io/node-file-system.ts';
import { controllerListener } from './node/controller-listener.ts';
import { MetadataQuorum, type QuorumConfig } from './node/metadata-quorum.ts';
import type { RaftDriver } from './raft/raft-driver.ts';
import { raftConfigDefaults } from './raft/replica-config.ts';
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
  readonly quorum: MetadataQuorum;
  readonly driver: RaftDriver;
  readonly port: number;
  stop(): Promise<void>;
}

/** The quorum's config from the arguments (the timeouts raft-node has always derived). */
function quorumConfigOf(args: RaftNodeArgs): QuorumConfig {
  return {
    'node.id': args.nodeId,
    'controller.quorum.voters': [...args.voters].map(([id, v]) => `${id}@${v.host}:${v.port}`),
    'log.dirs': [args.dataDir],
    'controller.quorum.election.timeout.ms': args.electionTimeoutMs,
    'controller.quorum.fetch.timeout.ms': args.fetchTimeoutMs,
    'controller.quorum.request.timeout.ms': Math.max(args.fetchTimeoutMs / 2, 200),
  };
}

export async function startRaftNode(args: RaftNodeArgs, logger: Logger): Promise<RunningRaftNode> {
  const clock = new SystemClock();
  let onFatal: (error: Error) => void = () => {};
  const quorum = await MetadataQuorum.start({
    config: quorumConfigOf(args),
    fs: new NodeFileSystem(),
    clock,
    random: systemRandom(),
    logger,
    clusterId: args.clusterId,
    onFatal: (error) => onFatal(error),
  });
  const server = controllerListener({
    host: args.host,
    port: args.port,
    logger,
    services: { nodeId: args.nodeId, clock, raft: quorum.controllerRaft },
  });
  const bound = await server.listen();
  const stop = async (): Promise<void> => {
    await quorum.stop();
    await server.stop(1_000);
  };
  onFatal = (error) => {
    logger.fatal({ err: error }, 'raft node stopping: restart it from its disk');
    void stop().finally(() => process.exit(1));
  };
  logger.info({ port: bound.port, voters: [...args.voters.keys()] }, 'raft node started');
  return { quorum, driver: quorum.driver, port: bound.port, stop };
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
