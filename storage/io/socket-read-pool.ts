/**
 * A bounded pool of read buffers for the fallback path of the socket writer (no sendfile
 * addon, or a TLS socket): a file region is read into a pooled buffer with a positional read
 * and handed to socket.write; the buffer returns to the pool when the socket's write callback
 * says the kernel has it.
 *
 * The pool bounds the memory all connections together spend on fetch reads
 * (`bufferBytes * buffersMax`, 4 MiB by default). A writer holds at most two buffers: one
 * being sent, one being read ahead (it waits for 'drain' after each 64 KiB write, which
 * exceeds the socket's 16 KiB high-water mark). So it takes `buffersMax / 2` consumers that
 * stopped reading to hold the whole pool; until one of them drains or closes, the others wait
 * for a buffer in arrival order. The fallback serves machines without the addon and TLS
 * listeners; size the pool for their stalled-consumer count. 64 KiB matches a typical fetch's
 * read-ahead and keeps per-read overhead (a thread-pool round trip) small next to the copy.
 */
import assert from 'node:assert';

export const POOL_BUFFER_BYTES_DEFAULT = 64 * 1024;
export const POOL_BUFFERS_MAX_DEFAULT = 64;

export class SocketReadPool {
  readonly bufferBytes: number;
  readonly buffersMax: number;
  #free: Buffer[] = [];
  #created = 0;
  #waiters: Array<(buf: Buffer) => void> = [];

  constructor(options: { bufferBytes?: number; buffersMax?: number } = {}) {
    this.bufferBytes = options.bufferBytes ?? POOL_BUFFER_BYTES_DEFAULT;
    this.buffersMax = options.buffersMax ?? POOL_BUFFERS_MAX_DEFAULT;
    assert(Number.isInteger(this.bufferBytes) && this.bufferBytes > 0);
    assert(Number.isInteger(this.buffersMax) && this.buffersMax > 0);
  }

  /** Buffers not lent out (created or not yet). */
  get available(): number {
    return this.buffersMax - this.#created + this.#free.length;
  }

  acquire(): Promise<Buffer> {
    const free = this.#free.pop();
    if (free) return Promise.resolve(free);
    if (this.#created < this.buffersMax) {
      this.#created++;
      // Allocated once and reused for the life of the pool, so unsafe (unzeroed) is fine:
      // only bytes just read from a file are ever written out of it.
      return Promise.resolve(Buffer.allocUnsafeSlow(this.bufferBytes));
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  release(buf: Buffer): void {
    assert(buf.length === this.bufferBytes, 'a buffer that is not from this pool');
    assert(!this.#free.includes(buf), 'a buffer released twice');
    const waiter = this.#waiters.shift();
    if (waiter) waiter(buf);
    else this.#free.push(buf);
  }
}

/** Shared by every connection of the process unless a writer is given its own. */
export const defaultSocketReadPool = new SocketReadPool();
