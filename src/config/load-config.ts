/**
 * Builds the broker's configuration from its sources, later ones winning:
 * catalogue defaults < YAML file < environment (BROOK_*) < programmatic overrides < --set
 * flags < the --port / --data-dir shorthands. Every value is parsed by its property's type and
 * validated; the first problem is thrown as a ConfigError naming the property and its source.
 */
import { createRequire } from 'node:module';
import type { parse as ParseYaml } from 'yaml';
import {
  type BrokerConfig,
  catalogue,
  isPropertyName,
  type PropertyName,
  type PropertyValue,
  propertyNames,
} from './catalogue.ts';
import { ConfigError, ConfigErrorCode } from './config-error.ts';
import { formatListener, parseListener, parseQuorumVoter, type QuorumVoter } from './listeners.ts';
import type { PropertySpec } from './property.ts';
import { suggestProperty } from './suggest.ts';

export type ConfigOverrides = { readonly [K in PropertyName]?: PropertyValue<K> };

export interface ConfigSources {
  /** The --config file: its path (for messages) and its text. */
  readonly file?: { readonly path: string; readonly text: string };
  /** Environment variables; only BROOK_* ones are read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Values set by code (startBroker options), already typed. */
  readonly overrides?: ConfigOverrides;
  /** `--set name=value` flags, in order. */
  readonly sets?: readonly string[];
  /** `--port N`: the port of the first listener. */
  readonly port?: number;
  /** `--data-dir DIR`: log.dirs = [DIR]. */
  readonly dataDir?: string;
  /** Told about ignored input (a BROOK_* variable that is not a property nor close to one). */
  readonly onWarning?: (message: string) => void;
}

export const envPrefix = 'BROOK_';

/**
 * The YAML parser is loaded only when there is a file to parse: it is some 13 MB of resident
 * memory that a broker configured by flags or in-process never needs.
 */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as { parse: typeof ParseYaml };
  return yaml.parse(text);
}

/** `log.retention.ms` -> `BROOK_LOG_RETENTION_MS`. */
export function envNameOf(property: PropertyName): string {
  return envPrefix + property.toUpperCase().replace(/[.-]/g, '_');
}

const envToProperty = new Map<string, PropertyName>(propertyNames.map((n) => [envNameOf(n), n]));

type Values = Map<PropertyName, unknown>;

export function loadConfig(sources: ConfigSources = {}): BrokerConfig {
  const values: Values = new Map();
  if (sources.file) applyFile(values, sources.file.path, sources.file.text);
  if (sources.env) applyEnv(values, sources.env, sources.onWarning);
  for (const [name, value] of Object.entries(sources.overrides ?? {})) {
    setValue(values, checkName(name, 'options'), value, 'options');
  }
  for (const assignment of sources.sets ?? []) applySet(values, assignment);
  if (sources.dataDir !== undefined) setValue(values, 'log.dirs', [sources.dataDir], '--data-dir');
  if (sources.port !== undefined) applyPort(values, sources.port);
  const config: Record<string, unknown> = {};
  for (const name of propertyNames) {
    const value = values.has(name) ? values.get(name) : catalogue[name].default;
    config[name] = Array.isArray(value) ? Object.freeze([...value]) : value;
  }
  checkConsistency(config as BrokerConfig);
  return Object.freeze(config) as BrokerConfig;
}

function checkName(name: string, source: string): PropertyName {
  if (isPropertyName(name)) return name;
  const hint = suggestProperty(name);
  throw new ConfigError(
    ConfigErrorCode.unknownProperty,
    `unknown configuration property '${name}' (from ${source})` +
      (hint ? `; did you mean '${hint}'?` : ''),
    { property: name, source },
  );
}

function applyFile(values: Values, path: string, text: string): void {
  const source = `file ${path}`;
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigError(ConfigErrorCode.badFile, `${path} is not valid YAML: ${why}`, {
      source,
      cause,
    });
  }
  if (document === null || document === undefined) return;
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(ConfigErrorCode.badFile, `${path} must be a mapping of properties`, {
      source,
    });
  }
  for (const [key, value] of flatten(document as Record<string, unknown>, '')) {
    setValue(values, checkName(key, source), value, source);
  }
}

/** `{log: {retention: {ms: 5}}}` and `{'log.retention.ms': 5}` mean the same property. */
function flatten(doc: Record<string, unknown>, prefix: string): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, value] of Object.entries(doc)) {
    const name = prefix + key;
    const nested = value !== null && typeof value === 'object' && !Array.isArray(value);
    if (nested && !isPropertyName(name)) {
      out.push(...flatten(value as Record<string, unknown>, `${name}.`));
    } else {
      out.push([name, value]);
    }
  }
  return out;
}

/**
 * A BROOK_* variable close to a property's is a typo and an error; one far from every property
 * is some other switch (BROOK_DISABLE_SENDFILE, build flags) and only worth a warning.
 */
function applyEnv(
  values: Values,
  env: Readonly<Record<string, string | undefined>>,
  onWarning: ((message: string) => void) | undefined,
): void {
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(envPrefix) || value === undefined) continue;
    const name = envToProperty.get(key);
    const source = `env ${key}`;
    if (name === undefined) {
      const guess = key.slice(envPrefix.length).toLowerCase().replace(/_/g, '.');
      const hint = suggestProperty(guess);
      if (hint === undefined) {
        onWarning?.(`environment variable ${key} names no configuration property; ignored`);
        continue;
      }
      throw new ConfigError(
        ConfigErrorCode.unknownProperty,
        `environment variable ${key} names no configuration property; ` +
          `did you mean ${envNameOf(hint)}?`,
        { property: key, source },
      );
    }
    setValue(values, name, value, source);
  }
}

function applySet(values: Values, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) {
    throw new ConfigError(
      ConfigErrorCode.badArgument,
      `--set expects name=value, got '${assignment}'`,
      { source: '--set' },
    );
  }
  const name = checkName(assignment.slice(0, eq).trim(), '--set');
  setValue(values, name, assignment.slice(eq + 1), '--set');
}

function applyPort(values: Values, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError(ConfigErrorCode.invalidValue, `--port must be 0-65535, got ${port}`, {
      property: 'listeners',
      source: '--port',
    });
  }
  const current = (values.get('listeners') ?? catalogue.listeners.default) as readonly string[];
  const [first, ...rest] = current;
  const parsed = parseListener(first ?? 'PLAINTEXT://127.0.0.1:9092');
  const base = typeof parsed === 'string' ? { name: 'PLAINTEXT', host: '127.0.0.1' } : parsed;
  values.set('listeners', [formatListener({ ...base, port }), ...rest]);
}

function setValue(values: Values, name: PropertyName, raw: unknown, source: string): void {
  // The catalogue entry is typed per property; parsing works on the common shape.
  const spec = catalogue[name] as unknown as PropertySpec;
  const fail = (why: string): never => {
    throw new ConfigError(
      ConfigErrorCode.invalidValue,
      `invalid value for '${name}' (from ${source}): ${why}`,
      { property: name, source },
    );
  };
  const value = coerce(spec, raw, fail);
  if (value === null) {
    if (!spec.nullable) fail('it cannot be unset');
  } else {
    const why = (spec.validate as ((v: unknown) => string | undefined) | undefined)?.(value);
    if (why !== undefined) fail(`${describe(value)} ${why}`);
  }
  values.set(name, value);
}

function describe(value: unknown): string {
  return Array.isArray(value) ? `[${value.join(', ')}]` : `${String(value)}`;
}

/** Turns a YAML value or a string from env/flags into the property's type. */
function coerce(spec: PropertySpec, raw: unknown, fail: (why: string) => never): unknown {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'string' && raw.trim() === '' && spec.nullable && spec.type !== 'list') {
    return null;
  }
  switch (spec.type) {
    case 'int':
    case 'long':
      return coerceInteger(spec.type, raw, fail);
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string' && /^(true|false)$/i.test(raw.trim())) {
        return raw.trim().toLowerCase() === 'true';
      }
      return fail(`'${String(raw)}' is not true or false`);
    case 'string':
      if (typeof raw === 'string') return raw;
      if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
      return fail('expected a string');
    case 'list':
      if (typeof raw === 'string') return splitList(raw);
      if (Array.isArray(raw) && raw.every((v) => ['string', 'number'].includes(typeof v))) {
        return raw.map((v) => String(v).trim());
      }
      return fail('expected a list (a YAML sequence or comma-separated text)');
  }
}

function coerceInteger(type: 'int' | 'long', raw: unknown, fail: (why: string) => never): number {
  let value: number;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'string' && /^[-+]?\d+$/.test(raw.trim())) value = Number(raw.trim());
  else return fail(`'${String(raw)}' is not an integer`);
  if (!Number.isSafeInteger(value)) return fail(`${String(raw)} is not a representable integer`);
  if (type === 'int' && (value < -2_147_483_648 || value > 2_147_483_647)) {
    return fail(`${value} does not fit in 32 bits`);
  }
  return value;
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function checkConsistency(config: BrokerConfig): void {
  const conflict = (property: string, message: string): never => {
    throw new ConfigError(ConfigErrorCode.conflict, message, { property });
  };
  if (config['group.min.session.timeout.ms'] > config['group.max.session.timeout.ms']) {
    conflict(
      'group.min.session.timeout.ms',
      "'group.min.session.timeout.ms' must not exceed 'group.max.session.timeout.ms'",
    );
  }
  const advertised = config['advertised.listeners'];
  if (advertised !== null) {
    const names = new Set(config.listeners.map((l) => (parseListener(l) as { name: string }).name));
    const stray = advertised.find((a) => !names.has((parseListener(a) as { name: string }).name));
    if (stray !== undefined) {
      conflict('advertised.listeners', `'advertised.listeners' entry ${stray} has no listener`);
    }
  }
  if (config['replica.socket.timeout.ms'] < config['replica.fetch.wait.max.ms']) {
    // A follower fetch parks at the leader up to wait.max: a shorter timeout fails every one.
    conflict(
      'replica.socket.timeout.ms',
      "'replica.socket.timeout.ms' must be at least 'replica.fetch.wait.max.ms'",
    );
  }
  checkQuorumRoles(config, conflict);
}

/**
 * Cluster mode (`controller.quorum.voters` set) as KRaft requires it: a controller is a voter
 * and listens on a controller listener; a broker has a listener that is not one; a broker-only
 * node is not a voter. Without voters the node runs alone and these do not apply.
 */
function checkQuorumRoles(
  config: BrokerConfig,
  conflict: (property: string, message: string) => never,
): void {
  const voters = config['controller.quorum.voters'];
  if (voters.length === 0) return;
  const roles = config['process.roles'];
  const nodeId = config['node.id'];
  const isVoter = voters.some((v) => (parseQuorumVoter(v) as QuorumVoter).nodeId === nodeId);
  const controllerNames = new Set(config['controller.listener.names'].map((n) => n.toUpperCase()));
  const names = config.listeners.map((l) => (parseListener(l) as { name: string }).name);
  if (roles.includes('controller')) {
    if (!isVoter) {
      conflict('node.id', `node.id ${nodeId} has the controller role but is not a quorum voter`);
    }
    if (!names.some((n) => controllerNames.has(n))) {
      conflict(
        'controller.listener.names',
        `a controller needs a listener named in 'controller.listener.names' (${[
          ...controllerNames,
        ].join(',')})`,
      );
    }
  } else if (isVoter) {
    conflict('process.roles', `node.id ${nodeId} is a quorum voter but lacks the controller role`);
  }
  if (roles.includes('broker') && !names.some((n) => !controllerNames.has(n))) {
    conflict('listeners', 'a broker needs a listener that is not a controller listener');
  }
}
