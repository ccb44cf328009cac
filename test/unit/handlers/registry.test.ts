import { AssertionError } from 'node:assert';
import { describe, expect, test } from 'vitest';
import { defineHandler, type Handler } from '../../../src/handlers/handler.ts';
import { builtinHandlers } from '../../../src/handlers/index.ts';
import { HandlerRegistry } from '../../../src/handlers/registry.ts';
import { schemaRangeOf } from '../../../src/server/request-dispatcher.ts';

function handler(apiKey: number, minVersion: number, maxVersion: number): Handler {
  return defineHandler({ apiKey, minVersion, maxVersion, handle: () => null });
}

describe('HandlerRegistry', () => {
  test('ApiVersions ranges are derived from registrations, clipped to the schema', () => {
    const schema = (key: number) =>
      key === 1
        ? { minVersion: 4, maxVersion: 17 }
        : key === 3
          ? { minVersion: 0, maxVersion: 12 }
          : null;
    const registry = new HandlerRegistry(schema);
    registry.register(handler(3, 0, 99));
    registry.register(handler(1, 0, 12));
    expect(registry.apiVersions()).toEqual([
      { apiKey: 1, minVersion: 4, maxVersion: 12 },
      { apiKey: 3, minVersion: 0, maxVersion: 12 },
    ]);
    expect(registry.lookup(1, 3)).toBeUndefined();
    expect(registry.lookup(1, 4)?.apiKey).toBe(1);
    expect(registry.lookup(1, 13)).toBeUndefined();
    expect(registry.lookup(2, 0)).toBeUndefined();
  });

  test('registering the same key twice, or a key without a schema, is a bug', () => {
    const registry = new HandlerRegistry(() => ({ minVersion: 0, maxVersion: 3 }));
    registry.register(handler(5, 0, 1));
    expect(() => registry.register(handler(5, 0, 1))).toThrow(AssertionError);
    const none = new HandlerRegistry(() => null);
    expect(() => none.register(handler(5, 0, 1))).toThrow(AssertionError);
    expect(() => registry.register(handler(6, 5, 9))).toThrow(AssertionError);
  });

  test('the built-in handlers register against the generated schema table', () => {
    const registry = new HandlerRegistry(schemaRangeOf);
    for (const h of builtinHandlers) registry.register(h);
    // What the broker advertises: a change here is a change of the wire contract, on purpose.
    // [apiKey, minVersion, maxVersion]
    const advertised: [number, number, number][] = [
      [0, 0, 11],
      [1, 4, 17],
      [2, 1, 10],
      [3, 0, 12],
      [8, 2, 9],
      [9, 1, 9],
      [10, 0, 6],
      [11, 0, 9],
      [12, 0, 4],
      [13, 0, 5],
      [14, 0, 5],
      [15, 0, 5],
      [16, 0, 5],
      [18, 0, 4],
      [19, 2, 7],
      [20, 1, 6],
      [21, 0, 2],
      [22, 0, 5],
      [23, 2, 4],
      [32, 1, 4],
      [33, 0, 2],
      [35, 1, 4],
      [37, 0, 3],
      [42, 0, 2],
      [43, 0, 2],
      [44, 0, 1],
      [47, 0, 0],
      [55, 0, 2],
      [60, 0, 1],
      [61, 0, 0],
      [71, 0, 0],
      [75, 0, 0],
    ];
    expect(registry.apiVersions()).toEqual(
      advertised.map(([apiKey, minVersion, maxVersion]) => ({ apiKey, minVersion, maxVersion })),
    );
  });
});
