/**
 * Handlers of the data path (Produce, Fetch, topics, producer ids) need the broker's
 * DataServices. A broker built without them (tests of other handlers, the dispatcher fuzz
 * test) still answers such requests, with KAFKA_STORAGE_ERROR wherever the API reports errors,
 * instead of failing: `withDataPath` wraps a handler that way.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors.ts';
import type { DataServices, Handler, RequestContext } from './handler.ts';

type WithErrorResponse<Req, Res> = Handler<Req, Res> & {
  errorResponse(request: Req, version: number, errorCode: number): Res;
};

export function withDataPath<Req, Res>(handler: WithErrorResponse<Req, Res>): Handler<Req, Res> {
  return {
    ...handler,
    handle: (ctx, request, version) =>
      ctx.services.data
        ? handler.handle(ctx, request, version)
        : handler.errorResponse(request, version, ErrorCode.KAFKA_STORAGE_ERROR),
  };
}

/** The data path of a handler wrapped by `withDataPath` (always present there). */
export function dataOf(ctx: RequestContext): DataServices {
  const data = ctx.services.data;
  assert(data, `API ${ctx.apiKey} reached its handler without the data path`);
  return data;
}
