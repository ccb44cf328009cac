/**
 * A pipelining load client: keeps up to `inFlight` pre-encoded request frames outstanding on
 * one TCP connection and counts the size-prefixed responses as they come back. Responses are
 * not decoded on the hot loop (the client must not be the bottleneck); the caller may keep a
 * few for checking.
 */
import { connect, type Socket } from 'node:net';

export interface PipelineResult {
  readonly requests: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly elapsedNs: bigint;
  /** The first and last response frames (without size prefix), for the caller's checks. */
  readonly first: Buffer | undefined;
  readonly last: Buffer | undefined;
}

export class PipelinedConnection {
  readonly #socket: Socket;
  #onFrame: ((frame: Buffer | undefined, bytes: number) => void) | undefined;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #need = 4;
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    socket.once('close', () => {
      this.#closed = true;
      this.#onFrame?.(undefined, 0);
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<PipelinedConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true }, () =>
        resolve(new PipelinedConnection(socket)),
      );
      socket.once('error', reject);
    });
  }

  /**
   * Sends `count` requests, `frameAt(i)` being the i-th (with its size prefix), at most
   * `inFlight` unanswered at once; resolves when every response has arrived.
   */
  run(count: number, inFlight: number, frameAt: (i: number) => Buffer): Promise<PipelineResult> {
    return new Promise((resolve, reject) => {
      let sent = 0;
      let answered = 0;
      let requestBytes = 0;
      let responseBytes = 0;
      let first: Buffer | undefined;
      let last: Buffer | undefined;
      const start = process.hrtime.bigint();
      const pump = (): void => {
        while (sent < count && sent - answered < inFlight) {
          const frame = frameAt(sent++);
          requestBytes += frame.length;
          this.#socket.write(frame);
        }
      };
      this.#onFrame = (frame, bytes) => {
        if (frame === undefined) {
          reject(new Error(`connection closed after ${answered} of ${count} responses`));
          return;
        }
        answered++;
        responseBytes += bytes;
        if (answered === 1) first = Buffer.from(frame);
        if (answered === count) {
          last = Buffer.from(frame);
          this.#onFrame = undefined;
          const elapsedNs = process.hrtime.bigint() - start;
          resolve({ requests: count, requestBytes, responseBytes, elapsedNs, first, last });
          return;
        }
        pump();
      };
      if (this.#closed) reject(new Error('connection closed'));
      else pump();
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  /** Cuts frames without joining chunks until a whole frame is there. */
  #onData(chunk: Buffer): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    while (this.#pendingBytes >= this.#need) {
      const buffer =
        this.#pending.length === 1
          ? (this.#pending[0] as Buffer)
          : Buffer.concat(this.#pending, this.#pendingBytes);
      const size = buffer.readInt32BE(0);
      if (buffer.length < 4 + size) {
        this.#pending = [buffer];
        this.#need = 4 + size;
        return;
      }
      const rest = buffer.subarray(4 + size);
      this.#pending = rest.length > 0 ? [rest] : [];
      this.#pendingBytes = rest.length;
      this.#need = 4;
      this.#onFrame?.(buffer.subarray(4, 4 + size), 4 + size);
    }
  }
}
