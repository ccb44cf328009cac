/**
 * Topic-level configuration under Kafka's names: what CreateTopics, AlterConfigs and
 * DescribeConfigs accept and show, each with its validation, the broker property it defaults
 * to, and the LogConfig field it sets. A topic's stored overrides are strings (ConfigRecords
 * hold strings); `logConfigOverrides` turns them into LogConfig fields.
 */
import type { LogConfig } from '../../storage/log/log-config.ts';
import { LOG_CONFIG_DEFAULTS, NEVER, resolveLogConfig } from '../../storage/log/log-config.ts';
import { type BrokerConfig, catalogue, type PropertyName } from './catalogue.ts';
import { retentionMs, rollMs } from './derived.ts';

type Kind = 'int' | 'long' | 'double' | 'boolean' | 'string' | 'list';

interface TopicConfigDef {
  readonly kind: Kind;
  /** Smallest accepted value (numbers). */
  readonly min?: number;
  readonly max?: number;
  /** Accepted values (strings) or items (lists). */
  readonly oneOf?: readonly string[];
  /** The broker-level default, as a string. */
  brokerDefault(config: BrokerConfig): string;
  /** The LogConfig field this property sets, if storage uses it. */
  readonly logField?: keyof LogConfig;
  /** Broker properties it defaults to, the one that wins first (Kafka's synonyms). */
  readonly synonyms?: readonly PropertyName[];
}

const int32Max = 2_147_483_647;
const longMax = '9223372036854775807';
const codecs = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'];

const fixed = (value: string) => (): string => value;

export const TOPIC_CONFIGS: Readonly<Record<string, TopicConfigDef>> = {
  'cleanup.policy': {
    synonyms: ['log.cleanup.policy'],
    kind: 'list',
    oneOf: ['delete', 'compact'],
    brokerDefault: (c) => c['log.cleanup.policy'].join(','),
    logField: 'cleanupPolicy',
  },
  'compression.type': {
    synonyms: ['compression.type'],
    kind: 'string',
    oneOf: codecs,
    brokerDefault: (c) => c['compression.type'],
  },
  'delete.retention.ms': {
    kind: 'long',
    min: 0,
    brokerDefault: fixed('86400000'),
    logField: 'deleteRetentionMs',
  },
  'file.delete.delay.ms': {
    kind: 'long',
    min: 0,
    brokerDefault: fixed('60000'),
    logField: 'fileDeleteDelayMs',
  },
  'flush.messages': {
    synonyms: ['log.flush.interval.messages'],
    kind: 'long',
    min: 1,
    brokerDefault: (c) => String(c['log.flush.interval.messages'] ?? longMax),
    logField: 'flushMessages',
  },
  'flush.ms': {
    synonyms: ['log.flush.interval.ms'],
    kind: 'long',
    min: 0,
    brokerDefault: (c) => String(c['log.flush.interval.ms'] ?? longMax),
    logField: 'flushMs',
  },
  'index.interval.bytes': {
    kind: 'int',
    min: 0,
    brokerDefault: fixed('4096'),
    logField: 'indexIntervalBytes',
  },
  'max.compaction.lag.ms': {
    kind: 'long',
    min: 1,
    brokerDefault: fixed(longMax),
    logField: 'maxCompactionLagMs',
  },
  'max.message.bytes': {
    synonyms: ['message.max.bytes'],
    kind: 'int',
    min: 0,
    brokerDefault: (c) => String(c['message.max.bytes']),
    logField: 'maxMessageBytes',
  },
  'message.timestamp.after.max.ms': {
    kind: 'long',
    min: 0,
    brokerDefault: fixed('3600000'),
  },
  'message.timestamp.before.max.ms': {
    kind: 'long',
    min: 0,
    brokerDefault: fixed(longMax),
  },
  'message.timestamp.type': {
    synonyms: ['log.message.timestamp.type'],
    kind: 'string',
    oneOf: ['CreateTime', 'LogAppendTime'],
    brokerDefault: (c) => c['log.message.timestamp.type'],
    logField: 'messageTimestampType',
  },
  'min.cleanable.dirty.ratio': {
    kind: 'double',
    min: 0,
    max: 1,
    brokerDefault: fixed('0.5'),
    logField: 'minCleanableDirtyRatio',
  },
  'min.compaction.lag.ms': {
    kind: 'long',
    min: 0,
    brokerDefault: fixed('0'),
    logField: 'minCompactionLagMs',
  },
  'min.insync.replicas': {
    synonyms: ['min.insync.replicas'],
    kind: 'int',
    min: 1,
    brokerDefault: (c) => String(c['min.insync.replicas']),
  },
  preallocate: { kind: 'boolean', brokerDefault: fixed('false') },
  'retention.bytes': {
    synonyms: ['log.retention.bytes'],
    kind: 'long',
    min: -1,
    brokerDefault: (c) => String(c['log.retention.bytes']),
    logField: 'retentionBytes',
  },
  'retention.ms': {
    synonyms: ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
    kind: 'long',
    min: -1,
    brokerDefault: (c) => String(retentionMs(c)),
    logField: 'retentionMs',
  },
  'segment.bytes': {
    synonyms: ['log.segment.bytes'],
    kind: 'int',
    min: 14,
    brokerDefault: (c) => String(c['log.segment.bytes']),
    logField: 'segmentBytes',
  },
  'segment.index.bytes': {
    kind: 'int',
    min: 12,
    brokerDefault: fixed(String(10 * 1024 * 1024)),
    logField: 'segmentIndexBytes',
  },
  'segment.jitter.ms': {
    kind: 'long',
    min: 0,
    brokerDefault: fixed('0'),
    logField: 'segmentJitterMs',
  },
  'segment.ms': {
    synonyms: ['log.roll.ms', 'log.roll.hours'],
    kind: 'long',
    min: 1,
    brokerDefault: (c) => String(rollMs(c)),
    logField: 'segmentMs',
  },
  'unclean.leader.election.enable': {
    synonyms: ['unclean.leader.election.enable'],
    kind: 'boolean',
    brokerDefault: (c) => String(c['unclean.leader.election.enable']),
  },
};

export function isTopicConfigName(name: string): boolean {
  return Object.hasOwn(TOPIC_CONFIGS, name);
}

/** Why `value` is not acceptable for topic config `name`, or undefined when it is. */
export function topicConfigProblem(name: string, value: string | null): string | undefined {
  const def = isTopicConfigName(name) ? TOPIC_CONFIGS[name] : undefined;
  if (!def) return `Unknown topic config name: ${name}`;
  if (value === null) return `Null value not supported for topic configs: ${name}`;
  const invalid = `Invalid value ${value} for configuration ${name}`;
  switch (def.kind) {
    case 'boolean':
      return value === 'true' || value === 'false' ? undefined : `${invalid}: Expected boolean`;
    case 'string':
      return def.oneOf && !def.oneOf.includes(value)
        ? `${invalid}: String must be one of: ${def.oneOf.join(', ')}`
        : undefined;
    case 'list': {
      const items = value.split(',').map((s) => s.trim());
      const bad = items.find((i) => def.oneOf !== undefined && !def.oneOf.includes(i));
      return bad === undefined ? undefined : `${invalid}: ${bad} is not one of ${def.oneOf}`;
    }
    default: {
      const number = Number(value.trim());
      const integral = def.kind !== 'double';
      if (value.trim() === '' || Number.isNaN(number) || (integral && !Number.isInteger(number))) {
        return `${invalid}: Not a number of type ${def.kind.toUpperCase()}`;
      }
      if (def.kind === 'int' && Math.abs(number) > int32Max) return `${invalid}: out of range`;
      if (def.min !== undefined && number < def.min) {
        return `${invalid}: Value must be at least ${def.min}`;
      }
      if (def.max !== undefined && number > def.max) {
        return `${invalid}: Value must be no more than ${def.max}`;
      }
      return undefined;
    }
  }
}

/** The broker's LogConfig defaults, from its `log.*` properties. */
export function brokerLogConfig(config: BrokerConfig): LogConfig {
  return resolveLogConfig(LOG_CONFIG_DEFAULTS, logConfigOverrides(defaultsOf(config)));
}

function defaultsOf(config: BrokerConfig): Map<string, string> {
  const values = new Map<string, string>();
  for (const [name, def] of Object.entries(TOPIC_CONFIGS)) {
    if (def.logField) values.set(name, def.brokerDefault(config));
  }
  return values;
}

/** LogConfig fields set by a topic's overrides (values already validated). */
export function logConfigOverrides(configs: ReadonlyMap<string, string>): Partial<LogConfig> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of configs) {
    const def = isTopicConfigName(name) ? TOPIC_CONFIGS[name] : undefined;
    if (!def?.logField) continue;
    out[def.logField] = logValue(def, value);
  }
  return out as Partial<LogConfig>;
}

function logValue(def: TopicConfigDef, value: string): unknown {
  if (def.logField === 'cleanupPolicy') {
    const items = new Set(value.split(',').map((s) => s.trim()));
    if (items.has('compact') && items.has('delete')) return 'compact,delete';
    return items.has('compact') ? 'compact' : 'delete';
  }
  if (def.kind === 'string') return value;
  const number = Number(value);
  // Long.MAX_VALUE does not fit a double exactly; storage's "never" is the largest safe one.
  return number >= NEVER ? NEVER : number;
}

/** Kafka's DescribeConfigs config sources that a Brook broker can have. */
export const ConfigSource = {
  topic: 1,
  staticBroker: 4,
  default: 5,
} as const;

/** Kafka's ConfigEntry.ConfigType ids (DescribeConfigs v3+). */
const CONFIG_TYPE: Record<Kind, number> = {
  boolean: 1,
  string: 2,
  int: 3,
  long: 5,
  double: 6,
  list: 7,
};

export interface ConfigSynonym {
  readonly name: string;
  readonly value: string | null;
  readonly source: number;
}

export interface TopicConfigEntry {
  readonly name: string;
  readonly value: string;
  readonly source: number;
  readonly configType: number;
  readonly isSensitive: false;
  readonly readOnly: false;
  /** Where the value could come from, the one in force first. */
  readonly synonyms: readonly ConfigSynonym[];
}

/** Every topic config with its effective value and where it came from, sorted by name. */
export function describeTopicConfigs(
  overrides: ReadonlyMap<string, string>,
  config: BrokerConfig,
): TopicConfigEntry[] {
  return Object.keys(TOPIC_CONFIGS)
    .sort()
    .map((name) => {
      const own = overrides.get(name);
      const def = TOPIC_CONFIGS[name] as TopicConfigDef;
      const fromBroker = brokerSynonyms(config, def.synonyms ?? []);
      const synonyms: ConfigSynonym[] =
        own === undefined ? fromBroker : [{ name, value: own, source: ConfigSource.topic }];
      if (own !== undefined) synonyms.push(...fromBroker);
      return {
        name,
        value: own ?? def.brokerDefault(config),
        source: own === undefined ? topicDefaultSource(fromBroker) : ConfigSource.topic,
        configType: CONFIG_TYPE[def.kind],
        isSensitive: false,
        readOnly: false,
        synonyms,
      };
    });
}

/** A topic config not set on the topic: STATIC_BROKER_CONFIG when the broker sets it. */
function topicDefaultSource(fromBroker: readonly ConfigSynonym[]): number {
  return fromBroker[0]?.source === ConfigSource.staticBroker
    ? ConfigSource.staticBroker
    : ConfigSource.default;
}

/**
 * Kafka's order: every synonym the broker's configuration sets, then every synonym's built-in
 * default, each group in the synonyms' order of precedence.
 */
function brokerSynonyms(config: BrokerConfig, names: readonly PropertyName[]): ConfigSynonym[] {
  const set = names
    .filter((name) => brokerPropertySource(config, name) === ConfigSource.staticBroker)
    .map((name) => ({
      name,
      value: propertyText(config[name]),
      source: ConfigSource.staticBroker,
    }));
  const defaults = names
    .filter((name) => catalogue[name].default !== null)
    .map((name) => ({
      name,
      value: propertyText(catalogue[name].default),
      source: ConfigSource.default,
    }));
  return [...set, ...defaults];
}

/** A property value as Kafka shows it: lists comma-separated, unset as null. */
export function propertyText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return Array.isArray(value) ? value.join(',') : String(value);
}

/**
 * STATIC_BROKER_CONFIG when the broker's configuration (file, environment, flags or code)
 * gives the property another value than its built-in default, DEFAULT_CONFIG otherwise.
 */
export function brokerPropertySource(config: BrokerConfig, name: PropertyName): number {
  const configured = propertyText(config[name]);
  return configured === propertyText(catalogue[name].default)
    ? ConfigSource.default
    : ConfigSource.staticBroker;
}

const PROPERTY_TYPE: Record<(typeof catalogue)[PropertyName]['type'], number> = {
  boolean: CONFIG_TYPE.boolean,
  string: CONFIG_TYPE.string,
  int: CONFIG_TYPE.int,
  long: CONFIG_TYPE.long,
  list: CONFIG_TYPE.list,
};

export interface BrokerConfigEntry {
  readonly name: PropertyName;
  readonly value: string | null;
  readonly source: number;
  readonly configType: number;
  /** Whether Kafka would let it change at runtime (Brook changes none yet). */
  readonly readOnly: boolean;
  readonly synonyms: readonly ConfigSynonym[];
  readonly documentation: string;
}

/** One broker property with its source and synonyms (log.retention.ms: minutes, hours). */
export function describeBrokerProperty(
  config: BrokerConfig,
  name: PropertyName,
): BrokerConfigEntry {
  const group = Object.values(TOPIC_CONFIGS).find((d) => d.synonyms?.includes(name))?.synonyms;
  const names = group ? group.slice(group.indexOf(name)) : [name];
  const spec = catalogue[name];
  return {
    name,
    value: propertyText(config[name]),
    source: brokerPropertySource(config, name),
    configType: PROPERTY_TYPE[spec.type],
    readOnly: !spec.dynamic,
    synonyms: brokerSynonyms(config, names),
    documentation: spec.doc,
  };
}
