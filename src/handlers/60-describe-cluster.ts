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
import { clusterOperations } from './authorized-operations.ts';
import { defineHandler, type RequestContext } from './handler.ts';

/** DescribeCluster v1's endpointType: which listeners a client asks for (KIP-919). */
export const EndpointType = { broker: 1, controller: 2 } as const;
const endpointTypeNames: Record<number, string> = { 1: 'brokers', 2: 'controllers' };

/**
 * The error of a request for endpoints a listener does not serve (`served`), with Kafka's
 * messages: the other known type MISMATCHED_ENDPOINT_TYPE, any other UNSUPPORTED; undefined
 * when it asks for `served`. A v0 request cannot ask: it means brokers.
 */
export function endpointTypeError(
  request: DescribeClusterRequest,
  version: number,
  served: number,
): { readonly errorCode: number; readonly errorMessage: string } | undefined {
  const wanted = version >= 1 ? request.endpointType : EndpointType.broker;
  if (wanted === served) return undefined;
  const name = endpointTypeNames[wanted];
  if (name === undefined) {
    return {
      errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
      errorMessage: `unknown endpoint type ${wanted}`,
    };
  }
  const servedName = endpointTypeNames[served];
  return {
    errorCode: ErrorCode.MISMATCHED_ENDPOINT_TYPE,
    errorMessage: `this listener serves ${servedName} (endpoint type ${served}), not ${name}`,
  };
}

export function handleDescribeCluster(
  ctx: RequestContext,
  request: DescribeClusterRequest,
  version: number,
): DescribeClusterResponse {
  const { metadata } = ctx.services;
  const response = newDescribeClusterResponse();
  response.clusterId = metadata.clusterId;
  const refused = endpointTypeError(request, version, EndpointType.broker);
  if (refused) return { ...response, ...refused };
  response.controllerId = metadata.controllerId();
  return describedNodes(response, request, liveBrokers(metadata, ctx.listenerName));
}

/** The answer's nodes (brokers or controllers) and, when asked, the authorized operations. */
export function describedNodes(
  response: DescribeClusterResponse,
  request: DescribeClusterRequest,
  nodes: readonly { nodeId: number; host: string; port: number; rack?: string | null }[],
): DescribeClusterResponse {
  response.brokers = nodes.map((n) => ({
    brokerId: n.nodeId,
    host: n.host,
    port: n.port,
    rack: n.rack ?? null,
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
