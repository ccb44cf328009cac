/**
 * The TCP listener: accepts connections up to `connectionsMax`, gives each a Connection, and
 * stops gracefully (stop accepting, let every connection answer what it already received,
 * close; connections still busy after the grace period are cut).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Clock } from '../util/clock.ts';
import { BrokerError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { bufferedChunkWriter, type WriteChunks } from './chunk-writer.ts';
import { Connection, type ConnectionLimits, type RequestProcessor } from './connection.ts';

export interface KafkaServerOptions {
  readonly listenerName: string;
  /** '' binds every interface. */
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly processor: RequestProcessor;
  readonly limits: ConnectionLimits & { readonly connectionsMax: number };
  readonly logger: Logger;
  readonly clock: Clock;
  /** How responses reach the socket; default: Buffers only, regions via `bufferedChunkWriter`. */
  readonly writeChunks?: WriteChunks;
}

export const ServerErrorCode = {
  addressInUse: 'ERR_LISTEN_ADDRESS_IN_USE',
  listenFailed: 'ERR_LISTEN_FAILED',
} as const;

export class KafkaServer {
  readonly listenerName: string;
  #options: KafkaServerOptions;
  #server: Server;
  #connections = new Set<Connection>();
  #nextConnectionId = 1;
  #writeChunks: WriteChunks;
  #address: { host: string; port: number } | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: KafkaServerOptions) {
    this.listenerName = options.listenerName;
    this.#options = options;
    this.#writeChunks = options.writeChunks ?? bufferedChunkWriter();
    // As Kafka's sockets: no Nagle delay (a small response must not wait for the next one),
    // TCP keepalive (a peer that vanished without a FIN is found eventually).
    this.#server = createServer({ noDelay: true, keepAlive: true }, (socket) =>
      this.#accept(socket),
    );
  }

  /** The bound address; only after `listen()` resolved. */
  get address(): { host: string; port: number } {
    if (!this.#address) throw new Error('KafkaServer.address read before listen()');
    return this.#address;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  listen(): Promise<{ host: string; port: number }> {
    const { host, port } = this.#options;
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        reject(listenError(error, host, port));
      };
      this.#server.once('error', onError);
      this.#server.listen({ host: host === '' ? undefined : host, port, exclusive: true }, () => {
        this.#server.off('error', onError);
        this.#server.on('error', (e) => this.#options.logger.error({ err: e }, 'listener error'));
        const bound = this.#server.address();
        const boundPort = typeof bound === 'object' && bound !== null ? bound.port : port;
        this.#address = { host: host === '' ? '0.0.0.0' : host, port: boundPort };
        resolve(this.#address);
      });
    });
  }

  /**
   * Graceful stop. Connections that have not finished within `graceMs` are destroyed, so a
   * stop always completes.
   */
  stop(graceMs = 5_000): Promise<void> {
    this.#stopping ??= this.#stop(graceMs);
    return this.#stopping;
  }

  async #stop(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (!this.#server.listening) resolve();
      else this.#server.close(() => resolve());
    });
    const connections = [...this.#connections];
    const timer = this.#options.clock.setTimer(graceMs, () => {
      for (const c of connections) c.destroy('still busy when the broker stopped');
    });
    await Promise.all(connections.map((c) => c.drain()));
    timer.cancel();
    await closed;
  }

  #accept(socket: Socket): void {
    const { logger, limits } = this.#options;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.#stopping) {
      socket.destroy();
      return;
    }
    if (this.#connections.size >= limits.connectionsMax) {
      logger.warn({ remote }, `refusing connection: max.connections ${limits.connectionsMax}`);
      socket.destroy();
      return;
    }
    const id = this.#nextConnectionId++;
    const info = {
      id,
      remoteAddress: socket.remoteAddress ?? '?',
      remotePort: socket.remotePort ?? 0,
      listenerName: this.listenerName,
      logger: logger.child({ conn: id, remote }),
    };
    const connection = new Connection(
      socket,
      info,
      this.#options.processor,
      limits,
      this.#writeChunks,
      this.#options.clock,
    );
    this.#connections.add(connection);
    void connection.closed.then(() => this.#connections.delete(connection));
  }
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): BrokerError {
  const where = `${host === '' ? '*' : host}:${port}`;
  if (error.code === 'EADDRINUSE') {
    return new BrokerError(
      ServerErrorCode.addressInUse,
      `cannot listen on ${where}: the port is in use (another broker?). ` +
        'Pick another with --port N, or --port 0 for any free port.',
      { cause: error },
    );
  }
  return new BrokerError(
    ServerErrorCode.listenFailed,
    `cannot listen on ${where}: ${error.message}`,
    { cause: error },
  );
}
