/**
 * The table of handlers by API key. The versions a broker advertises in ApiVersions are
 * computed here from what registered, intersected with the versions our schemas can decode:
 * never a hand-kept list that drifts from the code.
 */
import assert from 'node:assert/strict';
import type { ApiVersionRange, Handler } from './handler.ts';

/** The version range the protocol layer can decode and encode for an API, if it knows it. */
export type SchemaRange = (apiKey: number) => { minVersion: number; maxVersion: number } | null;

export class HandlerRegistry {
  readonly #schemaRange: SchemaRange;
  readonly #handlers = new Map<number, Handler>();
  #cachedVersions: ApiVersionRange[] | undefined;

  constructor(schemaRange: SchemaRange) {
    this.#schemaRange = schemaRange;
  }

  register(handler: Handler): void {
    const { apiKey, minVersion, maxVersion } = handler;
    assert(!this.#handlers.has(apiKey), `two handlers registered for API key ${apiKey}`);
    assert(minVersion <= maxVersion, `handler ${apiKey}: min ${minVersion} > max ${maxVersion}`);
    const schema = this.#schemaRange(apiKey);
    assert(schema !== null, `handler for API key ${apiKey}, which has no schema`);
    assert(
      minVersion <= schema.maxVersion && maxVersion >= schema.minVersion,
      `handler ${apiKey} serves v${minVersion}-${maxVersion}, ` +
        `outside the schema's v${schema.minVersion}-${schema.maxVersion}`,
    );
    this.#handlers.set(apiKey, handler);
    this.#cachedVersions = undefined;
  }

  /** The handler for `apiKey` if the broker serves `version` of it. */
  lookup(apiKey: number, version: number): Handler | undefined {
    const range = this.range(apiKey);
    if (!range || version < range.minVersion || version > range.maxVersion) return undefined;
    return this.#handlers.get(apiKey);
  }

  /** The served range of one API (handler ∩ schema), or undefined if not served. */
  range(apiKey: number): ApiVersionRange | undefined {
    const handler = this.#handlers.get(apiKey);
    const schema = this.#schemaRange(apiKey);
    if (!handler || !schema) return undefined;
    return {
      apiKey,
      minVersion: Math.max(handler.minVersion, schema.minVersion),
      maxVersion: Math.min(handler.maxVersion, schema.maxVersion),
    };
  }

  /** Every served API with its range, by API key: the body of an ApiVersions answer. */
  apiVersions(): readonly ApiVersionRange[] {
    this.#cachedVersions ??= [...this.#handlers.keys()]
      .sort((a, b) => a - b)
      .map((apiKey) => this.range(apiKey) as ApiVersionRange);
    return this.#cachedVersions;
  }
}
