/**
 * Writing a response's chunks to a socket, in order, honouring backpressure: the returned
 * promise settles only once the socket has accepted everything without being over its
 * high-water mark, so the connection never queues more than one response in user space.
 *
 * File regions (storage's zero-copy reads) are pluggable: the broker injects a sendfile
 * writer from storage/io where it exists. The default here reads each region with a
 * positional read, in bounded pieces, and writes the bytes. Every region is released exactly
 * once, written or not.
 */
import type { Socket } from 'node:net';
import { type FileRegion, isFileRegion as isRegion } from '../../protocol/wire/file-region.ts';

export type ResponseChunk = Buffer | FileRegion;

/** Writes chunks in order; resolves when the socket can take more, rejects if it closes. */
export type WriteChunks = (socket: Socket, chunks: readonly ResponseChunk[]) => Promise<void>;

/** Reads `length` bytes at `position` of `fd` (storage/io provides it: only it may use fs). */
export type ReadAt = (fd: number, position: number, length: number) => Promise<Buffer>;

/** A region is read in pieces of at most this size, bounding the memory one response pins. */
export const regionPieceBytesMax = 1024 * 1024;

export function isFileRegion(chunk: ResponseChunk): chunk is FileRegion {
  return !Buffer.isBuffer(chunk) && isRegion(chunk);
}

/** Releases every region of `chunks` from index `from` on (after a failure or a close). */
export function releaseRegions(chunks: readonly ResponseChunk[], from = 0): void {
  for (let i = from; i < chunks.length; i++) {
    const chunk = chunks[i] as ResponseChunk;
    if (isFileRegion(chunk)) chunk.release();
  }
}

/**
 * The default writer. Without `readAt` it can only write Buffers: a region is then a wiring
 * bug (the broker produced regions without giving the server a way to send them).
 */
export function bufferedChunkWriter(readAt?: ReadAt): WriteChunks {
  return async (socket, chunks) => {
    let index = 0;
    try {
      for (; index < chunks.length; index++) {
        const chunk = chunks[index] as ResponseChunk;
        if (isFileRegion(chunk)) {
          if (!readAt) throw new Error('a FileRegion reached a server with no region reader');
          await writeRegion(socket, chunk, readAt);
          chunk.release();
        } else if (!socket.write(chunk)) {
          await waitForDrain(socket);
        }
      }
    } finally {
      // Regions after a failure were never written; the failed one was not released either.
      if (index < chunks.length) releaseRegions(chunks, index);
    }
    if (socket.writableNeedDrain) await waitForDrain(socket);
  };
}

async function writeRegion(socket: Socket, region: FileRegion, readAt: ReadAt): Promise<void> {
  let done = 0;
  while (done < region.length) {
    const want = Math.min(regionPieceBytesMax, region.length - done);
    const piece = await readAt(region.fd, region.position + done, want);
    if (piece.length !== want) {
      throw new Error(`short read of a file region: ${piece.length} of ${want} bytes`);
    }
    done += want;
    if (!socket.write(piece)) await waitForDrain(socket);
  }
}

/** Resolves on 'drain'; rejects if the socket closes first (a drain that never comes). */
export function waitForDrain(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.reject(new Error('socket closed while writing'));
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      socket.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      socket.off('drain', onDrain);
      reject(new Error('socket closed while writing'));
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}
