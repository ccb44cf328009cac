/**
 * Quorum members in one process over real TCP on 127.0.0.1: each voter serves its controller
 * listener (bound at port 0 first, so the voter list names real ports), each node keeps its
 * metadata log on its own MemoryFileSystem (kept across restarts).
 */

import { loadConfig } from '../../../src/config/load-config.ts';
import { ControllerRuntime } from '../../../src/controller/controller-runtime.ts';
import { DEFAULT_CONTROLLER_CONFIG } from '../../../src/controller/decision.ts';
import type {
  ControllerRaft,
  ControllerServices,
} from '../../../src/handlers/controller/controller-services.ts';
import { controllerListener } from '../../../src/node/controller-listener.ts';
import {
  type CommittedBatch,
  MetadataQuorum,
  type MetadataQuorumListener,
  type QuorumConfig,
} from '../../../src/node/metadata-quorum.ts';
import type { LeaderAndEpoch } from '../../../src/raft/replica-config.ts';
import type { KafkaServer } from '../../../src/server/kafka-server.ts';
import { SystemClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';

export const clusterId = 'node-test-cluster';

/** Resolves once `check` holds, re-checked every few ms; rejects with `what` after the limit. */
export async function until(what: string, check: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Records every delivery, and fails the run on an out-of-order or repeated offset. */
export class Collector implements MetadataQuorumListener {
  readonly values: string[] = [];
  readonly offsets: number[] = [];
  readonly batches: CommittedBatch[] = [];
  readonly leaders: { leader: LeaderAndEpoch; nextOffset: number }[] = [];
  readonly errors: string[] = [];
  #lastOffset = -1;

  /** The last offset delivered (what a broker's image would have applied); -1: none. */
  get lastOffset(): number {
    return this.#lastOffset;
  }

  onCommitted(batch: CommittedBatch): void {
    this.batches.push(batch);
    if (batch.snapshot) {
      this.values.length = 0;
      this.offsets.length = 0;
    } else if (batch.lastOffset <= this.#lastOffset) {
      this.errors.push(`batch ending ${batch.lastOffset} after ${this.#lastOffset}`);
    }
    for (const record of batch.records) {
      const last = this.offsets.at(-1) ?? -1;
      if (!batch.snapshot && record.offset <= last) {
        this.errors.push(`offset ${record.offset} after ${last}`);
      }
      this.offsets.push(record.offset);
      this.values.push(record.data.toString('utf8'));
    }
    this.#lastOffset = batch.lastOffset;
  }

  onLeaderChange(leader: LeaderAndEpoch, nextOffset: number): void {
    this.leaders.push({ leader, nextOffset });
  }

  get leader(): LeaderAndEpoch | undefined {
    return this.leaders.at(-1)?.leader;
  }
}

export interface TestNode {
  readonly id: number;
  /** Replace it (before a restart) to start the node on an empty disk. */
  fs: MemoryFileSystem;
  /** Undefined for an observer (nobody calls it). */
  readonly server: KafkaServer | undefined;
  quorum: MetadataQuorum | undefined;
  collector: Collector;
  /** The controller on this voter's quorum, when the cluster runs controllers. */
  runtime: ControllerRuntime | undefined;
}

export interface ClusterOptions {
  /** Run a ControllerRuntime on every voter, serving broker requests on its listener. */
  readonly controllers?: boolean;
  readonly brokerSessionTimeoutMs?: number;
}

export interface TestCluster {
  readonly nodes: TestNode[];
  readonly voterIds: number[];
  readonly voters: string[];
  node(id: number): TestNode;
  config(id: number): QuorumConfig;
  /** Starts (or restarts, on the same disk) the quorum member of `id` with a new collector. */
  startQuorum(id: number): Promise<MetadataQuorum>;
  /** The node whose collector last heard it leads (usable leadership). */
  readyLeader(): TestNode | undefined;
  stop(): Promise<void>;
}

export const timeouts = {
  'controller.quorum.election.timeout.ms': 300,
  'controller.quorum.fetch.timeout.ms': 1_000,
  'controller.quorum.request.timeout.ms': 500,
} as const;

export async function startCluster(
  voterCount: number,
  observerCount: number,
  seed: number,
  options: ClusterOptions = {},
): Promise<TestCluster> {
  const clock = new SystemClock();
  const logger = silentLogger();
  const nodes: TestNode[] = [];
  const voterIds: number[] = [];
  const voters: string[] = [];
  const total = voterCount + observerCount;
  for (let i = 0; i < total; i++) {
    const id = i + 1;
    const node: TestNode = {
      id,
      fs: new MemoryFileSystem(new SeededRandom(seed + id)),
      server: undefined,
      quorum: undefined,
      collector: new Collector(),
      runtime: undefined,
    };
    if (i < voterCount) {
      // The listener exists before the quorum: it answers "no answer" until the member starts.
      const raft: ControllerRaft = {
        fetchMaxEntries: 256,
        call: (source, message) =>
          node.quorum
            ? node.quorum.controllerRaft.call(source, message)
            : Promise.resolve(undefined),
        describeQuorum: () => {
          if (!node.quorum) throw new Error('no quorum member yet');
          return node.quorum.controllerRaft.describeQuorum();
        },
      };
      // `controller` and `config` for the controller registry's cluster-management handlers.
      const withController = {
        nodeId: id,
        clock,
        config: loadConfig(),
        raft,
        get controller() {
          return node.runtime;
        },
      };
      const services = withController as Omit<ControllerServices, 'apiVersions'>;
      const server = controllerListener({
        host: '127.0.0.1',
        port: 0,
        logger,
        services,
        runsController: options.controllers === true,
      });
      const bound = await server.listen();
      (node as { server: KafkaServer | undefined }).server = server;
      voterIds.push(id);
      voters.push(`${id}@127.0.0.1:${bound.port}`);
    }
    nodes.push(node);
  }
  const node = (id: number): TestNode => {
    const found = nodes.find((n) => n.id === id);
    if (!found) throw new Error(`no node ${id}`);
    return found;
  };
  const config = (id: number): QuorumConfig => ({
    'node.id': id,
    'controller.quorum.voters': voters,
    'log.dirs': [`/data${id}`],
    ...timeouts,
  });
  const cluster: TestCluster = {
    nodes,
    voterIds,
    voters,
    node,
    config,
    async startQuorum(id) {
      const n = node(id);
      n.collector = new Collector();
      const listeners: MetadataQuorumListener[] = [n.collector];
      n.runtime?.close();
      n.runtime = undefined;
      if (options.controllers && voterIds.includes(id)) {
        const runtime = new ControllerRuntime({
          nodeId: id,
          clock,
          random: new SeededRandom(seed * 17 + id),
          logger,
          config: {
            ...DEFAULT_CONTROLLER_CONFIG,
            clusterId,
            brokerSessionTimeoutMs: options.brokerSessionTimeoutMs ?? 9_000,
          },
          log: { append: (records) => n.quorum?.append(records) },
        });
        n.runtime = runtime;
        listeners.push({
          onCommitted: (batch) => runtime.handleCommitted(batch),
          onLeaderChange: (leader, nextOffset) => runtime.handleLeaderChange(leader, nextOffset),
        });
      }
      n.quorum = await MetadataQuorum.start({
        config: config(id),
        fs: n.fs,
        clock,
        random: new SeededRandom(seed * 31 + id),
        logger,
        clusterId,
        listeners,
      });
      return n.quorum;
    },
    readyLeader() {
      return nodes.find((n) => n.quorum && n.collector.leader?.leaderId === n.id);
    },
    async stop() {
      for (const n of nodes) n.runtime?.close();
      for (const n of nodes) await n.quorum?.stop();
      for (const n of nodes) await n.server?.stop(500);
    },
  };
  for (const n of nodes) await cluster.startQuorum(n.id);
  return cluster;
}

/** Appends on the ready leader, retrying while leadership moves; returns the base offset. */
export async function appendOnLeader(cluster: TestCluster, values: readonly string[]) {
  for (;;) {
    await until('a ready leader', () => cluster.readyLeader() !== undefined);
    const leader = cluster.readyLeader() as TestNode;
    const result = leader.quorum?.append(values.map((v) => Buffer.from(v, 'utf8')));
    if (result?.kind === 'appended') return result.baseOffset;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
