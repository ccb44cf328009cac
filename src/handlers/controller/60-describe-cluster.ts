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
import { defineHandler } from '../handler.ts';
import type { ControllerServices } from './controller-services.ts';

const endpointTypeBroker = 1;
const endpointTypeController = 2;
/** CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE. */
const clusterOperations = [5, 7, 8, 9, 10, 11, 12].reduce((set, op) => set | (1 << op), 0);

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
    const wanted = version >= 1 ? request.endpointType : endpointTypeBroker;
    if (wanted === endpointTypeBroker) {
      const message = `this listener serves controllers (endpoint type ${endpointTypeController})`;
      return failed(ErrorCode.MISMATCHED_ENDPOINT_TYPE, `${message}, not brokers`);
    }
    if (wanted !== endpointTypeController) {
      return failed(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, `unknown endpoint type ${wanted}`);
    }
    const response = newDescribeClusterResponse();
    response.endpointType = endpointTypeController;
    response.clusterId = controller.clusterId;
    response.controllerId = controller.activeControllerId();
    response.brokers = quorumVotersOf(config).map((v) => ({
      brokerId: v.nodeId,
      host: v.host,
      port: v.port,
      rack: null,
    }));
    if (request.includeClusterAuthorizedOperations) {
      response.clusterAuthorizedOperations = clusterOperations;
    }
    return response;
  },
  errorResponse: (_request, _version, errorCode) => failed(errorCode, null),
});
