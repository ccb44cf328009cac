/**
 * Requests and responses through the generated codecs, for the fuzzer's canary and its
 * checks of what the broker answered to mutated requests.
 */
import { type AnyApi, ApiKey, apiFor } from '../../protocol/generated/api-table.ts';
import { decodeResponseHeader, encodeRequestHeader } from '../../protocol/generated/headers.ts';
import { Reader } from '../../protocol/wire/reader.ts';
import { Writer } from '../../protocol/wire/writer.ts';
import { FuzzConnection, sized } from './fuzz-connection.ts';

function apiOf(apiKey: number): AnyApi {
  const api = apiFor(apiKey);
  if (!api) throw new Error(`no API ${apiKey}`);
  return api;
}

/** A request frame body (header + body), without the size prefix. */
export function encodeRequest(
  apiKey: number,
  version: number,
  body: unknown,
  correlationId: number,
  clientId: string | null = 'brook-fuzz',
): Buffer {
  const api = apiOf(apiKey);
  const writer = new Writer();
  encodeRequestHeader(
    writer,
    { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId },
    api.requestHeaderVersion(version),
  );
  api.encodeRequest(writer, body, version);
  return writer.finish();
}

/**
 * Decodes a response frame to a request of `apiKey`/`version`; throws when it does not
 * decode exactly (trailing bytes included). ApiVersions at a version the broker refuses is
 * answered at v0, as KIP-511 has it.
 */
export function decodeResponse(frame: Buffer, apiKey: number, version: number): unknown {
  const api = apiOf(apiKey);
  const reader = new Reader(frame);
  decodeResponseHeader(reader, api.responseHeaderVersion(version));
  const bodyVersion =
    apiKey === ApiKey.ApiVersions && (version < api.minVersion || version > api.maxVersion)
      ? 0
      : version;
  const body = api.decodeResponse(reader, bodyVersion);
  if (reader.error) throw new Error(`${api.name} v${version}: ${reader.error.message}`);
  if (reader.remaining !== 0) {
    throw new Error(`${api.name} v${version}: ${reader.remaining} bytes after the response`);
  }
  return body;
}

/** One connection, one request at a time: the canary and the setup's producer. */
export class KafkaCaller {
  readonly connection: FuzzConnection;
  #nextCorrelationId = 1;
  #busy: Promise<unknown> = Promise.resolve();

  private constructor(connection: FuzzConnection) {
    this.connection = connection;
  }

  static async connect(port: number): Promise<KafkaCaller> {
    return new KafkaCaller(await FuzzConnection.open(port));
  }

  /** Sends one request and resolves to its decoded response; calls are serialized. */
  call<Response>(apiKey: number, version: number, body: unknown): Promise<Response> {
    const result = this.#busy.then(() => this.#call<Response>(apiKey, version, body));
    this.#busy = result.catch(() => undefined);
    return result;
  }

  async #call<Response>(apiKey: number, version: number, body: unknown): Promise<Response> {
    const correlationId = this.#nextCorrelationId++;
    const index = this.connection.frames.length;
    await this.connection.write(sized(encodeRequest(apiKey, version, body, correlationId)));
    await this.connection.waitFor(index + 1);
    const frame = this.connection.frames[index];
    if (frame === undefined) {
      throw new Error(`connection closed before the answer to API ${apiKey} v${version}`);
    }
    const got = frame.readInt32BE(0);
    if (got !== correlationId) throw new Error(`correlation id ${got}, expected ${correlationId}`);
    return decodeResponse(frame, apiKey, version) as Response;
  }

  close(): void {
    this.connection.close();
  }
}
