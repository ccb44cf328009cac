import { describe, expect, test } from 'vitest';
import { SeededRandom } from '../../../src/util/random.ts';
import { hasErrorCode } from '../../../storage/io/file-system.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';

async function writeFile(fs: MemoryFileSystem, path: string, data: Buffer, sync: boolean) {
  const fd = await fs.open(path, 'create');
  await fs.write(fd, data, (await fs.size(fd)) as number);
  if (sync) await fs.fsync(fd);
  await fs.close(fd);
}

async function durableDir(seed = 1): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem(new SeededRandom(seed));
  await fs.mkdir('/d');
  await fs.fsyncDir('/');
  return fs;
}

describe('MemoryFileSystem', () => {
  test('fsynced bytes survive a crash; unsynced appends survive as a prefix', async () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      let fs = await durableDir(seed);
      await writeFile(fs, '/d/f', Buffer.from('durable|'), true);
      await fs.fsyncDir('/d');
      await writeFile(fs, '/d/f', Buffer.from('volatile'), false);
      fs = fs.crash();
      const bytes = fs.fileBytes('/d/f')?.toString() ?? '';
      expect(bytes.startsWith('durable|')).toBe(true);
      expect('durable|volatile'.startsWith(bytes)).toBe(true);
      const kept = bytes.length - 8;
      outcomes.add(kept === 0 ? 'none' : kept === 8 ? 'all' : 'torn');
    }
    expect(outcomes).toEqual(new Set(['none', 'all', 'torn']));
  });

  test('a created file without a directory fsync is gone after a crash', async () => {
    let fs = await durableDir();
    await writeFile(fs, '/d/lost', Buffer.from('x'), true);
    await writeFile(fs, '/d/kept', Buffer.from('y'), true);
    await fs.fsyncDir('/d');
    await writeFile(fs, '/d/late', Buffer.from('z'), true);
    fs = fs.crash();
    expect((await fs.readdir('/d')).sort()).toEqual(['kept', 'lost']);
    expect(fs.fileBytes('/d/kept')?.toString()).toBe('y');
  });

  test('rename and unlink are undone by a crash unless the directory is fsynced', async () => {
    let fs = await durableDir();
    await writeFile(fs, '/d/a', Buffer.from('a'), true);
    await writeFile(fs, '/d/b', Buffer.from('b'), true);
    await fs.fsyncDir('/d');
    await fs.rename('/d/a', '/d/c');
    await fs.unlink('/d/b');
    expect((await fs.readdir('/d')).sort()).toEqual(['c']);
    fs = fs.crash();
    expect((await fs.readdir('/d')).sort()).toEqual(['a', 'b']);
    await fs.rename('/d/a', '/d/c');
    await fs.fsyncDir('/d');
    fs = fs.crash();
    expect((await fs.readdir('/d')).sort()).toEqual(['b', 'c']);
  });

  test('an unsynced overwrite leaves either the old or the new bytes', async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) {
      let fs = await durableDir(seed);
      await writeFile(fs, '/d/f', Buffer.from('old!'), true);
      await fs.fsyncDir('/d');
      const fd = await fs.open('/d/f', 'write');
      await fs.write(fd, Buffer.from('new'), 0);
      await fs.truncate(fd, 3);
      fs = fs.crash();
      seen.add(fs.fileBytes('/d/f')?.toString() ?? '');
    }
    expect(seen).toEqual(new Set(['old!', 'new']));
  });

  test('an unlinked file stays readable through an open descriptor', async () => {
    const fs = await durableDir();
    await writeFile(fs, '/d/f', Buffer.from('still here'), false);
    const fd = await fs.open('/d/f', 'read');
    await fs.unlink('/d/f');
    const buf = Buffer.alloc(10);
    expect(await fs.read(fd, buf, 0)).toBe(10);
    expect(buf.toString()).toBe('still here');
    expect(await fs.stat('/d/f')).toBeUndefined();
  });

  test('the crashed instance refuses every call; descriptors die with it', async () => {
    const fs = await durableDir();
    await writeFile(fs, '/d/f', Buffer.from('x'), true);
    const fd = await fs.open('/d/f', 'read');
    const after = fs.crash();
    const failures = await Promise.allSettled([
      fs.read(fd, Buffer.alloc(1), 0),
      fs.open('/d/f', 'read'),
      after.read(fd, Buffer.alloc(1), 0),
    ]);
    expect(failures.map((f) => f.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const codes = failures.map((f) => (f.status === 'rejected' ? f.reason : undefined));
    expect(hasErrorCode(codes[0], 'EIO')).toBe(true);
    expect(hasErrorCode(codes[2], 'EBADF')).toBe(true);
  });

  test('open modes: read/write need the file, create-new refuses an existing one', async () => {
    const fs = await durableDir();
    await expect(fs.open('/d/none', 'read')).rejects.toMatchObject({ code: 'ENOENT' });
    await fs.open('/d/f', 'create-new');
    await expect(fs.open('/d/f', 'create-new')).rejects.toMatchObject({ code: 'EEXIST' });
    const fd = await fs.open('/d/f', 'read');
    await expect(fs.write(fd, Buffer.from('x'), 0)).rejects.toMatchObject({ code: 'EBADF' });
  });
});
