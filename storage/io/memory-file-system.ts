/**
 * An in-memory FileSystem that models what a crash keeps: the page cache (what reads see)
 * versus the disk (what survives `crash()`). It powers the crash simulations of the log and
 * the raft simulation, thousands of times per CI run, so every call completes in memory.
 *
 * Model, per file (inode): `length`/`data` is the page-cache view; `durableLength` is the size
 * at the last fsync. While every change since that fsync only appended, a crash keeps the
 * durable bytes plus a random prefix of the appended tail (a torn write: none, all, or any
 * byte-length in between). Once a write lands below `durableLength` or a truncate shrinks the
 * file, a snapshot of the durable bytes is taken (copy on first overwrite, so pure appends
 * cost nothing) and a crash keeps either that snapshot or the whole current content.
 *
 * Per directory: `entries` is the current view, `durableEntries` what `fsyncDir` last made
 * durable. A crash resets every directory to its durable entries, so a create, rename or
 * unlink not followed by a directory fsync is undone. Files stay reachable through open
 * descriptors after unlink or rename, as on POSIX; a crash closes every descriptor (EBADF).
 *
 * Randomness comes only from the injected Random, so a crash is reproduced from its seed.
 */
import type { Random } from '../runtime-interfaces.ts';
import { type FileStat, type FileSystem, fileSystemError, type OpenMode } from './file-system.ts';

interface Inode {
  data: Buffer;
  length: number;
  durableLength: number;
  /** Durable bytes, kept once a change touched them; undefined while only appends happened. */
  durableSnapshot: Buffer | undefined;
  modifiedMs: number;
}

type Entry = { readonly kind: 'file'; readonly inode: Inode } | { readonly kind: 'dir'; dir: Dir };

interface Dir {
  entries: Map<string, Entry>;
  durableEntries: Map<string, Entry>;
}

interface OpenFile {
  readonly inode: Inode;
  readonly writable: boolean;
}

function newDir(): Dir {
  return { entries: new Map(), durableEntries: new Map() };
}

function split(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

/** The disk itself, shared by the file system instances before and after a crash. */
interface Disk {
  readonly root: Dir;
}

export class MemoryFileSystem implements FileSystem {
  #disk: Disk;
  #fds = new Map<number, OpenFile>();
  #nextFd = 1000;
  #random: Random;
  #nowMs: () => number;
  #dead = false;
  /** How many fsync/fsyncDir calls were made (tests of group commit count them). */
  fsyncCount = 0;

  constructor(random: Random, nowMs: () => number = () => 0, disk?: Disk) {
    this.#random = random;
    this.#nowMs = nowMs;
    this.#disk = disk ?? { root: newDir() };
  }

  get #root(): Dir {
    if (this.#dead) throw fileSystemError('EIO', 'this file system crashed');
    return this.#disk.root;
  }

  #lookup(path: string): Entry | undefined {
    let entry: Entry = { kind: 'dir', dir: this.#root };
    for (const part of split(path)) {
      if (entry.kind !== 'dir') return undefined;
      const next = entry.dir.entries.get(part);
      if (!next) return undefined;
      entry = next;
    }
    return entry;
  }

  #parent(path: string): { dir: Dir; name: string } {
    const parts = split(path);
    const name = parts.pop();
    if (name === undefined) throw fileSystemError('EISDIR', path);
    const parent = this.#lookup(parts.join('/'));
    if (!parent) throw fileSystemError('ENOENT', path);
    if (parent.kind !== 'dir') throw fileSystemError('ENOTDIR', path);
    return { dir: parent.dir, name };
  }

  #file(fd: number, write = false): OpenFile {
    if (this.#dead) throw fileSystemError('EIO', 'this file system crashed');
    const file = this.#fds.get(fd);
    if (!file) throw fileSystemError('EBADF', `descriptor ${fd}`);
    if (write && !file.writable) throw fileSystemError('EBADF', `descriptor ${fd} is read-only`);
    return file;
  }

  async open(path: string, mode: OpenMode): Promise<number> {
    const { dir, name } = this.#parent(path);
    let entry = dir.entries.get(name);
    if (entry && mode === 'create-new') throw fileSystemError('EEXIST', path);
    if (!entry) {
      if (mode === 'read' || mode === 'write') throw fileSystemError('ENOENT', path);
      const inode: Inode = {
        data: Buffer.alloc(0),
        length: 0,
        durableLength: 0,
        durableSnapshot: undefined,
        modifiedMs: this.#nowMs(),
      };
      entry = { kind: 'file', inode };
      dir.entries.set(name, entry);
    }
    if (entry.kind !== 'file') throw fileSystemError('EISDIR', path);
    const fd = this.#nextFd++;
    this.#fds.set(fd, { inode: entry.inode, writable: mode !== 'read' });
    return fd;
  }

  async close(fd: number): Promise<void> {
    this.#file(fd);
    this.#fds.delete(fd);
  }

  async size(fd: number): Promise<number> {
    return this.#file(fd).inode.length;
  }

  async read(fd: number, target: Buffer, position: number): Promise<number> {
    const { inode } = this.#file(fd);
    if (position >= inode.length) return 0;
    const end = Math.min(inode.length, position + target.length);
    inode.data.copy(target, 0, position, end);
    return end - position;
  }

  async write(fd: number, data: Buffer | readonly Buffer[], position: number): Promise<void> {
    const { inode } = this.#file(fd, true);
    const chunks = Buffer.isBuffer(data) ? [data] : data;
    let total = 0;
    for (const chunk of chunks) total += chunk.length;
    if (total === 0) return;
    if (position < inode.durableLength) this.#keepDurable(inode);
    const end = position + total;
    this.#ensureCapacity(inode, end);
    let at = position;
    for (const chunk of chunks) {
      chunk.copy(inode.data, at);
      at += chunk.length;
    }
    if (end > inode.length) inode.length = end;
    inode.modifiedMs = this.#nowMs();
  }

  async truncate(fd: number, sizeBytes: number): Promise<void> {
    const { inode } = this.#file(fd, true);
    if (sizeBytes < inode.durableLength) this.#keepDurable(inode);
    this.#ensureCapacity(inode, sizeBytes);
    if (sizeBytes > inode.length) inode.data.fill(0, inode.length, sizeBytes);
    inode.length = sizeBytes;
    inode.modifiedMs = this.#nowMs();
  }

  async fsync(fd: number): Promise<void> {
    const { inode } = this.#file(fd);
    this.fsyncCount++;
    inode.durableLength = inode.length;
    inode.durableSnapshot = undefined;
  }

  async fsyncDir(path: string): Promise<void> {
    const entry = this.#lookup(path);
    if (!entry) throw fileSystemError('ENOENT', path);
    if (entry.kind !== 'dir') throw fileSystemError('ENOTDIR', path);
    this.fsyncCount++;
    entry.dir.durableEntries = new Map(entry.dir.entries);
  }

  async rename(from: string, to: string): Promise<void> {
    const source = this.#parent(from);
    const entry = source.dir.entries.get(source.name);
    if (!entry) throw fileSystemError('ENOENT', from);
    const target = this.#parent(to);
    const existing = target.dir.entries.get(target.name);
    if (existing && existing.kind !== entry.kind) throw fileSystemError('EISDIR', to);
    source.dir.entries.delete(source.name);
    target.dir.entries.set(target.name, entry);
  }

  async unlink(path: string): Promise<void> {
    const { dir, name } = this.#parent(path);
    const entry = dir.entries.get(name);
    if (!entry) throw fileSystemError('ENOENT', path);
    if (entry.kind !== 'file') throw fileSystemError('EISDIR', path);
    dir.entries.delete(name);
  }

  async readdir(path: string): Promise<string[]> {
    const entry = this.#lookup(path);
    if (!entry) throw fileSystemError('ENOENT', path);
    if (entry.kind !== 'dir') throw fileSystemError('ENOTDIR', path);
    return [...entry.dir.entries.keys()];
  }

  async mkdir(path: string): Promise<void> {
    let dir = this.#root;
    for (const part of split(path)) {
      let entry = dir.entries.get(part);
      if (!entry) {
        entry = { kind: 'dir', dir: newDir() };
        dir.entries.set(part, entry);
      }
      if (entry.kind !== 'dir') throw fileSystemError('ENOTDIR', path);
      dir = entry.dir;
    }
  }

  async removeTree(path: string): Promise<void> {
    const parts = split(path);
    if (parts.length === 0) throw fileSystemError('EPERM', 'cannot remove the root');
    if (!this.#lookup(path)) return;
    const { dir, name } = this.#parent(path);
    dir.entries.delete(name);
  }

  async stat(path: string): Promise<FileStat | undefined> {
    const entry = this.#lookup(path);
    if (!entry) return undefined;
    if (entry.kind === 'dir') return { sizeBytes: 0, isDirectory: true, modifiedMs: 0 };
    return {
      sizeBytes: entry.inode.length,
      isDirectory: false,
      modifiedMs: entry.inode.modifiedMs,
    };
  }

  /**
   * A power failure: directories return to their durable entries, files to their durable
   * bytes plus what the disk happened to write back (see the header). This instance dies
   * (every later call rejects with EIO, so code of the crashed "process" still running
   * cannot touch the disk); the returned instance is the machine after reboot.
   */
  crash(): MemoryFileSystem {
    const root = this.#root;
    this.#dead = true;
    this.#fds.clear();
    const seen = new Set<Inode>();
    const visit = (dir: Dir): void => {
      dir.entries = new Map(dir.durableEntries);
      for (const entry of dir.entries.values()) {
        if (entry.kind === 'dir') visit(entry.dir);
        else if (!seen.has(entry.inode)) {
          seen.add(entry.inode);
          this.#crashFile(entry.inode);
        }
      }
    };
    visit(root);
    return new MemoryFileSystem(this.#random, this.#nowMs, this.#disk);
  }

  #crashFile(inode: Inode): void {
    if (inode.durableSnapshot) {
      if (this.#random.chance(0.5)) {
        inode.data = inode.durableSnapshot;
        inode.length = inode.durableSnapshot.length;
      }
    } else if (inode.length > inode.durableLength) {
      const tail = inode.length - inode.durableLength;
      const roll = this.#random.next();
      const kept = roll < 1 / 3 ? 0 : roll < 2 / 3 ? tail : this.#random.int(0, tail);
      inode.length = inode.durableLength + kept;
    }
    inode.durableSnapshot = undefined;
    inode.durableLength = inode.length;
  }

  #keepDurable(inode: Inode): void {
    if (inode.durableSnapshot) return;
    inode.durableSnapshot = Buffer.from(inode.data.subarray(0, inode.durableLength));
  }

  #ensureCapacity(inode: Inode, bytes: number): void {
    if (bytes <= inode.data.length) return;
    const grown = Buffer.alloc(Math.max(bytes, inode.data.length * 2, 4096));
    inode.data.copy(grown, 0, 0, inode.length);
    inode.data = grown;
  }

  /** Current (page-cache) bytes of a file, for tests; undefined when missing. */
  fileBytes(path: string): Buffer | undefined {
    const entry = this.#lookup(path);
    if (entry?.kind !== 'file') return undefined;
    return Buffer.from(entry.inode.data.subarray(0, entry.inode.length));
  }

  /** How many descriptors are open (tests of the handle cache and region release). */
  get openDescriptorCount(): number {
    return this.#fds.size;
  }
}
