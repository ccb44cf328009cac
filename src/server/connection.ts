/**
 * One client connection: frames in, responses out, in request order.
 *
 * Requests are handed to the processor in arrival order as soon as they are complete, so a
 * pipelining client gets concurrency; responses are written strictly in that same order,
 * whatever order their handlers finish in (Kafka's contract). Limits, all checked before
 * memory is committed:
 * - a frame larger than socket.request.max.bytes closes the connection before its body is
 *   buffered (protocol/frame.ts);
 * - at most `inFlightMax` requests are being handled or waiting to be written; at the bound the
 *   socket stops being read, so TCP flow control pushes back on the client;
 * - while the socket is not draining (the peer reads slower than we write) reading stops too;
 * - a connection with nothing in flight and no traffic for `idleMs` is closed.
 * A reply of kind 'close' (bad request, unsupported version) closes only this connection,
 * after the responses before it have been written.
 */

import { AssertionError } from 'node:assert';
import type { Socket } from 'node:net';
import { FrameDecoder } from '../../protocol/frame.ts';
import { BoundedQueue } from '../util/bounded-queue.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { BrokerError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { type ResponseChunk, releaseRegions, type WriteChunks } from './chunk-writer.ts';

/** How long a response write may wait before a stalled peer is logged. */
const WRITE_STALL_LOG_MS = 50;

export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly listenerName: string;
  readonly logger: Logger;
}

export type Reply =
  | { readonly kind: 'respond'; readonly chunks: readonly ResponseChunk[] }
  /** No response is sent (e.g. Produce with acks=0). */
  | { readonly kind: 'silent' }
  /** Close the connection; `details` go into the log line (apiKey, version, ...). */
  | {
      readonly kind: 'close';
      readonly reason: string;
      readonly details?: Readonly<Record<string, unknown>>;
    };

export interface RequestProcessor {
  /** Called once per frame, in arrival order; the frame may be a view of received bytes. */
  process(frame: Buffer, connection: ConnectionInfo): Reply | Promise<Reply>;
}

export interface ConnectionLimits {
  readonly frameSizeBytesMax: number;
  readonly inFlightMax: number;
  readonly idleMs: number;
}

interface InFlight {
  reply: Reply | undefined;
}

type State = 'open' | 'draining' | 'closed';

export class Connection {
  readonly info: ConnectionInfo;
  /** Settles when the socket has closed, for whatever reason. */
  readonly closed: Promise<void>;
  #socket: Socket;
  #processor: RequestProcessor;
  #writeChunks: WriteChunks;
  #clock: Clock;
  #idleMs: number;
  #decoder: FrameDecoder;
  #frameSizeBytesMax: number;
  #backlog: Buffer[] = [];
  #inFlight: BoundedQueue<InFlight>;
  #state: State = 'open';
  #closeReason: Reply | undefined;
  #writing = false;
  #paused = false;
  #lastActivityMs: number;
  #idleTimer: TimerHandle | undefined;

  constructor(
    socket: Socket,
    info: ConnectionInfo,
    processor: RequestProcessor,
    limits: ConnectionLimits,
    writeChunks: WriteChunks,
    clock: Clock,
  ) {
    this.info = info;
    this.#socket = socket;
    this.#processor = processor;
    this.#writeChunks = writeChunks;
    this.#clock = clock;
    this.#idleMs = limits.idleMs;
    this.#decoder = new FrameDecoder(limits.frameSizeBytesMax);
    this.#frameSizeBytesMax = limits.frameSizeBytesMax;
    this.#inFlight = new BoundedQueue(limits.inFlightMax);
    this.#lastActivityMs = clock.monotonicMs();
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#updateReading());
    socket.on('error', (error) => info.logger.debug({ err: error }, 'socket error'));
    socket.once('close', () => this.#onClose());
    this.#armIdleTimer(this.#idleMs);
  }

  get inFlightCount(): number {
    return this.#inFlight.length;
  }

  /**
   * Graceful close: read nothing more, answer every request already received, then close.
   * Resolves when the socket is closed.
   */
  drain(): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'draining';
      this.#updateReading();
      this.#finishIfDrained();
    }
    return this.closed;
  }

  /** Closes at once; requests in flight are dropped (their regions released). */
  destroy(
    reason: string,
    details?: Readonly<Record<string, unknown>>,
    level: 'warn' | 'info' = 'warn',
  ): void {
    if (this.#socket.destroyed) return;
    // A gracefully ended socket is 'closed' but may still wait for the peer: cut it quietly.
    if (this.#state !== 'closed') {
      // The connection's logger already carries the remote address and connection id.
      this.info.logger[level]({ ...details, reason }, `closing connection: ${reason}`);
    }
    this.#close();
  }

  #onData(chunk: Buffer): void {
    if (this.#state !== 'open') return;
    this.#touch();
    for (const frame of this.#decoder.push(chunk)) this.#backlog.push(frame);
    const error = this.#decoder.error;
    if (error) {
      // Requests that arrived whole before the bad frame are still answered, then we close.
      const reason =
        `frame size ${error.sizeBytes} is negative or exceeds ` +
        `socket.request.max.bytes ${this.#frameSizeBytesMax}`;
      this.#closeReason = { kind: 'close', reason };
      this.#state = 'draining';
    }
    this.#pump();
  }

  /** Starts backlog requests while the in-flight bound allows, then adjusts reading. */
  #pump(): void {
    while (this.#backlog.length > 0 && !this.#inFlight.isFull() && this.#state !== 'closed') {
      this.#start(this.#backlog.shift() as Buffer);
    }
    this.#updateReading();
    void this.#flush();
  }

  #start(frame: Buffer): void {
    const entry: InFlight = { reply: undefined };
    this.#inFlight.push(entry);
    let result: Reply | Promise<Reply>;
    try {
      result = this.#processor.process(frame, this.info);
    } catch (error) {
      result = this.#failure(error);
    }
    if (!(result instanceof Promise)) {
      entry.reply = result;
      return;
    }
    result.then(
      (reply) => this.#settle(entry, reply),
      (error: unknown) => this.#settle(entry, this.#failure(error)),
    );
  }

  #settle(entry: InFlight, reply: Reply): void {
    if (this.#state === 'closed') {
      if (reply.kind === 'respond') releaseRegions(reply.chunks);
      return;
    }
    entry.reply = reply;
    void this.#flush();
  }

  /** A handler threw. Our own bugs (assertions) are not caught: they crash, loudly. */
  #failure(error: unknown): Reply {
    if (error instanceof AssertionError) {
      process.nextTick(() => {
        throw error;
      });
    }
    // A BrokerError is an expected operating condition (e.g. acks=0 Produce with an error,
    // which Kafka answers by closing): the close is logged with its reason, as a warning.
    if (error instanceof BrokerError) {
      this.info.logger.warn({ err: error, code: error.code }, 'request handling failed');
    } else {
      this.info.logger.error({ err: error }, 'request handling failed');
    }
    const why = error instanceof Error ? error.message : String(error);
    return { kind: 'close', reason: `request handling failed: ${why}` };
  }

  /** Writes settled replies from the head of the queue, one at a time, in order. */
  async #flush(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      for (;;) {
        if (this.#state === 'closed') return;
        const head = this.#inFlight.peek();
        if (head === undefined || head.reply === undefined) break;
        this.#inFlight.shift();
        const reply = head.reply;
        if (reply.kind === 'close') {
          this.destroy(reply.reason, reply.details);
          return;
        }
        if (reply.kind === 'respond') {
          const written = this.#writeChunks(this.#socket, reply.chunks);
          // Writers may queue before touching the socket (sendfile waits for earlier bytes), so
          // a stalled peer is noticed by a write still pending a moment later, not at once.
          const stall = this.#clock.setTimer(WRITE_STALL_LOG_MS, () => {
            if (this.#socket.writableNeedDrain) {
              this.info.logger.debug('waiting for the peer to read its responses');
            }
          });
          await written.finally(() => stall.cancel());
          this.#touch();
        }
        this.#pump();
      }
    } catch (error) {
      // The socket closed under a write: nothing more can be sent on it.
      this.info.logger.debug({ err: error }, 'write failed');
      this.#close();
      return;
    } finally {
      this.#writing = false;
    }
    this.#finishIfDrained();
  }

  #finishIfDrained(): void {
    if (this.#state !== 'draining' || this.#writing) return;
    if (this.#backlog.length > 0 || !this.#inFlight.isEmpty()) return;
    const reason = this.#closeReason;
    if (reason?.kind === 'close') {
      this.destroy(reason.reason, reason.details);
      return;
    }
    this.#state = 'closed';
    this.#cancelIdleTimer();
    this.#socket.end();
  }

  #updateReading(): void {
    const read =
      this.#state === 'open' &&
      this.#backlog.length === 0 &&
      !this.#inFlight.isFull() &&
      !this.#socket.writableNeedDrain;
    if (read && this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    } else if (!read && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  #touch(): void {
    this.#lastActivityMs = this.#clock.monotonicMs();
  }

  #armIdleTimer(delayMs: number): void {
    this.#idleTimer = this.#clock.setTimer(delayMs, () => this.#checkIdle());
  }

  #cancelIdleTimer(): void {
    this.#idleTimer?.cancel();
    this.#idleTimer = undefined;
  }

  #checkIdle(): void {
    if (this.#state === 'closed') return;
    const idleForMs = this.#clock.monotonicMs() - this.#lastActivityMs;
    const busy = !this.#inFlight.isEmpty() || this.#backlog.length > 0;
    if (!busy && idleForMs >= this.#idleMs) {
      const reason = `idle for ${Math.round(idleForMs)} ms (connections.max.idle.ms)`;
      this.destroy(reason, undefined, 'info');
      return;
    }
    this.#armIdleTimer(busy ? this.#idleMs : Math.max(1, this.#idleMs - idleForMs));
  }

  #close(): void {
    this.#state = 'closed';
    this.#socket.destroy();
    this.#onClose();
  }

  /** Releases what was never written; runs once the socket is gone, however that happened. */
  #onClose(): void {
    this.#state = 'closed';
    this.#cancelIdleTimer();
    this.#backlog = [];
    for (const entry of this.#inFlight.drain()) {
      if (entry.reply?.kind === 'respond') releaseRegions(entry.reply.chunks);
    }
  }
}
