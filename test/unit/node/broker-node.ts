/**
 * A broker+controller node as the data path composes it (src/node/cluster-data-path.ts,
 * without the ReplicaManager): a NodeRuntime, a ClusterMetadata following the committed
 * stream and forwarding to the controller, and a started BrokerLifecycleManager.
 */
import type { BrokerConfig } from '../../../src/config/catalogue.ts';
import { ClusterMetadata } from '../../../src/metadata/cluster-metadata.ts';
import { MetadataImage } from '../../../src/metadata/metadata-image.ts';
import type { BrokerLifecycleManager } from '../../../src/node/broker-lifecycle.ts';
import type { MetadataQuorumListener } from '../../../src/node/metadata-quorum.ts';
import { NodeRuntime } from '../../../src/node/node-runtime.ts';
import { SystemClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import type { SeededRandom } from '../../../src/util/random.ts';
import type { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';
import { clusterId } from './quorum-harness.ts';

export interface BrokerNodeOptions {
  readonly id: number;
  readonly config: BrokerConfig;
  readonly fs: MemoryFileSystem;
  /** The runtime's randomness. */
  readonly random: SeededRandom;
  /** ClusterMetadata's randomness. */
  readonly metadataRandom: SeededRandom;
  /** A committed batch the image could not apply (the test fails on it its own way). */
  readonly onApplyError: (error: unknown) => void;
  /** Added to the quorum before the image's listener. */
  readonly listeners?: readonly MetadataQuorumListener[];
  readonly metadataSegmentBytes?: number;
}

export interface BrokerNodeParts {
  readonly runtime: NodeRuntime;
  readonly metadata: ClusterMetadata;
  readonly lifecycle: BrokerLifecycleManager;
}

export async function startBrokerNode(options: BrokerNodeOptions): Promise<BrokerNodeParts> {
  const { id } = options;
  const runtime = await NodeRuntime.start({
    config: options.config,
    fs: options.fs,
    clock: new SystemClock(),
    random: options.random,
    logger: silentLogger(),
    clusterId,
    ...(options.metadataSegmentBytes ? { metadataSegmentBytes: options.metadataSegmentBytes } : {}),
  });
  let lifecycle: BrokerLifecycleManager | undefined;
  const metadata = new ClusterMetadata({
    clusterId,
    nodeId: id,
    endpoints: () => new Map(),
    image: MetadataImage.EMPTY,
    forward: runtime.forwarding(() => lifecycle?.brokerEpoch ?? -1, 10_000),
    random: options.metadataRandom,
    defaults: () => ({ numPartitions: 1, replicationFactor: 1 }),
  });
  for (const listener of options.listeners ?? []) runtime.quorum.addListener(listener);
  runtime.quorum.addListener({
    onCommitted: (batch) => {
      metadata.applyCommitted(batch).catch(options.onApplyError);
    },
  });
  lifecycle = runtime.lifecycle({ metadataOffset: () => metadata.image.offset });
  lifecycle.start();
  return { runtime, metadata, lifecycle };
}
