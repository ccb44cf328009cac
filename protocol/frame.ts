/**
 * Kafka framing: every request and response is an int32 size followed by that many bytes.
 *
 * `FrameDecoder` turns socket chunks into frame bodies. A frame that lies inside one chunk is
 * returned as a zero-copy view; a frame split across chunks is joined once, when its last byte
 * arrives. The declared size is checked against `frameBytesMax` (Kafka's
 * `socket.request.max.bytes`) as soon as the 4 size bytes are seen, before any of the body is
 * buffered, so a hostile size cannot make us hold more than one chunk.
 *
 * The rest of this file reads request headers and writes response frames (and, for Brook's
 * own inter-node clients, request frames and response headers).
 */

import { type ApiDescriptor, apiInfoFor as apiFor } from './generated/api-catalogue.ts';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  type RequestHeader,
  type ResponseHeader,
} from './generated/headers.ts';
import type { Reader } from './wire/reader.ts';
import { type Chunk, Writer } from './wire/writer.ts';

/** Kafka's default `socket.request.max.bytes`: 100 MiB. */
export const FRAME_BYTES_MAX_DEFAULT = 100 * 1024 * 1024;

export class FrameSizeError extends Error {
  readonly code = 'ERR_FRAME_SIZE';
  readonly sizeBytes: number;
  readonly sizeBytesMax: number;

  constructor(sizeBytes: number, sizeBytesMax: number) {
    super(`frame size ${sizeBytes} outside [0, ${sizeBytesMax}]`);
    this.name = 'FrameSizeError';
    this.sizeBytes = sizeBytes;
    this.sizeBytesMax = sizeBytesMax;
  }
}

export class FrameDecoder {
  readonly #frameBytesMax: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The size of the frame being assembled, once its 4 size bytes have arrived; else -1. */
  #frameBytes = -1;
  /** Set on the first bad size; the connection must then be closed. Sticky. */
  error: FrameSizeError | undefined = undefined;

  constructor(frameBytesMax = FRAME_BYTES_MAX_DEFAULT) {
    this.#frameBytesMax = frameBytesMax;
  }

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Feeds one chunk; returns the frame bodies it completed, in order. After a bad size it
   * sets `error` and returns only the frames before it; later chunks are ignored.
   */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    if (this.error !== undefined || chunk.length === 0) return frames;
    if (this.#pendingBytes === 0) {
      this.#scan(chunk, frames);
      return frames;
    }
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#frameBytes < 0) {
      if (this.#pendingBytes < 4) return frames;
      const joined = Buffer.concat(this.#pending, this.#pendingBytes);
      this.#clear();
      this.#scan(joined, frames);
      return frames;
    }
    if (this.#pendingBytes >= 4 + this.#frameBytes) {
      const joined = Buffer.concat(this.#pending, this.#pendingBytes);
      this.#clear();
      this.#scan(joined, frames);
    }
    return frames;
  }

  #clear(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#frameBytes = -1;
  }

  /** Cuts complete frames out of `buf`; keeps an incomplete tail as pending. */
  #scan(buf: Buffer, frames: Buffer[]): void {
    let offset = 0;
    while (buf.length - offset >= 4) {
      const size = buf.readInt32BE(offset);
      if (size < 0 || size > this.#frameBytesMax) {
        this.error = new FrameSizeError(size, this.#frameBytesMax);
        this.#clear();
        return;
      }
      if (buf.length - offset - 4 < size) {
        this.#frameBytes = size;
        break;
      }
      frames.push(buf.subarray(offset + 4, offset + 4 + size));
      offset += 4 + size;
    }
    if (offset < buf.length) {
      this.#pending.push(buf.subarray(offset));
      this.#pendingBytes = buf.length - offset;
    }
  }
}

/**
 * The request header version for an API version: v2 in flexible versions, v1 before, v0 for
 * ControlledShutdown v0. For an API key no schema defines, v1, so the correlation id and
 * client id can still be read and answered or logged.
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  const api = apiFor(apiKey);
  return api === undefined ? 1 : api.requestHeaderVersion(apiVersion);
}

/**
 * The response header version: v1 in flexible versions, else v0; always v0 for ApiVersions
 * (so a client can read the error of a version the broker does not support).
 */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  const api = apiFor(apiKey);
  return api === undefined ? 0 : api.responseHeaderVersion(apiVersion);
}

export interface DecodedRequestHeader {
  readonly header: RequestHeader;
  readonly headerVersion: number;
}

/**
 * Reads a request header from the start of a frame body; the reader is left at the body.
 * Returns undefined when the frame is too short to hold one (check `r.error`).
 */
export function readRequestHeader(r: Reader, frame: Buffer): DecodedRequestHeader | undefined {
  if (frame.length < 8) {
    r.fail(`request header: frame of ${frame.length} bytes is too short`);
    return undefined;
  }
  const headerVersion = requestHeaderVersion(frame.readInt16BE(0), frame.readInt16BE(2));
  const header = decodeRequestHeader(r, headerVersion);
  return r.ok ? { header, headerVersion } : undefined;
}

/** A complete response frame (size, response header, body) as chunks for the socket. */
export function encodeResponseFrame<Res>(
  api: ApiDescriptor<unknown, Res>,
  version: number,
  correlationId: number,
  body: Res,
): Chunk[] {
  const w = new Writer(512);
  const slot = w.reserveInt32();
  const header: ResponseHeader = { correlationId, unknownTaggedFields: undefined };
  encodeResponseHeader(w, header, api.responseHeaderVersion(version));
  api.encodeResponse(w, body, version);
  w.patchInt32(slot, w.length - 4);
  return w.chunks();
}

/** A complete request frame, for Brook's own clients (inter-node traffic, tests, tools). */
export function encodeRequestFrame<Req>(
  api: ApiDescriptor<Req, unknown>,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: Req,
): Chunk[] {
  const w = new Writer(512);
  const slot = w.reserveInt32();
  const header: RequestHeader = {
    requestApiKey: api.apiKey,
    requestApiVersion: version,
    correlationId,
    clientId,
    unknownTaggedFields: undefined,
  };
  encodeRequestHeader(w, header, api.requestHeaderVersion(version));
  api.encodeRequest(w, body, version);
  w.patchInt32(slot, w.length - 4);
  return w.chunks();
}

/** Reads a response header (the reader is left at the body). */
export function readResponseHeader(r: Reader, headerVersion: number): ResponseHeader {
  return decodeResponseHeader(r, headerVersion);
}
