/**
 * Per-log configuration: Kafka's topic-level properties as camelCase fields, with Kafka's
 * defaults, plus Brook's durability choice. A LogManager holds the broker defaults; a topic
 * overrides any field (`resolveLogConfig`).
 *
 * Durability (storage/README.md explains the trade-off):
 * - `fsync` (Brook's default): an append resolves after an fsync that covers it; appends
 *   arriving while an fsync runs share the next one (group commit).
 * - `kafka`: Kafka's default; an append resolves once written to the page cache, and the log
 *   is fsynced every `flushMessages` messages or `flushMs` ms (both "never" by default:
 *   durability comes from replication).
 */

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';
export type Durability = 'fsync' | 'kafka';
export type TimestampType = 'CreateTime' | 'LogAppendTime';

/** Kafka's Long.MAX_VALUE defaults, as the largest exact number. */
export const NEVER = Number.MAX_SAFE_INTEGER;

export interface LogConfig {
  readonly segmentBytes: number;
  readonly segmentMs: number;
  readonly segmentJitterMs: number;
  readonly segmentIndexBytes: number;
  readonly indexIntervalBytes: number;
  readonly flushMessages: number;
  readonly flushMs: number;
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly cleanupPolicy: CleanupPolicy;
  readonly maxMessageBytes: number;
  readonly messageTimestampType: TimestampType;
  readonly deleteRetentionMs: number;
  readonly minCompactionLagMs: number;
  readonly maxCompactionLagMs: number;
  readonly minCleanableDirtyRatio: number;
  readonly fileDeleteDelayMs: number;
  /** Brook: when an append is acknowledged (see the header). */
  readonly durability: Durability;
  /** Brook: bytes of recently appended batches a log keeps in memory for tailing readers. */
  readonly tailCacheBytes: number;
}

export const LOG_CONFIG_DEFAULTS: LogConfig = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  segmentJitterMs: 0,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  flushMessages: NEVER,
  flushMs: NEVER,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  cleanupPolicy: 'delete',
  maxMessageBytes: 1024 * 1024 + 12,
  messageTimestampType: 'CreateTime',
  deleteRetentionMs: 24 * 60 * 60 * 1000,
  minCompactionLagMs: 0,
  maxCompactionLagMs: NEVER,
  minCleanableDirtyRatio: 0.5,
  fileDeleteDelayMs: 60_000,
  durability: 'fsync',
  tailCacheBytes: 1024 * 1024,
});

/** Kafka topic property name -> LogConfig field. */
export const LOG_CONFIG_PROPERTIES = {
  'segment.bytes': 'segmentBytes',
  'segment.ms': 'segmentMs',
  'segment.jitter.ms': 'segmentJitterMs',
  'segment.index.bytes': 'segmentIndexBytes',
  'index.interval.bytes': 'indexIntervalBytes',
  'flush.messages': 'flushMessages',
  'flush.ms': 'flushMs',
  'retention.ms': 'retentionMs',
  'retention.bytes': 'retentionBytes',
  'cleanup.policy': 'cleanupPolicy',
  'max.message.bytes': 'maxMessageBytes',
  'message.timestamp.type': 'messageTimestampType',
  'delete.retention.ms': 'deleteRetentionMs',
  'min.compaction.lag.ms': 'minCompactionLagMs',
  'max.compaction.lag.ms': 'maxCompactionLagMs',
  'min.cleanable.dirty.ratio': 'minCleanableDirtyRatio',
  'file.delete.delay.ms': 'fileDeleteDelayMs',
  'brook.log.durability': 'durability',
  'brook.log.tail.cache.bytes': 'tailCacheBytes',
} as const satisfies Record<string, keyof LogConfig>;

/** Kafka's lower bounds (segment.bytes >= 14: one batch header; int32 positions). */
const SEGMENT_BYTES_MIN = 14;
const SEGMENT_BYTES_MAX = 0x7fff_ffff;

/** Defaults with overrides applied and checked; throws RangeError on a bad value. */
export function resolveLogConfig(
  base: LogConfig = LOG_CONFIG_DEFAULTS,
  overrides: Partial<LogConfig> = {},
): LogConfig {
  const config: LogConfig = { ...base, ...overrides };
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new RangeError(`invalid log config ${what}`);
  };
  check(
    config.segmentBytes >= SEGMENT_BYTES_MIN && config.segmentBytes <= SEGMENT_BYTES_MAX,
    `segmentBytes=${config.segmentBytes}`,
  );
  check(config.segmentMs >= 1, `segmentMs=${config.segmentMs}`);
  check(config.segmentJitterMs >= 0, `segmentJitterMs=${config.segmentJitterMs}`);
  check(config.segmentIndexBytes >= 12, `segmentIndexBytes=${config.segmentIndexBytes}`);
  check(config.indexIntervalBytes >= 0, `indexIntervalBytes=${config.indexIntervalBytes}`);
  check(config.flushMessages >= 1, `flushMessages=${config.flushMessages}`);
  check(config.flushMs >= 0, `flushMs=${config.flushMs}`);
  check(config.tailCacheBytes >= 0, `tailCacheBytes=${config.tailCacheBytes}`);
  check(config.maxMessageBytes >= 0, `maxMessageBytes=${config.maxMessageBytes}`);
  return Object.freeze(config);
}
