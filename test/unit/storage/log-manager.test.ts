import { describe, expect, test } from 'vitest';
import { SimClock } from '../../../src/util/clock.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { readFileFully } from '../../../storage/io/atomic-file.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';
import { LOG_CONFIG_DEFAULTS } from '../../../storage/log/log-config.ts';
import { CLEAN_SHUTDOWN_MARKER, LogManager } from '../../../storage/log/log-manager.ts';
import { simpleBatch } from './batch-builder.ts';

const DIRS = ['/disk1/kafka-logs', '/disk2/kafka-logs'];

function open(fs: MemoryFileSystem, clock: SimClock, extra: { openFilesMax?: number } = {}) {
  return LogManager.open({
    fs,
    clock,
    random: new SeededRandom(5),
    logDirs: DIRS,
    defaultConfig: { ...LOG_CONFIG_DEFAULTS, segmentBytes: 2000 },
    topicConfig: (topic) => (topic === 'compact' ? { cleanupPolicy: 'compact' } : undefined),
    checkpointIntervalMs: 1000,
    ...extra,
  });
}

describe('LogManager', () => {
  test('creates logs across dirs, closes cleanly, reopens without recovery', async () => {
    const fs = new MemoryFileSystem(new SeededRandom(1));
    const clock = new SimClock();
    const manager = await open(fs, clock);
    for (let p = 0; p < 4; p++) {
      const log = await manager.createLog('orders', p);
      await log.appendAsLeader(simpleBatch(3, 100), { leaderEpoch: 0 });
      log.setHighWatermark(log.logEndOffset);
    }
    expect((await fs.readdir(DIRS[0] as string)).length).toBeGreaterThan(0);
    expect((await fs.readdir(DIRS[1] as string)).length).toBeGreaterThan(0);
    expect(manager.configFor('compact').cleanupPolicy).toBe('compact');
    await manager.close();
    for (const dir of DIRS) {
      const marker = await readFileFully(fs, `${dir}/${CLEAN_SHUTDOWN_MARKER}`);
      expect(marker?.toString()).toContain('"version":0');
      const hw = await readFileFully(fs, `${dir}/replication-offset-checkpoint`);
      expect(hw?.toString()).toMatch(/^0\n2\norders \d 3\norders \d 3\n$/);
    }
    const again = await open(fs, clock);
    expect(again.openedCleanly).toBe(true);
    expect(again.logCount).toBe(4);
    const log = again.getLog('orders', 2);
    expect([log?.logEndOffset, log?.highWatermark, log?.recoveredBytes]).toEqual([3, 3, 0]);
    expect(await fs.stat(`${DIRS[0]}/${CLEAN_SHUTDOWN_MARKER}`)).toBeUndefined();
    await again.close();
  });

  test('after a crash it recovers from the checkpointed recovery point', async () => {
    let fs = new MemoryFileSystem(new SeededRandom(2));
    const clock = new SimClock();
    const manager = await open(fs, clock);
    const log = await manager.createLog('events', 0);
    for (let i = 0; i < 10; i++) {
      await log.appendAsLeader(simpleBatch(2, 300, { fill: i }), { leaderEpoch: 1 });
    }
    clock.advance(1000);
    await manager.settle();
    fs = fs.crash();
    const reopened = await open(fs, clock);
    expect(reopened.openedCleanly).toBe(false);
    const recovered = reopened.getLog('events', 0);
    expect(recovered?.logEndOffset).toBe(20);
    expect(recovered?.recoveredBytes).toBeGreaterThan(0);
    expect(recovered?.recoveredBytes).toBeLessThan(recovered?.sizeBytes ?? 0);
    await reopened.close();
  });

  test('deleteLog renames the directory and removes it in the background', async () => {
    const fs = new MemoryFileSystem(new SeededRandom(3));
    const clock = new SimClock();
    const manager = await open(fs, clock);
    const log = await manager.createLog('gone', 0);
    await log.appendAsLeader(simpleBatch(1, 10), { leaderEpoch: 0 });
    const dir = log.dir;
    expect(await manager.deleteLog('gone', 0)).toBe(true);
    expect(manager.getLog('gone', 0)).toBeUndefined();
    expect(await fs.stat(dir)).toBeUndefined();
    await manager.settle();
    const names = [
      ...(await fs.readdir(DIRS[0] as string)),
      ...(await fs.readdir(DIRS[1] as string)),
    ];
    expect(names.some((n) => n.includes('gone'))).toBe(false);
    await manager.close();
  });

  test('many partitions stay within the descriptor bound', async () => {
    const fs = new MemoryFileSystem(new SeededRandom(4));
    const clock = new SimClock();
    const manager = await open(fs, clock, { openFilesMax: 16 });
    for (let p = 0; p < 200; p++) {
      const log = await manager.createLog('wide', p);
      await log.appendAsLeader(simpleBatch(1, 20, { fill: p }), { leaderEpoch: 0 });
    }
    expect(manager.env.handles.openCount).toBeLessThanOrEqual(16);
    const read = await manager.getLog('wide', 7)?.read(0, { maxBytes: 1000 });
    expect(read?.nextOffset).toBe(1);
    await manager.close();
    expect(fs.openDescriptorCount).toBe(0);
  });
});
