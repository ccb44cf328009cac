/**
 * The cleaners' schedule for a broker's logs, on the injected Clock's timers:
 * - every `log.retention.check.interval.ms` (5 minutes), retention over every log;
 * - every `log.cleaner.backoff.ms` (15 s), one compaction of the filthiest compacted log: a log
 *   that max.compaction.lag.ms forces first, then the highest dirty ratio among those at or
 *   above their min.cleanable.dirty.ratio. One cleaning at a time, as Kafka with one thread.
 *
 * A log whose cleaning fails (corrupt bytes, an I/O error) is reported through `onError` and
 * left out of compaction from then on (Kafka's "uncleanable partition"); retention keeps
 * running for it. A cleaning refused because the segments changed meanwhile is only reported
 * and retried on a later round.
 *
 * Runs never overlap: they queue behind each other, at most one of each kind waiting, so a
 * long compaction delays retention but never makes it skip a turn. Failures go to onError;
 * none escapes a timer.
 */
import type { Clock, TimerHandle } from '../runtime-interfaces.ts';
import type { CleanableLog } from './cleanable-log.ts';
import {
  type CleanerTopicConfig,
  type CompactionLimits,
  policyCompacts,
} from './cleaner-config.ts';
import { CompactionCleaner, type CompactionResult } from './compaction-cleaner.ts';
import type { CompactionPlan } from './compaction-plan.ts';
import { RetentionCleaner, type RetentionResult } from './retention-cleaner.ts';
import { NO_TRANSACTIONS, type TransactionFilter } from './transaction-filter.ts';

export const RETENTION_CHECK_INTERVAL_MS_DEFAULT = 300_000;
export const CLEANER_BACKOFF_MS_DEFAULT = 15_000;

export interface CleanerTarget {
  readonly log: CleanableLog;
  readonly config: CleanerTopicConfig;
}

export interface LogCleanerOptions {
  readonly clock: Clock;
  /** The logs to look after, asked afresh on every run (logs come and go). */
  readonly targets: () => Iterable<CleanerTarget>;
  readonly retentionCheckIntervalMs?: number;
  readonly cleanerBackoffMs?: number;
  readonly limits?: Partial<CompactionLimits>;
  readonly transactions?: TransactionFilter;
  /** `log` is undefined for a failure outside any one log (a throwing callback). */
  readonly onError?: (log: CleanableLog | undefined, error: unknown) => void;
  readonly onRetention?: (log: CleanableLog, result: RetentionResult) => void;
  readonly onCompaction?: (log: CleanableLog, result: CompactionResult) => void;
}

export class LogCleaner {
  readonly #options: LogCleanerOptions;
  readonly #retention: RetentionCleaner;
  readonly #compaction: CompactionCleaner;
  readonly #uncleanable = new WeakSet<CleanableLog>();
  #timers: TimerHandle[] = [];
  #running: Promise<void> = Promise.resolve();
  #queued = new Set<'retention' | 'compaction'>();
  #stopped = true;

  constructor(options: LogCleanerOptions) {
    this.#options = options;
    this.#retention = new RetentionCleaner(options.clock);
    this.#compaction = new CompactionCleaner(
      options.clock,
      options.limits,
      options.transactions ?? NO_TRANSACTIONS,
    );
  }

  isUncleanable(log: CleanableLog): boolean {
    return this.#uncleanable.has(log);
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    const every = (
      kind: 'retention' | 'compaction',
      intervalMs: number,
      run: () => Promise<unknown>,
    ): void => {
      const tick = (): void => {
        if (this.#stopped) return;
        this.#enqueue(kind, run);
        this.#timers.push(this.#options.clock.setTimer(intervalMs, tick));
      };
      this.#timers.push(this.#options.clock.setTimer(intervalMs, tick));
    };
    every(
      'retention',
      this.#options.retentionCheckIntervalMs ?? RETENTION_CHECK_INTERVAL_MS_DEFAULT,
      () => this.runRetention(),
    );
    every('compaction', this.#options.cleanerBackoffMs ?? CLEANER_BACKOFF_MS_DEFAULT, () =>
      this.runCompaction(),
    );
  }

  /** Stops the timers and resolves once a run in progress has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) timer.cancel();
    this.#timers = [];
    await this.#running;
  }

  /** Resolves when no run is in progress. */
  idle(): Promise<void> {
    return this.#running;
  }

  /** Queues `run` after the current one, unless a run of the same kind is already queued. */
  #enqueue(kind: 'retention' | 'compaction', run: () => Promise<unknown>): void {
    if (this.#queued.has(kind)) return;
    this.#queued.add(kind);
    this.#running = this.#running.then(async () => {
      this.#queued.delete(kind);
      if (this.#stopped) return;
      // run() reports its own failures; this guards the queue against a throwing callback.
      await run().catch((error: unknown) => this.#options.onError?.(undefined, error));
    });
  }

  /** One retention pass over every log. */
  async runRetention(): Promise<void> {
    for (const { log, config } of this.#options.targets()) {
      try {
        const result = await this.#retention.clean(log, config);
        if (result.segmentsDeleted > 0) this.#options.onRetention?.(log, result);
      } catch (error) {
        this.#options.onError?.(log, error);
      }
    }
  }

  /** Compacts the filthiest log, if any needs it; resolves to what was done. */
  async runCompaction(): Promise<CompactionResult | undefined> {
    let chosen: { target: CleanerTarget; plan: CompactionPlan } | undefined;
    for (const target of this.#options.targets()) {
      if (!policyCompacts(target.config.cleanupPolicy)) continue;
      if (this.#uncleanable.has(target.log)) continue;
      try {
        const plan = await this.#compaction.plan(target.log, target.config);
        if (plan.cleanable && (!chosen || filthier(plan, chosen.plan))) chosen = { target, plan };
      } catch (error) {
        this.#fail(target.log, error);
      }
    }
    if (!chosen) return undefined;
    const { log, config } = chosen.target;
    try {
      const result = await this.#compaction.clean(log, config);
      if (result) this.#options.onCompaction?.(log, result);
      return result;
    } catch (error) {
      // The log changed under the cleaner (a roll, retention, a truncation): try again later.
      if ((error as { code?: unknown } | null)?.code === 'storage-segment-gone') {
        this.#options.onError?.(log, error);
      } else this.#fail(log, error);
      return undefined;
    }
  }

  #fail(log: CleanableLog, error: unknown): void {
    this.#uncleanable.add(log);
    this.#options.onError?.(log, error);
  }
}

function filthier(a: CompactionPlan, b: CompactionPlan): boolean {
  if (a.lagForced !== b.lagForced) return a.lagForced;
  return a.dirtyRatio > b.dirtyRatio;
}
