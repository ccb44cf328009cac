/**
 * CreatePartitions (key 37), versions 0-3.
 *
 * Behavior:
 * - Grows a topic to `count` partitions; the new partitions' logs exist before the answer.
 * - Per topic: unknown UNKNOWN_TOPIC_OR_PARTITION; a count not above the current one
 *   INVALID_PARTITIONS; assignments whose number differs from the partitions added, or that
 *   name unknown brokers, INVALID_REPLICA_ASSIGNMENT; a topic named twice INVALID_REQUEST.
 * - validateOnly: the same checks, nothing changed.
 *
 * Version notes: v2 flexible; v3 no change here.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
  newCreatePartitionsResponse,
} from '../../protocol/generated/apis/37-create-partitions.ts';
import { repeatedNames } from './controller/topic-requests.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { defineHandler, type RequestContext } from './handler.ts';

type Result = CreatePartitionsResponse['results'][number];

export async function handleCreatePartitions(
  ctx: RequestContext,
  request: CreatePartitionsRequest,
): Promise<CreatePartitionsResponse> {
  const { cluster } = dataOf(ctx);
  const repeated = repeatedNames(request.topics.map((t) => t.name));
  const results = request.topics.map(async (t): Promise<Result> => {
    if (repeated.has(t.name)) {
      return {
        name: t.name,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: 'Duplicate topic in request.',
      };
    }
    const assignments = t.assignments?.map((a) => a.brokerIds) ?? null;
    const result = await cluster.createPartitions(
      t.name,
      t.count,
      assignments,
      request.validateOnly,
    );
    return {
      name: t.name,
      errorCode: result.errorCode,
      errorMessage: 'errorMessage' in result ? result.errorMessage : null,
    };
  });
  const response = newCreatePartitionsResponse();
  response.results = await Promise.all(results);
  return response;
}

export const createPartitionsHandler = defineHandler<
  CreatePartitionsRequest,
  CreatePartitionsResponse
>(
  withDataPath({
    apiKey: ApiKey.CreatePartitions,
    minVersion: 0,
    maxVersion: 3,
    handle: handleCreatePartitions,
    errorResponse(request, _version, errorCode) {
      const response = newCreatePartitionsResponse();
      response.results = request.topics.map((t) => ({
        name: t.name,
        errorCode,
        errorMessage: null,
      }));
      return response;
    },
  }),
);
