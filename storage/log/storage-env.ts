/**
 * The shared resources of every log of a broker, built once: the file system, the bounded
 * descriptor cache, the index memory budget and the tail-cache budget. LogManager builds one;
 * tests and tools that open a PartitionLog alone use `createStorageEnv`.
 */
import { FileHandleCache } from '../io/file-handle-cache.ts';
import type { FileSystem } from '../io/file-system.ts';
import { INDEX_CACHE_BYTES_DEFAULT, IndexCache } from '../segment/index-cache.ts';
import { TailCacheBudget } from './tail-cache.ts';

/**
 * Defaults: 4,096 descriptors leaves headroom under the common 65,536 limit for sockets;
 * 256 MiB of tail cache serves 256 busy partitions' last MiB each.
 */
export const OPEN_FILES_MAX_DEFAULT = 4096;
export const TAIL_CACHE_BUDGET_BYTES_DEFAULT = 256 * 1024 * 1024;

export interface StorageEnv {
  readonly fs: FileSystem;
  readonly handles: FileHandleCache;
  readonly indexCache: IndexCache;
  readonly tailBudget: TailCacheBudget;
}

export function createStorageEnv(
  fs: FileSystem,
  options: {
    openFilesMax?: number;
    indexCacheBytes?: number;
    tailCacheBudgetBytes?: number;
    onBackgroundError?: (error: unknown) => void;
  } = {},
): StorageEnv {
  return {
    fs,
    handles: new FileHandleCache(
      fs,
      options.openFilesMax ?? OPEN_FILES_MAX_DEFAULT,
      options.onBackgroundError,
    ),
    indexCache: new IndexCache(options.indexCacheBytes ?? INDEX_CACHE_BYTES_DEFAULT),
    tailBudget: new TailCacheBudget(
      options.tailCacheBudgetBytes ?? TAIL_CACHE_BUDGET_BYTES_DEFAULT,
    ),
  };
}
