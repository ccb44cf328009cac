/**
 * The real disk behind the FileSystem interface.
 *
 * Descriptor-based callbacks of node:fs (not FileHandle objects): a broker keeps thousands of
 * files open and writes to them on every produce, and the plain fd calls avoid a wrapper
 * object and a promise chain per handle. Gathered writes use writev so one append of many
 * batches is one system call. Directory fsync opens the directory read-only and fsyncs that
 * descriptor, which is how POSIX makes entry changes durable.
 */
import * as fs from 'node:fs';
import type { FileStat, FileSystem, OpenMode } from './file-system.ts';

const OPEN_FLAGS: Record<OpenMode, number> = {
  read: fs.constants.O_RDONLY,
  write: fs.constants.O_RDWR,
  create: fs.constants.O_RDWR | fs.constants.O_CREAT,
  'create-new': fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL,
};

/** Files are created rw for the owner and readable by the group, like Kafka's. */
const FILE_MODE = 0o644;

function done(resolve: () => void, reject: (e: Error) => void) {
  return (error: Error | null): void => (error ? reject(error) : resolve());
}

export class NodeFileSystem implements FileSystem {
  open(path: string, mode: OpenMode): Promise<number> {
    return new Promise((resolve, reject) => {
      fs.open(path, OPEN_FLAGS[mode], FILE_MODE, (error, fd) =>
        error ? reject(error) : resolve(fd),
      );
    });
  }

  close(fd: number): Promise<void> {
    return new Promise((resolve, reject) => fs.close(fd, done(resolve, reject)));
  }

  size(fd: number): Promise<number> {
    return new Promise((resolve, reject) => {
      fs.fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats.size)));
    });
  }

  async read(fd: number, target: Buffer, position: number): Promise<number> {
    let total = 0;
    while (total < target.length) {
      const n = await new Promise<number>((resolve, reject) => {
        fs.read(fd, target, total, target.length - total, position + total, (error, bytes) =>
          error ? reject(error) : resolve(bytes),
        );
      });
      if (n === 0) break;
      total += n;
    }
    return total;
  }

  async write(fd: number, data: Buffer | readonly Buffer[], position: number): Promise<void> {
    if (Buffer.isBuffer(data) || data.length === 1) {
      await this.#writeOne(fd, Buffer.isBuffer(data) ? data : (data[0] as Buffer), position);
      return;
    }
    let chunks: readonly Buffer[] = data;
    let at = position;
    // writev may write less than asked (signals, huge requests); continue where it stopped.
    while (chunks.length > 0) {
      const written = await new Promise<number>((resolve, reject) => {
        fs.writev(fd, chunks as Buffer[], at, (error, bytes) =>
          error ? reject(error) : resolve(bytes),
        );
      });
      at += written;
      chunks = skipBytes(chunks, written);
    }
  }

  /** One buffer: plain pwrite, a little cheaper than a one-element writev. */
  async #writeOne(fd: number, buf: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      done += await new Promise<number>((resolve, reject) => {
        fs.write(fd, buf, done, buf.length - done, position + done, (error, bytes) =>
          error ? reject(error) : resolve(bytes),
        );
      });
    }
  }

  truncate(fd: number, sizeBytes: number): Promise<void> {
    return new Promise((resolve, reject) => fs.ftruncate(fd, sizeBytes, done(resolve, reject)));
  }

  fsync(fd: number): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(fd, done(resolve, reject)));
  }

  async fsyncDir(path: string): Promise<void> {
    const fd = await this.open(path, 'read');
    try {
      await new Promise<void>((resolve, reject) => fs.fsync(fd, done(resolve, reject)));
    } finally {
      await this.close(fd);
    }
  }

  rename(from: string, to: string): Promise<void> {
    return fs.promises.rename(from, to);
  }

  unlink(path: string): Promise<void> {
    return fs.promises.unlink(path);
  }

  readdir(path: string): Promise<string[]> {
    return fs.promises.readdir(path);
  }

  async mkdir(path: string): Promise<void> {
    await fs.promises.mkdir(path, { recursive: true });
  }

  removeTree(path: string): Promise<void> {
    return fs.promises.rm(path, { recursive: true, force: true });
  }

  async stat(path: string): Promise<FileStat | undefined> {
    try {
      const stats = await fs.promises.stat(path);
      return {
        sizeBytes: stats.size,
        isDirectory: stats.isDirectory(),
        modifiedMs: stats.mtimeMs,
      };
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}

function skipBytes(chunks: readonly Buffer[], count: number): readonly Buffer[] {
  let left = count;
  let index = 0;
  while (index < chunks.length && left >= (chunks[index] as Buffer).length) {
    left -= (chunks[index] as Buffer).length;
    index++;
  }
  if (index === chunks.length) return [];
  const rest = chunks.slice(index);
  rest[0] = (rest[0] as Buffer).subarray(left);
  return rest;
}
