/**
 * DeleteTopics (key 20) on the controller listener, versions 1-6.
 *
 * Behavior:
 * - By name (v1-v5 `topicNames`, v6 `topics[].name`) or by id (v6 `topics[].topicId`); the
 *   active controller writes one RemoveTopicRecord per topic, all in one command, and
 *   answers once they commit. Brokers delete the logs as they apply the records.
 * - Per topic: unknown name UNKNOWN_TOPIC_OR_PARTITION, unknown id UNKNOWN_TOPIC_ID, both a
 *   name and an id INVALID_REQUEST; delete.topic.enable=false TOPIC_DELETION_DISABLED. Not
 *   the active controller: NOT_CONTROLLER for every topic.
 *
 * Version notes: v4 flexible; v5 errorMessage; v6 topic ids.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  newDeleteTopicsResponse,
} from '../../../protocol/generated/apis/20-delete-topics.ts';
import { ZERO_UUID } from '../../../protocol/wire/codec-support.ts';
import { defineHandler } from '../handler.ts';
import { withController } from './controller-services.ts';
import { refusedDeletions, requestedDeletions } from './topic-requests.ts';

type Result = DeleteTopicsResponse['responses'][number];

export const controllerDeleteTopicsHandler = defineHandler<
  DeleteTopicsRequest,
  DeleteTopicsResponse
>(
  withController({
    apiKey: ApiKey.DeleteTopics,
    minVersion: 1,
    maxVersion: 6,
    async handle(_ctx, request, version, { controller, config }) {
      const requested = requestedDeletions(request, version);
      const refused = (t: (typeof requested)[number], errorCode: number, message: string) => ({
        name: t.name,
        topicId: t.topicId,
        errorCode,
        errorMessage: message,
      });
      const pending: (typeof requested)[number][] = [];
      const early = requested.map((t): Result | undefined => {
        if (t.topicId !== ZERO_UUID && t.name !== null) {
          return refused(t, ErrorCode.INVALID_REQUEST, 'Both a topic name and an id were given.');
        }
        if (!config['delete.topic.enable']) {
          return refused(t, ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled.');
        }
        pending.push(t);
        return undefined;
      });
      const results = await controller.deleteTopics(
        pending.map((t) => ({
          name: t.name,
          topicId: t.topicId === ZERO_UUID ? null : t.topicId,
        })),
      );
      let next = 0;
      const response = newDeleteTopicsResponse();
      response.responses = requested.map((t, i): Result => {
        const answered = early[i];
        if (answered) return answered;
        const result = results[next++];
        if (result && 'topicId' in result) {
          return { name: result.name, topicId: result.topicId, errorCode: 0, errorMessage: null };
        }
        if (result) return refused(t, result.errorCode, result.errorMessage ?? '');
        return refused(t, ErrorCode.UNKNOWN_SERVER_ERROR, 'No result for this topic.');
      });
      return response;
    },
    errorResponse: (request, version, errorCode) => ({
      ...newDeleteTopicsResponse(),
      responses: refusedDeletions(request, version, errorCode),
    }),
  }),
);
