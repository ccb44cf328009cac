/**
 * The command line of `brook`: what the operator asked for, before any file is read. Mistakes
 * are ConfigErrors with code ERR_CLI_ARGUMENT and a message that says what was expected.
 */
import { parseArgs } from 'node:util';
import { catalogue, propertyNames } from './catalogue.ts';
import { ConfigError, ConfigErrorCode } from './config-error.ts';
import { envNameOf } from './load-config.ts';

export interface CliArgs {
  readonly help: boolean;
  readonly configPath: string | undefined;
  readonly sets: readonly string[];
  readonly port: number | undefined;
  readonly dataDir: string | undefined;
}

export function parseCliArgs(argv: readonly string[]): CliArgs {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigError(ConfigErrorCode.badArgument, `${why} (see brook --help)`, { cause });
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0) {
    throw new ConfigError(
      ConfigErrorCode.badArgument,
      `unexpected argument '${positionals[0]}' (see brook --help)`,
    );
  }
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d{1,5}$/.test(values.port) || port > 65_535) {
      throw new ConfigError(
        ConfigErrorCode.badArgument,
        `--port expects a number 0-65535, got '${values.port}'`,
        { property: 'listeners', source: '--port' },
      );
    }
  }
  return {
    help: values.help ?? false,
    configPath: values.config,
    sets: values.set ?? [],
    port,
    dataDir: values['data-dir'],
  };
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      help: { type: 'boolean', short: 'h' },
      config: { type: 'string', short: 'c' },
      set: { type: 'string', short: 's', multiple: true },
      port: { type: 'string', short: 'p' },
      'data-dir': { type: 'string', short: 'd' },
    },
    strict: true,
    allowPositionals: true,
  });
}

export function helpText(): string {
  const lines = [
    'brook: a Kafka-protocol broker',
    '',
    'Usage: brook [--config brook.yaml] [--port N] [--data-dir DIR] [--set name=value ...]',
    '',
    '  -c, --config FILE     YAML file of Kafka property names (log.retention.ms: 60000)',
    '  -p, --port N          port of the first listener (0: any free port)',
    '  -d, --data-dir DIR    data directory (log.dirs)',
    '  -s, --set NAME=VALUE  set one property; repeatable',
    '  -h, --help            this text',
    '',
    'Precedence: defaults < --config file < BROOK_* environment < --set < --port/--data-dir.',
    `Environment: ${envNameOf('log.retention.ms')}=60000 sets log.retention.ms ` +
      '(BROOK_ + name in upper case, dots as underscores).',
    '',
    'Properties (default; * = can change at runtime):',
  ];
  for (const name of propertyNames) {
    const spec = catalogue[name];
    const shown = spec.default === null ? 'unset' : String(spec.default);
    lines.push(`  ${name}${spec.dynamic ? '*' : ''} = ${shown}`);
    lines.push(`      ${spec.doc}`);
  }
  return `${lines.join('\n')}\n`;
}
