/**
 * The same-run baselines the broker is compared with: what the machine does with no broker.
 *
 * - `startSink`: a TCP server that appends every request frame it receives to one file and
 *   answers each with an 8-byte response, fdatasync'ing before answering when the broker does
 *   (frames that arrive while a sync runs share the next one: the broker's group commit).
 * - `startFileSource`: a TCP server that answers each request (int64 position, int32 length
 *   after the correlation id) with that byte range of one file, sent with the same
 *   SocketWriter (sendfile) the broker's Fetch uses: raw file -> socket.
 */
import { closeSync, fdatasync, openSync, writev } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { FrameDecoder } from '../../protocol/frame.ts';
import { SocketWriter } from '../../storage/io/socket-writer.ts';

export interface RawServer {
  readonly port: number;
  close(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

function closer(server: Server, sockets: Set<Socket>, after: () => void): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => {
        after();
        resolve();
      });
    });
}

function responseTo(frame: Buffer): Buffer {
  const out = Buffer.alloc(12);
  out.writeInt32BE(8, 0);
  if (frame.length >= 8) frame.copy(out, 4, 4, 8);
  return out;
}

function promised<T>(call: (done: (error: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    call((error, value) => (error ? reject(error) : resolve(value as T))),
  );
}

export async function startSink(file: string, fsync: boolean): Promise<RawServer> {
  const fd = openSync(file, 'a');
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const decoder = new FrameDecoder(512 * 1024 * 1024);
    let queued: Buffer[] = [];
    let committing = false;
    const commit = async (): Promise<void> => {
      committing = true;
      while (queued.length > 0) {
        const frames = queued;
        queued = [];
        await promised<number>((done) => writev(fd, frames, done));
        if (fsync) await promised<void>((done) => fdatasync(fd, done));
        socket.write(Buffer.concat(frames.map(responseTo)));
      }
      committing = false;
    };
    socket.on('data', (chunk: Buffer) => {
      // The decoder hands out views of socket chunks; they stay valid, Node never reuses them.
      for (const frame of decoder.push(chunk)) queued.push(frame);
      if (!committing && queued.length > 0) void commit();
    });
  });
  const port = await listen(server);
  return { port, close: closer(server, sockets, () => closeSync(fd)) };
}

export async function startFileSource(file: string): Promise<RawServer> {
  const fd = openSync(file, 'r');
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const writer = new SocketWriter(socket);
    const decoder = new FrameDecoder(1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        const position = Number(frame.readBigInt64BE(8));
        const length = frame.readInt32BE(16);
        const header = Buffer.alloc(8);
        header.writeInt32BE(4 + length, 0);
        frame.copy(header, 4, 4, 8);
        const region = { kind: 'file-region' as const, fd, position, length, release() {} };
        void writer.write([header, region]).catch(() => socket.destroy());
      }
    });
  });
  const port = await listen(server);
  return { port, close: closer(server, sockets, () => closeSync(fd)) };
}

/** A request for `startFileSource`: correlation id, position, length (with size prefix). */
export function fileSourceRequest(correlationId: number, position: number, length: number) {
  const out = Buffer.alloc(4 + 20);
  out.writeInt32BE(20, 0);
  out.writeInt32BE(correlationId, 8);
  out.writeBigInt64BE(BigInt(position), 12);
  out.writeInt32BE(length, 20);
  return out;
}
