/**
 * A small Kafka-protocol client for node-to-node requests (quorum traffic between controllers;
 * later broker-to-controller): one TCP connection to one peer, requests framed with the
 * generated codecs, responses matched by correlation id.
 *
 * - Versions are fixed by the caller: Brook nodes speak the same versions, so no ApiVersions
 *   round trip.
 * - Every request has a timeout; a timed-out request rejects, and since a late response can
 *   no longer be told from a confused stream, the connection is closed and reopened.
 * - Connecting is lazy and retried with exponential backoff (capped); while disconnected,
 *   requests wait in a bounded queue (beyond `queuedMax` they reject at once), so a dead peer
 *   costs bounded memory.
 * - A response whose correlation id is unknown, or that does not decode, closes the
 *   connection: a peer's bytes are never trusted to be well formed.
 * Errors reject with BrokerError codes `NODE_CLIENT_TIMEOUT`, `NODE_CLIENT_DISCONNECTED`,
 * `NODE_CLIENT_QUEUE_FULL`, `NODE_CLIENT_CLOSED`, `NODE_CLIENT_BAD_RESPONSE`.
 */
import { connect, type Socket } from 'node:net';
import { encodeRequestFrame, FrameDecoder, readResponseHeader } from '../../protocol/frame.ts';
import type { ApiDescriptor } from '../../protocol/generated/api-table.ts';
import { Reader } from '../../protocol/wire/reader.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { BrokerError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';

export interface NodeClientOptions {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
  /** Requests queued or in flight; beyond it a request is refused. */
  readonly queuedMax: number;
  readonly backoffMsMin: number;
  readonly backoffMsMax: number;
  readonly frameBytesMax: number;
}

export const nodeClientDefaults = {
  requestTimeoutMs: 5_000,
  queuedMax: 256,
  backoffMsMin: 50,
  backoffMsMax: 1_000,
  frameBytesMax: 64 * 1024 * 1024,
} as const;

interface Pending {
  readonly correlationId: number;
  readonly frame: Buffer[];
  readonly decode: (r: Reader) => unknown;
  readonly responseHeaderVersion: number;
  readonly resolve: (response: unknown) => void;
  readonly reject: (error: Error) => void;
  timer: TimerHandle | undefined;
  sent: boolean;
}

export class NodeClient {
  readonly #options: NodeClientOptions;
  #socket: Socket | undefined;
  #connected = false;
  #decoder: FrameDecoder;
  #pending = new Map<number, Pending>();
  #nextCorrelationId = 1;
  #backoffMs: number;
  #reconnectTimer: TimerHandle | undefined;
  #closed = false;

  constructor(options: NodeClientOptions) {
    this.#options = options;
    this.#backoffMs = options.backoffMsMin;
    this.#decoder = new FrameDecoder(options.frameBytesMax);
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Sends one request and resolves with the decoded response body. */
  request<Req, Res>(api: ApiDescriptor<Req, Res>, version: number, body: Req): Promise<Res> {
    if (this.#closed) return Promise.reject(clientError('NODE_CLIENT_CLOSED', 'client closed'));
    if (this.#pending.size >= this.#options.queuedMax) {
      const message = `${this.#peer()}: ${this.#pending.size} requests already waiting`;
      return Promise.reject(clientError('NODE_CLIENT_QUEUE_FULL', message));
    }
    const correlationId = this.#nextCorrelationId;
    this.#nextCorrelationId = (this.#nextCorrelationId % 0x7fffffff) + 1;
    const chunks = encodeRequestFrame(api, version, correlationId, this.#options.clientId, body);
    const frame = chunks.map((chunk) => {
      if (!Buffer.isBuffer(chunk)) throw new TypeError('node requests carry no file regions');
      return chunk;
    });
    return new Promise<Res>((resolve, reject) => {
      const pending: Pending = {
        correlationId,
        frame,
        decode: (r) => api.decodeResponse(r, version),
        responseHeaderVersion: api.responseHeaderVersion(version),
        resolve: resolve as (response: unknown) => void,
        reject,
        timer: undefined,
        sent: false,
      };
      pending.timer = this.#options.clock.setTimer(this.#options.requestTimeoutMs, () => {
        this.#onTimeout(pending);
      });
      this.#pending.set(correlationId, pending);
      if (this.#connected) this.#write(pending);
      else this.#ensureConnecting();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reconnectTimer?.cancel();
    this.#failAll(clientError('NODE_CLIENT_CLOSED', 'client closed'));
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #peer(): string {
    return `${this.#options.host}:${this.#options.port}`;
  }

  #ensureConnecting(): void {
    if (this.#socket || this.#reconnectTimer || this.#closed) return;
    const socket = connect({ host: this.#options.host, port: this.#options.port, noDelay: true });
    this.#socket = socket;
    this.#decoder = new FrameDecoder(this.#options.frameBytesMax);
    socket.on('connect', () => {
      this.#connected = true;
      this.#backoffMs = this.#options.backoffMsMin;
      for (const pending of this.#pending.values()) this.#write(pending);
    });
    socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on('error', (error) => {
      this.#options.logger.debug({ peer: this.#peer(), err: error.message }, 'peer connection');
    });
    socket.on('close', () => {
      if (socket === this.#socket) this.#detach();
    });
  }

  #write(pending: Pending): void {
    if (pending.sent || !this.#socket) return;
    pending.sent = true;
    for (const buf of pending.frame) this.#socket.write(buf);
  }

  #onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.#socket) return;
    const frames = this.#decoder.push(chunk);
    for (const frame of frames) {
      if (!this.#onFrame(frame)) {
        this.#abandon();
        return;
      }
    }
    if (this.#decoder.error) {
      this.#options.logger.warn({ peer: this.#peer() }, 'oversized response frame');
      this.#abandon();
    }
  }

  /** False when the frame is unusable (the connection is then closed). */
  #onFrame(frame: Buffer): boolean {
    if (frame.length < 4) return false;
    const pending = this.#pending.get(frame.readInt32BE(0));
    if (!pending) return false;
    this.#pending.delete(pending.correlationId);
    pending.timer?.cancel();
    const r = new Reader(frame);
    readResponseHeader(r, pending.responseHeaderVersion);
    const body = pending.decode(r);
    if (!r.ok) {
      pending.reject(clientError('NODE_CLIENT_BAD_RESPONSE', `${this.#peer()}: ${r.error}`));
      return false;
    }
    pending.resolve(body);
    return true;
  }

  #onTimeout(pending: Pending): void {
    if (this.#pending.get(pending.correlationId) !== pending) return;
    this.#pending.delete(pending.correlationId);
    const message = `${this.#peer()}: no answer in ${this.#options.requestTimeoutMs} ms`;
    pending.reject(clientError('NODE_CLIENT_TIMEOUT', message));
    // Sent and unanswered: the stream's state is unknown, start over.
    if (pending.sent) this.#abandon();
  }

  /** Closes the current connection at once: later requests wait for a new one. */
  #abandon(): void {
    const socket = this.#socket;
    if (!socket) return;
    this.#detach();
    socket.destroy();
  }

  #detach(): void {
    this.#socket = undefined;
    this.#connected = false;
    // Requests already sent are lost with the connection; those never sent wait for the next.
    for (const pending of [...this.#pending.values()]) {
      if (!pending.sent) continue;
      this.#pending.delete(pending.correlationId);
      pending.timer?.cancel();
      pending.reject(clientError('NODE_CLIENT_DISCONNECTED', `${this.#peer()} disconnected`));
    }
    if (this.#closed || this.#pending.size === 0) return;
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const delayMs = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#options.backoffMsMax);
    this.#reconnectTimer = this.#options.clock.setTimer(delayMs, () => {
      this.#reconnectTimer = undefined;
      if (this.#pending.size > 0) this.#ensureConnecting();
    });
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending.values()) {
      pending.timer?.cancel();
      pending.reject(error);
    }
    this.#pending.clear();
  }
}

function clientError(code: string, message: string): BrokerError {
  return new BrokerError(code, message);
}
