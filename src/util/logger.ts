/**
 * Structured logging through pino. A terminal gets pino-pretty's coloured lines; anything
 * else (a pipe, a file, a log shipper) gets one JSON object per line. Tests ask for a silent
 * logger, or capture lines through `destination`.
 *
 * Output is written synchronously: a broker logs little outside debug level, and a log line
 * that is still buffered when the process exits on a signal or a startup error is the one an
 * operator needs most.
 */
import { createRequire } from 'node:module';
import pino from 'pino';
import type { prettyFactory as PrettyFactory } from 'pino-pretty';

/** pino-pretty is loaded only for a terminal: a service writing JSON never pays for it. */
function loadPrettyFactory(): typeof PrettyFactory {
  const pretty = createRequire(import.meta.url)('pino-pretty') as {
    prettyFactory: typeof PrettyFactory;
  };
  return pretty.prettyFactory;
}

export type Logger = pino.Logger;

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export interface LoggerOptions {
  /** Minimum level written; 'silent' writes nothing. Default 'info'. */
  readonly level?: LogLevel;
  /**
   * 'auto' (the default) pretty-prints when the destination is a TTY (stdout when no
   * destination is given), JSON otherwise.
   */
  readonly format?: 'auto' | 'pretty' | 'json';
  /** Where lines go; stdout by default. Anything with `write(string)`. */
  readonly destination?: LogDestination;
  /** Fields bound to every line (e.g. `{ nodeId: 1 }`). */
  readonly bindings?: Readonly<Record<string, unknown>>;
}

export interface LogDestination {
  write(line: string): unknown;
  readonly isTTY?: boolean;
}

/** A logger that writes nothing: the default for in-process test brokers. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  if (level === 'silent') return silentLogger();
  const destination = options.destination ?? process.stdout;
  const format = options.format ?? 'auto';
  const usePretty = format === 'pretty' || (format === 'auto' && destination.isTTY === true);
  const base = { ...options.bindings };
  let stream: pino.DestinationStream;
  if (usePretty) {
    // Formatting in-line (not pino-pretty's transport stream): synchronous, no worker, and
    // any `write(string)` destination works.
    const prettify = loadPrettyFactory()({
      colorize: destination.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
    });
    stream = { write: (line: string) => void destination.write(prettify(line)) };
  } else if (destination === process.stdout) {
    stream = pino.destination({ fd: 1, sync: true });
  } else {
    stream = { write: (line: string) => void destination.write(line) };
  }
  return pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}
