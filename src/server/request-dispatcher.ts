/**
 * From a request frame to a response frame: read the header, find the handler registered for
 * the API key and version, decode the body with the generated codec, run the test controls
 * and the handler, encode the response as a chunk list.
 *
 * What a broker must do with bad input (Kafka's behaviour, so clients react as they expect):
 * - ApiVersions at a version we do not serve: answered at v0 with UNSUPPORTED_VERSION and our
 *   ranges, so the client can retry at a version we know (KIP-511);
 * - any other unknown API key or unsupported version, or a body that does not decode: the
 *   connection is closed, with a log line naming the peer, API key, version, correlation id
 *   and reason. Other connections are unaffected.
 *
 * Codecs are loaded only for the APIs a handler serves (most of Kafka's APIs are not served,
 * and their codec modules would cost megabytes of memory): the dispatcher starts loading them
 * when it is made, and a request that arrives before its API's codecs waits for them.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { encodeResponseFrame } from '../../protocol/frame.ts';
import {
  type AnyApi,
  ApiKey,
  apiInfoFor,
  loadApi,
} from '../../protocol/generated/api-catalogue.ts';
import {
  type ApiVersionsResponse,
  newApiVersionsResponse,
} from '../../protocol/generated/apis/18-api-versions.ts';
import { decodeRequestHeader } from '../../protocol/generated/headers.ts';
import { Reader } from '../../protocol/wire/reader.ts';
import type { ControlAction, ControlRegistry } from '../handlers/controls.ts';
import type { BrokerServices, Handler, RequestContext } from '../handlers/handler.ts';
import type { HandlerRegistry } from '../handlers/registry.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { ConnectionInfo, Reply, RequestProcessor } from './connection.ts';

export interface RequestDispatcherOptions {
  readonly registry: HandlerRegistry;
  readonly controls: ControlRegistry;
  readonly services: BrokerServices;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The schema's version range of an API, for the handler registry. */
export function schemaRangeOf(apiKey: number): { minVersion: number; maxVersion: number } | null {
  const api = apiInfoFor(apiKey);
  return api ? { minVersion: api.minVersion, maxVersion: api.maxVersion } : null;
}

/** apiKey (2) + apiVersion (2) + correlationId (4). */
const requestHeaderBytesMin = 8;

interface Decoded {
  readonly ctx: RequestContext;
  readonly api: AnyApi;
  readonly handler: Handler;
  readonly request: unknown;
}

export class RequestDispatcher implements RequestProcessor {
  readonly #options: RequestDispatcherOptions;
  /** Loaded codecs by API key. */
  readonly #apis: (AnyApi | undefined)[] = [];

  constructor(options: RequestDispatcherOptions) {
    this.#options = options;
    // Before any request can arrive: a request finding its codecs loaded is decoded at once.
    for (const apiKey of this.#servedKeys()) {
      this.#load(apiKey)?.catch((error: unknown) => {
        // A broken installation: each request of this API fails the same way and says so.
        options.logger.error({ err: error, apiKey }, 'cannot load the codecs of an API');
      });
    }
  }

  /** Resolves once the codecs of every API served now are loaded. */
  async ready(): Promise<void> {
    await Promise.all([...this.#servedKeys()].map((apiKey) => this.#load(apiKey)));
  }

  process(frame: Buffer, connection: ConnectionInfo): Reply | Promise<Reply> {
    if (frame.length >= 2) {
      const apiKey = frame.readInt16BE(0);
      if (this.#apis[apiKey] === undefined && this.#needsCodecs(apiKey)) {
        const loading = this.#load(apiKey);
        if (loading) return loading.then(() => this.process(frame, connection));
      }
    }
    const decoded = this.#decode(frame, connection);
    if (!('ctx' in decoded)) return decoded;
    if (this.#options.controls.has(decoded.ctx.apiKey)) return this.#controlled(decoded);
    return this.#handle(decoded);
  }

  /** The APIs whose codecs the dispatcher needs now (see #needsCodecs). */
  #servedKeys(): Set<number> {
    const registered = this.#options.registry.apiVersions().map((r) => r.apiKey);
    return new Set([ApiKey.ApiVersions, ...registered]);
  }

  /** Served APIs, and ApiVersions, which answers unsupported versions of itself. */
  #needsCodecs(apiKey: number): boolean {
    return apiKey === ApiKey.ApiVersions || this.#options.registry.range(apiKey) !== undefined;
  }

  #load(apiKey: number): Promise<void> | undefined {
    return loadApi(apiKey)?.then((api) => {
      this.#apis[apiKey] = api;
    });
  }

  #decode(frame: Buffer, connection: ConnectionInfo): Decoded | Reply {
    if (frame.length < requestHeaderBytesMin) {
      return { kind: 'close', reason: `a frame of ${frame.length} bytes holds no request header` };
    }
    // These sit at the same place in every request header version.
    const apiKey = frame.readInt16BE(0);
    const version = frame.readInt16BE(2);
    const correlationId = frame.readInt32BE(4);
    const handler = this.#options.registry.lookup(apiKey, version);
    // process() loaded the codecs of every API it has a handler for.
    const api = handler ? this.#apis[apiKey] : undefined;
    if (!api || !handler) {
      if (apiKey === ApiKey.ApiVersions) return this.#unsupportedApiVersions(correlationId);
      const info = apiInfoFor(apiKey);
      const reason = info
        ? `unsupported version ${version} of ${info.name}`
        : `unknown API key ${apiKey}`;
      return { kind: 'close', reason, details: { apiKey, version, correlationId } };
    }
    const reader = new Reader(frame);
    const header = decodeRequestHeader(reader, api.requestHeaderVersion(version));
    const request = api.decodeRequest(reader, version);
    if (reader.error) {
      return {
        kind: 'close',
        reason: `undecodable ${api.name} v${version} request: ${reader.error.message}`,
        details: { apiKey, version, correlationId, clientId: header.clientId },
      };
    }
    const ctx: RequestContext = {
      apiKey,
      version,
      correlationId,
      clientId: header.clientId,
      listenerName: connection.listenerName,
      remoteAddress: connection.remoteAddress,
      connectionId: connection.id,
      logger: connection.logger,
      services: this.#options.services,
    };
    return { ctx, api, handler, request };
  }

  #handle({ ctx, api, handler, request }: Decoded): Reply | Promise<Reply> {
    const response = handler.handle(ctx, request, ctx.version);
    if (response instanceof Promise) return response.then((r) => encode(ctx, api, r));
    return encode(ctx, api, response);
  }

  async #controlled(decoded: Decoded): Promise<Reply> {
    const { ctx, api, handler, request } = decoded;
    const action: ControlAction | undefined = await this.#options.controls.run({
      apiKey: ctx.apiKey,
      version: ctx.version,
      correlationId: ctx.correlationId,
      clientId: ctx.clientId,
      connectionId: ctx.connectionId,
      request,
    });
    switch (action?.action) {
      case undefined:
      case 'pass':
        return this.#handle(decoded);
      case 'respond':
        return encode(ctx, api, action.response);
      case 'error':
        return encode(ctx, api, errorResponse(api, handler, request, ctx.version, action));
      case 'drop':
        return { kind: 'close', reason: 'dropped by a test control', details: detailsOf(ctx) };
      case 'delay':
        await new Promise<void>((resolve) => this.#options.clock.setTimer(action.delayMs, resolve));
        return this.#handle(decoded);
    }
  }

  #unsupportedApiVersions(correlationId: number): Reply {
    const response: ApiVersionsResponse = {
      ...newApiVersionsResponse(),
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      apiKeys: this.#options.registry.apiVersions().map((r) => ({ ...r })),
    };
    // The ApiVersions descriptor puts a v0 response header on every version, as Kafka does.
    const api = this.#apis[ApiKey.ApiVersions] as AnyApi;
    return { kind: 'respond', chunks: encodeResponseFrame(api, 0, correlationId, response) };
  }
}

function detailsOf(ctx: RequestContext): Record<string, unknown> {
  return {
    apiKey: ctx.apiKey,
    version: ctx.version,
    correlationId: ctx.correlationId,
    clientId: ctx.clientId,
  };
}

/** Size, response header, body: one response frame as chunks (records stay uncopied). */
function encode(ctx: RequestContext, api: AnyApi, response: unknown): Reply {
  if (response === null) return { kind: 'silent' };
  return {
    kind: 'respond',
    chunks: encodeResponseFrame(api, ctx.version, ctx.correlationId, response),
  };
}

function errorResponse(
  api: AnyApi,
  handler: Handler,
  request: unknown,
  version: number,
  action: { readonly errorCode: number },
): unknown {
  if (handler.errorResponse) return handler.errorResponse(request, version, action.errorCode);
  const response = api.newResponse() as Record<string, unknown>;
  if (!('errorCode' in response)) {
    throw new Error(
      `a control injected error ${action.errorCode} into ${api.name}, which has no ` +
        'top-level errorCode: give its handler an errorResponse()',
    );
  }
  response.errorCode = action.errorCode;
  return response;
}
