/**
 * A minimal Kafka client for tests: encodes requests with the generated codecs, sends them on
 * a RawClient, and decodes responses with the header version the API table prescribes.
 */
import { apiFor } from '../../../protocol/generated/api-table.ts';
import { decodeResponseHeader, encodeRequestHeader } from '../../../protocol/generated/headers.ts';
import { Reader } from '../../../protocol/wire/reader.ts';
import { Writer } from '../../../protocol/wire/writer.ts';
import { RawClient } from './raw-client.ts';

export class KafkaTestClient {
  readonly raw: RawClient;
  #nextCorrelationId = 1;

  private constructor(raw: RawClient) {
    this.raw = raw;
  }

  static async connect(port: number): Promise<KafkaTestClient> {
    return new KafkaTestClient(await RawClient.connect(port));
  }

  /** The bytes of a request frame body (header + body), without the size prefix. */
  static encodeRequest(
    apiKey: number,
    version: number,
    body: unknown,
    correlationId: number,
    clientId: string | null = 'brook-test',
  ): Buffer {
    const api = apiFor(apiKey);
    if (!api) throw new Error(`no API ${apiKey}`);
    const writer = new Writer();
    encodeRequestHeader(
      writer,
      { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId },
      api.requestHeaderVersion(version),
    );
    api.encodeRequest(writer, body, version);
    return writer.finish();
  }

  /** Sends one request; resolves to its decoded response (and checks the correlation id). */
  async call<Response>(apiKey: number, version: number, body: unknown): Promise<Response> {
    const correlationId = this.#nextCorrelationId++;
    this.raw.send(KafkaTestClient.encodeRequest(apiKey, version, body, correlationId));
    const frame = await this.raw.takeOne();
    return decodeResponse<Response>(frame, apiKey, version, correlationId);
  }

  close(): void {
    this.raw.close();
  }
}

export function decodeResponse<Response>(
  frame: Buffer,
  apiKey: number,
  version: number,
  correlationId: number,
  headerVersion?: number,
): Response {
  const api = apiFor(apiKey);
  if (!api) throw new Error(`no API ${apiKey}`);
  const reader = new Reader(frame);
  const header = decodeResponseHeader(reader, headerVersion ?? api.responseHeaderVersion(version));
  if (header.correlationId !== correlationId) {
    throw new Error(`correlation id ${header.correlationId}, expected ${correlationId}`);
  }
  const response = api.decodeResponse(reader, version) as Response;
  if (reader.error) throw reader.error;
  if (reader.remaining !== 0) throw new Error(`${reader.remaining} bytes after the response`);
  return response;
}
