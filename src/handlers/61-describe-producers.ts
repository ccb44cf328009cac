/**
 * DescribeProducers (key 61), version 0: the idempotent producers a partition knows
 * (replication/producer-state.ts): id, epoch, last sequence and timestamp; no transactions
 * yet, so coordinatorEpoch and currentTxnStartOffset are -1.
 *
 * Errors per partition: UNKNOWN_TOPIC_OR_PARTITION; NOT_LEADER_OR_FOLLOWER when not hosted here
 * or hosted as a follower (cluster mode).
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type DescribeProducersRequest,
  type DescribeProducersResponse,
  newDescribeProducersResponse,
} from '../../protocol/generated/apis/61-describe-producers.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { type DataServices, defineHandler, type RequestContext } from './handler.ts';

type PartitionResult = DescribeProducersResponse['topics'][number]['partitions'][number];

function failed(partitionIndex: number, errorCode: number): PartitionResult {
  return { partitionIndex, errorCode, errorMessage: null, activeProducers: [] };
}

export function handleDescribeProducers(
  ctx: RequestContext,
  request: DescribeProducersRequest,
): DescribeProducersResponse {
  const data = dataOf(ctx);
  const response = newDescribeProducersResponse();
  response.topics = request.topics.map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((index) => producersOf(data, t.name, index)),
  }));
  return response;
}

function producersOf(data: DataServices, name: string, index: number): PartitionResult {
  const topic = data.cluster.topic(name);
  if (!topic || index < 0 || index >= topic.partitions.length) {
    return failed(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  const hosted = data.replicas.partition(name, index);
  // A follower's producer table trails the leader's: Kafka answers only on the leader.
  if (hosted?.role !== 'leader') return failed(index, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  return {
    ...failed(index, ErrorCode.NONE),
    activeProducers: hosted.producers.snapshotEntries().map((e) => ({
      producerId: e.producerId,
      producerEpoch: e.epoch,
      lastSequence: e.lastSequence,
      lastTimestamp: e.timestampMs,
      coordinatorEpoch: -1,
      currentTxnStartOffset: -1,
    })),
  };
}

export const describeProducersHandler = defineHandler<
  DescribeProducersRequest,
  DescribeProducersResponse
>(
  withDataPath({
    apiKey: ApiKey.DescribeProducers,
    minVersion: 0,
    maxVersion: 0,
    handle: handleDescribeProducers,
    errorResponse(request, _version, errorCode) {
      const response = newDescribeProducersResponse();
      response.topics = request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((i) => failed(i, errorCode)),
      }));
      return response;
    },
  }),
);
