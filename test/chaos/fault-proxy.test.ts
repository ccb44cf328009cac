/**
 * The fault proxy with real sockets on loopback, in front of an echo server: it forwards,
 * cuts (existing and new connections close), blackholes (connections stay open, bytes vanish),
 * delays (in order), and heals.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FaultProxy } from './fault-proxy.ts';

let echo: Server;
let echoPort = 0;
const proxies: FaultProxy[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  echo = createServer((socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as { port: number }).port;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  for (const proxy of proxies) await proxy.close();
  await new Promise((resolve) => echo.close(resolve));
});

async function newProxy(): Promise<FaultProxy> {
  const proxy = new FaultProxy({ listenPort: 0, targetPort: echoPort });
  proxies.push(proxy);
  await proxy.start();
  return proxy;
}

/** A connected client that collects what it reads and tells when it closes. */
async function client(port: number) {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  socket.on('error', () => {});
  let received = '';
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString();
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return {
    socket,
    closed,
    received: () => received,
    /** Resolves once `length` bytes arrived, or rejects after `timeoutMs`. */
    async until(length: number, timeoutMs = 5_000): Promise<string> {
      const deadline = performance.now() + timeoutMs;
      while (received.length < length) {
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`only ${received.length} of ${length} bytes`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('FaultProxy', () => {
  test('forwards both ways', async () => {
    const proxy = await newProxy();
    const c = await client(proxy.port);
    c.socket.write('hello');
    expect(await c.until(5)).toBe('hello');
    expect(proxy.connections).toBe(1);
    expect(proxy.openLinks).toBe(1);
  });

  test('cut closes open connections and every new one; heal lets new ones through', async () => {
    const proxy = await newProxy();
    const before = await client(proxy.port);
    before.socket.write('a');
    await before.until(1);
    proxy.cut();
    await before.closed;
    expect(proxy.openLinks).toBe(0);

    const during = connect({ host: '127.0.0.1', port: proxy.port });
    sockets.push(during);
    during.on('error', () => {});
    await new Promise<void>((resolve) => during.once('close', () => resolve()));
    expect(during.bytesRead).toBe(0);

    proxy.heal();
    const after = await client(proxy.port);
    after.socket.write('back');
    expect(await after.until(4)).toBe('back');
  });

  test('blackhole drops bytes without closing; heal closes the broken streams', async () => {
    const proxy = await newProxy();
    const open = await client(proxy.port);
    proxy.blackhole();
    open.socket.write('lost');
    const fresh = await client(proxy.port); // accepted, never reaches the echo server
    fresh.socket.write('also lost');
    await expect(open.until(1, 300)).rejects.toThrow('only 0 of 1 bytes');
    expect(fresh.received()).toBe('');
    expect(open.socket.destroyed).toBe(false);
    expect(fresh.socket.destroyed).toBe(false);

    proxy.heal();
    await open.closed;
    await fresh.closed;
    const after = await client(proxy.port);
    after.socket.write('ok');
    expect(await after.until(2)).toBe('ok');
  });

  test('delay holds bytes back, in order', async () => {
    const proxy = await newProxy();
    const c = await client(proxy.port);
    proxy.delay(150);
    const startedMs = performance.now();
    const parts = Array.from({ length: 50 }, (_, i) => `<${i}>`);
    for (const [i, part] of parts.entries()) {
      c.socket.write(part);
      if (i === 25) proxy.delay(10); // a shorter delay must not let later bytes overtake
      await sleep(1);
    }
    const expected = parts.join('');
    expect(await c.until(expected.length)).toBe(expected);
    // At least one direction carried the 150 ms delay.
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(150);
    proxy.heal();
    expect(proxy.delayMs).toBe(0);
  });
});
