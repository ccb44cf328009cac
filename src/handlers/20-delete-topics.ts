/**
 * DeleteTopics (key 20), versions 1-6.
 *
 * Behavior:
 * - By name (v1-v5 `topicNames`, v6 `topics[].name`) or by id (v6 `topics[].topicId`). The
 *   controller appends a RemoveTopicRecord; the topic's logs are closed and deleted before
 *   the answer.
 * - Per topic: unknown name UNKNOWN_TOPIC_OR_PARTITION, unknown id UNKNOWN_TOPIC_ID, both a
 *   name and an id (v6) INVALID_REQUEST; delete.topic.enable=false TOPIC_DELETION_DISABLED.
 * - The answer names each topic and its id (v6) whichever way it was asked.
 *
 * Version notes: v4 flexible; v5 errorMessage; v6 topic ids.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  newDeleteTopicsResponse,
} from '../../protocol/generated/apis/20-delete-topics.ts';
import { ZERO_UUID } from '../../protocol/wire/codec-support.ts';
import { refusedDeletions, requestedDeletions as requested } from './controller/topic-requests.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { defineHandler, type RequestContext } from './handler.ts';

type Result = DeleteTopicsResponse['responses'][number];

export async function handleDeleteTopics(
  ctx: RequestContext,
  request: DeleteTopicsRequest,
  version: number,
): Promise<DeleteTopicsResponse> {
  const { cluster } = dataOf(ctx);
  const enabled = ctx.services.config['delete.topic.enable'];
  const response = newDeleteTopicsResponse();
  const results = requested(request, version).map(async (t): Promise<Result> => {
    const byId = t.topicId !== ZERO_UUID;
    const answer = (errorCode: number, errorMessage: string | null = null): Result => ({
      name: t.name ?? topicName,
      topicId: byId ? t.topicId : (topic?.topicId ?? ZERO_UUID),
      errorCode,
      errorMessage,
    });
    if (byId && t.name !== null) {
      return {
        name: t.name,
        topicId: t.topicId,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: 'Both a topic name and an id were given.',
      };
    }
    const topic = byId ? cluster.topicById(t.topicId) : cluster.topic(t.name ?? '');
    const topicName = topic?.name ?? null;
    if (!topic) {
      return answer(byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }
    if (!enabled) {
      return answer(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled.');
    }
    const result = await cluster.deleteTopic(topic.topicId);
    return answer(result.errorCode, 'errorMessage' in result ? result.errorMessage : null);
  });
  response.responses = await Promise.all(results);
  return response;
}

export const deleteTopicsHandler = defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>(
  withDataPath({
    apiKey: ApiKey.DeleteTopics,
    minVersion: 1,
    maxVersion: 6,
    handle: handleDeleteTopics,
    errorResponse: (request, version, errorCode) => ({
      ...newDeleteTopicsResponse(),
      responses: refusedDeletions(request, version, errorCode),
    }),
  }),
);
