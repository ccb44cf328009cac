/**
 * The server core on real loopback sockets, with a frame-level processor (no codecs): ordering
 * of pipelined responses, the in-flight bound, frame size limit, idle close on a simulated
 * clock, bad frames closing only their own connection, connection limit, graceful stop.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { bufferedChunkWriter, type WriteChunks } from '../../../src/server/chunk-writer.ts';
import type { Reply, RequestProcessor } from '../../../src/server/connection.ts';
import { KafkaServer } from '../../../src/server/kafka-server.ts';
import { sendfileChunkWriter } from '../../../src/server/sendfile-chunk-writer.ts';
import { type Clock, SimClock, SystemClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { RawClient } from './raw-client.ts';

/** A request frame: apiKey 0, version 0, a correlation id, then `payload`. */
function request(correlationId: number, payload = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(8);
  header.writeInt32BE(correlationId, 4);
  return Buffer.concat([header, payload]);
}

function correlationOf(frame: Buffer): number {
  return frame.readInt32BE(0);
}

/** Echoes the correlation id and payload; each reply waits until the test releases it. */
class HeldProcessor implements RequestProcessor {
  readonly held: { correlationId: number; release: () => void }[] = [];
  outstanding = 0;
  outstandingMax = 0;
  calls = 0;
  #onCall: (() => void) | undefined;

  process(frame: Buffer): Promise<Reply> {
    this.calls++;
    this.outstanding++;
    this.outstandingMax = Math.max(this.outstandingMax, this.outstanding);
    const correlationId = frame.readInt32BE(4);
    const body = Buffer.concat([frame.subarray(4, 8), frame.subarray(8)]);
    return new Promise((resolve) => {
      this.held.push({
        correlationId,
        release: () => {
          this.outstanding--;
          resolve({ kind: 'respond', chunks: [sizePrefix(body.length), body] });
        },
      });
      this.#onCall?.();
    });
  }

  /** Resolves once `count` requests are being held. */
  whenHeld(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.held.length >= count) {
          this.#onCall = undefined;
          resolve();
        }
      };
      this.#onCall = check;
      check();
    });
  }
}

/** Answers at once. */
const echo: RequestProcessor = {
  process(frame) {
    const body = Buffer.concat([frame.subarray(4, 8), frame.subarray(8)]);
    return { kind: 'respond', chunks: [sizePrefix(body.length), body] };
  },
};

function sizePrefix(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(length, 0);
  return b;
}

const servers: KafkaServer[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.stop(100)));
});

interface Setup {
  processor?: RequestProcessor;
  frameSizeBytesMax?: number;
  inFlightMax?: number;
  idleMs?: number;
  connectionsMax?: number;
  clock?: Clock;
  writeChunks?: WriteChunks;
}

async function startServer(setup: Setup = {}): Promise<KafkaServer> {
  const server = new KafkaServer({
    listenerName: 'PLAINTEXT',
    host: '127.0.0.1',
    port: 0,
    processor: setup.processor ?? echo,
    limits: {
      frameSizeBytesMax: setup.frameSizeBytesMax ?? 1024 * 1024,
      inFlightMax: setup.inFlightMax ?? 100,
      idleMs: setup.idleMs ?? 60_000,
      connectionsMax: setup.connectionsMax ?? 100,
    },
    logger: silentLogger(),
    clock: setup.clock ?? new SystemClock(),
    ...(setup.writeChunks ? { writeChunks: setup.writeChunks } : {}),
  });
  await server.listen();
  servers.push(server);
  return server;
}

async function client(server: KafkaServer): Promise<RawClient> {
  const c = await RawClient.connect(server.address.port);
  clients.push(c);
  return c;
}

describe('KafkaServer', () => {
  test('answers pipelined requests in order whatever order handlers finish in', async () => {
    const seed = Date.now() >>> 0;
    const random = new SeededRandom(seed);
    const processor = new HeldProcessor();
    const server = await startServer({ processor });
    const c = await client(server);
    const count = 40;
    c.send(...Array.from({ length: count }, (_, i) => request(1000 + i, Buffer.from(`r${i}`))));
    await processor.whenHeld(count);
    const order = [...processor.held];
    for (let i = order.length - 1; i > 0; i--) {
      const j = random.int(0, i);
      [order[i], order[j]] = [order[j] as (typeof order)[0], order[i] as (typeof order)[0]];
    }
    for (const h of order) h.release();
    const frames = await c.take(count);
    expect(frames.map(correlationOf), `seed ${seed}`).toEqual(
      Array.from({ length: count }, (_, i) => 1000 + i),
    );
    expect(frames[7]?.subarray(4).toString()).toBe('r7');
  });

  test('holds at most queued.max.requests in flight and resumes as they complete', async () => {
    const processor = new HeldProcessor();
    const server = await startServer({ processor, inFlightMax: 4 });
    const c = await client(server);
    c.send(...Array.from({ length: 10 }, (_, i) => request(i)));
    await processor.whenHeld(4);
    expect(processor.calls).toBe(4);
    // Releasing one makes room for exactly one more.
    processor.held[0]?.release();
    await processor.whenHeld(5);
    expect(await c.takeOne().then(correlationOf)).toBe(0);
    for (let released = 1; released < 10; released++) {
      await processor.whenHeld(Math.min(10, released + 4));
      processor.held[released]?.release();
    }
    const frames = await c.take(9);
    expect(frames.map(correlationOf)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(processor.outstandingMax).toBe(4);
  });

  test('an oversized frame closes the connection; earlier frames are answered', async () => {
    const server = await startServer({ frameSizeBytesMax: 64 });
    const c = await client(server);
    const canary = await client(server);
    const oversized = Buffer.alloc(4);
    oversized.writeInt32BE(65, 0);
    const first = request(1);
    const prefix = sizePrefix(first.length);
    c.writeRaw(Buffer.concat([prefix, first, oversized]));
    expect(correlationOf(await c.takeOne())).toBe(1);
    await c.closed;
    canary.send(request(2));
    expect(correlationOf(await canary.takeOne())).toBe(2);
  });

  test('a frame exactly at the limit is accepted, split across many writes', async () => {
    const server = await startServer({ frameSizeBytesMax: 64 });
    const c = await client(server);
    const body = request(9, Buffer.alloc(56, 7));
    const bytes = Buffer.concat([sizePrefix(body.length), body]);
    for (let i = 0; i < bytes.length; i += 5) c.writeRaw(bytes.subarray(i, i + 5));
    const answer = await c.takeOne();
    expect(correlationOf(answer)).toBe(9);
    expect(answer.subarray(4)).toEqual(Buffer.alloc(56, 7));
  });

  test('a negative frame size closes only that connection', async () => {
    const server = await startServer();
    const bad = await client(server);
    const canary = await client(server);
    bad.writeRaw(Buffer.from([0xff, 0xff, 0xff, 0xfe, 1, 2, 3]));
    await bad.closed;
    canary.send(request(5));
    expect(correlationOf(await canary.takeOne())).toBe(5);
    expect(server.connectionCount).toBe(1);
  });

  test('connections.max.idle.ms closes an idle connection, never a busy one', async () => {
    const clock = new SimClock();
    const processor = new HeldProcessor();
    const server = await startServer({ processor, idleMs: 1000, clock });
    const idle = await client(server);
    const busy = await client(server);
    busy.send(request(1));
    await processor.whenHeld(1);
    clock.advance(999);
    expect(idle.isClosed).toBe(false);
    clock.advance(1);
    await idle.closed;
    clock.advance(5000);
    processor.held[0]?.release();
    expect(correlationOf(await busy.takeOne())).toBe(1);
    expect(busy.isClosed).toBe(false);
    clock.advance(1000);
    await busy.closed;
  });

  test('refuses connections beyond max.connections', async () => {
    const server = await startServer({ connectionsMax: 2 });
    const a = await client(server);
    const b = await client(server);
    a.send(request(1));
    b.send(request(2));
    await Promise.all([a.takeOne(), b.takeOne()]);
    const third = await client(server);
    await third.closed;
    a.send(request(3));
    expect(correlationOf(await a.takeOne())).toBe(3);
  });

  test('a handler that throws closes its connection, not the server', async () => {
    const server = await startServer({
      processor: {
        process(frame) {
          if (frame.readInt32BE(4) === 13) throw new Error('boom');
          return echo.process(frame, undefined as never);
        },
      },
    });
    const c = await client(server);
    c.send(request(12), request(13), request(14));
    expect(correlationOf(await c.takeOne())).toBe(12);
    await c.closed;
    const other = await client(server);
    other.send(request(15));
    expect(correlationOf(await other.takeOne())).toBe(15);
  });

  test('graceful stop answers requests in flight, then closes and refuses new ones', async () => {
    const processor = new HeldProcessor();
    const server = await startServer({ processor });
    const c = await client(server);
    c.send(request(1), request(2));
    await processor.whenHeld(2);
    const stopped = server.stop(10_000);
    processor.held[1]?.release();
    processor.held[0]?.release();
    expect((await c.take(2)).map(correlationOf)).toEqual([1, 2]);
    await c.closed;
    await stopped;
    await expect(RawClient.connect(server.address.port)).rejects.toThrow();
  });

  test('graceful stop cuts a peer that never closes its side after the grace period', async () => {
    const clock = new SimClock();
    const server = await startServer({ clock });
    const stubborn = await RawClient.connect(server.address.port, { allowHalfOpen: true });
    clients.push(stubborn);
    stubborn.send(request(1));
    await stubborn.takeOne();
    const ended = new Promise<void>((resolve) => stubborn.socket.once('end', () => resolve()));
    let stopped = false;
    const stopping = server.stop(1000).then(() => {
      stopped = true;
    });
    await ended;
    expect(stopped).toBe(false);
    clock.advance(1000);
    await stopping;
    expect(server.connectionCount).toBe(0);
  });

  test('file regions are written in order between buffers and released once', async () => {
    const releases: number[] = [];
    const file = Buffer.from('0123456789abcdefghij');
    const region = (position: number, length: number) => ({
      kind: 'file-region' as const,
      fd: 42,
      position,
      length,
      release: () => releases.push(position),
    });
    const readAt = async (fd: number, position: number, length: number) => {
      expect(fd).toBe(42);
      return Buffer.from(file.subarray(position, position + length));
    };
    const processor: RequestProcessor = {
      process(frame) {
        const head = Buffer.alloc(8);
        head.writeInt32BE(4 + 3 + 5 + 2, 0);
        head.writeInt32BE(frame.readInt32BE(4), 4);
        return { kind: 'respond', chunks: [head, region(0, 3), region(10, 5), Buffer.from('--')] };
      },
    };
    const server = await startServer({ processor, writeChunks: bufferedChunkWriter(readAt) });
    const c = await client(server);
    c.send(request(77));
    const answer = await c.takeOne();
    expect(correlationOf(answer)).toBe(77);
    expect(answer.subarray(4).toString()).toBe('012abcde--');
    expect(releases).toEqual([0, 10]);
  });

  test('the sendfile writer sends regions of a real file between buffers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brook-sendfile-test-'));
    const content = Buffer.alloc(300_000);
    new SeededRandom(11).fill(content);
    writeFileSync(join(dir, 'segment'), content);
    const fd = openSync(join(dir, 'segment'), 'r');
    let released = 0;
    const region = (position: number, length: number) => ({
      kind: 'file-region' as const,
      fd,
      position,
      length,
      release: () => released++,
    });
    try {
      const processor: RequestProcessor = {
        process(frame) {
          const head = Buffer.alloc(8);
          head.writeInt32BE(4 + 200_000 + 3 + 50_000, 0);
          head.writeInt32BE(frame.readInt32BE(4), 4);
          const chunks = [head, region(1000, 200_000), Buffer.from('---'), region(0, 50_000)];
          return { kind: 'respond', chunks };
        },
      };
      const server = await startServer({ processor, writeChunks: sendfileChunkWriter() });
      const c = await client(server);
      c.send(request(5), request(6));
      const frames = await c.take(2);
      const expected = Buffer.concat([
        content.subarray(1000, 201_000),
        Buffer.from('---'),
        content.subarray(0, 50_000),
      ]);
      expect(frames.map(correlationOf)).toEqual([5, 6]);
      expect(frames[1]?.subarray(4).equals(expected)).toBe(true);
      expect(released).toBe(4);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a large response to a slow reader arrives intact (backpressure)', async () => {
    const bigBytes = 8 * 1024 * 1024;
    const big = Buffer.alloc(bigBytes);
    new SeededRandom(7).fill(big);
    const processor: RequestProcessor = {
      process(frame) {
        const head = Buffer.alloc(8);
        head.writeInt32BE(4 + bigBytes, 0);
        head.writeInt32BE(frame.readInt32BE(4), 4);
        return { kind: 'respond', chunks: [head, big] };
      },
    };
    const server = await startServer({ processor });
    const c = await client(server);
    c.socket.pause();
    c.send(request(1), request(2));
    // Let the server fill the socket buffers before the client reads anything.
    await new Promise<void>((resolve) => setImmediate(resolve));
    c.socket.resume();
    const frames = await c.take(2);
    expect(frames.map(correlationOf)).toEqual([1, 2]);
    expect(frames[1]?.subarray(4).equals(big)).toBe(true);
  });
});
