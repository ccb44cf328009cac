/**
 * The error answers of the group handlers at every served version: with no coordinator wired
 * each API reports COORDINATOR_NOT_AVAILABLE where that version carries errors, and each
 * handler's `errorResponse` (used by test controls) encodes at every version. Encoding is the
 * generated encoder's, which refuses a field a version lacks, so a missing version gate fails
 * here.
 */
import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey, apiFor } from '../../../protocol/generated/api-table.ts';
import { Reader } from '../../../protocol/wire/reader.ts';
import { Writer } from '../../../protocol/wire/writer.ts';
import { loadConfig } from '../../../src/config/load-config.ts';
import type { Handler, RequestContext } from '../../../src/handlers/handler.ts';
import { builtinHandlers } from '../../../src/handlers/index.ts';
import { SingleNodeMetadata } from '../../../src/handlers/metadata-view.ts';
import { SimClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';

const context: RequestContext = {
  apiKey: 0,
  version: 0,
  correlationId: 1,
  clientId: 'c',
  listenerName: 'PLAINTEXT',
  remoteAddress: '127.0.0.1',
  connectionId: 1,
  logger: silentLogger(),
  services: {
    config: loadConfig({}),
    nodeId: 1,
    clock: new SimClock(),
    metadata: new SingleNodeMetadata('c', 1, new Map()),
    apiVersions: () => [],
  },
};

const topic = { name: 't', partitionIndexes: [0] };
type Body = Record<string, unknown>;

/** A request as the decoder would hand it over at `version`: absent fields at defaults. */
const requests: Record<number, (version: number) => Body> = {
  [ApiKey.OffsetCommit]: () => ({
    groupId: 'g',
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1 }] }],
  }),
  [ApiKey.OffsetFetch]: (v) =>
    v >= 8
      ? { groups: [{ groupId: 'g', memberId: null, memberEpoch: -1, topics: [topic] }] }
      : { groupId: 'g', topics: [topic] },
  [ApiKey.FindCoordinator]: (v) => (v >= 4 ? { coordinatorKeys: ['g', 'h'] } : { key: 'g' }),
  [ApiKey.JoinGroup]: () => ({ groupId: 'g', memberId: 'm', protocolType: 'consumer' }),
  [ApiKey.Heartbeat]: () => ({ groupId: 'g', memberId: 'm' }),
  [ApiKey.LeaveGroup]: (v) =>
    v >= 3
      ? { groupId: 'g', members: [{ memberId: 'm', groupInstanceId: null, reason: null }] }
      : { groupId: 'g', memberId: 'm' },
  [ApiKey.SyncGroup]: () => ({ groupId: 'g', memberId: 'm' }),
  [ApiKey.DescribeGroups]: () => ({ groups: ['g'] }),
  [ApiKey.ListGroups]: () => ({}),
  [ApiKey.DeleteGroups]: () => ({ groupsNames: ['g', 'g'] }),
  [ApiKey.OffsetDelete]: () => ({ groupId: 'g', topics: [{ name: 't', partitions: [] }] }),
};

/** APIs whose top-level errorCode some versions lack (decoded as a default 0 there). */
function topLevelErrorAbsent(apiKey: number, version: number): boolean {
  if (apiKey === ApiKey.OffsetFetch) return version < 2 || version >= 8;
  return apiKey === ApiKey.FindCoordinator && version >= 4;
}

/** Every error code the response carries at `version`, wherever this API puts errors. */
function errorCodes(apiKey: number, version: number, response: unknown): number[] {
  const codes: number[] = [];
  const top = response as Body;
  if (topLevelErrorAbsent(apiKey, version)) response = { ...top, errorCode: undefined };
  const visit = (value: unknown, key: string): void => {
    if (Array.isArray(value)) for (const item of value) visit(item, '');
    else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, k);
    } else if (key === 'errorCode' && typeof value === 'number') codes.push(value);
  };
  visit(response, '');
  return codes;
}

function roundTrip(apiKey: number, response: unknown, version: number): unknown {
  const api = apiFor(apiKey);
  if (!api) throw new Error(`no API ${apiKey}`);
  const writer = new Writer();
  api.encodeResponse(writer, response, version);
  const reader = new Reader(writer.finish());
  const decoded = api.decodeResponse(reader, version);
  expect(reader.error).toBeUndefined();
  return decoded;
}

const groupHandlers = builtinHandlers.filter((h) => requests[h.apiKey] !== undefined);

function requestFor(handler: Handler, version: number): unknown {
  const api = apiFor(handler.apiKey);
  const build = requests[handler.apiKey];
  if (!api || !build) throw new Error(`no request for ${handler.apiKey}`);
  return { ...(api.newRequest() as Body), ...build(version) };
}

describe('group handlers without a coordinator', () => {
  test('all eleven group APIs are registered', () => {
    expect(groupHandlers.map((h) => h.apiKey).sort((a, b) => a - b)).toEqual([
      8, 9, 10, 11, 12, 13, 14, 15, 16, 42, 47,
    ]);
  });

  for (const handler of groupHandlers) {
    const name = apiFor(handler.apiKey)?.name;
    const range = `v${handler.minVersion}-v${handler.maxVersion}`;
    test(`${name} ${range} answer COORDINATOR_NOT_AVAILABLE`, async () => {
      for (let version = handler.minVersion; version <= handler.maxVersion; version++) {
        const request = requestFor(handler, version);
        const response = await handler.handle({ ...context, version }, request, version);
        const codes = errorCodes(
          handler.apiKey,
          version,
          roundTrip(handler.apiKey, response, version),
        );
        // Before v2 OffsetFetch has no group error field: the error goes on each partition.
        expect(codes.length, `${name} v${version}`).toBeGreaterThan(0);
        expect(new Set(codes), `${name} v${version}`).toEqual(
          new Set([ErrorCode.COORDINATOR_NOT_AVAILABLE]),
        );
      }
    });

    test(`${name}: errorResponse encodes at every version`, () => {
      for (let version = handler.minVersion; version <= handler.maxVersion; version++) {
        const request = requestFor(handler, version);
        const response = handler.errorResponse?.(request, version, ErrorCode.NOT_COORDINATOR);
        if (response === undefined) continue; // the registry sets the top-level errorCode
        const codes = errorCodes(
          handler.apiKey,
          version,
          roundTrip(handler.apiKey, response, version),
        );
        expect(new Set(codes), `${name} v${version}`).toEqual(new Set([ErrorCode.NOT_COORDINATOR]));
      }
    });
  }
});
