/**
 * Minimal controller-listener handlers for the broker-to-controller APIs, calling a real
 * ControllerRuntime: the test listener serves them only where the controller registry does not
 * yet serve the key (the controller part's own handlers take precedence once they exist).
 */
import { ErrorCode } from '../../../protocol/errors.ts';
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import type {
  AllocateProducerIdsRequest,
  AllocateProducerIdsResponse,
  AlterPartitionRequest,
  AlterPartitionResponse,
  BrokerHeartbeatRequest,
  BrokerHeartbeatResponse,
  BrokerRegistrationRequest,
  BrokerRegistrationResponse,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
} from '../../../protocol/generated/index.ts';
import {
  newAllocateProducerIdsResponse,
  newAlterPartitionResponse,
  newBrokerHeartbeatResponse,
  newBrokerRegistrationResponse,
} from '../../../protocol/generated/index.ts';
import { ZERO_UUID } from '../../../protocol/wire/codec-support.ts';
import type { ControllerRuntime } from '../../../src/controller/controller-runtime.ts';
import { defineHandler, type Handler } from '../../../src/handlers/handler.ts';

export function brokerRequestHandlers(runtime: () => ControllerRuntime | undefined): Handler[] {
  return [
    defineHandler<BrokerRegistrationRequest, BrokerRegistrationResponse>({
      apiKey: ApiKey.BrokerRegistration,
      minVersion: 0,
      maxVersion: 4,
      handle: (_ctx, request) =>
        runtime()?.registerBroker(request) ?? {
          ...newBrokerRegistrationResponse(),
          errorCode: ErrorCode.NOT_CONTROLLER,
        },
    }),
    defineHandler<BrokerHeartbeatRequest, BrokerHeartbeatResponse>({
      apiKey: ApiKey.BrokerHeartbeat,
      minVersion: 0,
      maxVersion: 1,
      handle: (_ctx, request) =>
        runtime()?.brokerHeartbeat(request) ?? {
          ...newBrokerHeartbeatResponse(),
          errorCode: ErrorCode.NOT_CONTROLLER,
        },
    }),
    defineHandler<CreateTopicsRequest, CreateTopicsResponse>({
      apiKey: ApiKey.CreateTopics,
      minVersion: 7,
      maxVersion: 7,
      async handle(_ctx, request) {
        const topics = request.topics.map((t) => ({
          name: t.name,
          numPartitions: t.numPartitions,
          replicationFactor: t.replicationFactor,
          configs: new Map(t.configs.map((c) => [c.name, c.value])),
          assignments: t.assignments.map((a) => a.brokerIds),
        }));
        const results = (await runtime()?.createTopics(topics, request)) ?? refuseAll(topics);
        return {
          throttleTimeMs: 0,
          topics: results.map((r) => ({
            ...r,
            // A refused topic has no id; the wire needs a uuid.
            topicId: r.topicId || ZERO_UUID,
            topicConfigErrorCode: 0,
            configs: null,
          })),
        };
      },
    }),
    defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>({
      apiKey: ApiKey.DeleteTopics,
      minVersion: 6,
      maxVersion: 6,
      async handle(_ctx, request) {
        const refs = request.topics.map((t) => ({ name: t.name, topicId: t.topicId }));
        const results = (await runtime()?.deleteTopics(refs)) ?? refuseAll(refs);
        return {
          throttleTimeMs: 0,
          responses: results.map((r, i) => ({
            name: refs[i]?.name ?? null,
            topicId: refs[i]?.topicId ?? '',
            errorCode: r.errorCode,
            errorMessage: r.errorMessage,
          })),
        };
      },
    }),
    defineHandler<CreatePartitionsRequest, CreatePartitionsResponse>({
      apiKey: ApiKey.CreatePartitions,
      minVersion: 3,
      maxVersion: 3,
      async handle(_ctx, request) {
        const requests = request.topics.map((t) => ({
          name: t.name,
          count: t.count,
          assignments: t.assignments?.map((a) => a.brokerIds) ?? null,
        }));
        const results =
          (await runtime()?.createPartitions(requests, request)) ?? refuseAll(requests);
        return {
          throttleTimeMs: 0,
          results: results.map((r, i) => ({
            name: requests[i]?.name ?? '',
            errorCode: r.errorCode,
            errorMessage: r.errorMessage || null,
          })),
        };
      },
    }),
    defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
      apiKey: ApiKey.IncrementalAlterConfigs,
      minVersion: 1,
      maxVersion: 1,
      async handle(_ctx, request) {
        // SET and DELETE only: what ClusterMetadata forwards.
        const alterations = request.resources.map((r) => ({
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          plan: () =>
            r.configs.map((c) => [c.name, c.configOperation === 1 ? null : c.value] as const),
        }));
        const results =
          (await runtime()?.alterConfigs(alterations, request)) ?? refuseAll(alterations);
        return {
          throttleTimeMs: 0,
          responses: results.map((r, i) => ({
            resourceType: alterations[i]?.resourceType ?? 0,
            resourceName: alterations[i]?.resourceName ?? '',
            errorCode: r.errorCode,
            errorMessage: r.errorMessage,
          })),
        };
      },
    }),
    defineHandler<AlterPartitionRequest, AlterPartitionResponse>({
      apiKey: ApiKey.AlterPartition,
      minVersion: 2,
      maxVersion: 3,
      handle: (_ctx, request) =>
        runtime()?.alterPartition(request) ?? {
          ...newAlterPartitionResponse(),
          errorCode: ErrorCode.NOT_CONTROLLER,
        },
    }),
    defineHandler<AllocateProducerIdsRequest, AllocateProducerIdsResponse>({
      apiKey: ApiKey.AllocateProducerIds,
      minVersion: 0,
      maxVersion: 0,
      handle: (_ctx, request) =>
        runtime()?.allocateProducerIds(request) ?? {
          ...newAllocateProducerIdsResponse(),
          errorCode: ErrorCode.NOT_CONTROLLER,
        },
    }),
  ];
}

/** What a node without a controller answers for each entry. */
function refuseAll(entries: readonly unknown[]) {
  return entries.map(() => ({
    name: '',
    errorCode: ErrorCode.NOT_CONTROLLER,
    errorMessage: null,
    topicId: '',
    numPartitions: -1,
    replicationFactor: -1,
  }));
}
