/**
 * CreatePartitions (key 37) on the controller listener, versions 0-3.
 *
 * Behavior:
 * - Grows each topic to `count` partitions, placed over the active brokers or as the request
 *   assigns them; all topics of a request are one command of the active controller, answered
 *   once its records commit.
 * - Per topic: unknown UNKNOWN_TOPIC_OR_PARTITION; a count not above the current one
 *   INVALID_PARTITIONS; assignments of the wrong number or naming unknown or only fenced
 *   brokers INVALID_REPLICA_ASSIGNMENT; a topic named twice INVALID_REQUEST. validateOnly:
 *   the same checks, nothing written. Not the active controller: NOT_CONTROLLER.
 *
 * Version notes: v2 flexible; v3 no change here.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
  newCreatePartitionsResponse,
} from '../../../protocol/generated/apis/37-create-partitions.ts';
import { defineHandler } from '../handler.ts';
import { withController } from './controller-services.ts';
import { repeatedNames } from './topic-requests.ts';

type Result = CreatePartitionsResponse['results'][number];

function failed(request: CreatePartitionsRequest, errorCode: number): CreatePartitionsResponse {
  const response = newCreatePartitionsResponse();
  response.results = request.topics.map((t) => ({ name: t.name, errorCode, errorMessage: null }));
  return response;
}

export const controllerCreatePartitionsHandler = defineHandler<
  CreatePartitionsRequest,
  CreatePartitionsResponse
>(
  withController({
    apiKey: ApiKey.CreatePartitions,
    minVersion: 0,
    maxVersion: 3,
    async handle(_ctx, request, _version, { controller }) {
      const repeated = repeatedNames(request.topics.map((t) => t.name));
      const asked = request.topics.filter((t) => !repeated.has(t.name));
      const results = await controller.createPartitions(
        asked.map((t) => ({
          name: t.name,
          count: t.count,
          assignments: t.assignments?.map((a) => a.brokerIds) ?? null,
        })),
        { validateOnly: request.validateOnly },
      );
      const byName = new Map(asked.map((t, i) => [t.name, results[i]]));
      const response = newCreatePartitionsResponse();
      response.results = request.topics.map((t): Result => {
        const result = byName.get(t.name);
        if (!result) {
          const message = 'Duplicate topic in request.';
          return { name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: message };
        }
        const errorMessage = result.errorCode === ErrorCode.NONE ? null : result.errorMessage;
        return { name: t.name, errorCode: result.errorCode, errorMessage };
      });
      return response;
    },
    errorResponse: (request, _version, errorCode) => failed(request, errorCode),
  }),
);
