/**
 * The dispatcher loads the codecs of the APIs it serves on demand (protocol/generated/
 * api-catalogue.ts), so a broker does not pay the memory of all 88. A request that arrives
 * before its codecs are loaded must wait for them and be answered exactly as later ones are.
 */
import { describe, expect, test } from 'vitest';
import { encodeRequestFrame, readResponseHeader } from '../../../protocol/frame.ts';
import { ApiKey, apiFor } from '../../../protocol/generated/api-table.ts';
import {
  type ApiVersionsResponse,
  newApiVersionsRequest,
} from '../../../protocol/generated/index.ts';
import { Reader } from '../../../protocol/wire/reader.ts';
import { Broker } from '../../../src/broker.ts';
import { loadConfig } from '../../../src/config/load-config.ts';
import type { ConnectionInfo, Reply } from '../../../src/server/connection.ts';
import { RequestDispatcher } from '../../../src/server/request-dispatcher.ts';
import { silentLogger } from '../../../src/util/logger.ts';

const connection: ConnectionInfo = {
  id: 1,
  remoteAddress: '127.0.0.1',
  remotePort: 1,
  listenerName: 'PLAINTEXT',
  logger: silentLogger(),
};

function newDispatcher(): RequestDispatcher {
  const broker = new Broker({ config: loadConfig({ port: 0 }) });
  return new RequestDispatcher({
    registry: broker.registry,
    controls: broker.controls,
    services: {
      config: broker.config,
      nodeId: broker.nodeId,
      clock: broker.clock,
      get metadata(): never {
        throw new Error('not used by ApiVersions');
      },
      apiVersions: () => broker.registry.apiVersions(),
    },
    clock: broker.clock,
    logger: silentLogger(),
  });
}

function apiVersionsFrame(correlationId: number): Buffer {
  const api = apiFor(ApiKey.ApiVersions)!;
  const request = {
    ...newApiVersionsRequest(),
    clientSoftwareName: 't',
    clientSoftwareVersion: '1',
  };
  const chunks = encodeRequestFrame(api, 3, correlationId, 'lazy', request);
  return Buffer.concat(chunks as Buffer[]).subarray(4);
}

function decodeApiVersions(reply: Reply): { correlationId: number; body: ApiVersionsResponse } {
  expect(reply.kind).toBe('respond');
  if (reply.kind !== 'respond') throw new Error('no response');
  const frame = Buffer.concat(reply.chunks as Buffer[]).subarray(4);
  const r = new Reader(frame);
  const header = readResponseHeader(r, 0);
  const body = apiFor(ApiKey.ApiVersions)!.decodeResponse(r, 3) as ApiVersionsResponse;
  expect(r.error).toBeUndefined();
  return { correlationId: header.correlationId, body };
}

describe('codecs loaded on demand', () => {
  test('a request before its codecs are loaded waits for them, same answer', async () => {
    const dispatcher = newDispatcher();
    const early = dispatcher.process(apiVersionsFrame(1), connection);
    expect(early).toBeInstanceOf(Promise);
    const first = decodeApiVersions(await early);
    await dispatcher.ready();
    const late = dispatcher.process(apiVersionsFrame(2), connection);
    expect(late).not.toBeInstanceOf(Promise);
    const second = decodeApiVersions(await late);
    expect(first.correlationId).toBe(1);
    expect(second.correlationId).toBe(2);
    expect(first.body.errorCode).toBe(0);
    expect(first.body.apiKeys).toEqual(second.body.apiKeys);
    expect(first.body.apiKeys.length).toBeGreaterThan(20);
  });

  test('an API the broker does not serve closes without loading codecs', async () => {
    const dispatcher = newDispatcher();
    const frame = Buffer.alloc(12);
    frame.writeInt16BE(ApiKey.LeaderAndIsr, 0);
    frame.writeInt16BE(5, 2);
    frame.writeInt32BE(9, 4);
    frame.writeInt16BE(-1, 8);
    const reply = dispatcher.process(frame, connection);
    expect(reply).not.toBeInstanceOf(Promise);
    expect(await reply).toMatchObject({ kind: 'close' });
  });
});
