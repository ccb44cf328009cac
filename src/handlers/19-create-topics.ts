/**
 * CreateTopics (key 19), versions 2-7.
 *
 * Behavior:
 * - Each topic is created by the controller (ClusterMetadata: records appended to the
 *   metadata log, the partition logs opened) before the answer; topics are independent.
 * - Refusals per topic, with Kafka's messages: a name that repeats in the request
 *   INVALID_REQUEST; a bad name INVALID_TOPIC_EXCEPTION; an existing one
 *   TOPIC_ALREADY_EXISTS; partitions < 1 INVALID_PARTITIONS; a replication factor above the
 *   number of brokers (1 on a single node) INVALID_REPLICATION_FACTOR; assignments with
 *   counts set INVALID_REQUEST; a config name or value the topic-config catalogue rejects
 *   INVALID_CONFIG.
 * - validateOnly: the same checks, nothing created.
 * - v5+: a created topic is answered with its partition count, replication factor and every
 *   topic config with its value and source (TOPIC_CONFIG for the request's own, DEFAULT_CONFIG
 *   otherwise), a non-null array; a refused one with -1, -1 and null configs.
 *
 * Version notes: v1 validateOnly; v2 errorMessage; v4 defaults (-1) for partitions and
 * replication factor; v5 flexible, configs in the answer; v7 topic ids.
 */
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  newCreateTopicsResponse,
} from '../../protocol/generated/apis/19-create-topics.ts';
import {
  createdTopic,
  createdTopicConfigs,
  newTopicOf,
  refusedTopic as refused,
  refusedCreateTopics,
  repeatedNames,
  repeatedTopic,
} from './controller/topic-requests.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { defineHandler, type RequestContext } from './handler.ts';

type TopicResult = CreateTopicsResponse['topics'][number];

export async function handleCreateTopics(
  ctx: RequestContext,
  request: CreateTopicsRequest,
  version: number,
): Promise<CreateTopicsResponse> {
  const { cluster } = dataOf(ctx);
  const repeated = repeatedNames(request.topics.map((t) => t.name));
  const response = newCreateTopicsResponse();
  const results = request.topics.map(async (topic): Promise<TopicResult> => {
    if (repeated.has(topic.name)) return repeatedTopic(topic.name);
    const result = await cluster.createTopic(newTopicOf(topic), request.validateOnly);
    if (result.errorCode !== 0 || !('topicId' in result)) {
      return refused(
        topic.name,
        result.errorCode,
        'errorMessage' in result ? result.errorMessage : null,
      );
    }
    const configs = version >= 5 ? createdTopicConfigs(result.configs, ctx.services.config) : null;
    return createdTopic(topic.name, result, request.validateOnly, configs);
  });
  response.topics = await Promise.all(results);
  return response;
}

export const createTopicsHandler = defineHandler<CreateTopicsRequest, CreateTopicsResponse>(
  withDataPath({
    apiKey: ApiKey.CreateTopics,
    minVersion: 2,
    maxVersion: 7,
    handle: handleCreateTopics,
    errorResponse: refusedCreateTopics,
  }),
);
