/**
 * A bounded cache of open descriptors shared by every segment file of a broker.
 *
 * Why: 10,000 partitions with a few segments each would need tens of thousands of open files
 * (log + indexes); the process limit and kernel memory make that a bad default. Each file is a
 * `CachedFile` that is opened on demand and closed when it is the least recently used idle
 * file and the cache is over `openFilesMax`.
 *
 * Pins: `acquire` pins a file (its descriptor cannot be closed) until the matching `release`.
 * A read's FileRegion holds a pin, so the descriptor stays valid until the response is
 * written, whatever happens to the file meanwhile. When every open file is pinned the cache
 * goes over its bound rather than fail a read; the extra descriptors close on release.
 *
 * Retirement: `retire(file)` (segment deleted) closes and unlinks the file once its last pin
 * is released; until then readers keep reading the (renamed) file through their descriptor.
 */
import { type FileSystem, fileSystemError } from './file-system.ts';

export class CachedFile {
  path: string;
  fd: number | undefined = undefined;
  pins = 0;
  retired = false;
  unlinkOnRetire = false;
  opening: Promise<number> | undefined = undefined;

  constructor(path: string) {
    this.path = path;
  }
}

export class FileHandleCache {
  readonly openFilesMax: number;
  #fs: FileSystem;
  /** Open, unpinned files in least-recently-used-first order. */
  #idle = new Map<CachedFile, true>();
  #openCount = 0;
  #onBackgroundError: (error: unknown) => void;
  #disposals = new Set<Promise<void>>();

  constructor(
    fs: FileSystem,
    openFilesMax: number,
    onBackgroundError: (error: unknown) => void = () => {},
  ) {
    if (!(openFilesMax >= 1)) throw new RangeError(`openFilesMax must be >= 1: ${openFilesMax}`);
    this.#fs = fs;
    this.openFilesMax = openFilesMax;
    this.#onBackgroundError = onBackgroundError;
  }

  get openCount(): number {
    return this.#openCount;
  }

  /** Pins `file` and returns its descriptor when it is open already (no promise: hot path). */
  pinIfOpen(file: CachedFile): number | undefined {
    if (file.fd === undefined || file.retired) return undefined;
    file.pins++;
    this.#idle.delete(file);
    return file.fd;
  }

  /** Pins `file` and resolves to an open descriptor for it. */
  async acquire(file: CachedFile): Promise<number> {
    // A reader racing a deletion: the caller retries with a fresh view of the log.
    if (file.retired) throw fileSystemError('ESTALE', `${file.path} was deleted`);
    file.pins++;
    this.#idle.delete(file);
    if (file.fd !== undefined) return file.fd;
    try {
      if (!file.opening) file.opening = this.#open(file);
      return await file.opening;
    } catch (error) {
      file.pins--;
      throw error;
    }
  }

  async #open(file: CachedFile): Promise<number> {
    try {
      await this.#evictFor(1);
      const fd = await this.#fs.open(file.path, 'write');
      file.fd = fd;
      this.#openCount++;
      return fd;
    } finally {
      file.opening = undefined;
    }
  }

  /** Unpins; an idle file becomes the most recently used, a retired one is closed. */
  release(file: CachedFile): void {
    if (file.pins <= 0) throw new Error(`release of unpinned file ${file.path}`);
    file.pins--;
    if (file.pins > 0) return;
    if (file.retired) {
      this.#dispose(file);
      return;
    }
    if (file.fd === undefined) return;
    this.#idle.set(file, true);
    if (this.#openCount > this.openFilesMax) this.#evictFor(0).catch(this.#onBackgroundError);
  }

  async #evictFor(extra: number): Promise<void> {
    const closes: Promise<void>[] = [];
    for (const file of this.#idle.keys()) {
      if (this.#openCount + extra <= this.openFilesMax) break;
      closes.push(this.#closeIdle(file));
    }
    await Promise.all(closes);
  }

  #closeIdle(file: CachedFile): Promise<void> {
    this.#idle.delete(file);
    const fd = file.fd;
    if (fd === undefined) return Promise.resolve();
    file.fd = undefined;
    this.#openCount--;
    return this.#fs.close(fd);
  }

  /** Closes the descriptor if nobody pins it (close of a log; it may reopen later). */
  async closeIfIdle(file: CachedFile): Promise<void> {
    if (file.pins === 0 && file.fd !== undefined) await this.#closeIdle(file);
  }

  /**
   * The file is done with: after the last pin is released its descriptor closes and, when
   * `unlink`, its current path is removed.
   */
  retire(file: CachedFile, unlink: boolean): void {
    if (file.retired) return;
    file.retired = true;
    file.unlinkOnRetire = unlink;
    this.#idle.delete(file);
    if (file.pins === 0) this.#dispose(file);
  }

  #dispose(file: CachedFile): void {
    const fd = file.fd;
    file.fd = undefined;
    const work = async (): Promise<void> => {
      if (file.opening) await file.opening.catch(() => undefined);
      const late = file.fd;
      file.fd = undefined;
      const toClose = fd ?? late;
      if (toClose !== undefined) {
        this.#openCount--;
        await this.#fs.close(toClose);
      }
      if (file.unlinkOnRetire) await this.#fs.unlink(file.path);
    };
    const done = work().catch(this.#onBackgroundError);
    this.#disposals.add(done);
    done.finally(() => this.#disposals.delete(done));
  }

  /** Resolves when every retired, unpinned file has been closed and unlinked. */
  async settle(): Promise<void> {
    while (this.#disposals.size > 0) await Promise.all([...this.#disposals]);
  }
}
