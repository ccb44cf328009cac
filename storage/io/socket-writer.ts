/**
 * Writes a response's chunks (Buffers and file regions) to a socket in order, file regions
 * zero-copy with sendfile(2) where the addon loads.
 *
 * Why a structural socket: only src/server may import node:net, so this module takes the few
 * members of a net.Socket it needs (`SocketLike`); a net.Socket satisfies it as is and the
 * server passes its sockets straight in. The file descriptor comes from `socket._handle.fd`,
 * read afresh before every sendfile call in the same synchronous turn, so a socket closed
 * meanwhile is seen as closed and its (possibly reused) fd number is never written to.
 *
 * Ordering: bytes reach the kernel in chunk order. Before a region is sent with sendfile,
 * everything queued on the socket is flushed: an empty write's callback fires only after every
 * earlier write's, so awaiting it leaves `writableLength` at 0. All writes to the socket must
 * go through one SocketWriter (it serializes its `write` calls), or they could slip in between.
 *
 * Waiting for writability: sendfile on libuv's non-blocking socket returns -EAGAIN when the
 * send buffer is full. Instead of a second poller on libuv's fd (a uv_poll on a descriptor a
 * uv_tcp already watches is not allowed) or a blocking thread-pool job (a slow consumer would
 * hold a libuv worker), the writer reads the next `probeBytes` of the region and gives them to
 * socket.write: libuv queues them, waits for POLLOUT, writes them, then runs the callback. At
 * that point the socket is writable again (Linux reports POLLOUT only once a third of the send
 * buffer is free), so sendfile resumes with room to fill. Only the probe bytes are copied: 1 KiB
 * per wait, against a send buffer of hundreds of KiB.
 *
 * Fallback (no addon, TLS socket, or no fd): positional reads into buffers from a bounded
 * SocketReadPool, each written with socket.write and waited on with 'drain'.
 *
 * Each region is released exactly once: after its last byte is written, or, when the socket
 * closes or a write fails, together with every region of the call not yet written.
 */
import assert from 'node:assert';
import { read } from 'node:fs';
import { constants } from 'node:os';
import { StorageError } from '../storage-error.ts';
import type { FileRegion } from './file-region.ts';
import { type SendfileAddon, sendfileAddon } from './sendfile.ts';
import { defaultSocketReadPool, type SocketReadPool } from './socket-read-pool.ts';

/** A file region as storage hands it out (./file-region.ts); kept under this name for callers. */
export type FileRegionChunk = FileRegion;

export type OutboundChunk = Uint8Array | FileRegionChunk;

type Listener = (...args: unknown[]) => void;

/** The members of a net.Socket the writer uses. */
export interface SocketLike {
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean;
  once(event: string, listener: Listener): unknown;
  removeListener(event: string, listener: Listener): unknown;
  readonly writableLength: number;
  readonly destroyed: boolean;
  /** True on a TLS socket: its bytes must be encrypted, so sendfile cannot be used. */
  readonly encrypted?: boolean;
}

export type SocketWriteErrorCode = 'socket-closed' | 'region-past-end-of-file' | 'sendfile-failed';

/** A StorageError (name 'BrokerError') whose code says why the write stopped. */
export class SocketWriteError extends StorageError {
  constructor(code: SocketWriteErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export const PROBE_BYTES_DEFAULT = 1024;

export interface SocketWriterOptions {
  /** The addon to use; `null` forces the fallback. Defaults to the loaded addon, if any. */
  readonly sendfile?: SendfileAddon | null;
  readonly pool?: SocketReadPool;
  readonly probeBytes?: number;
}

/** Bytes moved by each path since the writer was made (for logs and benchmarks). */
export interface SocketWriterStats {
  bytesBuffered: number;
  bytesSentfile: number;
  bytesProbed: number;
  bytesCopied: number;
  eagainWaits: number;
}

const EMPTY = new Uint8Array(0);

/** A pooled buffer holding `length` bytes just read. */
interface Piece {
  readonly buf: Buffer;
  readonly length: number;
}

function isRegion(chunk: OutboundChunk): chunk is FileRegionChunk {
  return (chunk as FileRegionChunk).kind === 'file-region';
}

function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(constants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

function readAt(fd: number, buf: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buf, 0, length, position, (error, bytesRead) => {
      if (error) reject(error);
      else resolve(bytesRead);
    });
  });
}

/** Reads exactly `length` bytes or fails: a region promises its bytes exist. */
async function readFully(fd: number, buf: Buffer, length: number, position: number) {
  let done = 0;
  while (done < length) {
    const n = await readAt(fd, buf.subarray(done), length - done, position + done);
    if (n === 0) {
      throw new SocketWriteError(
        'region-past-end-of-file',
        `file region [${position}, ${position + length}) of fd ${fd} ends at ${position + done}`,
      );
    }
    done += n;
  }
}

export class SocketWriter {
  readonly stats: SocketWriterStats = {
    bytesBuffered: 0,
    bytesSentfile: 0,
    bytesProbed: 0,
    bytesCopied: 0,
    eagainWaits: 0,
  };
  readonly #socket: SocketLike;
  readonly #addon: SendfileAddon | undefined;
  readonly #pool: SocketReadPool;
  readonly #probeBytes: number;
  #tail: Promise<void> = Promise.resolve();

  constructor(socket: SocketLike, options: SocketWriterOptions = {}) {
    this.#socket = socket;
    this.#addon = options.sendfile === null ? undefined : (options.sendfile ?? sendfileAddon);
    this.#pool = options.pool ?? defaultSocketReadPool;
    this.#probeBytes = options.probeBytes ?? PROBE_BYTES_DEFAULT;
    assert(Number.isInteger(this.#probeBytes) && this.#probeBytes > 0);
  }

  /** Whether regions go out with sendfile on this socket (else they are read and copied). */
  get zeroCopy(): boolean {
    return this.#addon !== undefined && this.#fd() !== undefined;
  }

  /**
   * Writes `chunks` after every earlier call's chunks. Resolves when the last byte is in the
   * kernel's send buffer; rejects with a SocketWriteError if the socket closes first.
   */
  write(chunks: readonly OutboundChunk[]): Promise<void> {
    const run = this.#tail.then(() => this.#writeAll(chunks));
    // The next call waits for this one to settle, whether or not it succeeded.
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #writeAll(chunks: readonly OutboundChunk[]): Promise<void> {
    let next = 0;
    try {
      while (next < chunks.length) {
        const chunk = chunks[next] as OutboundChunk;
        next++;
        if (!isRegion(chunk)) {
          await this.#writeBuffer(chunk);
          continue;
        }
        try {
          if (chunk.length > 0 && this.#addon && this.#fd() !== undefined) {
            await this.#sendRegion(chunk, this.#addon);
          } else if (chunk.length > 0) {
            await this.#copyRegion(chunk);
          }
        } finally {
          chunk.release();
        }
      }
    } finally {
      for (let i = next; i < chunks.length; i++) {
        const chunk = chunks[i] as OutboundChunk;
        if (isRegion(chunk)) chunk.release();
      }
    }
  }

  #fd(): number | undefined {
    const socket = this.#socket as SocketLike & { _handle?: { fd?: unknown } | null };
    if (socket.destroyed || socket.encrypted === true) return undefined;
    const fd = socket._handle?.fd;
    return typeof fd === 'number' && fd >= 0 ? fd : undefined;
  }

  #checkOpen(): void {
    if (this.#socket.destroyed) throw new SocketWriteError('socket-closed', 'socket closed');
  }

  async #writeBuffer(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.#checkOpen();
    this.stats.bytesBuffered += chunk.length;
    if (!this.#socket.write(chunk)) await this.#drain();
  }

  /** Resolves on 'drain', rejects if the socket closes or fails first. */
  #drain(): Promise<void> {
    const socket = this.#socket;
    return new Promise((resolve, reject) => {
      const settle = (error?: unknown): void => {
        socket.removeListener('drain', onDrain);
        socket.removeListener('close', onClose);
        socket.removeListener('error', onClose);
        if (error === undefined) resolve();
        else reject(new SocketWriteError('socket-closed', 'socket closed', { cause: error }));
      };
      const onDrain: Listener = () => settle();
      const onClose: Listener = (error) => settle(error ?? 'close');
      socket.once('drain', onDrain);
      socket.once('close', onClose);
      socket.once('error', onClose);
    });
  }

  /** Writes `chunk`; resolves once it, and every write before it, is in the kernel. */
  #writeAndWait(chunk: Uint8Array): Promise<void> {
    this.#checkOpen();
    return new Promise((resolve, reject) => {
      this.#socket.write(chunk, (error) => {
        if (error) reject(new SocketWriteError('socket-closed', 'socket closed', { cause: error }));
        else resolve();
      });
    });
  }

  async #sendRegion(region: FileRegionChunk, addon: SendfileAddon): Promise<void> {
    if (this.#socket.writableLength > 0) await this.#writeAndWait(EMPTY);
    let position = region.position;
    let remaining = region.length;
    while (remaining > 0) {
      const fd = this.#fd();
      if (fd === undefined) throw new SocketWriteError('socket-closed', 'socket closed');
      const sent = addon.sendfile(fd, region.fd, position, remaining);
      if (sent > 0) {
        position += sent;
        remaining -= sent;
        this.stats.bytesSentfile += sent;
      } else if (sent === -addon.EAGAIN) {
        const probe = Buffer.allocUnsafe(Math.min(remaining, this.#probeBytes));
        await readFully(region.fd, probe, probe.length, position);
        position += probe.length;
        remaining -= probe.length;
        this.stats.bytesProbed += probe.length;
        this.stats.eagainWaits++;
        await this.#writeAndWait(probe);
      } else if (sent === 0) {
        throw new SocketWriteError(
          'region-past-end-of-file',
          `file region of fd ${region.fd} ends at ${position}, ${remaining} bytes short`,
        );
      } else {
        const name = errnoName(-sent);
        const closed = name === 'EPIPE' || name === 'ECONNRESET';
        throw new SocketWriteError(
          closed ? 'socket-closed' : 'sendfile-failed',
          `sendfile: ${name}`,
          { cause: Object.assign(new Error(name), { code: name }) },
        );
      }
    }
  }

  /** Reads `length` bytes at `position` into a pooled buffer (returned to the pool on error). */
  async #readPiece(fd: number, position: number, length: number): Promise<Piece> {
    const buf = await this.#pool.acquire();
    try {
      await readFully(fd, buf, length, position);
      return { buf, length };
    } catch (error) {
      this.#pool.release(buf);
      throw error;
    }
  }

  /**
   * Reads the next piece while the socket drains the previous one (two pool buffers at most),
   * so reading and sending overlap as in a stream pipe.
   */
  async #copyRegion(region: FileRegionChunk): Promise<void> {
    const end = region.position + region.length;
    const read = (position: number) =>
      this.#readPiece(region.fd, position, Math.min(this.#pool.bufferBytes, end - position));
    let position = region.position;
    let next: Promise<Piece> | undefined = read(position);
    try {
      while (next) {
        const { buf, length }: Piece = await next;
        next = undefined;
        position += length;
        if (position < end) next = read(position);
        if (this.#socket.destroyed) {
          this.#pool.release(buf);
          throw new SocketWriteError('socket-closed', 'socket closed');
        }
        this.stats.bytesCopied += length;
        // The callback runs on success and on failure (a destroyed socket errors its pending
        // writes), so the buffer always returns to the pool.
        const flowing = this.#socket.write(buf.subarray(0, length), () => this.#pool.release(buf));
        if (!flowing) await this.#drain();
      }
    } finally {
      // A read still in flight when the copy stopped: its buffer goes back once it lands.
      next?.then(
        (piece) => this.#pool.release(piece.buf),
        () => undefined,
      );
    }
  }
}
