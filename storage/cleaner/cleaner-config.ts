/**
 * The topic settings the cleaners read, under Kafka's property names in camelCase
 * (`retention.ms` -> `retentionMs`), so storage's LogConfig satisfies this shape as it is,
 * and the cleaner-wide settings of Kafka's `log.cleaner.*` properties.
 */

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

export interface CleanerTopicConfig {
  /** `cleanup.policy`: 'delete' (retention only), 'compact', or both. */
  readonly cleanupPolicy: CleanupPolicy;
  /** `retention.ms`: a segment whose newest record is older than this is deleted; -1 = never. */
  readonly retentionMs: number;
  /** `retention.bytes`: oldest segments go while the log stays at least this big; -1 = never. */
  readonly retentionBytes: number;
  /** `delete.retention.ms`: how long a tombstone outlives the cleaning that first kept it. */
  readonly deleteRetentionMs: number;
  /** `min.cleanable.dirty.ratio`: dirty / (clean + dirty) bytes that makes a log worth cleaning. */
  readonly minCleanableDirtyRatio: number;
  /** `min.compaction.lag.ms`: records younger than this are never compacted. */
  readonly minCompactionLagMs: number;
  /** `max.compaction.lag.ms`: a dirty record older than this forces a cleaning. */
  readonly maxCompactionLagMs: number;
  /** `segment.bytes`: cleaned segments are grouped so that each group fits one segment. */
  readonly segmentBytes: number;
}

/** Kafka's defaults for the topic settings above. */
export const CLEANER_TOPIC_DEFAULTS: CleanerTopicConfig = {
  cleanupPolicy: 'delete',
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  deleteRetentionMs: 24 * 60 * 60 * 1000,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  segmentBytes: 1024 * 1024 * 1024,
};

export interface CompactionLimits {
  /**
   * `log.cleaner.dedupe.buffer.size`: memory of the key -> offset map. A cleaning covers only
   * as many dirty records as fit; the rest waits for the next pass.
   */
  readonly dedupeBufferBytes: number;
  /** `log.cleaner.io.buffer.load.factor`: how full the map may get before it counts as full. */
  readonly dedupeLoadFactor: number;
  /** The largest records section a compressed batch may inflate to (decompression bombs). */
  readonly maxDecompressedBytes: number;
}

export const COMPACTION_LIMITS_DEFAULTS: CompactionLimits = {
  // Kafka's 128 MiB is shared by its cleaner threads; Brook runs one cleaning at a time.
  dedupeBufferBytes: 64 * 1024 * 1024,
  dedupeLoadFactor: 0.9,
  // A batch is at most message.max.bytes (1 MiB by default) compressed; 64 MiB leaves room
  // for a 60x compression ratio, far beyond what real payloads reach.
  maxDecompressedBytes: 64 * 1024 * 1024,
};

export function policyDeletes(policy: CleanupPolicy): boolean {
  return policy === 'delete' || policy === 'compact,delete';
}

export function policyCompacts(policy: CleanupPolicy): boolean {
  return policy === 'compact' || policy === 'compact,delete';
}
