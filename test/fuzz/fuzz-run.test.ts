/**
 * The fuzzer's judge can fail: against small fake brokers that misbehave (garbage answers,
 * answers out of order, requests skipped), runConnection reports findings; against one that
 * answers correctly, none.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { FrameDecoder } from '../../protocol/frame.ts';
import { Apis } from '../../protocol/generated/api-table.ts';
import { newApiVersionsResponse } from '../../protocol/generated/apis/18-api-versions.ts';
import { Writer } from '../../protocol/wire/writer.ts';
import { SeededRandom } from '../../src/util/random.ts';
import { sized } from './fuzz-connection.ts';
import { runConnection, type SentFrame } from './fuzz-run.ts';
import { loadSeedFrames, withCorrelationId } from './mutations.ts';

let server: Server | undefined;
afterEach(() => server?.close());

/** A server that calls `answer` with every request frame (no size prefix). */
async function fake(answer: (frame: Buffer, socket: Socket) => void): Promise<number> {
  server = createServer((socket) => {
    const decoder = new FrameDecoder();
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) answer(frame, socket);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

function metadataFrames(count: number): SentFrame[] {
  const seed = loadSeedFrames().find((s) => s.name.includes('Metadata'));
  if (!seed) throw new Error('no golden Metadata frame');
  return Array.from({ length: count }, (_, i) => ({
    bytes: withCorrelationId(seed.bytes, 100 + i),
    label: `metadata ${i}`,
  }));
}

/** A valid ApiVersions v3 answer (the probe's version) to `frame`. */
function probeAnswer(frame: Buffer): Buffer {
  const writer = new Writer();
  writer.int32(frame.readInt32BE(4));
  Apis.ApiVersions.encodeResponse(writer, newApiVersionsResponse(), 3);
  return sized(writer.finish());
}

describe('the fuzz judge', () => {
  test('flags responses that do not decode', async () => {
    const port = await fake((frame, socket) => {
      const body = Buffer.alloc(12, 0xff);
      frame.copy(body, 0, 4, 8);
      socket.write(sized(body));
    });
    const result = await runConnection(port, metadataFrames(2), 9, new SeededRandom(1));
    expect(result.findings.some((f) => f.includes('does not decode'))).toBe(true);
  });

  test('flags a request skipped while the connection went on', async () => {
    const port = await fake((frame, socket) => {
      if (frame.readInt16BE(0) === 18) socket.write(probeAnswer(frame));
    });
    const result = await runConnection(port, metadataFrames(1), 9, new SeededRandom(2));
    expect(result.outcome).toBe('answered');
    expect(result.findings).toEqual([
      'metadata 0: skipped without an answer, yet the connection went on',
    ]);
  });

  test('flags answers to no request', async () => {
    const port = await fake((frame, socket) => {
      const body = Buffer.alloc(8);
      body.writeInt32BE(frame.readInt32BE(4) + 7, 0);
      socket.end(sized(body));
    });
    const result = await runConnection(port, metadataFrames(1), 9, new SeededRandom(3));
    expect(result.findings[0]).toMatch(/answers no request, or is out of order/);
  });

  test('a clean close after a bad request is no finding', async () => {
    const port = await fake((_frame, socket) => socket.destroy());
    const result = await runConnection(port, metadataFrames(2), 9, new SeededRandom(4));
    expect(result.outcome).toBe('closed');
    expect(result.findings).toEqual([]);
  });
});
