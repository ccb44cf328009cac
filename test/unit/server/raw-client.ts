/**
 * A bare Kafka-framing TCP client for server tests: sends size-prefixed frames and hands back
 * response frames (without their size prefix) in arrival order, plus a promise of the close.
 */
import { connect, type Socket } from 'node:net';

export class RawClient {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  #parts: Buffer[] = [];
  #partsBytes = 0;
  /** Bytes needed before the next frame is complete (4 until its size is known). */
  #needBytes = 4;
  #frames: Buffer[] = [];
  #waiters: { count: number; resolve: (frames: Buffer[]) => void }[] = [];
  #isClosed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.once('close', () => {
      this.#isClosed = true;
      this.#wake();
    });
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
  }

  /** `allowHalfOpen`: keep our side open after the server ends its side (a stubborn peer). */
  static connect(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ...options }, () =>
        resolve(new RawClient(socket)),
      );
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Frames received so far and not yet taken. */
  get pending(): number {
    return this.#frames.length;
  }

  send(...bodies: Buffer[]): void {
    this.socket.write(Buffer.concat(bodies.map(frame)));
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next `count` response frames; rejects if the connection closes first. */
  take(count: number): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({
        count,
        resolve: (frames) => (frames.length === count ? resolve(frames) : reject(closedError())),
      });
      this.#wake();
    });
  }

  async takeOne(): Promise<Buffer> {
    const [first] = await this.take(1);
    return first as Buffer;
  }

  close(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#parts.push(chunk);
    this.#partsBytes += chunk.length;
    // Concatenate only once a whole frame is there, so large responses stay linear.
    while (this.#partsBytes >= this.#needBytes) {
      const buffer = Buffer.concat(this.#parts, this.#partsBytes);
      const size = buffer.readInt32BE(0);
      this.#needBytes = 4 + size;
      this.#parts = [buffer];
      if (buffer.length < 4 + size) break;
      this.#frames.push(buffer.subarray(4, 4 + size));
      const rest = buffer.subarray(4 + size);
      this.#parts = rest.length > 0 ? [rest] : [];
      this.#partsBytes = rest.length;
      this.#needBytes = 4;
    }
    this.#wake();
  }

  #wake(): void {
    while (this.#waiters.length > 0) {
      const waiter = this.#waiters[0] as { count: number; resolve: (f: Buffer[]) => void };
      if (this.#frames.length >= waiter.count) {
        this.#waiters.shift();
        waiter.resolve(this.#frames.splice(0, waiter.count));
      } else if (this.#isClosed) {
        this.#waiters.shift();
        waiter.resolve([]);
      } else {
        return;
      }
    }
  }
}

function closedError(): Error {
  return new Error('connection closed before the expected responses arrived');
}

export function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}
