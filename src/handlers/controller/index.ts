/**
 * The controller listener's handlers: the quorum's own APIs, ApiVersions so that Kafka's tools
 * (kafka-metadata-quorum) can talk to it, and the cluster-management APIs brokers and admin
 * clients send to the active controller (ControllerServices.controller). Separate from
 * src/handlers/index.ts, the broker's client-facing list.
 */
import { apiVersionsHandler } from '../18-api-versions.ts';
import type { Handler } from '../handler.ts';
import { HandlerRegistry } from '../registry.ts';
import { controllerFetchHandler } from './01-fetch.ts';
import { controllerCreateTopicsHandler } from './19-create-topics.ts';
import { controllerDeleteTopicsHandler } from './20-delete-topics.ts';
import { controllerAlterConfigsHandler } from './33-alter-configs.ts';
import { controllerCreatePartitionsHandler } from './37-create-partitions.ts';
import { controllerElectLeadersHandler } from './43-elect-leaders.ts';
import { controllerIncrementalAlterConfigsHandler } from './44-incremental-alter-configs.ts';
import { controllerVoteHandler } from './52-vote.ts';
import { controllerBeginQuorumEpochHandler } from './53-begin-quorum-epoch.ts';
import { controllerEndQuorumEpochHandler } from './54-end-quorum-epoch.ts';
import { controllerDescribeQuorumHandler } from './55-describe-quorum.ts';
import { controllerAlterPartitionHandler } from './56-alter-partition.ts';
import { controllerFetchSnapshotHandler } from './59-fetch-snapshot.ts';
import { controllerDescribeClusterHandler } from './60-describe-cluster.ts';
import { controllerBrokerRegistrationHandler } from './62-broker-registration.ts';
import { controllerBrokerHeartbeatHandler } from './63-broker-heartbeat.ts';
import { controllerAllocateProducerIdsHandler } from './67-allocate-producer-ids.ts';

/** The quorum's own APIs: every quorum member serves them. */
export const controllerHandlers: readonly Handler[] = [
  controllerFetchHandler,
  apiVersionsHandler,
  controllerVoteHandler,
  controllerBeginQuorumEpochHandler,
  controllerEndQuorumEpochHandler,
  controllerDescribeQuorumHandler,
  controllerFetchSnapshotHandler,
];

/** The cluster-management APIs of a node that runs the controller (ControllerRuntime). */
export const clusterControllerHandlers: readonly Handler[] = [
  controllerCreateTopicsHandler,
  controllerDeleteTopicsHandler,
  controllerAlterConfigsHandler,
  controllerCreatePartitionsHandler,
  controllerElectLeadersHandler,
  controllerIncrementalAlterConfigsHandler,
  controllerAlterPartitionHandler,
  controllerDescribeClusterHandler,
  controllerBrokerRegistrationHandler,
  controllerBrokerHeartbeatHandler,
  controllerAllocateProducerIdsHandler,
];

/**
 * The controller listener's registry. `runsController`: the node runs a ControllerRuntime
 * (ControllerServices.controller and .config set), so it also serves and advertises the
 * cluster-management APIs; a bare quorum member (src/raft-node.ts) does not.
 */
export function controllerRegistry(
  schemaRange: ConstructorParameters<typeof HandlerRegistry>[0],
  options: { readonly runsController?: boolean } = {},
): HandlerRegistry {
  const registry = new HandlerRegistry(schemaRange);
  for (const handler of controllerHandlers) registry.register(handler);
  if (options.runsController === true) {
    for (const handler of clusterControllerHandlers) registry.register(handler);
  }
  return registry;
}
