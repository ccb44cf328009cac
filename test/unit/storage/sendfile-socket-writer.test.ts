/**
 * SocketWriter on real loopback sockets: Buffers and file regions interleaved arrive byte for
 * byte in order, with sendfile and with the forced fallback, through backpressure, and every
 * region is released exactly once, also when the socket dies mid-write.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SeededRandom } from '../../../src/util/random.ts';
import { sendfileAddon, sendfileUnavailableReason } from '../../../storage/io/sendfile.ts';
import { SocketReadPool } from '../../../storage/io/socket-read-pool.ts';
import {
  type FileRegionChunk,
  type OutboundChunk,
  SocketWriteError,
  SocketWriter,
} from '../../../storage/io/socket-writer.ts';

const SEED = Number(process.env.TEST_SEED ?? 20261122);
const FILE_BYTES = 12 * 1024 * 1024;

let dir: string;
let fileBytes: Buffer;
let fd: number;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'brook-sendfile-'));
  fileBytes = Buffer.alloc(FILE_BYTES);
  new SeededRandom(SEED).fill(fileBytes);
  writeFileSync(join(dir, 'data'), fileBytes);
  fd = openSync(join(dir, 'data'), 'r');
});

afterAll(() => {
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
});

interface CountedRegion extends FileRegionChunk {
  releases: number;
}

function region(position: number, length: number, file = fd): CountedRegion {
  const r: CountedRegion = {
    kind: 'file-region',
    fd: file,
    position,
    length,
    releases: 0,
    release: () => {
      r.releases++;
    },
  };
  return r;
}

interface Pair {
  readonly client: Socket;
  readonly server: Socket;
  readonly listener: Server;
  close(): void;
}

async function socketPair(): Promise<Pair> {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const address = listener.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
  const client = connect(address.port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const server = await accepted;
  // A peer's reset surfaces on the server socket after the writer has given up on it; the
  // real server logs it, here it is expected.
  server.on('error', () => undefined);
  return {
    client,
    server,
    listener,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

/** Collects `bytes` bytes from `socket`; `slow` reads one chunk per event-loop turn. */
function receive(socket: Socket, bytes: number, slow = false): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (data: Buffer) => {
      parts.push(data);
      got += data.length;
      if (got >= bytes) resolve(Buffer.concat(parts));
      else if (slow) {
        socket.pause();
        setImmediate(() => socket.resume());
      }
    });
  });
}

function expected(chunks: readonly OutboundChunk[]): Buffer {
  return Buffer.concat(
    chunks.map((c) =>
      c instanceof Uint8Array ? c : fileBytes.subarray(c.position, c.position + c.length),
    ),
  );
}

function totalBytes(chunks: readonly OutboundChunk[]): number {
  return chunks.reduce((n, c) => n + c.length, 0);
}

/** Waits, one event-loop turn at a time, until `cond` holds (bounded, so it cannot hang). */
async function until(cond: () => boolean): Promise<void> {
  for (let turns = 0; !cond(); turns++) {
    if (turns > 1_000_000) throw new Error('condition never held');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function mixedChunks(random: SeededRandom, count: number): OutboundChunk[] {
  const chunks: OutboundChunk[] = [];
  for (let i = 0; i < count; i++) {
    if (random.chance(0.4)) {
      const buf = Buffer.alloc(random.int(0, 3000));
      random.fill(buf);
      chunks.push(buf);
    } else {
      const length = random.int(0, 300_000);
      chunks.push(region(random.int(0, FILE_BYTES - length), length));
    }
  }
  return chunks;
}

function regionsOf(chunks: readonly OutboundChunk[]): CountedRegion[] {
  return chunks.filter((c): c is CountedRegion => !(c instanceof Uint8Array));
}

test('the addon is built and loads on Linux and macOS', () => {
  if (process.platform === 'linux' || process.platform === 'darwin') {
    expect(sendfileUnavailableReason).toBeUndefined();
    expect(sendfileAddon).toBeDefined();
  }
});

const modes = [
  { name: 'sendfile', useSendfile: true },
  { name: 'fallback', useSendfile: false },
] as const;

describe.each(modes)('$name', ({ useSendfile }) => {
  function writerFor(socket: Socket, pool = new SocketReadPool({ buffersMax: 4 })) {
    const writer = new SocketWriter(socket, { sendfile: useSendfile ? undefined : null, pool });
    expect(writer.zeroCopy).toBe(useSendfile && sendfileAddon !== undefined);
    return writer;
  }

  test('interleaved buffers and regions arrive in order, byte for byte', async () => {
    const random = new SeededRandom(SEED + 1);
    const pair = await socketPair();
    try {
      const chunks = mixedChunks(random, 40);
      const received = receive(pair.client, totalBytes(chunks));
      await writerFor(pair.server).write(chunks);
      expect((await received).equals(expected(chunks)), `seed ${SEED}`).toBe(true);
      for (const r of regionsOf(chunks)) expect(r.releases).toBe(1);
    } finally {
      pair.close();
    }
  });

  test('a slow reader: regions larger than the socket buffer, backpressure honoured', async () => {
    const pair = await socketPair();
    const pool = new SocketReadPool({ buffersMax: 2 });
    try {
      const head = Buffer.from('head');
      const chunks: OutboundChunk[] = [head, region(5, 9_000_000), Buffer.from('mid')];
      chunks.push(region(9_000_100, 3_000_000), Buffer.from('tail'));
      pair.client.pause();
      const writer = writerFor(pair.server, pool);
      const done = writer.write(chunks);
      // The reader reads nothing until the writer has met a full send buffer.
      await until(() => writer.stats.eagainWaits > 0 || pair.server.writableLength > 0);
      const received = receive(pair.client, totalBytes(chunks), true);
      pair.client.resume();
      await done;
      expect((await received).equals(expected(chunks))).toBe(true);
      for (const r of regionsOf(chunks)) expect(r.releases).toBe(1);
      if (writer.zeroCopy) {
        expect(writer.stats.eagainWaits).toBeGreaterThan(0);
        // Nearly every region byte went through sendfile, the probes are a sliver.
        expect(writer.stats.bytesProbed).toBeLessThan(writer.stats.bytesSentfile / 10);
      } else {
        expect(writer.stats.bytesCopied).toBe(12_000_000);
      }
      expect(pool.available).toBe(2);
    } finally {
      pair.close();
    }
  });

  test('concurrent write calls are serialized in call order', async () => {
    const pair = await socketPair();
    try {
      const first: OutboundChunk[] = [Buffer.from('A'), region(0, 2_000_000)];
      const second: OutboundChunk[] = [region(4_000_000, 1_000_000), Buffer.from('B')];
      const third: OutboundChunk[] = [Buffer.from('C'), region(100, 100)];
      const all = [...first, ...second, ...third];
      const received = receive(pair.client, totalBytes(all));
      const writer = writerFor(pair.server);
      await Promise.all([writer.write(first), writer.write(second), writer.write(third)]);
      expect((await received).equals(expected(all))).toBe(true);
    } finally {
      pair.close();
    }
  });

  test('the peer closing mid-write rejects and releases every region once', async () => {
    const pair = await socketPair();
    const pool = new SocketReadPool({ buffersMax: 2 });
    try {
      const chunks: OutboundChunk[] = [region(0, 6_000_000), Buffer.from('x')];
      chunks.push(region(7_000_000, 4_000_000), region(0, 10));
      const writer = writerFor(pair.server, pool);
      const done = writer.write(chunks);
      pair.client.once('data', () => pair.client.destroy());
      const error = await done.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SocketWriteError);
      expect((error as SocketWriteError).code).toBe('socket-closed');
      for (const r of regionsOf(chunks)) expect(r.releases).toBe(1);
      // Later calls on the dead socket fail fast and still release.
      const late = region(0, 100);
      await expect(writer.write([late])).rejects.toBeInstanceOf(SocketWriteError);
      expect(late.releases).toBe(1);
      await until(() => pool.available === 2);
    } finally {
      pair.close();
    }
  });

  test('a region past the end of its file fails with region-past-end-of-file', async () => {
    const pair = await socketPair();
    try {
      const past = region(FILE_BYTES - 100, 200);
      const after = region(0, 10);
      const error = await writerFor(pair.server)
        .write([past, after])
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((error as SocketWriteError).code).toBe('region-past-end-of-file');
      expect([past.releases, after.releases]).toEqual([1, 1]);
    } finally {
      pair.close();
    }
  });
});

describe('SocketReadPool', () => {
  test('lends at most buffersMax buffers, then serves waiters in arrival order', async () => {
    const pool = new SocketReadPool({ bufferBytes: 16, buffersMax: 2 });
    const a = await pool.acquire();
    const b = await pool.acquire();
    expect(pool.available).toBe(0);
    const order: string[] = [];
    const first = pool.acquire().then((buf) => {
      order.push('first');
      return buf;
    });
    const second = pool.acquire().then(() => order.push('second'));
    pool.release(b);
    expect(await first).toBe(b);
    pool.release(a);
    await second;
    expect(order).toEqual(['first', 'second']);
    expect(() => pool.release(Buffer.alloc(8))).toThrow();
  });

  test('a buffer released twice is our bug: it fails an assertion', async () => {
    const pool = new SocketReadPool({ bufferBytes: 16, buffersMax: 2 });
    const a = await pool.acquire();
    pool.release(a);
    expect(() => pool.release(a)).toThrow(/twice/);
  });
});

// A self-signed P-256 certificate for 'localhost', made for this test only (100-year validity).
const TEST_KEY = [
  '-----BEGIN PRIVATE KEY-----',
  'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrVdaUkKa8U9dLacu',
  'DnHk/VECLv9pEtgW5i6bLTTHqwuhRANCAAS/dqZKzAJyvlZw8u5gMFBNs2lAhNQZ',
  'CnBPi5BBZc90SfLW5+zEkP7ms1dVodQMRbhT5YBzZAA87KfX+7nW75dO',
  '-----END PRIVATE KEY-----',
].join('\n');
const TEST_CERT = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBfzCCASWgAwIBAgIUJJsy9Uy2hB9f4NwcT3dL9KD9P6owCgYIKoZIzj0EAwIw',
  'FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMjA4MDY1MloYDzIxMjYxMDI5',
  'MDgwNjUyWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO',
  'PQMBBwNCAAS/dqZKzAJyvlZw8u5gMFBNs2lAhNQZCnBPi5BBZc90SfLW5+zEkP7m',
  's1dVodQMRbhT5YBzZAA87KfX+7nW75dOo1MwUTAdBgNVHQ4EFgQULdY8ijPwYNcv',
  'RYwPfMavbYrUflowHwYDVR0jBBgwFoAULdY8ijPwYNcvRYwPfMavbYrUflowDwYD',
  'VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEA1RPftWqUELBsB7HcCoSj',
  'iBYtxIfDBBhLhIE/M8CeKzkCIFfkBhULHp5AqAySwDMy2hC6s+e7XpYQxYZoyKgz',
  'wcuZ',
  '-----END CERTIFICATE-----',
].join('\n');

test('a TLS socket never gets sendfile: regions are read, encrypted, arrive intact', async () => {
  const listener = createTlsServer({ key: TEST_KEY, cert: TEST_CERT });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const address = listener.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const accepted = new Promise<TLSSocket>((resolve) => listener.once('secureConnection', resolve));
  const client = tlsConnect({ port: address.port, host: '127.0.0.1', rejectUnauthorized: false });
  const server = await accepted;
  try {
    const chunks: OutboundChunk[] = [Buffer.from('hdr'), region(1000, 700_000), region(0, 10)];
    const received = receive(client as unknown as Socket, totalBytes(chunks));
    const writer = new SocketWriter(server);
    expect(writer.zeroCopy).toBe(false);
    await writer.write(chunks);
    expect((await received).equals(expected(chunks))).toBe(true);
    expect(writer.stats.bytesSentfile).toBe(0);
    expect(writer.stats.bytesCopied).toBe(700_010);
    for (const r of regionsOf(chunks)) expect(r.releases).toBe(1);
  } finally {
    client.destroy();
    server.destroy();
    listener.close();
  }
});
