/**
 * NodeRuntime from real BrokerConfigs: three nodes with `process.roles=broker,controller`
 * over TCP on 127.0.0.1 (each a voter with its CONTROLLER listener), each broker's
 * ClusterMetadata in cluster mode and its BrokerLifecycleManager from the runtime's
 * factories. All three register and are unfenced; a topic with three replicas created
 * through node 2 shows on every node's image with the same assignment; its leader shrinks
 * partition 0's ISR with AlterPartition through the runtime's sender, seen by every node;
 * follower connections resolve registered endpoints; a broker-only node (an observer) joins
 * and sees the topic too. Misconfigured roles are refused.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.ts';
import type { ClusterMetadata } from '../../../src/metadata/cluster-metadata.ts';
import type { BrokerLifecycleManager } from '../../../src/node/broker-lifecycle.ts';
import {
  brokerListenersOf,
  interBrokerListenerNameOf,
  NodeRuntime,
} from '../../../src/node/node-runtime.ts';
import { freePorts } from '../../../src/server/free-ports.ts';
import { SystemClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';
import { startBrokerNode } from './broker-node.ts';
import { clusterId, timeouts, until } from './quorum-harness.ts';

const seed = Number(process.env.BROOK_SEED ?? 31);
console.log(`node-runtime seed ${seed}`);

const clock = new SystemClock();
const logger = silentLogger();

interface RunningNode {
  readonly id: number;
  readonly runtime: NodeRuntime;
  readonly metadata: ClusterMetadata;
  readonly lifecycle: BrokerLifecycleManager;
}

const running: RunningNode[] = [];

afterAll(async () => {
  for (const n of running) n.lifecycle.close();
  for (const n of running) await n.runtime.stop();
});

function configOf(id: number, roles: string[], ports: number[], voters: string[]) {
  const listeners = [`PLAINTEXT://127.0.0.1:${ports[0]}`];
  if (roles.includes('controller')) listeners.push(`CONTROLLER://127.0.0.1:${ports[1]}`);
  return loadConfig({
    overrides: {
      'node.id': id,
      'process.roles': roles,
      'controller.quorum.voters': voters,
      listeners,
      'log.dirs': [`/node${id}`],
      'broker.heartbeat.interval.ms': 100,
      'broker.rack': `rack-${id}`,
      ...timeouts,
    },
  });
}

async function startNode(id: number, config: ReturnType<typeof loadConfig>) {
  const parts = await startBrokerNode({
    id,
    config,
    fs: new MemoryFileSystem(new SeededRandom(seed + id)),
    random: new SeededRandom(seed * 7 + id),
    metadataRandom: new SeededRandom(seed + 50 + id),
    onApplyError: (error) => {
      throw new Error(`node ${id} could not apply`, { cause: error });
    },
  });
  const node: RunningNode = { id, ...parts };
  running.push(node);
  return node;
}

describe('NodeRuntime', () => {
  it('runs three broker+controller nodes: registered, unfenced, one topic everywhere', async () => {
    const ports = await freePorts(6);
    const voters = [1, 2, 3].map((id) => `${id}@127.0.0.1:${ports[2 * id - 1]}`);
    const configs = [1, 2, 3].map((id) =>
      configOf(id, ['broker', 'controller'], ports.slice(2 * id - 2, 2 * id), voters),
    );
    const first = configs[0] as ReturnType<typeof loadConfig>;
    expect(brokerListenersOf(first)).toEqual([
      { name: 'PLAINTEXT', host: '127.0.0.1', port: ports[0] },
    ]);
    expect(interBrokerListenerNameOf(first)).toBe('PLAINTEXT');
    const nodes = await Promise.all(configs.map((config, i) => startNode(i + 1, config)));
    await Promise.all(nodes.map((n) => n.lifecycle.whenUnfenced()));
    for (const n of nodes) {
      await until(`node ${n.id} sees three brokers`, () => n.metadata.brokerIds().length === 3);
      expect(n.metadata.brokers('PLAINTEXT').map((b) => [b.nodeId, b.rack])).toEqual([
        [1, 'rack-1'],
        [2, 'rack-2'],
        [3, 'rack-3'],
      ]);
      // The controller listener is not a broker endpoint.
      expect(n.metadata.brokers('CONTROLLER')).toEqual([]);
    }
    const active = nodes.filter((n) => n.runtime.controller?.isActive);
    expect(active.length).toBe(1);

    const node2 = nodes[1] as RunningNode;
    const created = await node2.metadata.createTopic({
      name: 'replicated',
      numPartitions: 4,
      replicationFactor: 3,
      configs: new Map(),
      assignments: [],
    });
    expect(created.errorCode).toBe(0);
    const assignment = node2.metadata.topic('replicated')?.partitions.map((p) => p.replicaNodes);
    expect(assignment?.length).toBe(4);
    for (const replicas of assignment ?? []) expect([...replicas].sort()).toEqual([1, 2, 3]);
    // Leaders spread over the brokers.
    const leaders = new Set(node2.metadata.topic('replicated')?.partitions.map((p) => p.leaderId));
    expect(leaders.size).toBeGreaterThan(1);
    for (const n of nodes) {
      await until(`node ${n.id} has the topic`, () => n.metadata.topic('replicated') !== undefined);
      const seen = n.metadata.topic('replicated')?.partitions.map((p) => p.replicaNodes);
      expect(seen).toEqual(assignment);
    }

    // The leader of partition 0 shrinks its ISR through its runtime's AlterPartition sender.
    const partition = node2.metadata.topic('replicated')?.partitions[0];
    const topicId = node2.metadata.topic('replicated')?.topicId as string;
    if (!partition) throw new Error('no partition 0');
    const leader = nodes.find((n) => n.id === partition.leaderId) as RunningNode;
    const kept = [partition.leaderId, ...partition.isrNodes.filter((id) => id !== leader.id)]
      .slice(0, 2)
      .sort();
    const image = leader.metadata.image;
    const answer = await leader.runtime.alterPartitionSender().send({
      brokerId: leader.id,
      brokerEpoch: leader.lifecycle.brokerEpoch,
      topics: [
        {
          topicName: '',
          topicId,
          partitions: [
            {
              partitionIndex: 0,
              leaderEpoch: partition.leaderEpoch,
              newIsr: [],
              newIsrWithEpochs: kept.map((id) => ({
                brokerId: id,
                brokerEpoch: image.broker(id)?.epoch ?? -1,
              })),
              leaderRecoveryState: 0,
              partitionEpoch: image.topic('replicated')?.partitions[0]?.partitionEpoch ?? -1,
            },
          ],
        },
      ],
    });
    expect(answer.errorCode).toBe(0);
    expect(answer.topics[0]?.partitions[0]?.errorCode).toBe(0);
    expect([...(answer.topics[0]?.partitions[0]?.isr ?? [])].sort()).toEqual(kept);
    for (const n of nodes) {
      await until(`node ${n.id} sees the shrunk ISR`, () => {
        const isr = n.metadata.topic('replicated')?.partitions[0]?.isrNodes ?? [];
        return [...isr].sort().join() === kept.join();
      });
    }

    // Follower connections go to the registered inter-broker endpoints.
    const peers = node2.runtime.brokerChannels(() => node2.metadata.image);
    expect(peers.channelFor(2)).toBeUndefined(); // itself
    expect(peers.channelFor(99)).toBeUndefined(); // unregistered
    const toNode1 = peers.channelFor(1);
    expect(toNode1).toBeDefined();
    expect(peers.channelFor(1)).toBe(toNode1);
    peers.close();
    expect(peers.channelFor(1)).toBeUndefined();

    // A broker-only node: an observer of the quorum, registered like the others.
    const [observerPort = 0] = await freePorts(1);
    const observer = await startNode(4, configOf(4, ['broker'], [observerPort], voters));
    expect(observer.runtime.quorum.isVoter).toBe(false);
    expect(observer.runtime.controller).toBeUndefined();
    await observer.lifecycle.whenUnfenced();
    await until(
      'observer has the topic',
      () => observer.metadata.topic('replicated') !== undefined,
    );
    for (const n of nodes) {
      await until(`node ${n.id} sees broker 4`, () => n.metadata.brokerIds().includes(4));
    }
  });

  it('refuses the controller role without a voter entry or a controller listener', async () => {
    const [a = 0, b = 0] = await freePorts(2);
    // loadConfig refuses both; the runtime checks again for configs built in code.
    const valid = configOf(1, ['controller'], [a, b], [`1@127.0.0.1:${b}`]);
    const attempts = [
      { ...valid, 'node.id': 9 },
      { ...valid, listeners: [`PLAINTEXT://127.0.0.1:${a}`] },
    ];
    for (const config of attempts) {
      await expect(
        NodeRuntime.start({
          config,
          fs: new MemoryFileSystem(new SeededRandom(seed)),
          clock,
          random: new SeededRandom(seed),
          logger,
          clusterId,
        }),
      ).rejects.toMatchObject({ code: 'NODE_CONFIG' });
    }
  });
});
