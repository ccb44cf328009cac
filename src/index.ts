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
