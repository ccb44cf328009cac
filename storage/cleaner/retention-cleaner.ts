/**
 * Retention: whole segments leave the head of the log when they are too old or the log too big.
 *
 * - `retention.ms`: a segment goes when `now - largestTimestamp > retention.ms`, i.e. when even
 *   its newest record is past retention.
 * - `retention.bytes`: with `excess = logSize - retention.bytes`, the oldest segment goes while
 *   `excess - segmentSize >= 0`, so the log never drops below retention.bytes.
 * - Segments entirely below the log start offset (moved by DeleteRecords) go whatever the policy.
 *
 * Only a prefix of the log is ever deleted (the predicate stops at the first segment it keeps),
 * and never the active segment: unlike Kafka, Brook does not roll the active segment to delete
 * it, so a partition with one segment keeps it until `segment.ms` or `segment.bytes` rolls it.
 * Deleting is the log's `deleteOldestSegments`, crash-safe by the protocol in cleanable-log.ts;
 * it also moves the log start offset to the first segment kept.
 *
 * Time comes from the injected Clock (wall time: record timestamps are wall time).
 */
import type { Clock } from '../runtime-interfaces.ts';
import type { CleanableLog, CleanableSegment } from './cleanable-log.ts';
import { type CleanerTopicConfig, policyDeletes } from './cleaner-config.ts';

export type RetentionReason = 'retention.ms' | 'retention.bytes' | 'log-start-offset';

export interface RetentionResult {
  readonly segmentsDeleted: number;
  readonly bytesDeleted: number;
  /** The rules that deleted segments, in the order they ran. */
  readonly reasons: readonly RetentionReason[];
}

type Predicate = (segment: CleanableSegment, next: CleanableSegment) => boolean;

/** How many segments from the head satisfy `shouldDelete` (never the active one). */
function deletablePrefix(segments: readonly CleanableSegment[], shouldDelete: Predicate): number {
  let count = 0;
  while (count < segments.length - 1) {
    const segment = segments[count] as CleanableSegment;
    const next = segments[count + 1] as CleanableSegment;
    if (!shouldDelete(segment, next)) break;
    count++;
  }
  return count;
}

function byTime(config: CleanerTopicConfig, nowMs: number): Predicate | undefined {
  if (config.retentionMs < 0) return undefined;
  return (segment) => nowMs - segment.largestTimestampMs > config.retentionMs;
}

function bySize(config: CleanerTopicConfig, segments: readonly CleanableSegment[]) {
  if (config.retentionBytes < 0) return undefined;
  let excessBytes = -config.retentionBytes;
  for (const segment of segments) excessBytes += segment.sizeBytes;
  const predicate: Predicate = (segment) => {
    if (excessBytes - segment.sizeBytes < 0) return false;
    excessBytes -= segment.sizeBytes;
    return true;
  };
  return predicate;
}

export class RetentionCleaner {
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Deletes what retention allows from the head of `log`; one call, one pass. */
  async clean(log: CleanableLog, config: CleanerTopicConfig): Promise<RetentionResult> {
    const reasons: RetentionReason[] = [];
    let segmentsDeleted = 0;
    let bytesDeleted = 0;
    const pass = async (reason: RetentionReason, predicate: Predicate | undefined) => {
      if (predicate === undefined) return;
      const segments = log.segments();
      const count = deletablePrefix(segments, predicate);
      if (count === 0) return;
      const deleted = await log.deleteOldestSegments(count);
      for (let i = 0; i < deleted; i++) bytesDeleted += (segments[i] as CleanableSegment).sizeBytes;
      segmentsDeleted += deleted;
      if (deleted > 0) reasons.push(reason);
    };
    if (policyDeletes(config.cleanupPolicy)) {
      await pass('retention.ms', byTime(config, this.#clock.nowMs()));
      await pass('retention.bytes', bySize(config, log.segments()));
    }
    const logStartOffset = log.logStartOffset;
    await pass('log-start-offset', (_segment, next) => next.baseOffset <= logStartOffset);
    return { segmentsDeleted, bytesDeleted, reasons };
  }
}
