/**
 * A TCP proxy in front of one node's listener, the chaos nemesis' way to break the network on
 * loopback. Clients and peers are told the proxy's port (advertised.listeners, quorum voters),
 * so every connection to the node passes here. Faults:
 * - `cut()`: close every connection (both sides) and close new ones at once: peers see resets;
 * - `blackhole()`: keep connections open but drop every byte, and accept new ones without
 *   reaching the node: peers see silence and time out;
 * - `delay(ms)`: forward every chunk `ms` later (order kept);
 * - `heal()`: back to forwarding; connections that lost bytes while blackholed are closed, as
 *   their streams are no longer well framed.
 * Each direction buffers at most `bufferedBytesMax` while delayed: beyond it the source is
 * paused until the delayed bytes are written.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'cut' | 'blackhole';

const bufferedBytesMax = 4 * 1024 * 1024;

export interface FaultProxyOptions {
  /** 0: any free port. */
  readonly listenPort: number;
  readonly targetPort: number;
  readonly host?: string;
}

interface Link {
  readonly client: Socket;
  readonly server: Socket;
  /** Bytes were dropped: the stream cannot be resumed. */
  broken: boolean;
}

export class FaultProxy {
  readonly #options: FaultProxyOptions;
  readonly #host: string;
  #server: Server | undefined;
  #port = 0;
  #mode: ProxyMode = 'pass';
  #delayMs = 0;
  readonly #links = new Set<Link>();
  /** Sockets accepted while cut or blackholed, never linked to the node. */
  readonly #orphans = new Set<Socket>();
  #connections = 0;

  constructor(options: FaultProxyOptions) {
    this.#options = options;
    this.#host = options.host ?? '127.0.0.1';
  }

  get port(): number {
    return this.#port;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  get delayMs(): number {
    return this.#delayMs;
  }

  /** Connections accepted since start. */
  get connections(): number {
    return this.#connections;
  }

  /** Open links to the node (forwarding or blackholed). */
  get openLinks(): number {
    return this.#links.size;
  }

  async start(): Promise<number> {
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.listenPort, this.#host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('proxy has no address');
    this.#port = address.port;
    return this.#port;
  }

  cut(): void {
    this.#mode = 'cut';
    for (const link of this.#links) this.#close(link);
    for (const socket of this.#orphans) socket.destroy();
    this.#orphans.clear();
  }

  blackhole(): void {
    this.#mode = 'blackhole';
  }

  delay(ms: number): void {
    this.#delayMs = Math.max(0, ms);
  }

  heal(): void {
    this.#mode = 'pass';
    this.#delayMs = 0;
    for (const link of this.#links) if (link.broken) this.#close(link);
    for (const socket of this.#orphans) socket.destroy();
    this.#orphans.clear();
  }

  async close(): Promise<void> {
    for (const link of this.#links) this.#close(link);
    for (const socket of this.#orphans) socket.destroy();
    this.#orphans.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  #accept(client: Socket): void {
    this.#connections += 1;
    client.on('error', () => {});
    if (this.#mode === 'cut') {
      client.destroy();
      return;
    }
    if (this.#mode === 'blackhole') {
      // Read and drop: the peer's writes succeed and its requests are never answered.
      this.#orphans.add(client);
      client.on('data', () => {});
      client.on('close', () => this.#orphans.delete(client));
      return;
    }
    const server = connect({ host: this.#host, port: this.#options.targetPort, noDelay: true });
    client.setNoDelay(true);
    server.on('error', () => {});
    const link: Link = { client, server, broken: false };
    this.#links.add(link);
    this.#pipe(link, client, server);
    this.#pipe(link, server, client);
    const close = (): void => this.#close(link);
    client.on('close', close);
    server.on('close', close);
  }

  #pipe(link: Link, from: Socket, to: Socket): void {
    // Delayed chunks wait in a FIFO drained by one timer, so they leave in arrival order.
    const queue: { chunk: Buffer; dueMs: number }[] = [];
    let buffered = 0;
    let timer: NodeJS.Timeout | undefined;
    const drain = (): void => {
      timer = undefined;
      const nowMs = performance.now();
      while (queue.length > 0 && (queue[0] as { dueMs: number }).dueMs <= nowMs) {
        const { chunk } = queue.shift() as { chunk: Buffer };
        buffered -= chunk.length;
        if (!to.destroyed) to.write(chunk);
      }
      if (buffered <= bufferedBytesMax && from.isPaused()) from.resume();
      const head = queue[0];
      if (head) timer = setTimeout(drain, Math.max(1, head.dueMs - nowMs));
    };
    from.on('data', (chunk: Buffer) => {
      if (this.#mode !== 'pass') {
        link.broken = true;
        return;
      }
      if (this.#delayMs === 0 && queue.length === 0) {
        to.write(chunk);
        return;
      }
      queue.push({ chunk, dueMs: performance.now() + this.#delayMs });
      buffered += chunk.length;
      if (buffered > bufferedBytesMax) from.pause();
      timer ??= setTimeout(drain, this.#delayMs);
    });
    from.on('end', () => {
      if (!to.destroyed && queue.length === 0) to.end();
    });
    from.on('close', () => {
      if (timer) clearTimeout(timer);
    });
  }

  #close(link: Link): void {
    this.#links.delete(link);
    link.client.destroy();
    link.server.destroy();
  }
}
