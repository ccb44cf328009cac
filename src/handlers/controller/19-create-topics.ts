/**
 * CreateTopics (key 19) on the controller listener, versions 2-7: from brokers forwarding
 * their clients' requests and from admin clients that bootstrap to the controllers (KIP-919).
 *
 * Behavior:
 * - As the single-node handler (src/handlers/19-create-topics.ts), with the same request
 *   translation and answers (topic-requests.ts), but decided by the active controller: the
 *   topics of one request are one command, placed over the active brokers (replication factor
 *   above their count INVALID_REPLICATION_FACTOR), answered once their records commit.
 * - A name repeated in the request INVALID_REQUEST; validateOnly: the same checks, nothing
 *   written. Not the active controller: NOT_CONTROLLER for every topic.
 *
 * Version notes: v2 errorMessage; v4 defaults (-1); v5 flexible, configs in the answer; v7
 * topic ids.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  newCreateTopicsResponse,
} from '../../../protocol/generated/apis/19-create-topics.ts';
import { defineHandler } from '../handler.ts';
import { withController } from './controller-services.ts';
import {
  createdTopic,
  createdTopicConfigs,
  newTopicOf,
  refusedCreateTopics,
  refusedTopic,
  repeatedNames,
  repeatedTopic,
} from './topic-requests.ts';

export const controllerCreateTopicsHandler = defineHandler<
  CreateTopicsRequest,
  CreateTopicsResponse
>(
  withController({
    apiKey: ApiKey.CreateTopics,
    minVersion: 2,
    maxVersion: 7,
    async handle(_ctx, request, version, { controller, config }) {
      const repeated = repeatedNames(request.topics.map((t) => t.name));
      const topics = request.topics.filter((t) => !repeated.has(t.name)).map(newTopicOf);
      const results = await controller.createTopics(topics, {
        validateOnly: request.validateOnly,
      });
      const byName = new Map(results.map((r) => [r.name, r]));
      const response = newCreateTopicsResponse();
      response.topics = request.topics.map((t) => {
        const result = byName.get(t.name);
        if (repeated.has(t.name) || !result) return repeatedTopic(t.name);
        if (result.errorCode !== ErrorCode.NONE) {
          return refusedTopic(t.name, result.errorCode, result.errorMessage);
        }
        const overrides = new Map<string, string>();
        for (const c of t.configs) if (c.value !== null) overrides.set(c.name, c.value);
        const configs = version >= 5 ? createdTopicConfigs(overrides, config) : null;
        return createdTopic(t.name, result, request.validateOnly, configs);
      });
      return response;
    },
    errorResponse: refusedCreateTopics,
  }),
);
