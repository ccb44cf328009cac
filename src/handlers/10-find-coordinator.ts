/**
 * FindCoordinator (key 10), versions 0-6.
 *
 * Behavior:
 * - Key type 0 (group): the leader of the group's partition of __consumer_offsets
 *   (partitionFor(group)), with its endpoint on the listener the request arrived on, even
 *   while the partition is still loading there (the group APIs then say
 *   COORDINATOR_LOAD_IN_PROGRESS, as Kafka does). In cluster mode the leader and its endpoint
 *   come from the metadata image (the broker's registration, as Kafka's
 *   getPartitionLeaderEndpoint); a partition without a leader, or whose leader has no
 *   endpoint on this listener, is COORDINATOR_NOT_AVAILABLE (the client retries). A single
 *   node leads every partition: the answer is this broker.
 * - Cluster mode: each lookup first lets the group service catch up with the partitions this
 *   broker leads (a client that got NOT_COORDINATOR looks the coordinator up again).
 * - The first lookup creates __consumer_offsets (offsets.topic.num.partitions partitions,
 *   compacted), as Kafka does; it is answered once the topic exists (Kafka answers
 *   COORDINATOR_NOT_AVAILABLE meanwhile and lets the client retry: waiting saves the retry).
 * - No group coordinator running (stopping, not wired) or no endpoint on this listener:
 *   COORDINATOR_NOT_AVAILABLE with node -1, host '' and port -1 (Kafka's "no node").
 * - Key type 1 (transaction): COORDINATOR_NOT_AVAILABLE until Brook has a transaction
 *   coordinator; clients retry it, as they do while Kafka's __transaction_state is created.
 * - Any other key type, share (2, KIP-932: Brook has no share groups) included: INVALID_REQUEST.
 * - An error carries its message (errorMessage, v1+); a success has a null message.
 *
 * Version notes:
 * - v1: keyType, errorMessage, throttle. v3: flexible.
 * - v4+: batched lookups (coordinatorKeys -> coordinators[], each with its own error); the
 *   single key and the top-level fields are absent. v5: TRANSACTION_ABORTABLE becomes a
 *   possible answer (never given here). v6: key type 2 (share groups) exists.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
  newFindCoordinatorResponse,
} from '../../protocol/generated/apis/10-find-coordinator.ts';
import { offsetsTopicName } from '../coordinator/group/log-group-store.ts';
import { clusterImageOf } from '../metadata/image-view.ts';
import type { MetadataImage } from '../metadata/metadata-image.ts';
import { defineHandler, type RequestContext } from './handler.ts';

const keyTypeGroup = 0;
const keyTypeTransaction = 1;

interface Found {
  readonly key: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

function notFound(key: string, errorCode: number, errorMessage: string): Found {
  return { key, errorCode, errorMessage, nodeId: -1, host: '', port: -1 };
}

export async function findCoordinator(
  ctx: RequestContext,
  key: string,
  keyType: number,
): Promise<Found> {
  if (keyType === keyTypeTransaction) {
    return notFound(
      key,
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
      'this broker has no transaction coordinator',
    );
  }
  if (keyType !== keyTypeGroup) {
    return notFound(key, ErrorCode.INVALID_REQUEST, `unknown coordinator key type ${keyType}`);
  }
  const { groups, metadata, nodeId } = ctx.services;
  const errorCode =
    groups === undefined ? ErrorCode.COORDINATOR_NOT_AVAILABLE : await groups.ensureCoordinator();
  if (errorCode !== ErrorCode.NONE) {
    return notFound(key, errorCode, 'the group coordinator is not available');
  }
  const image = clusterImageOf(metadata);
  if (image !== undefined) {
    // Clients come here after NOT_COORDINATOR: catch up with partitions the ReplicaManager
    // hosts as leader without an image having told the group service (the broker's
    // catch-up at registration applies an image to the replicas alone).
    groups?.leadershipChanged();
    return clusterCoordinator(ctx, key, image);
  }
  const self = metadata.brokers(ctx.listenerName).find((b) => b.nodeId === nodeId);
  if (self === undefined) {
    return notFound(key, ErrorCode.COORDINATOR_NOT_AVAILABLE, 'no endpoint on this listener');
  }
  const { host, port } = self;
  return { key, errorCode: ErrorCode.NONE, errorMessage: null, nodeId, host, port };
}

/** Cluster mode: the leader of the group's partition, from the image's registrations. */
function clusterCoordinator(ctx: RequestContext, key: string, image: MetadataImage): Found {
  const partition = ctx.services.groups?.partitionFor(key);
  const leaderId =
    partition === undefined
      ? -1
      : (image.topic(offsetsTopicName)?.partitions[partition]?.leaderId ?? -1);
  if (leaderId < 0) {
    return notFound(key, ErrorCode.COORDINATOR_NOT_AVAILABLE, 'the group partition has no leader');
  }
  const endpoint = image.broker(leaderId)?.endpoints.get(ctx.listenerName);
  if (endpoint === undefined) {
    return notFound(
      key,
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
      `the coordinator ${leaderId} has no endpoint on listener ${ctx.listenerName}`,
    );
  }
  const { host, port } = endpoint;
  return { key, errorCode: ErrorCode.NONE, errorMessage: null, nodeId: leaderId, host, port };
}

export async function handleFindCoordinator(
  ctx: RequestContext,
  request: FindCoordinatorRequest,
  version: number,
): Promise<FindCoordinatorResponse> {
  const response = newFindCoordinatorResponse();
  if (version >= 4) {
    const found = await Promise.all(
      request.coordinatorKeys.map((key) => findCoordinator(ctx, key, request.keyType)),
    );
    response.coordinators = found.map((f) => ({ ...f }));
    return response;
  }
  return setSingle(response, await findCoordinator(ctx, request.key, request.keyType));
}

/** v0-v3: one answer in the top-level fields. */
function setSingle(response: FindCoordinatorResponse, found: Found): FindCoordinatorResponse {
  response.errorCode = found.errorCode;
  response.errorMessage = found.errorMessage;
  response.nodeId = found.nodeId;
  response.host = found.host;
  response.port = found.port;
  return response;
}

export const findCoordinatorHandler = defineHandler<
  FindCoordinatorRequest,
  FindCoordinatorResponse
>({
  apiKey: ApiKey.FindCoordinator,
  minVersion: 0,
  maxVersion: 6,
  handle: handleFindCoordinator,
  errorResponse(request, version, errorCode) {
    const response = newFindCoordinatorResponse();
    const failed = (key: string): Found => notFound(key, errorCode, 'injected error');
    if (version < 4) return setSingle(response, failed(request.key));
    response.coordinators = request.coordinatorKeys.map((k) => ({ ...failed(k) }));
    return response;
  },
});
