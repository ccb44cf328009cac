/**
 * Runs storage's LogCleaner over every partition this broker hosts: retention for
 * `cleanup.policy=delete`, compaction for `compact` (including `__consumer_offsets`), both for
 * `compact,delete`. The cleaner asks for its targets afresh on every run, so partitions that
 * come and go with the metadata image need no bookkeeping here. Each log dir keeps its own
 * `cleaner-offset-checkpoint`, as Kafka does.
 */
import { dirname } from 'node:path';
import { LogCleaner } from '../../storage/cleaner/log-cleaner.ts';
import {
  CleanableLogs,
  FileCleanerCheckpoints,
} from '../../storage/cleaner/partition-log-cleanable.ts';
import type { FileSystem } from '../../storage/io/file-system.ts';
import type { BrokerConfig } from '../config/catalogue.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { ReplicaManager } from './replica-manager.ts';

export interface LogCleaningOptions {
  readonly replicas: ReplicaManager;
  readonly logDirs: readonly string[];
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly config: BrokerConfig;
  readonly logger: Logger;
}

export async function startLogCleaning(options: LogCleaningOptions): Promise<LogCleaner> {
  const { replicas, fs, logger } = options;
  const byDir = new Map<string, CleanableLogs>();
  for (const dir of options.logDirs) {
    byDir.set(dir, new CleanableLogs(await FileCleanerCheckpoints.open(fs, dir)));
  }
  const compacting = options.config['log.cleaner.enable'];
  const cleaner = new LogCleaner({
    clock: options.clock,
    retentionCheckIntervalMs: options.config['log.retention.check.interval.ms'],
    cleanerBackoffMs: options.config['log.cleaner.backoff.ms'],
    *targets() {
      for (const hosted of replicas.hosted()) {
        const cleanables = byDir.get(dirname(hosted.log.dir));
        if (!cleanables) continue;
        const policy = hosted.config.cleanupPolicy;
        // With log.cleaner.enable=false compacted logs are left alone; others still expire.
        if (!compacting && policy === 'compact') continue;
        const config =
          compacting || policy === 'delete'
            ? hosted.config
            : { ...hosted.config, cleanupPolicy: 'delete' as const };
        yield { log: cleanables.of(hosted.log), config };
      }
    },
    onError: (log, error) => logger.error({ err: error, log: log?.name }, 'log cleaning failed'),
    onRetention: (log, result) => logger.debug({ log: log.name, result }, 'retention ran'),
    onCompaction: (log, result) => logger.debug({ log: log.name, result }, 'compaction ran'),
  });
  cleaner.start();
  return cleaner;
}
