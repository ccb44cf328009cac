/**
 * The file system as storage sees it: a small descriptor-based interface with two
 * implementations, the real disk (node-file-system.ts, the only node:fs user besides the
 * sendfile writer) and MemoryFileSystem (memory-file-system.ts), which models the page
 * cache versus the disk so that seeded crash simulations can lose exactly what a real crash
 * loses.
 *
 * Durability contract, the same for both implementations (POSIX semantics):
 * - `write`/`append` reach the page cache only; `fsync(fd)` makes a file's bytes and size
 *   durable.
 * - Creating, renaming and unlinking a name is durable only after `fsyncDir` of the
 *   directory that holds the name (both directories for a rename across directories).
 * - An unlinked or renamed file stays readable through descriptors already open on it.
 * - Positions and lengths are byte counts; every call either completes fully or rejects.
 *
 * Errors are rejected with the Node-style `code` property (ENOENT, EEXIST, EBADF, ...) so
 * callers can tell "missing" from "broken" without knowing which implementation runs.
 */

/**
 * How to open: `read` (must exist, read-only), `write` (must exist, read-write),
 * `create` (read-write, created empty when missing, kept when present),
 * `create-new` (read-write, fails with EEXIST when present).
 */
export type OpenMode = 'read' | 'write' | 'create' | 'create-new';

export interface FileStat {
  readonly sizeBytes: number;
  readonly isDirectory: boolean;
  /** Last modification, wall-clock ms (retention by age of a segment uses it). */
  readonly modifiedMs: number;
}

export interface FileSystem {
  /** Opens `path`; resolves to a descriptor (a real fd on disk, a fake one in memory). */
  open(path: string, mode: OpenMode): Promise<number>;
  close(fd: number): Promise<void>;
  /** Current size of an open file (page-cache view). */
  size(fd: number): Promise<number>;
  /**
   * Reads into `target` from `position`; resolves to the bytes read (fewer only at end of
   * file).
   */
  read(fd: number, target: Buffer, position: number): Promise<number>;
  /** Writes all of `data` at `position` (gathered, one call for several buffers). */
  write(fd: number, data: Buffer | readonly Buffer[], position: number): Promise<void>;
  /** Sets the file's size (shrinking drops bytes; growing pads with zeros). */
  truncate(fd: number, sizeBytes: number): Promise<void>;
  /** Makes the file's bytes and size durable. */
  fsync(fd: number): Promise<void>;
  /** Makes the directory's entries (creates, renames, unlinks) durable. */
  fsyncDir(path: string): Promise<void>;
  /** Atomic replace of `to` by `from` (POSIX rename). */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Names in a directory (no '.' or '..'), in no particular order. */
  readdir(path: string): Promise<string[]>;
  /** Creates the directory and missing parents; no error when it exists. */
  mkdir(path: string): Promise<void>;
  /** Removes a directory and everything under it; no error when missing. */
  removeTree(path: string): Promise<void>;
  /** undefined when nothing is at `path`. */
  stat(path: string): Promise<FileStat | undefined>;
}

/** The error shape both implementations reject with. */
export interface FileSystemError extends Error {
  code: string;
}

export function fileSystemError(code: string, message: string): FileSystemError {
  const error = new Error(`${code}: ${message}`) as FileSystemError;
  error.code = code;
  return error;
}

export function hasErrorCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
