/**
 * The production response writer: storage/io's SocketWriter, which sends file regions with
 * sendfile(2) when the native addon loaded (and falls back to pooled positional reads when it
 * did not). One SocketWriter per socket, made on first use and dropped with the socket.
 */
import type { Socket } from 'node:net';
import { SocketWriter } from '../../storage/io/socket-writer.ts';
import type { WriteChunks } from './chunk-writer.ts';

export function sendfileChunkWriter(): WriteChunks {
  const writers = new WeakMap<Socket, SocketWriter>();
  return (socket, chunks) => {
    let writer = writers.get(socket);
    if (!writer) {
      writer = new SocketWriter(socket);
      writers.set(socket, writer);
    }
    return writer.write(chunks);
  };
}
