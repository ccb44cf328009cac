/**
 * The real-disk FileSystem and a PartitionLog on it (in a temporary directory): the same
 * contract as MemoryFileSystem, and FileRegions whose descriptors node:fs can read.
 */
import { mkdtempSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { SimClock } from '../../../src/util/clock.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import type { FileRegion } from '../../../storage/io/file-region.ts';
import { NodeFileSystem } from '../../../storage/io/node-file-system.ts';
import { resolveLogConfig } from '../../../storage/log/log-config.ts';
import { LogManager } from '../../../storage/log/log-manager.ts';
import { simpleBatch } from './batch-builder.ts';

const root = mkdtempSync(join(tmpdir(), 'brook-storage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('NodeFileSystem', () => {
  test('positional gathered writes, reads, truncate, rename, stat, readdir', async () => {
    const fs = new NodeFileSystem();
    const dir = join(root, 'basic');
    await fs.mkdir(dir);
    const fd = await fs.open(join(dir, 'f'), 'create');
    await fs.write(fd, [Buffer.from('hello '), Buffer.from('world')], 0);
    await fs.write(fd, Buffer.from('W'), 6);
    await fs.fsync(fd);
    expect(await fs.size(fd)).toBe(11);
    const buf = Buffer.alloc(20);
    expect(await fs.read(fd, buf, 0)).toBe(11);
    expect(buf.subarray(0, 11).toString()).toBe('hello World');
    await fs.truncate(fd, 5);
    await fs.close(fd);
    await fs.rename(join(dir, 'f'), join(dir, 'g'));
    await fs.fsyncDir(dir);
    expect(await fs.readdir(dir)).toEqual(['g']);
    expect((await fs.stat(join(dir, 'g')))?.sizeBytes).toBe(5);
    expect(await fs.stat(join(dir, 'f'))).toBeUndefined();
    await expect(fs.open(join(dir, 'g'), 'create-new')).rejects.toMatchObject({ code: 'EEXIST' });
    await fs.removeTree(dir);
    expect(await fs.stat(dir)).toBeUndefined();
  });

  test('a log on disk: append, read a region with node:fs, restart', async () => {
    const fs = new NodeFileSystem();
    const options = {
      fs,
      clock: new SimClock(),
      random: new SeededRandom(1),
      logDirs: [join(root, 'logs')],
      defaultConfig: resolveLogConfig(undefined, { segmentBytes: 4096, tailCacheBytes: 0 }),
    };
    const manager = await LogManager.open(options);
    const log = await manager.createLog('disk', 0);
    const batches = Array.from({ length: 10 }, (_, i) => simpleBatch(3, 200, { fill: i }));
    for (const batch of batches) await log.appendAsLeader(batch, { leaderEpoch: 2 });
    const result = await log.read(0, { maxBytes: 1 << 20 });
    const region = result.chunks[0] as FileRegion;
    const bytes = Buffer.alloc(region.length);
    readSync(region.fd, bytes, 0, region.length, region.position);
    region.release();
    expect(bytes.equals(Buffer.concat(batches.slice(0, bytes.length / batches[0]!.length)))).toBe(
      true,
    );
    await manager.close();
    const again = await LogManager.open(options);
    expect(again.openedCleanly).toBe(true);
    expect(again.getLog('disk', 0)?.logEndOffset).toBe(30);
    await again.close();
  });
});
