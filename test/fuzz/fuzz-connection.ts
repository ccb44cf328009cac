/**
 * One fuzzing connection to a live broker: writes raw bytes, collects every response frame
 * (size prefix removed) in arrival order and notices when the broker closes. Unlike the
 * server tests' RawClient it never throws frames away on a close, because what arrived before
 * the close is exactly what the fuzzer checks.
 */
import { connect, type Socket } from 'node:net';

/** Responses larger than this are a broker bug here (fuzz requests are small). */
const responseBytesMax = 16 * 1024 * 1024;

export class FuzzConnection {
  readonly socket: Socket;
  /** Our port: the `remote` the broker's log lines name. */
  readonly localPort: number;
  readonly frames: Buffer[] = [];
  /** Settles when the socket is closed, by either side. */
  readonly closed: Promise<void>;
  #parts: Buffer[] = [];
  #partsBytes = 0;
  #isClosed = false;
  #closedByUs = false;
  #badFrame: string | undefined;
  /** Each returns true once satisfied (and is then dropped). */
  #waiters: (() => boolean)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    this.localPort = socket.localPort ?? 0;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.once('close', () => {
      this.#isClosed = true;
      this.#wake();
    });
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
  }

  static open(port: number): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, noDelay: true }, () =>
        resolve(new FuzzConnection(socket)),
      );
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** True when the broker closed (we had not). */
  get closedByBroker(): boolean {
    return this.#isClosed && !this.#closedByUs;
  }

  /** Set when a response frame could not be cut (a negative or absurd size). */
  get badFrame(): string | undefined {
    return this.#badFrame;
  }

  /** Writes and resolves once the bytes are handed to the kernel (or the socket is gone). */
  write(bytes: Buffer): Promise<void> {
    if (this.#isClosed || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.write(bytes, () => resolve()));
  }

  /** Resolves when `count` frames have arrived or the connection closed. */
  waitFor(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        if (this.frames.length >= count || this.#isClosed) {
          resolve();
          return true;
        }
        return false;
      };
      if (!check()) this.#waiters.push(check);
    });
  }

  /** Resolves when a frame satisfying `match` arrived (true) or the connection closed (false). */
  async waitForFrame(match: (frame: Buffer) => boolean): Promise<boolean> {
    for (let seen = 0; ; seen++) {
      await this.waitFor(seen + 1);
      const frame = this.frames[seen];
      if (frame === undefined) return false;
      if (match(frame)) return true;
    }
  }

  close(): void {
    if (!this.#isClosed) this.#closedByUs = true;
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#parts.push(chunk);
    this.#partsBytes += chunk.length;
    while (this.#partsBytes >= 4) {
      const buffer =
        this.#parts.length === 1
          ? (this.#parts[0] as Buffer)
          : Buffer.concat(this.#parts, this.#partsBytes);
      this.#parts = [buffer];
      const size = buffer.readInt32BE(0);
      if (size < 0 || size > responseBytesMax) {
        this.#badFrame = `response frame size ${size}`;
        this.close();
        return;
      }
      if (buffer.length < 4 + size) break;
      this.frames.push(Buffer.from(buffer.subarray(4, 4 + size)));
      const rest = buffer.subarray(4 + size);
      this.#parts = rest.length > 0 ? [rest] : [];
      this.#partsBytes = rest.length;
    }
    this.#wake();
  }

  #wake(): void {
    this.#waiters = this.#waiters.filter((waiter) => !waiter());
  }
}

/** A frame body with its int32 size prefix. */
export function sized(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}
