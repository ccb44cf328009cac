/**
 * DeleteRecords (key 21), versions 0-2: moves a partition's log start offset forward.
 *
 * Behavior, per partition: offset -1 means the high watermark; an offset above the high
 * watermark is OFFSET_OUT_OF_RANGE; below the current log start it changes nothing. The
 * answer's lowWatermark is the log start offset afterwards. Whole segments below it are
 * removed by retention later, as in Kafka. Unknown topic or partition:
 * UNKNOWN_TOPIC_OR_PARTITION; not hosted here, or hosted as a follower: NOT_LEADER_OR_FOLLOWER.
 *
 * Replicated partitions: the leader moves its own log start and answers with it; each follower
 * moves its log start to the leader's (up to its high watermark) from its next fetch answer
 * (src/replication/follower-partition.ts). Kafka instead answers with the low watermark, the
 * smallest log start among the replicas, once it passes the offset; Brook does not wait for
 * the followers.
 *
 * Version notes: v2 flexible.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type DeleteRecordsRequest,
  type DeleteRecordsResponse,
  newDeleteRecordsResponse,
} from '../../protocol/generated/apis/21-delete-records.ts';
import { StorageError } from '../../storage/storage-error.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { type DataServices, defineHandler, type RequestContext } from './handler.ts';

type Result = DeleteRecordsResponse['topics'][number]['partitions'][number];

const HIGH_WATERMARK = -1;

export async function handleDeleteRecords(
  ctx: RequestContext,
  request: DeleteRecordsRequest,
): Promise<DeleteRecordsResponse> {
  const data = dataOf(ctx);
  const response = newDeleteRecordsResponse();
  for (const topic of request.topics) {
    const partitions: Result[] = [];
    for (const p of topic.partitions) {
      partitions.push(await deleteBefore(data, topic.name, p.partitionIndex, p.offset));
    }
    response.topics.push({ name: topic.name, partitions });
  }
  return response;
}

async function deleteBefore(
  data: DataServices,
  name: string,
  partitionIndex: number,
  offset: number,
): Promise<Result> {
  const fail = (errorCode: number): Result => ({ partitionIndex, lowWatermark: -1, errorCode });
  const topic = data.cluster.topic(name);
  if (!topic || partitionIndex < 0 || partitionIndex >= topic.partitions.length) {
    return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  const hosted = data.replicas.partition(name, partitionIndex);
  // Only the leader moves the log start: followers take it from the leader's fetch answers.
  if (hosted?.role !== 'leader') return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  const log = hosted.log;
  const target = offset === HIGH_WATERMARK ? log.highWatermark : offset;
  if (target < 0 || target > log.highWatermark) return fail(ErrorCode.OFFSET_OUT_OF_RANGE);
  try {
    if (target > log.logStartOffset) await log.deleteRecordsBefore(target);
    return { partitionIndex, lowWatermark: log.logStartOffset, errorCode: ErrorCode.NONE };
  } catch (error) {
    if (error instanceof StorageError && error.code === 'storage-offset-out-of-range') {
      return fail(ErrorCode.OFFSET_OUT_OF_RANGE);
    }
    return fail(ErrorCode.KAFKA_STORAGE_ERROR);
  }
}

export const deleteRecordsHandler = defineHandler<DeleteRecordsRequest, DeleteRecordsResponse>(
  withDataPath({
    apiKey: ApiKey.DeleteRecords,
    minVersion: 0,
    maxVersion: 2,
    handle: handleDeleteRecords,
    errorResponse(request, _version, errorCode) {
      const response = newDeleteRecordsResponse();
      response.topics = request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          lowWatermark: -1,
          errorCode,
        })),
      }));
      return response;
    },
  }),
);
