/**
 * What the Metadata and DescribeCluster handlers read about the cluster. The single-node
 * broker starts with a view of itself and no topics; the metadata image (src/metadata) will
 * implement the same interface, so the handlers do not change when topics arrive.
 */

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
