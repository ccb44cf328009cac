/**
 * DescribeQuorum (key 55) on the controller listener, versions 0-2.
 *
 * Behavior:
 * - For `__cluster_metadata-0`: the replica's view. Only the leader knows the quorum: it
 *   answers with the high watermark and each voter's and observer's end offset and last fetch
 *   and caught-up times; any other replica answers NOT_LEADER_OR_FOLLOWER in the partition,
 *   naming the leader and epoch it knows (so a tool can ask again there).
 * - Any other topic or partition list: INVALID_REQUEST at the top level.
 *
 * Version notes:
 * - v1 adds lastFetchTimestamp / lastCaughtUpTimestamp; v2 (KIP-853) directory ids, the error
 *   message and nodes (empty: Brook's voters are static, their endpoints configured).
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type DescribeQuorumRequest,
  type DescribeQuorumResponse,
  newDescribeQuorumResponse,
} from '../../../protocol/generated/apis/55-describe-quorum.ts';
import {
  describeQuorumResponseToWire,
  metadataPartition,
  metadataTopicName,
} from '../../raft/transport-codec.ts';
import { defineHandler } from '../handler.ts';
import { raftOf } from './controller-services.ts';

function describeError(errorCode: number): DescribeQuorumResponse {
  return { ...newDescribeQuorumResponse(), errorCode };
}

function namesMetadataPartition(request: DescribeQuorumRequest): boolean {
  const topic = request.topics[0];
  const partition = topic?.partitions[0];
  return (
    request.topics.length === 1 &&
    topic?.topicName === metadataTopicName &&
    topic.partitions.length === 1 &&
    partition?.partitionIndex === metadataPartition
  );
}

export const controllerDescribeQuorumHandler = defineHandler<
  DescribeQuorumRequest,
  DescribeQuorumResponse
>({
  apiKey: ApiKey.DescribeQuorum,
  minVersion: 0,
  maxVersion: 2,
  handle(ctx, request) {
    if (!namesMetadataPartition(request)) return describeError(ErrorCode.INVALID_REQUEST);
    return describeQuorumResponseToWire(raftOf(ctx).describeQuorum());
  },
  errorResponse: (_request, _version, errorCode) => describeError(errorCode),
});
