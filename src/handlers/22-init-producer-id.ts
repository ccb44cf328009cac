/**
 * InitProducerId (key 22), versions 0-5.
 *
 * Behavior:
 * - Without a transactional id (idempotent producers): a new producer id with epoch 0, as
 *   Kafka answers whatever producerId/epoch the request carries. Ids come from blocks of
 *   1000 reserved durably in the metadata log (ProducerIdsRecord), so an id is never handed
 *   out twice, across restarts too.
 * - With a transactional id: this broker has no transaction coordinator yet, so the answer is
 *   COORDINATOR_NOT_AVAILABLE (retriable: a transactional producer keeps retrying until its
 *   own timeout and reports the coordinator as unavailable, rather than failing with an
 *   error that suggests a permissions problem).
 *
 * Version notes: v2 flexible; v3 producerId/epoch in the request (KIP-360); v4-v5 no change.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type InitProducerIdRequest,
  type InitProducerIdResponse,
  newInitProducerIdResponse,
} from '../../protocol/generated/apis/22-init-producer-id.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { defineHandler, type RequestContext } from './handler.ts';

function failed(errorCode: number): InitProducerIdResponse {
  const response = newInitProducerIdResponse();
  response.errorCode = errorCode;
  response.producerId = -1;
  response.producerEpoch = -1;
  return response;
}

export async function handleInitProducerId(
  ctx: RequestContext,
  request: InitProducerIdRequest,
): Promise<InitProducerIdResponse> {
  if (request.transactionalId !== null) return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const response = newInitProducerIdResponse();
  try {
    response.producerId = await dataOf(ctx).cluster.allocateProducerId();
  } catch (error) {
    ctx.logger.warn({ err: error }, 'producer id allocation failed');
    return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  }
  response.producerEpoch = 0;
  return response;
}

export const initProducerIdHandler = defineHandler<InitProducerIdRequest, InitProducerIdResponse>(
  withDataPath({
    apiKey: ApiKey.InitProducerId,
    minVersion: 0,
    maxVersion: 5,
    handle: handleInitProducerId,
    errorResponse: (_request, _version, errorCode) => failed(errorCode),
  }),
);
