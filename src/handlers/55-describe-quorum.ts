/**
 * DescribeQuorum (key 55) on the broker listener, versions 0-2 (kafka-metadata-quorum
 * --bootstrap-server, AdminClient.describeMetadataQuorum).
 *
 * Behavior:
 * - Only `__cluster_metadata-0` can be described: any other topic or partition list is
 *   INVALID_REQUEST at the top level (as the controller listener answers).
 * - Cluster mode: forwarded as it came to the active controller (the quorum leader, through
 *   the broker's controller channel, src/node), which alone knows every voter's and
 *   observer's progress (src/handlers/controller/55-describe-quorum.ts); a channel that gives
 *   up (no controller before its deadline) is REQUEST_TIMED_OUT.
 * - Single node: this node is the quorum's only voter and its leader. The metadata log is
 *   written at leader epoch 0 (src/metadata/metadata-log.ts), every record committed once
 *   written, so the high watermark and the voter's log end are the log end (the image's
 *   offset + 1); the leader fetches from itself, so both timestamps are now.
 *
 * Version notes: v1 adds lastFetchTimestamp / lastCaughtUpTimestamp; v2 (KIP-853) directory
 * ids (zero: one log dir per voter, not tracked), the error message and nodes (empty: the
 * voters' endpoints are configured, not registered).
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import { Apis } from '../../protocol/generated/api-table.ts';
import {
  type DescribeQuorumRequest,
  type DescribeQuorumResponse,
  newDescribeQuorumResponse,
} from '../../protocol/generated/apis/55-describe-quorum.ts';
import { ZERO_UUID } from '../../protocol/wire/codec-support.ts';
import { METADATA_TOPIC } from '../metadata/metadata-log.ts';
import { controllerChannelOf } from './43-elect-leaders.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { defineHandler, type RequestContext } from './handler.ts';

const METADATA_PARTITION = 0;
/** The leader epoch the single-node metadata log is written at. */
const SINGLE_NODE_EPOCH = 0;

function describeError(errorCode: number): DescribeQuorumResponse {
  return { ...newDescribeQuorumResponse(), errorCode, errorMessage: null };
}

function namesMetadataPartition(request: DescribeQuorumRequest): boolean {
  const topic = request.topics[0];
  return (
    request.topics.length === 1 &&
    topic?.topicName === METADATA_TOPIC &&
    topic.partitions.length === 1 &&
    topic.partitions[0]?.partitionIndex === METADATA_PARTITION
  );
}

export async function handleDescribeQuorum(
  ctx: RequestContext,
  request: DescribeQuorumRequest,
  version: number,
): Promise<DescribeQuorumResponse> {
  if (!namesMetadataPartition(request)) return describeError(ErrorCode.INVALID_REQUEST);
  const cluster = dataOf(ctx).cluster;
  if (!cluster.isClusterMode) return describeSingleNode(ctx, cluster.image.offset + 1);
  const channel = controllerChannelOf(cluster);
  if (!channel) return describeError(ErrorCode.NOT_CONTROLLER);
  try {
    return await channel.send(Apis.DescribeQuorum, version, request);
  } catch (error) {
    ctx.logger.warn({ err: error }, 'DescribeQuorum: no answer from the controller');
    return describeError(ErrorCode.REQUEST_TIMED_OUT);
  }
}

function describeSingleNode(ctx: RequestContext, logEndOffset: number): DescribeQuorumResponse {
  const { nodeId, clock } = ctx.services;
  const nowMs = clock.nowMs();
  const voter = {
    replicaId: nodeId,
    replicaDirectoryId: ZERO_UUID,
    logEndOffset,
    lastFetchTimestamp: nowMs,
    lastCaughtUpTimestamp: nowMs,
  };
  const partition = {
    partitionIndex: METADATA_PARTITION,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    leaderId: nodeId,
    leaderEpoch: SINGLE_NODE_EPOCH,
    highWatermark: logEndOffset,
    currentVoters: [voter],
    observers: [],
  };
  return {
    ...describeError(ErrorCode.NONE),
    topics: [{ topicName: METADATA_TOPIC, partitions: [partition] }],
  };
}

export const describeQuorumHandler = defineHandler<DescribeQuorumRequest, DescribeQuorumResponse>(
  withDataPath({
    apiKey: ApiKey.DescribeQuorum,
    minVersion: 0,
    maxVersion: 2,
    handle: handleDescribeQuorum,
    errorResponse: (_request, _version, errorCode) => describeError(errorCode),
  }),
);
