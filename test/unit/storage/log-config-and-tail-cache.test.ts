import { describe, expect, test } from 'vitest';
import {
  LOG_CONFIG_DEFAULTS,
  LOG_CONFIG_PROPERTIES,
  resolveLogConfig,
} from '../../../storage/log/log-config.ts';
import { TailCache, TailCacheBudget } from '../../../storage/log/tail-cache.ts';

describe('LogConfig', () => {
  test("Kafka's defaults and property names", () => {
    expect(LOG_CONFIG_DEFAULTS.segmentBytes).toBe(1_073_741_824);
    expect(LOG_CONFIG_DEFAULTS.segmentMs).toBe(604_800_000);
    expect(LOG_CONFIG_DEFAULTS.indexIntervalBytes).toBe(4096);
    expect(LOG_CONFIG_DEFAULTS.segmentIndexBytes).toBe(10_485_760);
    expect(LOG_CONFIG_DEFAULTS.maxMessageBytes).toBe(1_048_588);
    expect(LOG_CONFIG_DEFAULTS.durability).toBe('fsync');
    expect(LOG_CONFIG_PROPERTIES['segment.jitter.ms']).toBe('segmentJitterMs');
    for (const field of Object.values(LOG_CONFIG_PROPERTIES)) {
      expect(LOG_CONFIG_DEFAULTS).toHaveProperty(field);
    }
  });

  test('overrides are checked', () => {
    expect(resolveLogConfig(undefined, { segmentBytes: 4096 }).segmentBytes).toBe(4096);
    expect(() => resolveLogConfig(undefined, { segmentBytes: 2 ** 31 })).toThrow(RangeError);
    expect(() => resolveLogConfig(undefined, { flushMessages: 0 })).toThrow(RangeError);
    expect(Object.isFrozen(resolveLogConfig())).toBe(true);
  });
});

function batch(baseOffset: number, lastOffset: number, bytes: number) {
  return { buf: Buffer.alloc(bytes, baseOffset & 0xff), baseOffset, lastOffset };
}

describe('TailCache', () => {
  test('serves whole batches from the one holding the offset, within the limits', () => {
    const cache = new TailCache(1000, new TailCacheBudget(10_000));
    cache.add(batch(0, 4, 100));
    cache.add(batch(5, 9, 100));
    cache.add(batch(10, 14, 100));
    expect(cache.read(7, 150, 100)?.map((b) => b.length)).toEqual([100]);
    expect(cache.read(7, 250, 100)?.length).toBe(2);
    expect(cache.read(7, 1000, 10)?.length).toBe(1);
    expect(cache.read(3, 1, 100)?.length).toBe(1);
  });

  test('drops the oldest batches past its own bound and the shared budget', () => {
    const budget = new TailCacheBudget(250);
    const a = new TailCache(200, budget);
    const b = new TailCache(200, budget);
    a.add(batch(0, 0, 100));
    a.add(batch(1, 1, 100));
    a.add(batch(2, 2, 100));
    expect(a.firstOffset).toBe(1);
    expect(a.read(0, 1000, 100)).toBeUndefined();
    b.add(batch(0, 0, 100));
    expect(budget.bytes).toBeLessThanOrEqual(250);
    b.add(batch(1, 1, 100));
    expect(budget.bytes).toBeLessThanOrEqual(250);
    a.clear();
    b.clear();
    expect(budget.bytes).toBe(0);
  });
});
