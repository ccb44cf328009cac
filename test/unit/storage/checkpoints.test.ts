import { describe, expect, test } from 'vitest';
import { SeededRandom } from '../../../src/util/random.ts';
import { readFileFully, writeFileAtomic } from '../../../storage/io/atomic-file.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';
import {
  decodeEpochCheckpoint,
  encodeEpochCheckpoint,
  LeaderEpochCache,
} from '../../../storage/log/leader-epoch-cache.ts';
import {
  decodeOffsetCheckpoint,
  encodeOffsetCheckpoint,
  readOffsetCheckpoint,
  writeOffsetCheckpoint,
} from '../../../storage/log/offset-checkpoint.ts';
import {
  decodeProducerSnapshot,
  encodeProducerSnapshot,
} from '../../../storage/log/producer-snapshot.ts';

async function fsWithDir(seed = 1): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem(new SeededRandom(seed));
  await fs.mkdir('/logs');
  await fs.fsyncDir('/');
  return fs;
}

describe('offset checkpoints', () => {
  test("Kafka's text format: version, count, 'topic partition offset' lines", () => {
    const map = new Map([
      ['orders-0', { topic: 'orders', partition: 0, offset: 1200 }],
      ['a-b-3', { topic: 'a-b', partition: 3, offset: 55 }],
    ]);
    const text = encodeOffsetCheckpoint(map).toString();
    expect(text).toBe('0\n2\norders 0 1200\na-b 3 55\n');
    expect(decodeOffsetCheckpoint(text, 'x')).toEqual(map);
  });

  test('a damaged file is an operator error, not a crash', () => {
    for (const text of ['1\n0\n', '0\n2\na 0 1\n', '0\n1\na zero 1\n', '0\n-1\n']) {
      expect(() => decodeOffsetCheckpoint(text, 'f')).toThrow(
        expect.objectContaining({ code: 'storage-corrupt' }),
      );
    }
  });

  test('written atomically: after a crash the file is the old or the new version', async () => {
    const old = new Map([['t-0', { topic: 't', partition: 0, offset: 1 }]]);
    const next = new Map([['t-0', { topic: 't', partition: 0, offset: 2 }]]);
    for (let seed = 1; seed <= 20; seed++) {
      let fs = await fsWithDir(seed);
      await writeOffsetCheckpoint(fs, '/logs', 'cp', old);
      const writing = writeOffsetCheckpoint(fs, '/logs', 'cp', next);
      const ticks = new SeededRandom(seed).int(0, 12);
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      fs = fs.crash();
      await writing.catch(() => undefined);
      const read = await readOffsetCheckpoint(fs, '/logs', 'cp');
      expect([1, 2]).toContain(read.get('t-0')?.offset);
    }
  });
});

describe('leader-epoch-checkpoint', () => {
  test('format and round trip', () => {
    const entries = [
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 1200 },
    ];
    expect(encodeEpochCheckpoint(entries).toString()).toBe('0\n2\n0 0\n3 1200\n');
    expect(decodeEpochCheckpoint('0\n2\n0 0\n3 1200\n', 'f')).toEqual(entries);
    expect(() => decodeEpochCheckpoint('0\n3\n0 0\n', 'f')).toThrow();
  });

  test('assign, end offsets for OffsetsForLeaderEpoch, truncation from both ends', async () => {
    const fs = await fsWithDir();
    const cache = new LeaderEpochCache(fs, '/logs');
    cache.assign(1, 0);
    cache.assign(1, 50);
    cache.assign(3, 100);
    cache.assign(2, 150);
    expect(cache.entries).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 100 },
    ]);
    expect(cache.endOffsetFor(1, 500)).toEqual({ epoch: 1, startOffset: 100 });
    expect(cache.endOffsetFor(2, 500)).toEqual({ epoch: 1, startOffset: 100 });
    expect(cache.endOffsetFor(3, 500)).toEqual({ epoch: 3, startOffset: 500 });
    expect(cache.endOffsetFor(0, 500)).toBeUndefined();
    cache.truncateFromStart(60);
    expect(cache.entries[0]).toEqual({ epoch: 1, startOffset: 60 });
    cache.truncateFromEnd(100);
    expect(cache.entries).toEqual([{ epoch: 1, startOffset: 60 }]);
    await cache.flush();
    const again = new LeaderEpochCache(fs, '/logs');
    await again.load();
    expect(again.entries).toEqual(cache.entries);
  });

  test('a newer epoch starting earlier replaces the entries it contradicts', () => {
    const cache = new LeaderEpochCache(new MemoryFileSystem(new SeededRandom(1)), '/x');
    cache.assign(1, 0);
    cache.assign(2, 100);
    cache.assign(4, 80);
    expect(cache.entries).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 4, startOffset: 80 },
    ]);
  });
});

describe('producer snapshot', () => {
  const entry = {
    producerId: 4001,
    epoch: 2,
    lastSequence: 99,
    lastOffset: 12_345,
    offsetDelta: 4,
    timestampMs: 1_700_000_000_123,
    coordinatorEpoch: 7,
    currentTxnFirstOffset: -1,
  };

  test('version 1, CRC-32C over the entries, 46-byte entries', () => {
    const bytes = encodeProducerSnapshot([entry, { ...entry, producerId: 4002 }]);
    expect(bytes.length).toBe(10 + 2 * 46);
    expect(bytes.readInt16BE(0)).toBe(1);
    expect(bytes.readInt32BE(6)).toBe(2);
    expect(decodeProducerSnapshot(bytes)).toEqual([entry, { ...entry, producerId: 4002 }]);
  });

  test('a flipped byte or a torn file is reported, not trusted', () => {
    const bytes = encodeProducerSnapshot([entry]);
    const flipped = Buffer.from(bytes);
    flipped[20] = (flipped[20] as number) ^ 1;
    expect(decodeProducerSnapshot(flipped)).toEqual({ problem: 'bad-crc' });
    expect(decodeProducerSnapshot(bytes.subarray(0, 8))).toEqual({ problem: 'truncated' });
  });
});

describe('writeFileAtomic', () => {
  test('replaces the content and leaves no temporary file', async () => {
    const fs = await fsWithDir();
    await writeFileAtomic(fs, '/logs/f', Buffer.from('one'));
    await writeFileAtomic(fs, '/logs/f', Buffer.from('two!'));
    expect((await readFileFully(fs, '/logs/f'))?.toString()).toBe('two!');
    expect(await fs.readdir('/logs')).toEqual(['f']);
  });
});
