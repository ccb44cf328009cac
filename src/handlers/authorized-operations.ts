/**
 * Kafka's AclOperation codes as the bit sets the authorized-operations fields carry
 * (Metadata, DescribeCluster, DescribeTopicPartitions). Brook has no authorizer, so every
 * operation that applies to a resource is allowed: one constant per resource type.
 */

function bits(operations: readonly number[]): number {
  return operations.reduce((set, op) => set | (1 << op), 0);
}

/** READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS. */
export const topicOperations = bits([3, 4, 5, 6, 7, 8, 10, 11]);
/** CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE. */
export const clusterOperations = bits([5, 7, 8, 9, 10, 11, 12]);
