/**
 * DescribeCluster (key 60), versions 0-1.
 *
 * Behavior:
 * - Cluster id, controller id and every live broker's endpoint on the request's listener (in
 *   cluster mode: the registered, unfenced brokers of the metadata image).
 * - v1 endpointType: 1 (brokers) is what a broker listener serves; 2 (controllers) asked of a
 *   broker listener is MISMATCHED_ENDPOINT_TYPE, any other value UNSUPPORTED_ENDPOINT_TYPE,
 *   each with a message, as Kafka answers.
 * - Authorized operations when asked: with no authorizer, every cluster operation.
 *
 * Version notes:
 * - v0: flexible from the start. v1: endpointType in request and response.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type DescribeClusterRequest,
  type DescribeClusterResponse,
  newDescribeClusterResponse,
} from '../../protocol/generated/apis/60-describe-cluster.ts';
import { liveBrokers } from '../metadata/image-view.ts';
import { defineHandler, type RequestContext } from './handler.ts';

const endpointTypeBroker = 1;
const endpointTypeController = 2;
/** CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE. */
const clusterOperations = [5, 7, 8, 9, 10, 11, 12].reduce((set, op) => set | (1 << op), 0);

export function handleDescribeCluster(
  ctx: RequestContext,
  request: DescribeClusterRequest,
  version: number,
): DescribeClusterResponse {
  const { metadata } = ctx.services;
  const response = newDescribeClusterResponse();
  response.clusterId = metadata.clusterId;
  const wanted = request.endpointType;
  if (version >= 1 && wanted !== endpointTypeBroker) {
    const known = wanted === endpointTypeController;
    response.errorCode = known
      ? ErrorCode.MISMATCHED_ENDPOINT_TYPE
      : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE;
    response.errorMessage = known
      ? `this listener serves brokers (endpoint type ${endpointTypeBroker}), not controllers`
      : `unknown endpoint type ${wanted}`;
    return response;
  }
  response.controllerId = metadata.controllerId();
  response.brokers = liveBrokers(metadata, ctx.listenerName).map((b) => ({
    brokerId: b.nodeId,
    host: b.host,
    port: b.port,
    rack: b.rack,
  }));
  if (request.includeClusterAuthorizedOperations) {
    response.clusterAuthorizedOperations = clusterOperations;
  }
  return response;
}

export const describeClusterHandler = defineHandler<
  DescribeClusterRequest,
  DescribeClusterResponse
>({
  apiKey: ApiKey.DescribeCluster,
  minVersion: 0,
  maxVersion: 1,
  handle: handleDescribeCluster,
});
