/**
 * What clients on one listener are told about brokers and partitions, from the broker
 * registrations of a MetadataImage (cluster mode), as Kafka 4's KRaftMetadataCache answers:
 *
 * - Live brokers: registered, unfenced, with an endpoint on the listener, by id.
 * - A partition's leader is reported when it is registered (fenced or not: Kafka reports a
 *   registration's node either way) with an endpoint on the listener; otherwise leaderId -1
 *   with LEADER_NOT_AVAILABLE (leader -1 or unregistered), or, when it is registered without
 *   that listener, LISTENER_NOT_FOUND for Metadata v6+ (LEADER_NOT_AVAILABLE before).
 * - offlineReplicas: replicas whose broker is unregistered, fenced, or has no endpoint on the
 *   listener (Kafka also counts replicas on offline log dirs; Brook registers none offline).
 * - Metadata v0 lists only live replicas and ISR members, with REPLICA_NOT_AVAILABLE when it
 *   had to leave one out (Kafka's errorUnavailableEndpoints).
 *
 * On a single node the image has no registrations: callers answer from the MetadataView as
 * before (`clusterImageOf` says which; `partitionAnswer` does either).
 */
import { ErrorCode } from '../../protocol/errors.ts';
import type { BrokerEndpoint, MetadataView, PartitionView } from '../handlers/metadata-view.ts';
import type { MetadataImage } from './metadata-image.ts';

/** Live brokers with their endpoint on `listenerName`, in id order. */
export function brokersFromImage(image: MetadataImage, listenerName: string): BrokerEndpoint[] {
  const live: BrokerEndpoint[] = [];
  for (const broker of image.brokers()) {
    if (broker.fenced) continue;
    const endpoint = broker.endpoints.get(listenerName);
    if (!endpoint) continue;
    live.push({ nodeId: broker.id, host: endpoint.host, port: endpoint.port, rack: broker.rack });
  }
  return live.sort((a, b) => a.nodeId - b.nodeId);
}

/** The view's image when it holds broker registrations (cluster mode); else undefined. */
export function clusterImageOf(view: MetadataView): MetadataImage | undefined {
  const image = view.image;
  return image && image.brokerCount > 0 ? image : undefined;
}

/** Live brokers on `listenerName`: from the registrations in cluster mode, else the view's. */
export function liveBrokers(view: MetadataView, listenerName: string): readonly BrokerEndpoint[] {
  const image = clusterImageOf(view);
  return image ? brokersFromImage(image, listenerName) : view.brokers(listenerName);
}

export interface PartitionAnswer {
  readonly errorCode: number;
  readonly leaderId: number;
  readonly replicaNodes: readonly number[];
  readonly isrNodes: readonly number[];
  readonly offlineReplicas: readonly number[];
}

export interface PartitionAnswerOptions {
  /** Metadata v0: list only live replicas (Kafka's errorUnavailableEndpoints). */
  readonly onlyLiveReplicas: boolean;
  /** Metadata v6+: LISTENER_NOT_FOUND for a leader without the listener. */
  readonly listenerNotFound: boolean;
}

/** A partition as clients on `listenerName` see it, from the image's registrations. */
export function partitionForListener(
  image: MetadataImage,
  partition: PartitionView,
  listenerName: string,
  options: PartitionAnswerOptions,
): PartitionAnswer {
  const isLive = (id: number): boolean => {
    const broker = image.broker(id);
    return broker !== undefined && !broker.fenced && broker.endpoints.has(listenerName);
  };
  const replicaNodes = options.onlyLiveReplicas
    ? partition.replicaNodes.filter(isLive)
    : partition.replicaNodes;
  const isrNodes = options.onlyLiveReplicas
    ? partition.isrNodes.filter(isLive)
    : partition.isrNodes;
  const offlineReplicas = partition.replicaNodes.filter((id) => !isLive(id));
  const leader = image.broker(partition.leaderId);
  if (!leader?.endpoints.has(listenerName)) {
    const errorCode =
      leader && options.listenerNotFound
        ? ErrorCode.LISTENER_NOT_FOUND
        : ErrorCode.LEADER_NOT_AVAILABLE;
    return { errorCode, leaderId: -1, replicaNodes, isrNodes, offlineReplicas };
  }
  const missing =
    replicaNodes.length < partition.replicaNodes.length ||
    isrNodes.length < partition.isrNodes.length;
  return {
    errorCode: missing ? ErrorCode.REPLICA_NOT_AVAILABLE : ErrorCode.NONE,
    leaderId: leader.id,
    replicaNodes,
    isrNodes,
    offlineReplicas,
  };
}

/**
 * A partition as clients on `listenerName` see it: from the registrations of `image` (cluster
 * mode, `clusterImageOf`), else (a single node) as the view holds it, with no error.
 */
export function partitionAnswer(
  image: MetadataImage | undefined,
  partition: PartitionView,
  listenerName: string,
  options: PartitionAnswerOptions,
): PartitionAnswer {
  if (image) return partitionForListener(image, partition, listenerName, options);
  const { leaderId, replicaNodes, isrNodes, offlineReplicas } = partition;
  return { errorCode: ErrorCode.NONE, leaderId, replicaNodes, isrNodes, offlineReplicas };
}
