/**
 * The `brook` command: `node src/cli.ts [--config f] [--port N] [--data-dir D] [--set k=v]`.
 * Reads the configuration, starts the broker, says where it listens and where its data is.
 * SIGTERM/SIGINT stop it gracefully (stop accepting, answer requests in flight, flush, exit 0);
 * a second signal exits at once. Operator mistakes print one clear line and exit non-zero:
 * 2 for configuration and usage, 1 for anything else the operator can fix (port in use).
 */
import { enableCompileCache } from 'node:module';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { NodeFileSystem } from '../storage/io/node-file-system.ts';
import type { Broker } from './broker.ts';
import type { Logger, LogLevel } from './util/logger.ts';

// Node caches compiled (and type-stripped) modules on disk: a warm start skips re-parsing
// about a megabyte of generated codecs. It must be on before those modules load, so every
// Brook module below is imported dynamically, after this line.
enableCompileCache();

// Loading and starting the broker allocates in bursts that grow V8's young generation to some
// 16 MB, which an idle broker then keeps (about 5 MB of RSS). Held at its initial size until
// the broker listens, it grows as usual under load, so throughput is unaffected. An operator's
// own setting (NODE_OPTIONS or a flag) is left alone.
const semiSpaceGrowthFactorDefault = 2;
const holdYoungGeneration = ![...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) =>
  arg.includes('semi-space'),
);
if (holdYoungGeneration) setFlagsFromString('--semi-space-growth-factor=1');

const { Broker: BrokerClass } = await import('./broker.ts');
const { helpText, parseCliArgs } = await import('./config/cli-args.ts');
const { readConfigFile } = await import('./config/config-file.ts');
const { ConfigError } = await import('./config/config-error.ts');
const { loadConfig } = await import('./config/load-config.ts');
const { BrokerError } = await import('./util/errors.ts');
const { createLogger } = await import('./util/logger.ts');
const { NodeFileSystem: NodeFileSystemClass } = await import('../storage/io/node-file-system.ts');

const exitCodeUsage = 2;
const exitCodeFailure = 1;
/** 128 + SIGINT, what shells report for a process killed by Ctrl-C twice. */
const exitCodeForced = 130;

async function main(argv: readonly string[]): Promise<void> {
  const args = parseCliArgs(argv);
  if (args.help) {
    process.stdout.write(helpText());
    return;
  }
  const fileSystem = new NodeFileSystemClass();
  const file = args.configPath ? await readConfigFile(fileSystem, args.configPath) : undefined;
  const warnings: string[] = [];
  const config = loadConfig({
    ...(file ? { file } : {}),
    env: process.env,
    sets: args.sets,
    ...(args.port !== undefined ? { port: args.port } : {}),
    ...(args.dataDir !== undefined ? { dataDir: args.dataDir } : {}),
    onWarning: (message) => warnings.push(message),
  });
  // The catalogue validated it against the same list of levels.
  const logger = createLogger({ level: config['logger.level'] as LogLevel });
  for (const warning of warnings) logger.warn(warning);
  const dataDirs = config['log.dirs'].map((dir) => resolve(dir));
  for (const dir of dataDirs) await makeDataDir(fileSystem, dir);
  const broker = new BrokerClass({
    config,
    logger,
    // The node cannot go on (its metadata log failed): exit, to be restarted from its disk.
    onFatal: (error) => {
      logger.fatal({ err: error }, 'fatal: exiting; restart the node from its disk');
      process.exit(exitCodeFailure);
    },
  });
  stopOnSignals(broker, logger);
  await broker.start();
  const where = broker.listeners
    .map((l) => `${l.name}://${l.host === '' ? '0.0.0.0' : l.host}:${l.port}`)
    .join(', ');
  logger.info(
    { nodeId: broker.nodeId, clusterId: broker.clusterId, dataDirs },
    `Brook listening on ${where}; data in ${dataDirs.join(', ')}`,
  );
}

async function makeDataDir(fileSystem: NodeFileSystem, dir: string): Promise<void> {
  try {
    await fileSystem.mkdir(dir);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new BrokerError('ERR_DATA_DIR', `cannot use data directory ${dir}: ${why}`, { cause });
  }
}

function stopOnSignals(broker: Broker, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn(`${signal} again: exiting without waiting`);
      process.exit(exitCodeForced);
    }
    stopping = true;
    logger.info(`${signal}: stopping (send it again to exit at once)`);
    broker.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'stop failed');
        process.exit(exitCodeFailure);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

try {
  await main(process.argv.slice(2));
  if (holdYoungGeneration) {
    setFlagsFromString(`--semi-space-growth-factor=${semiSpaceGrowthFactorDefault}`);
  }
} catch (error) {
  if (!(error instanceof BrokerError)) throw error;
  process.stderr.write(`brook: ${error.message}\n`);
  process.exit(error instanceof ConfigError ? exitCodeUsage : exitCodeFailure);
}
