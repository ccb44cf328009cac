/**
 * OffsetMap against a Map model: latest offset per key, the capacity bound, and that a full
 * map refuses new keys but still updates known ones.
 */
import { expect, test } from 'vitest';
import { SeededRandom } from '../../../../src/util/random.ts';
import { OFFSET_MAP_ENTRY_BYTES, OffsetMap } from '../../../../storage/cleaner/offset-map.ts';

const SEED = Number(process.env.TEST_SEED ?? 7);

test('agrees with a Map model on keys short and long, growing its table (seeded)', () => {
  const random = new SeededRandom(SEED);
  const map = new OffsetMap(30_000 * OFFSET_MAP_ENTRY_BYTES, 0.9);
  const model = new Map<string, number>();
  // Lengths around the 16-byte switch from exact keys to digests, and keys that differ only
  // in trailing zero bytes (exact keys are zero-padded: their length must tell them apart).
  const pool = Array.from({ length: 12_000 }, () => {
    const key = Buffer.alloc(random.pick([0, 1, 5, 15, 16, 17, 32, 100]));
    random.fill(key);
    return key;
  });
  pool.push(Buffer.from([7]), Buffer.from([7, 0]), Buffer.from([7, 0, 0]));
  let offset = 0;
  for (let i = 0; i < 40_000; i++) {
    const key = random.pick(pool);
    offset += random.int(1, 3);
    expect(map.put(key, offset)).toBe(true);
    model.set(key.toString('hex'), offset);
  }
  expect(model.size).toBeGreaterThan(4096 * 2);
  expect(map.size, `seed ${SEED}`).toBe(model.size);
  for (const [key, latest] of model) expect(map.get(Buffer.from(key, 'hex'))).toBe(latest);
  expect(map.get(Buffer.from('never-put'))).toBe(-1);
  expect(map.get(Buffer.from([7, 0, 0, 0]))).toBe(-1);
  expect(map.latestOffset).toBe(offset);
  map.clear();
  expect(map.get(pool[0] as Buffer)).toBe(-1);
  expect(map.put(pool[0] as Buffer, offset + 1)).toBe(true);
});

test('a full map refuses new keys, updates known ones, and clear empties it', () => {
  const map = new OffsetMap(10 * OFFSET_MAP_ENTRY_BYTES, 0.5);
  expect(map.capacity).toBe(5);
  for (let i = 0; i < 5; i++) expect(map.put(Buffer.from([i]), i)).toBe(true);
  expect(map.full).toBe(true);
  expect(map.put(Buffer.from([9]), 10)).toBe(false);
  expect(map.get(Buffer.from([9]))).toBe(-1);
  expect(map.latestOffset).toBe(4);
  expect(map.put(Buffer.from([2]), 11)).toBe(true);
  expect(map.get(Buffer.from([2]))).toBe(11);
  map.clear();
  expect([map.size, map.latestOffset, map.get(Buffer.from([2]))]).toEqual([0, -1, -1]);
});

test('even at load factor 1 one slot stays free, so a miss terminates', () => {
  const map = new OffsetMap(4 * OFFSET_MAP_ENTRY_BYTES, 1);
  expect(map.capacity).toBe(3);
  for (let i = 0; i < 3; i++) map.put(Buffer.from([i]), i);
  expect(map.get(Buffer.from([200]))).toBe(-1);
});

test('empty and binary keys are keys like any other', () => {
  const map = new OffsetMap(100 * OFFSET_MAP_ENTRY_BYTES);
  map.put(Buffer.alloc(0), 1);
  map.put(Buffer.from([0, 0, 0]), 2);
  expect(map.get(Buffer.alloc(0))).toBe(1);
  expect(map.get(Buffer.from([0, 0, 0]))).toBe(2);
});
