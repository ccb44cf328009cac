import { describe, expect, test } from 'vitest';
import { SeededRandom } from '../../../src/util/random.ts';
import { CachedFile, FileHandleCache } from '../../../storage/io/file-handle-cache.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';

async function setup(files: number, openFilesMax: number) {
  const fs = new MemoryFileSystem(new SeededRandom(3));
  await fs.mkdir('/d');
  const cached: CachedFile[] = [];
  for (let i = 0; i < files; i++) {
    const fd = await fs.open(`/d/${i}`, 'create');
    await fs.write(fd, Buffer.from(`file ${i}`), 0);
    await fs.close(fd);
    cached.push(new CachedFile(`/d/${i}`));
  }
  return { fs, cache: new FileHandleCache(fs, openFilesMax), cached };
}

describe('FileHandleCache', () => {
  test('keeps at most openFilesMax idle descriptors, closing the least recently used', async () => {
    const { fs, cache, cached } = await setup(10, 3);
    for (const file of cached) {
      await cache.acquire(file);
      cache.release(file);
    }
    expect(cache.openCount).toBe(3);
    expect(fs.openDescriptorCount).toBe(3);
    expect(cached.slice(7).every((f) => f.fd !== undefined)).toBe(true);
    expect(cached[0]?.fd).toBeUndefined();
  });

  test('a pinned file is never closed; the cache goes over its bound instead', async () => {
    const { fs, cache, cached } = await setup(5, 2);
    const fds = [];
    for (const file of cached) fds.push(await cache.acquire(file));
    expect(cache.openCount).toBe(5);
    const buf = Buffer.alloc(6);
    await fs.read(fds[0] as number, buf, 0);
    expect(buf.toString()).toBe('file 0');
    for (const file of cached) cache.release(file);
    await cache.settle();
    await Promise.resolve();
    expect(cache.openCount).toBeLessThanOrEqual(2);
  });

  test('a retired file is unlinked only after its last pin is released', async () => {
    const { fs, cache, cached } = await setup(1, 4);
    const file = cached[0] as CachedFile;
    const fd = await cache.acquire(file);
    cache.retire(file, true);
    await cache.settle();
    expect(await fs.stat('/d/0')).toBeDefined();
    const buf = Buffer.alloc(6);
    await fs.read(fd, buf, 0);
    expect(buf.toString()).toBe('file 0');
    cache.release(file);
    await cache.settle();
    expect(await fs.stat('/d/0')).toBeUndefined();
    expect(fs.openDescriptorCount).toBe(0);
    await expect(cache.acquire(file)).rejects.toMatchObject({ code: 'ESTALE' });
  });
});
