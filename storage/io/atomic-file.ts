/**
 * Small whole-file helpers for checkpoints and markers.
 *
 * `writeFileAtomic` is the crash-safe replace: write `<path>.tmp`, fsync it, rename over
 * `path`, fsync the directory. After a crash the file holds either the old or the new content,
 * never a mix; a leftover `.tmp` is garbage that the next write truncates and replaces.
 */
import { dirname } from 'node:path';
import { type FileSystem, hasErrorCode } from './file-system.ts';

export const TMP_SUFFIX = '.tmp';

export async function writeFileAtomic(fs: FileSystem, path: string, data: Buffer): Promise<void> {
  const tmp = path + TMP_SUFFIX;
  const fd = await fs.open(tmp, 'create');
  try {
    await fs.truncate(fd, 0);
    await fs.write(fd, data, 0);
    await fs.fsync(fd);
  } finally {
    await fs.close(fd);
  }
  await fs.rename(tmp, path);
  await fs.fsyncDir(dirname(path));
}

/** The whole file, or undefined when it does not exist. Refuses files over `sizeBytesMax`. */
export async function readFileFully(
  fs: FileSystem,
  path: string,
  sizeBytesMax = 64 * 1024 * 1024,
): Promise<Buffer | undefined> {
  let fd: number;
  try {
    fd = await fs.open(path, 'read');
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return undefined;
    throw error;
  }
  try {
    const size = await fs.size(fd);
    if (size > sizeBytesMax) throw new RangeError(`${path} is ${size} bytes (max ${sizeBytesMax})`);
    const buf = Buffer.alloc(size);
    const read = await fs.read(fd, buf, 0);
    return buf.subarray(0, read);
  } finally {
    await fs.close(fd);
  }
}

/** Creates an empty file durably (name included). */
export async function touchDurably(fs: FileSystem, path: string): Promise<void> {
  const fd = await fs.open(path, 'create');
  try {
    await fs.fsync(fd);
  } finally {
    await fs.close(fd);
  }
  await fs.fsyncDir(dirname(path));
}

export async function unlinkIfExists(fs: FileSystem, path: string): Promise<boolean> {
  try {
    await fs.unlink(path);
    return true;
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return false;
    throw error;
  }
}

/**
 * Creates `path` and its missing parents so that they survive a crash: each directory that
 * had to be created is made durable by an fsync of its parent. Existing paths cost a stat.
 */
export async function mkdirDurably(fs: FileSystem, path: string): Promise<void> {
  const existing = await fs.stat(path);
  if (existing?.isDirectory) return;
  const parent = dirname(path);
  if (parent !== path) await mkdirDurably(fs, parent);
  await fs.mkdir(path);
  await fs.fsyncDir(parent);
}
