/**
 * What the Metadata, DescribeCluster and DescribeTopicPartitions handlers read about the
 * cluster. The single-node broker starts with a view of itself and no topics; ClusterMetadata
 * (src/metadata) implements it over the metadata image. In cluster mode the image holds the
 * broker registrations, and the handlers answer brokers, leaders and offline replicas per
 * listener from them (src/metadata/image-view.ts); on a single node (no registrations) they
 * answer from `brokers()` and the partitions as they are.
 */
import type { MetadataImage } from '../metadata/metadata-image.ts';

export interface BrokerEndpoint {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface PartitionView {
  readonly partitionIndex: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly replicaNodes: readonly number[];
  readonly isrNodes: readonly number[];
  readonly offlineReplicas: readonly number[];
}

export interface TopicView {
  readonly name: string;
  /** Kafka's base64url form of the 16-byte topic id. */
  readonly topicId: string;
  readonly isInternal: boolean;
  readonly partitions: readonly PartitionView[];
}

export interface MetadataView {
  readonly clusterId: string;
  /** The active controller's node id, or -1 when none is known. */
  controllerId(): number;
  /** Live brokers, with their endpoints on `listenerName`. */
  brokers(listenerName: string): readonly BrokerEndpoint[];
  topics(): Iterable<TopicView>;
  topic(name: string): TopicView | undefined;
  topicById(topicId: string): TopicView | undefined;
  /**
   * Creates a topic with the broker's defaults (auto.create.topics.enable); resolves to a
   * Kafka error code (0 = created or already there). Absent while topics cannot be created.
   */
  readonly autoCreateTopic?: (name: string) => Promise<number>;
  /**
   * The metadata image the view reads, when it has one (ClusterMetadata's getter). Its
   * broker registrations, when there are any, decide which brokers and replicas are live.
   */
  readonly image?: MetadataImage;
}

/** A cluster of one broker with no topics yet: what a fresh single-node broker knows. */
export class SingleNodeMetadata implements MetadataView {
  readonly clusterId: string;
  readonly #nodeId: number;
  readonly #endpoints: ReadonlyMap<string, BrokerEndpoint>;

  constructor(clusterId: string, nodeId: number, endpoints: ReadonlyMap<string, BrokerEndpoint>) {
    this.clusterId = clusterId;
    this.#nodeId = nodeId;
    this.#endpoints = endpoints;
  }

  controllerId(): number {
    return this.#nodeId;
  }

  brokers(listenerName: string): readonly BrokerEndpoint[] {
    const endpoint = this.#endpoints.get(listenerName);
    return endpoint ? [endpoint] : [];
  }

  topics(): Iterable<TopicView> {
    return [];
  }

  topic(): TopicView | undefined {
    return undefined;
  }

  topicById(): TopicView | undefined {
    return undefined;
  }
}
