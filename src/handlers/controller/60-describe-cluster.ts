/**
 * DescribeCluster (key 60) on the controller listener, versions 0-1 (KIP-919: admin clients
 * that bootstrap to the controllers, `--bootstrap-controller`).
 *
 * Behavior:
 * - endpointType 2 (controllers): the cluster id, the quorum's leader as controller id (-1
 *   while unknown), and every voter of `controller.quorum.voters` with its controller
 *   endpoint, on any controller, active or not.
 * - endpointType 1 (brokers, and every v0 request, which cannot say otherwise):
 *   MISMATCHED_ENDPOINT_TYPE; any other value UNSUPPORTED_ENDPOINT_TYPE; each with a message,
 *   as Kafka's controllers answer. A quorum member running no controller: NOT_CONTROLLER.
 * - Authorized operations when asked: with no authorizer, every cluster operation.
 *
 * Version notes: v0 flexible from the start; v1 endpointType in request and response.
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import {
  type DescribeClusterRequest,
  type DescribeClusterResponse,
  newDescribeClusterResponse,
} from '../../../protocol/generated/apis/60-describe-cluster.ts';
import { quorumVotersOf } from '../../config/derived.ts';
import { describedNodes, EndpointType, endpointTypeError } from '../60-describe-cluster.ts';
import { defineHandler } from '../handler.ts';
import type { ControllerServices } from './controller-services.ts';

function failed(errorCode: number, errorMessage: string | null): DescribeClusterResponse {
  return { ...newDescribeClusterResponse(), errorCode, errorMessage };
}

export const controllerDescribeClusterHandler = defineHandler<
  DescribeClusterRequest,
  DescribeClusterResponse
>({
  apiKey: ApiKey.DescribeCluster,
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, request, version) {
    const { controller, config } = ctx.services as unknown as Partial<ControllerServices>;
    if (!controller || !config) return failed(ErrorCode.NOT_CONTROLLER, null);
    const refused = endpointTypeError(request, version, EndpointType.controller);
    if (refused) return failed(refused.errorCode, refused.errorMessage);
    const response = newDescribeClusterResponse();
    response.endpointType = EndpointType.controller;
    response.clusterId = controller.clusterId;
    response.controllerId = controller.activeControllerId();
    return describedNodes(response, request, quorumVotersOf(config));
  },
  errorResponse: (_request, _version, errorCode) => failed(errorCode, null),
});
