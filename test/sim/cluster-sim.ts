/**
 * The seeded cluster simulation: three nodes, each a KRaft controller and a broker, in one
 * process on one SimClock and one SeededRandom, so a run is a pure function of its seed.
 *
 * Per node (one "incarnation" per process start, see `Incarnation`):
 * - controller: RaftReplica + RaftDriver over a MemoryRaftLog (keeps what it flushed across
 *   a crash) and a MemoryQuorumStateStore, a ControllerRuntime fed the committed stream and
 *   leader changes as src/node's MetadataQuorum feeds it (as test/unit/controller's
 *   quorum-harness.ts does);
 * - broker: a ClusterMetadata following the same committed stream (`applyCommitted`), a
 *   LogManager on the node's MemoryFileSystem (`crash()` loses what was not fsynced), a
 *   ReplicaManager hosting what each image assigns (behind the same catch-up gate as
 *   src/node/cluster-data-path.ts), a ReplicaFetcherManager whose LeaderChannel sends real
 *   encoded Fetch / ListOffsets / OffsetForLeaderEpoch requests over the simulated network
 *   to the leader node's real handlers, an AlterPartitionSender and a BrokerLifecycleManager
 *   whose controller channel sends real encoded requests to the controller-listener handlers
 *   of the node it believes is the active controller (retrying like ControllerChannel).
 *
 * What could not run as in production, and what stands in for it: ControllerChannel and
 * BrokerChannels build NodeClients (TCP sockets) internally, with no seam to inject a
 * transport, so `#controllerSender` / `#leaderChannel` reimplement their contracts over
 * SimNetwork; Raft messages cross the network as RaftEnvelope objects (not encoded), as in
 * the raft simulations. Handlers are called directly (decoded request in, response out), not
 * through the RequestDispatcher and its framing.
 *
 * Workload, two producers: a plain one calls a leader's ReplicaManager directly (appendBatch
 * + awaitReplication, the produce handler's path, up to four batches in flight, deposed
 * leaders included), and an idempotent one per partition sends real Produce v11 requests over
 * the network from the client (node id 0), retrying each unanswered batch with the same
 * sequence until it is acknowledged.
 *
 * Faults drawn from the seed: node crashes (the file system and Raft log keep only what was
 * made durable; every timer of the dead process is dropped) and restarts from the disk,
 * isolated nodes (often the active controller: a controller election follows), cut links,
 * message drops and long delays. After the fault phase the network heals, stopped nodes
 * restart and the run waits for the partitions to be fully replicated, then checks again.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import type { ApiDescriptor } from '../../protocol/generated/api-catalogue.ts';
import { Apis } from '../../protocol/generated/api-table.ts';
import { newProduceRequest } from '../../protocol/generated/apis/00-produce.ts';
import { newFetchRequest } from '../../protocol/generated/apis/01-fetch.ts';
import { iterateBatches } from '../../protocol/records/batch.ts';
import { buildBatch } from '../../protocol/records/batch-builder.ts';
import { Reader } from '../../protocol/wire/reader.ts';
import { Writer } from '../../protocol/wire/writer.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { ControllerRuntime } from '../../src/controller/controller-runtime.ts';
import { DEFAULT_CONTROLLER_CONFIG } from '../../src/controller/decision.ts';
import { produceHandler } from '../../src/handlers/00-produce.ts';
import { fetchHandler } from '../../src/handlers/01-fetch.ts';
import { listOffsetsHandler } from '../../src/handlers/02-list-offsets.ts';
import { offsetForLeaderEpochHandler } from '../../src/handlers/23-offset-for-leader-epoch.ts';
import { clusterControllerHandlers } from '../../src/handlers/controller/index.ts';
import type { BrokerServices, Handler, RequestContext } from '../../src/handlers/handler.ts';
import { ClusterMetadata } from '../../src/metadata/cluster-metadata.ts';
import { MetadataImage } from '../../src/metadata/metadata-image.ts';
import { BrokerLifecycleManager } from '../../src/node/broker-lifecycle.ts';
import { saysNotController } from '../../src/node/controller-channel.ts';
import { HostingGate } from '../../src/node/hosting-gate.ts';
import { MemoryQuorumStateStore, MemoryRaftLog } from '../../src/raft/memory-log.ts';
import type { RaftEnvelope } from '../../src/raft/messages.ts';
import { type DurableRaftLog, RaftDriver } from '../../src/raft/raft-driver.ts';
import { RaftReplica } from '../../src/raft/replica.ts';
import { raftConfigDefaults } from '../../src/raft/replica-config.ts';
import { ReplicaFetcherManager } from '../../src/replication/replica-fetcher.ts';
import { type HostedPartition, ReplicaManager } from '../../src/replication/replica-manager.ts';
import { SimClock } from '../../src/util/clock.ts';
import { BrokerError } from '../../src/util/errors.ts';
import { createLogger, type Logger, silentLogger } from '../../src/util/logger.ts';
import { SeededRandom } from '../../src/util/random.ts';
import { MemoryFileSystem } from '../../storage/io/memory-file-system.ts';
import { LOG_CONFIG_DEFAULTS } from '../../storage/log/log-config.ts';
import { LogManager } from '../../storage/log/log-manager.ts';
import type { PartitionLog } from '../../storage/log/partition-log.ts';
import { CLUSTER_ID } from '../unit/controller/harness.ts';
import { followCommitted } from '../unit/controller/quorum-harness.ts';
import {
  type AcknowledgedBatch,
  type BatchSummary,
  Invariants,
  type PartitionSnapshot,
  summaryOf,
} from './cluster-sim-invariants.ts';
import { linkKey, ProcessClock, SimNetwork } from './cluster-sim-network.ts';

export const SIM_TOPIC = 'sim';
export const NODE_IDS = [1, 2, 3] as const;
const MIN_INSYNC_REPLICAS = 2;
const STEP_MS = 5;

/** Deliberate bugs, to show the invariants catch them. */
export interface ClusterSimBugs {
  /** Answer acks=-1 once the leader wrote the batch, without waiting for the HW. */
  readonly ackBeforeReplication?: boolean;
  /** Skip the NOT_ENOUGH_REPLICAS check (and accept any ISR when the HW passes). */
  readonly ignoreMinInsync?: boolean;
  /** The leader appends an idempotent producer's retry of a batch it already has. */
  readonly ignoreDuplicates?: boolean;
}

export interface ClusterSimOptions {
  readonly seed: number;
  /** Simulated time with faults (default 8000 ms). */
  readonly faultMs?: number;
  /** Simulated time allowed to heal and fully replicate afterwards (default 15000 ms). */
  readonly healMs?: number;
  readonly partitions?: number;
  /** Nodes crashed or isolated at once at most (default 1; 2 loses the majority at times). */
  readonly nodesOutMax?: number;
  readonly bugs?: ClusterSimBugs;
  /**
   * Check property 4 (ISR at acknowledgement); false leaves a broken acknowledgement to the
   * other properties (a test shows they catch lost batches on their own).
   */
  readonly checkAckIsr?: boolean;
  readonly trace?: (line: string) => void;
}

export interface ClusterSimResult {
  readonly seed: number;
  /** The first invariant broken, prefixed with the seed. */
  readonly violation: string | undefined;
  /** Not a safety violation: the cluster did not fully replicate within `healMs`. */
  readonly stuck: string | undefined;
  readonly acknowledged: number;
  readonly produceAttempts: number;
  readonly produceErrors: Readonly<Record<string, number>>;
  readonly crashes: number;
  readonly isolations: number;
  readonly controllerChanges: number;
  readonly maxLeaderEpoch: number;
  readonly truncations: number;
  /** Acknowledged while the committed ISR was below min.insync (an expansion in flight). */
  readonly ackedWithSmallIsr: number;
  readonly checks: number;
  readonly messages: number;
  readonly dropped: number;
  readonly simMs: number;
  readonly fatal: readonly string[];
}

/** MemoryRaftLog's flush is synchronous; the driver wants the async shape of a disk log. */
class DriverMemoryLog extends MemoryRaftLog implements DurableRaftLog {
  readonly hasUnsettledRewrites = false;
  async flushDurably(): Promise<number> {
    return this.flush();
  }
  async settled(): Promise<void> {}
}

/** One process lifetime of a node: everything here dies with it. */
interface Incarnation {
  readonly clock: ProcessClock;
  readonly random: SeededRandom;
  readonly replica: RaftReplica;
  readonly driver: RaftDriver;
  readonly runtime: ControllerRuntime;
  readonly cluster: ClusterMetadata;
  readonly logs: LogManager;
  readonly replicas: ReplicaManager;
  readonly fetchers: ReplicaFetcherManager;
  readonly lifecycle: BrokerLifecycleManager;
  /** ISR when acks=-1 waits decided NONE, by `partition@requiredOffset`. */
  readonly decided: Map<string, IsrAtDecision>;
}

interface SimNode {
  readonly id: number;
  fs: MemoryFileSystem;
  readonly raftLog: DriverMemoryLog;
  readonly store: MemoryQuorumStateStore;
  inc: Incarnation | undefined;
  /** Per partition, the durable end of its log when the node last crashed. */
  readonly durableAtCrash: Map<number, number>;
}

/** The client's network identity (no node has id 0). */
const CLIENT = { id: 0 } as const;

interface IdempotentProducer {
  producerId: number;
  nextSequence: number;
  inFlight: boolean;
  pending: { readonly seq: number; readonly buf: Buffer; readonly count: number } | undefined;
}

interface IsrAtDecision {
  readonly isr: readonly number[];
  readonly maximalIsr: readonly number[];
}

type Serve = (node: SimNode, inc: Incarnation, request: unknown, version: number) => unknown;

const brokerConfig = loadConfig({ dataDir: '/unused', overrides: {} });
const replicationHandlers = new Map<number, Handler>([
  [1, fetchHandler],
  [2, listOffsetsHandler],
  [23, offsetForLeaderEpochHandler],
]);
/** The controller listener's cluster-management handlers (those a ControllerRuntime backs). */
const controllerHandlers = new Map<number, Handler>(
  clusterControllerHandlers.map((h) => [h.apiKey, h]),
);

export class ClusterSim {
  readonly seed: number;
  readonly clock = new SimClock();
  readonly random: SeededRandom;
  readonly net: SimNetwork;
  readonly invariants: Invariants;
  readonly nodes: SimNode[];
  readonly fatal: string[] = [];
  readonly #options: ClusterSimOptions;
  readonly #bugs: ClusterSimBugs;
  readonly #faults: SeededRandom;
  readonly #workload: SeededRandom;
  readonly #pending: { atMs: number; run: () => Promise<void> | void }[] = [];
  readonly #errors: Record<string, number> = {};
  readonly #wrapped = new WeakSet<PartitionLog>();
  readonly #decisions = new WeakMap<Promise<number>, () => IsrAtDecision | undefined>();
  #inFlight = 0;
  readonly #clientClock = new ProcessClock(this.clock);
  readonly #producers: IdempotentProducer[] = [];
  readonly #consumers: { nextOffset: number; inFlight: boolean }[] = [];
  #seq = 0;
  #attempts = 0;
  #crashes = 0;
  #isolations = 0;
  #controllerChanges = 0;
  #lastController = -1;
  #nextFaultMs = 0;

  constructor(options: ClusterSimOptions) {
    this.#options = options;
    this.#bugs = options.bugs ?? {};
    this.seed = options.seed;
    this.random = new SeededRandom(options.seed);
    this.net = new SimNetwork(this.clock, this.random.fork());
    this.#faults = this.random.fork();
    this.#workload = this.random.fork();
    this.invariants = new Invariants(options.seed, MIN_INSYNC_REPLICAS, options.checkAckIsr);
    this.nodes = NODE_IDS.map((id) => ({
      id,
      fs: new MemoryFileSystem(this.random.fork(), () => this.clock.nowMs()),
      raftLog: new DriverMemoryLog(),
      store: new MemoryQuorumStateStore(),
      inc: undefined,
      durableAtCrash: new Map(),
    }));
    for (let p = 0; p < (options.partitions ?? 2); p++) {
      this.#producers.push({
        producerId: 1_000 * (p + 1),
        nextSequence: 0,
        inFlight: false,
        pending: undefined,
      });
      this.#consumers.push({ nextOffset: 0, inFlight: false });
    }
  }

  #trace(line: string): void {
    this.#options.trace?.(`${this.clock.nowMs() - 1_700_000_000_000} ${line}`);
  }

  node(id: number): SimNode {
    const found = this.nodes.find((n) => n.id === id);
    if (!found) throw new Error(`no node ${id}`);
    return found;
  }

  // ---- processes ----

  async start(node: SimNode): Promise<void> {
    const clock = new ProcessClock(this.clock);
    const random = this.random.fork();
    const logger = this.#logger(node.id, clock);
    const logs = await LogManager.open({
      fs: node.fs,
      clock,
      random,
      logDirs: [`/node${node.id}`],
      defaultConfig: LOG_CONFIG_DEFAULTS,
      onBackgroundError: (error) => this.#fatal(node, clock, error),
    });
    this.#wrapLogs(node, logs);
    const replica = new RaftReplica(
      {
        ...raftConfigDefaults,
        nodeId: node.id,
        clusterId: CLUSTER_ID,
        voterIds: [...NODE_IDS],
        electionTimeoutMs: 300,
        fetchTimeoutMs: 600,
        requestTimeoutMs: 150,
        fetchMaxWaitMs: 100,
      },
      node.raftLog,
      node.store.read(),
      random.fork(),
      clock.nowMs(),
    );
    const driver = new RaftDriver({
      replica,
      log: node.raftLog,
      stateStore: { write: async (state) => node.store.write(state) },
      transport: { send: (envelope) => this.#sendRaft(envelope) },
      clock,
      onFatal: (error) => this.#fatal(node, clock, error),
    });
    const runtime = new ControllerRuntime({
      nodeId: node.id,
      clock,
      random: random.fork(),
      logger,
      config: {
        ...DEFAULT_CONTROLLER_CONFIG,
        clusterId: CLUSTER_ID,
        brokerSessionTimeoutMs: 1_500,
        topicDefaults: { numPartitions: 1, replicationFactor: 3 },
      },
      log: { append: (records) => driver.append(records) },
    });
    const sender = this.#controllerSender(node, clock, random.fork(), () => replica.leaderId);
    let lifecycle: BrokerLifecycleManager | undefined;
    const brokerEpoch = (): number => lifecycle?.brokerEpoch ?? -1;
    const cluster = new ClusterMetadata({
      clusterId: CLUSTER_ID,
      nodeId: node.id,
      endpoints: () => new Map(),
      image: MetadataImage.EMPTY,
      forward: {
        channel: sender,
        controllerId: () => replica.leaderId,
        brokerEpoch,
        clock,
        catchUpTimeoutMs: 5_000,
        requestTimeoutMs: 5_000,
      },
      random: random.fork(),
      defaults: () => ({ numPartitions: 1, replicationFactor: 3 }),
    });
    const fetchers = new ReplicaFetcherManager({
      nodeId: node.id,
      clock,
      random: random.fork(),
      logger,
      brokerEpoch,
      channelFor: (brokerId) =>
        brokerId === node.id ? undefined : this.#leaderChannel(node, clock, brokerId),
      settings: {
        maxBytes: 1 << 20,
        responseMaxBytes: 10 << 20,
        waitMaxMs: 100,
        minBytes: 1,
        backoffMs: 100,
        requestTimeoutMs: 1_000,
      },
    });
    const replicas = new ReplicaManager({
      logs,
      nodeId: node.id,
      clock,
      random: random.fork(),
      logger,
      defaults: LOG_CONFIG_DEFAULTS,
      fetchers,
      alterPartition: {
        send: (request) => sender.send(Apis.AlterPartition, 3, request),
      },
      brokerEpoch,
      replicaLagTimeMaxMs: 1_000,
    });
    const decided = new Map<string, IsrAtDecision>();
    this.#observeDecisions(replicas, decided);
    // The catch-up gate of cluster mode: host replicas only from an image that holds this
    // broker's own registration (so every record before it).
    const gate = new HostingGate({ nodeId: node.id, brokerEpoch, replicas });
    cluster.onImage((next) => gate.onImage(next));
    lifecycle = new BrokerLifecycleManager({
      nodeId: node.id,
      clusterId: CLUSTER_ID,
      channel: sender,
      clock,
      random: random.fork(),
      logger,
      listeners: () => [{ name: 'PLAINTEXT', host: `node${node.id}`, port: 9092 }],
      rack: null,
      heartbeatIntervalMs: 250,
      metadataOffset: () => cluster.image.offset,
      readyToUnfence: () => {
        gate.catchUp(cluster.image)?.catch((error: unknown) => this.#fatal(node, clock, error));
        return gate.hosting;
      },
    });
    const started: Incarnation = {
      clock,
      random,
      replica,
      driver,
      runtime,
      cluster,
      logs,
      replicas,
      fetchers,
      lifecycle,
      decided,
    };
    followCommitted(replica, node.id, () => node.raftLog.endOffset(), {
      onBatch: (batch) => {
        started.runtime.handleCommitted(batch);
        started.cluster
          .applyCommitted(batch)
          .catch((error: unknown) => this.#fatal(node, clock, error));
      },
      onLeaderChange: (leader, nextOffset) =>
        started.runtime.handleLeaderChange(leader, nextOffset),
    });
    node.inc = started;
    driver.start();
    lifecycle.start();
    this.#trace(`node ${node.id} started`);
  }

  /** A crash: the process stops at once; the disk keeps only what was made durable. */
  async crash(node: SimNode): Promise<void> {
    const inc = node.inc;
    if (!inc) return;
    this.#crashes++;
    this.#trace(`node ${node.id} crashes`);
    // Partitions this process had not hosted yet keep what the previous one left on disk.
    for (const hosted of inc.replicas.hosted()) {
      if (hosted.topic === SIM_TOPIC && !hosted.log.isClosed) {
        node.durableAtCrash.set(hosted.partition, hosted.log.durableEndOffset);
      }
    }
    node.inc = undefined;
    inc.clock.alive = false;
    node.fs = node.fs.crash();
    inc.runtime.close();
    inc.lifecycle.close();
    // The driver is stopped before its log loses the unflushed tail, so it cannot write to the
    // log object the next incarnation opens.
    await inc.driver.stop().catch(() => undefined);
    node.raftLog.crash();
    // What the dead process still runs fails on the dead file system; nothing of it matters.
    void inc.fetchers.close().catch(() => undefined);
    void inc.replicas
      .close()
      .then(() => inc.logs.close())
      .catch(() => undefined);
  }

  /** Silent, or (tracing) info and above into the trace, without wall-clock fields. */
  #logger(nodeId: number, clock: ProcessClock): Logger {
    if (!this.#options.trace) return silentLogger();
    return createLogger({
      level: 'info',
      format: 'json',
      destination: {
        write: (line: string) => {
          if (!clock.alive) return;
          const {
            time: _t,
            pid: _p,
            hostname: _h,
            level: _l,
            msg,
            ...rest
          } = JSON.parse(line) as Record<string, unknown>;
          this.#trace(`node ${nodeId} log: ${String(msg)} ${JSON.stringify(rest)}`);
        },
      },
    });
  }

  #fatal(node: SimNode, clock: ProcessClock, error: unknown): void {
    if (!clock.alive) return;
    const message = error instanceof Error ? error.message : String(error);
    this.fatal.push(`node ${node.id}: ${message}`);
    this.#trace(`node ${node.id} fatal: ${message}`);
  }

  /**
   * Records the ISR at the moment an acks=-1 wait decides NONE (the HW passed the batch), not
   * when the produce sees the answer: an image applied in between may shrink it already.
   */
  #observeDecisions(replicas: ReplicaManager, decided: Map<string, IsrAtDecision>): void {
    // The produce handler's waits are only seen by their required offset.
    const awaitReplication = replicas.awaitReplication.bind(replicas);
    replicas.awaitReplication = (hosted, requiredOffset, minInsyncReplicas, timeoutMs) => {
      const waiting = awaitReplication(hosted, requiredOffset, minInsyncReplicas, timeoutMs);
      void waiting.then(() => {
        const isr = this.#decisions.get(waiting)?.();
        if (!isr) return;
        decided.set(`${hosted.partition}@${requiredOffset}`, isr);
        if (decided.size > 10_000) decided.delete(decided.keys().next().value as string);
      });
      return waiting;
    };
    const purgatory = replicas.delayedProduce;
    const wait = purgatory.wait.bind(purgatory);
    purgatory.wait = (key, timeoutMs, check) => {
      let decided: IsrAtDecision | undefined;
      const partition = Number(key.slice(SIM_TOPIC.length + 1));
      const waiting = wait(key, timeoutMs, () => {
        const code = check();
        const leader = replicas.partition(SIM_TOPIC, partition)?.leader;
        if (code === ErrorCode.NONE && decided === undefined && leader) {
          decided = { isr: [...leader.isr], maximalIsr: [...leader.maximalIsr] };
        }
        return code;
      });
      this.#decisions.set(waiting, () => decided);
      return waiting;
    };
  }

  /**
   * Observes every hosted log: its truncations (property 2), and on first hosting after a
   * restart, that recovery kept all the log had made durable before the crash.
   */
  #wrapLogs(node: SimNode, logs: LogManager): void {
    const nodeId = node.id;
    const createLog = logs.createLog.bind(logs);
    logs.createLog = async (topic: string, partition: number) => {
      const log = await createLog(topic, partition);
      if (!this.#wrapped.has(log)) {
        this.#wrapped.add(log);
        const durable = node.durableAtCrash.get(partition) ?? -1;
        if (topic === SIM_TOPIC && log.logEndOffset < durable) {
          try {
            this.invariants.fail(
              `node ${nodeId} reopened p${partition} ending at ${log.logEndOffset}, below the ` +
                `durable end ${durable} it had when it crashed`,
            );
          } catch {
            // Recorded in invariants.violation; the step loop throws it.
          }
        }
        const truncateTo = log.truncateTo.bind(log);
        log.truncateTo = (offset: number) => {
          this.#trace(`node ${nodeId} truncates p${partition} to ${offset}`);
          try {
            this.invariants.onTruncate(nodeId, partition, log, offset);
          } catch {
            // Recorded in invariants.violation; the step loop throws it.
          }
          return truncateTo(offset);
        };
      }
      return log;
    };
  }

  // ---- network ----

  #sendRaft(envelope: RaftEnvelope): void {
    const target = this.node(envelope.destination);
    const inc = target.inc;
    if (!inc) return;
    this.net.send(
      envelope.source,
      envelope.destination,
      () => target.inc === inc,
      () => inc.driver.deliver(envelope),
    );
  }

  /**
   * One request through the real codecs to `to`'s handler and its answer back; undefined
   * when nothing came back within `timeoutMs` (never resolves with timeoutMs undefined).
   */
  #rpc<Req, Res>(
    from: { readonly id: number },
    clock: ProcessClock,
    to: number,
    api: ApiDescriptor<Req, Res>,
    version: number,
    body: Req,
    serve: Serve,
    timeoutMs: number | undefined,
  ): Promise<Res | undefined> {
    return new Promise((resolve) => {
      let done = false;
      const timer =
        timeoutMs === undefined ? undefined : clock.setTimer(timeoutMs, () => finish(undefined));
      const finish = (value: Res | undefined): void => {
        if (done) return;
        done = true;
        timer?.cancel();
        resolve(value);
      };
      const w = new Writer();
      api.encodeRequest(w, body, version);
      const bytes = w.finish();
      const target = this.node(to);
      const targetInc = target.inc;
      if (!targetInc) return;
      const alive = () => clock.alive && target.inc === targetInc;
      this.net.send(from.id, to, alive, () => {
        void (async () => {
          const reader = new Reader(bytes);
          const request = api.decodeRequest(reader, version);
          if (!reader.ok) throw reader.error;
          const response = (await serve(target, targetInc, request, version)) as Res;
          if (!alive()) return;
          const encoded = await encodeResponse(api, response, version, target.fs);
          this.net.send(to, from.id, alive, () => {
            const r = new Reader(encoded);
            const decoded = api.decodeResponse(r, version);
            if (!r.ok) throw r.error;
            finish(decoded);
          });
        })().catch((error: unknown) => {
          // A crashed target fails its reads (EIO): the connection just drops. Anything else
          // is a handler failing on a well-formed request, which a real server would not
          // survive silently either.
          if (alive()) this.#fatal(target, targetInc.clock, error);
        });
      });
    });
  }

  /** Follower fetches to `leaderId`'s replication handlers (what BrokerChannels does). */
  #leaderChannel(node: SimNode, clock: ProcessClock, leaderId: number) {
    return {
      request: <Req, Res>(api: ApiDescriptor<Req, Res>, version: number, body: Req) => {
        const handler = replicationHandlers.get(api.apiKey);
        if (!handler) return Promise.reject(new Error(`no handler for API ${api.apiKey}`));
        return this.#rpc(
          node,
          clock,
          leaderId,
          api,
          version,
          body,
          (target, inc, request, v) =>
            handler.handle(brokerContext(target, inc, api.apiKey, v), request, v),
          undefined,
        ) as Promise<Res>;
      },
    };
  }

  /** Requests to the active controller, retried like src/node's ControllerChannel. */
  #controllerSender(
    node: SimNode,
    clock: ProcessClock,
    random: SeededRandom,
    leaderId: () => number,
  ) {
    const sim = this;
    return {
      async send<Req, Res>(
        api: ApiDescriptor<Req, Res>,
        version: number,
        body: Req,
        opts?: { readonly timeoutMs?: number; readonly retriable?: (r: Res) => boolean },
      ): Promise<Res> {
        const handler = controllerHandlers.get(api.apiKey);
        if (!handler) throw new Error(`no controller handler for API ${api.apiKey}`);
        const deadline = clock.nowMs() + (opts?.timeoutMs ?? 30_000);
        const retriable = opts?.retriable ?? saysNotController;
        for (let attempt = 0; ; attempt++) {
          const leader = leaderId();
          const target = leader >= 0 ? leader : (NODE_IDS[attempt % NODE_IDS.length] as number);
          const response = await sim.#rpc(
            node,
            clock,
            target,
            api,
            version,
            body,
            (t, inc, request, v) =>
              handler.handle(controllerContext(t, inc, api.apiKey, v), request, v),
            1_000,
          );
          if (sim.#options.trace && api.apiKey === Apis.AlterPartition.apiKey) {
            sim.#trace(
              `node ${node.id} AlterPartition to ${target}: ${JSON.stringify(body)} -> ` +
                `${JSON.stringify(response)}`,
            );
          }
          if (response !== undefined && !retriable(response)) return response;
          if (clock.nowMs() >= deadline) {
            throw new BrokerError('CONTROLLER_UNAVAILABLE', `no controller answered ${api.name}`);
          }
          await new Promise<void>((resolve) => clock.setTimer(random.int(50, 200), resolve));
        }
      },
    };
  }

  // ---- workload ----

  /** The nodes that act as leader of `partition` now, newest leader epoch first. */
  leaders(partition: number): { node: SimNode; inc: Incarnation; hosted: HostedPartition }[] {
    const out: { node: SimNode; inc: Incarnation; hosted: HostedPartition }[] = [];
    for (const node of this.nodes) {
      const inc = node.inc;
      const hosted = inc?.replicas.partition(SIM_TOPIC, partition);
      if (inc && hosted?.role === 'leader' && hosted.leader) out.push({ node, inc, hosted });
    }
    return out.sort((a, b) => b.hosted.leaderEpoch - a.hosted.leaderEpoch);
  }

  /**
   * Where `node`'s disk durably ends for `partition`: as its process has it, or (down, or
   * restarted and not hosting it yet) as its last process left it.
   */
  #durableEnd(node: SimNode, partition: number): number {
    const log = node.inc?.replicas.partition(SIM_TOPIC, partition)?.log;
    if (log && !log.isClosed) return log.durableEndOffset;
    return node.durableAtCrash.get(partition) ?? -1;
  }

  #error(name: string): void {
    this.#errors[name] = (this.#errors[name] ?? 0) + 1;
  }

  /** One acks=-1 produce to a node that believes it leads (possibly a deposed one). */
  async #produce(partition: number): Promise<void> {
    const candidates = this.leaders(partition);
    this.#attempts++;
    if (candidates.length === 0) return this.#error('no-leader');
    const { node, inc, hosted } = this.#workload.pick(candidates);
    const leader = hosted.leader;
    if (!leader) return this.#error('no-leader');
    if (!this.#bugs.ignoreMinInsync && leader.isr.length < MIN_INSYNC_REPLICAS) {
      return this.#error('NOT_ENOUGH_REPLICAS');
    }
    const seq = this.#seq++;
    const count = this.#workload.int(1, 3);
    const buf = buildBatch({
      records: Array.from({ length: count }, (_, i) => ({
        key: Buffer.from(`k${seq}`),
        value: Buffer.from(`seed ${this.seed} batch ${seq} record ${i}`),
        timestamp: this.clock.nowMs(),
      })),
    });
    const view = iterateBatches(buf).next().value;
    if (!view) throw new Error('built no batch');
    let info: Awaited<ReturnType<ReplicaManager['appendBatch']>>;
    try {
      info = await inc.replicas.appendBatch(hosted, view, this.clock.nowMs());
    } catch {
      return this.#error('append-failed');
    }
    let isrAtDecision: IsrAtDecision | undefined;
    if (!this.#bugs.ackBeforeReplication) {
      const waiting = inc.replicas.awaitReplication(
        hosted,
        info.lastOffset + 1,
        this.#bugs.ignoreMinInsync ? 1 : MIN_INSYNC_REPLICAS,
        2_000,
      );
      const code = await waiting;
      if (code !== ErrorCode.NONE) return this.#error(errorName(code));
      isrAtDecision = this.#decisions.get(waiting)?.();
    }
    // A dead process sends no answer.
    if (!inc.clock.alive) return this.#error('leader-died');
    const isr = isrAtDecision ?? { isr: [...leader.isr], maximalIsr: [...leader.maximalIsr] };
    this.#acknowledge(partition, node, inc, info.firstOffset, info.lastOffset, view, isr);
  }

  #acknowledge(
    partition: number,
    node: SimNode,
    inc: Incarnation,
    baseOffset: number,
    lastOffset: number,
    view: { readonly crc: number; readonly sizeBytes: number },
    isr: IsrAtDecision | undefined,
  ): void {
    const hosted = inc.replicas.partition(SIM_TOPIC, partition);
    const acked: AcknowledgedBatch = {
      seq: this.invariants.acknowledged.length,
      partition,
      leaderId: node.id,
      leaderEpoch: hosted?.leaderEpoch ?? -1,
      baseOffset,
      lastOffset,
      crc: view.crc,
      sizeBytes: view.sizeBytes,
      // Unknown when the wait was not observed (it cannot pass then): counts as too small.
      isr: isr?.isr ?? [],
      maximalIsr: isr?.maximalIsr ?? [],
      holders: this.nodes
        .filter((n) => this.#durableEnd(n, partition) > lastOffset)
        .map((n) => n.id),
      atMs: this.clock.nowMs(),
    };
    this.#trace(`ack p${partition}@${baseOffset} by ${node.id} isr [${acked.isr}]`);
    try {
      this.invariants.onAcknowledged(acked);
    } catch {
      // Recorded; thrown by the step loop.
    }
  }

  /**
   * The idempotent producer: one batch in flight per partition, sent as a real Produce v11
   * (acks=-1) over the network from node 0 (the client) to a node that leads the partition
   * in its view; a batch not acknowledged is retried with the same bytes and sequence.
   */
  #idempotentProduce(partition: number): Promise<void> | undefined {
    const state = this.#producers[partition];
    if (!state || state.inFlight) return undefined;
    const candidates = this.leaders(partition);
    if (candidates.length === 0) return undefined;
    const { node, inc } = this.#workload.pick(candidates);
    if (!state.pending) {
      const count = this.#workload.int(1, 3);
      const seq = this.#seq++;
      const buf = buildBatch({
        producerId: state.producerId,
        producerEpoch: 0,
        baseSequence: state.nextSequence,
        records: Array.from({ length: count }, (_, i) => ({
          key: Buffer.from(`k${seq}`),
          value: Buffer.from(`seed ${this.seed} idempotent ${seq} record ${i}`),
          timestamp: this.clock.nowMs(),
        })),
      });
      state.pending = { seq, buf, count };
    }
    const pending = state.pending;
    state.inFlight = true;
    this.#attempts++;
    const request = newProduceRequest();
    request.acks = -1;
    request.timeoutMs = 2_000;
    request.topicData = [
      { name: SIM_TOPIC, partitionData: [{ index: partition, records: pending.buf }] },
    ];
    const view = iterateBatches(pending.buf).next().value;
    if (!view) throw new Error('built no batch');
    return this.#rpc(
      CLIENT,
      this.#clientClock,
      node.id,
      Apis.Produce,
      11,
      request,
      (target, targetInc, req, v) => {
        if (this.#bugs.ignoreDuplicates) forgetDuplicates(targetInc, partition);
        return produceHandler.handle(brokerContext(target, targetInc, 0, v), req, v);
      },
      3_000,
    ).then((response) => {
      state.inFlight = false;
      const answer = response?.responses[0]?.partitionResponses[0];
      if (!answer) return this.#error('produce-timeout');
      if (answer.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) {
        // The broker lost our sequence state: start over as a new producer (Kafka's producer
        // bumps its epoch); the batch is sent again under the new id.
        this.#error('OUT_OF_ORDER_SEQUENCE_NUMBER');
        state.producerId++;
        state.nextSequence = 0;
        state.pending = undefined;
        return;
      }
      if (answer.errorCode !== ErrorCode.NONE) return this.#error(errorName(answer.errorCode));
      const lastOffset = Number(answer.baseOffset) + pending.count - 1;
      const isr = inc.decided.get(`${partition}@${lastOffset + 1}`);
      this.#acknowledge(partition, node, inc, Number(answer.baseOffset), lastOffset, view, isr);
      state.nextSequence += pending.count;
      state.pending = undefined;
    });
  }

  /**
   * A consumer: a real Fetch v17 (no replica id, so bounded by the high watermark) from the
   * client to a node that leads the partition in its view, from where it last read. What it
   * reads must never change or disappear (property 6).
   */
  #consume(partition: number): void {
    const state = this.#consumers[partition];
    if (!state || state.inFlight) return;
    const candidates = this.leaders(partition);
    if (candidates.length === 0) return;
    const { node, inc } = this.#workload.pick(candidates);
    const topicId = inc.cluster.image.topic(SIM_TOPIC)?.topicId;
    if (!topicId) return;
    const request = newFetchRequest();
    request.maxBytes = 64 * 1024;
    request.topics = [
      {
        topic: '',
        topicId,
        partitions: [
          {
            partition,
            currentLeaderEpoch: -1,
            fetchOffset: state.nextOffset,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: 16 * 1024,
            replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
          },
        ],
      },
    ];
    state.inFlight = true;
    void this.#rpc(
      CLIENT,
      this.#clientClock,
      node.id,
      Apis.Fetch,
      17,
      request,
      (target, targetInc, req, v) =>
        fetchHandler.handle(brokerContext(target, targetInc, 1, v), req, v),
      3_000,
    ).then((response) => {
      state.inFlight = false;
      const data = response?.responses[0]?.partitions[0];
      const records = data?.records;
      if (!data || data.errorCode !== ErrorCode.NONE || !Buffer.isBuffer(records)) return;
      const read: BatchSummary[] = [];
      for (const batch of iterateBatches(records)) {
        if (batch.lastOffset < state.nextOffset) continue;
        read.push(summaryOf(batch));
      }
      const last = read.at(-1);
      if (!last) return;
      this.#trace(
        `consumer read p${partition} ${read[0]?.baseOffset}..${last.lastOffset} from ${node.id}`,
      );
      state.nextOffset = last.lastOffset + 1;
      try {
        this.invariants.onConsumed(partition, node.id, read);
      } catch {
        // Recorded; thrown by the step loop.
      }
    });
  }

  // ---- faults ----

  async #injectFault(): Promise<void> {
    const now = this.clock.nowMs();
    const f = this.#faults;
    this.#nextFaultMs = now + f.int(200, 1_200);
    const down = this.nodes.filter((n) => !n.inc);
    // At most `nodesOutMax` nodes down or cut off at once (1: a majority always remains).
    const out = new Set([...down.map((n) => n.id), ...this.net.isolated]);
    const quiet = out.size < (this.#options.nodesOutMax ?? 1);
    const kind = f.pick(['crash', 'isolate', 'isolate-controller', 'cut', 'drops', 'delays']);
    const later = (ms: number, run: () => Promise<void> | void) =>
      this.#pending.push({ atMs: now + ms, run });
    if (kind === 'crash' && quiet) {
      const node = f.pick(this.nodes.filter((n) => !out.has(n.id)));
      await this.crash(node);
      later(f.int(100, 2_500), () => this.start(node));
    } else if ((kind === 'isolate' || kind === 'isolate-controller') && quiet) {
      const active = this.activeController();
      const candidates = NODE_IDS.filter((id) => !out.has(id));
      const id =
        kind === 'isolate-controller' && active >= 0 && !out.has(active)
          ? active
          : f.pick(candidates);
      this.#isolations++;
      this.net.isolated.add(id);
      this.#trace(`node ${id} isolated`);
      later(f.int(200, 2_500), () => {
        this.net.isolated.delete(id);
        this.#trace(`node ${id} rejoins`);
      });
    } else if (kind === 'cut' && quiet) {
      const a = f.pick(NODE_IDS);
      const b = f.pick(NODE_IDS.filter((id) => id !== a));
      const key = linkKey(a, b);
      this.net.cutLinks.add(key);
      this.#trace(`link ${key} cut`);
      later(f.int(200, 2_500), () => {
        this.net.cutLinks.delete(key);
      });
    } else if (kind === 'drops') {
      this.net.dropRate = f.int(5, 30) / 100;
      later(f.int(200, 2_000), () => {
        this.net.dropRate = 0;
      });
    } else if (kind === 'delays') {
      this.net.delayMaxMs = f.int(20, 150);
      later(f.int(200, 2_000), () => {
        this.net.delayMaxMs = 5;
      });
    }
  }

  activeController(): number {
    for (const node of this.nodes) {
      if (node.inc?.runtime.isActive && !this.net.isolated.has(node.id)) return node.id;
    }
    return -1;
  }

  // ---- the run ----

  async #settle(): Promise<void> {
    for (let i = 0; i < 4; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  async #step(options: { faults: boolean; produce: boolean }): Promise<void> {
    this.clock.advance(STEP_MS);
    await this.#settle();
    const now = this.clock.nowMs();
    for (const due of this.#pending.filter((p) => p.atMs <= now)) {
      this.#pending.splice(this.#pending.indexOf(due), 1);
      await due.run();
    }
    if (options.faults && now >= this.#nextFaultMs) await this.#injectFault();
    const partitions = this.#options.partitions ?? 2;
    if (this.#workload.chance(0.1)) this.#consume(this.#workload.int(0, partitions - 1));
    if (options.produce && this.#workload.chance(0.2)) {
      void this.#idempotentProduce(this.#workload.int(0, partitions - 1));
    }
    if (options.produce && this.#inFlight < 4 && this.#workload.chance(0.3)) {
      this.#inFlight++;
      void this.#produce(this.#workload.int(0, partitions - 1)).finally(() => {
        this.#inFlight--;
      });
    }
    const active = this.activeController();
    if (active >= 0 && active !== this.#lastController) {
      if (this.#lastController >= 0) this.#controllerChanges++;
      this.#lastController = active;
      this.#trace(`active controller ${active}`);
    }
    if (Math.round((now - 1_700_000_000_000) / STEP_MS) % 10 === 0) {
      await this.invariants.checkStep(this.snapshots()).catch(() => undefined);
    }
    this.invariants.throwIfViolated();
  }

  /** Each partition's newest-epoch leader with its live ISR members' logs. */
  snapshots(): PartitionSnapshot[] {
    const out: PartitionSnapshot[] = [];
    for (let p = 0; p < (this.#options.partitions ?? 2); p++) {
      const [top] = this.leaders(p);
      if (!top?.hosted.leader || top.hosted.log.isClosed) continue;
      // A deposed leader that has not heard of its successor yet is not the leader to check.
      if (top.hosted.leaderEpoch < this.#newestLeaderEpoch(p)) continue;
      const followers = new Map<number, PartitionLog>();
      for (const id of top.hosted.leader.isr) {
        if (id === top.node.id) continue;
        const hosted = this.node(id).inc?.replicas.partition(SIM_TOPIC, p);
        if (hosted && !hosted.log.isClosed) followers.set(id, hosted.log);
      }
      out.push({
        partition: p,
        leaderId: top.node.id,
        leaderEpoch: top.hosted.leaderEpoch,
        highWatermark: top.hosted.leader.highWatermark,
        leaderLog: top.hosted.log,
        followers,
      });
    }
    return out;
  }

  /** The cluster's state in one line, for reports of a run that did not converge. */
  describe(): string {
    const parts: string[] = [`controller ${this.activeController()}`];
    for (const node of this.nodes) {
      const inc = node.inc;
      if (!inc) {
        parts.push(`node ${node.id} down`);
        continue;
      }
      const image = inc.cluster.image;
      const hosted = [...inc.replicas.hosted()].map((h) => {
        const p = image.topic(SIM_TOPIC)?.partitions[h.partition];
        const leader = h.leader
          ? ` isr [${h.leader.isr}] maximal [${h.leader.maximalIsr}] hw ${h.leader.highWatermark}`
          : ` follows ${h.leaderId} (${inc.fetchers.info(h.topic, h.partition)?.status ?? '-'})`;
        return (
          `p${h.partition} ${h.role} e${h.leaderEpoch} end ${h.log.logEndOffset}${leader}` +
          ` image: leader ${p?.leaderId} e${p?.leaderEpoch} isr [${p?.isrNodes}]`
        );
      });
      parts.push(
        `node ${node.id} epoch ${inc.lifecycle.brokerEpoch} fenced ${inc.lifecycle.isFenced} ` +
          `image@${image.offset}: ${hosted.join('; ')}`,
      );
    }
    return parts.join(' | ');
  }

  /** The newest leader epoch of `partition` in any live node's image. */
  #newestLeaderEpoch(partition: number): number {
    let newest = -1;
    for (const node of this.nodes) {
      const p = node.inc?.cluster.image.topic(SIM_TOPIC)?.partitions[partition];
      if (p) newest = Math.max(newest, p.leaderEpoch);
    }
    return newest;
  }

  async #until(done: () => boolean, timeoutMs: number, produce: boolean): Promise<boolean> {
    const end = this.clock.nowMs() + timeoutMs;
    while (!done() && this.clock.nowMs() < end) await this.#step({ faults: false, produce });
    return done();
  }

  /** Fully replicated: every partition led, all three in its ISR at the leader's end. */
  #replicated(): boolean {
    for (let p = 0; p < (this.#options.partitions ?? 2); p++) {
      const [top] = this.leaders(p);
      const leader = top?.hosted.leader;
      if (!top || !leader || leader.isr.length !== NODE_IDS.length) return false;
      const end = top.hosted.log.logEndOffset;
      if (leader.highWatermark !== end) return false;
      for (const node of this.nodes) {
        if (node.inc?.replicas.partition(SIM_TOPIC, p)?.log.logEndOffset !== end) return false;
      }
    }
    return true;
  }

  async run(): Promise<ClusterSimResult> {
    let stuck: string | undefined;
    try {
      for (const node of this.nodes) await this.start(node);
      await this.#createTopic();
      const faultEnd = this.clock.nowMs() + (this.#options.faultMs ?? 8_000);
      this.#nextFaultMs = this.clock.nowMs() + 300;
      while (this.clock.nowMs() < faultEnd) await this.#step({ faults: true, produce: true });
      // Heal: the network, then every stopped node; then let replication finish.
      for (const p of this.#pending.splice(0)) await p.run();
      this.net.heal();
      this.net.delayMaxMs = 5;
      for (const node of this.nodes) if (!node.inc) await this.start(node);
      const healed = await this.#until(
        () => this.#replicated(),
        this.#options.healMs ?? 15_000,
        false,
      );
      if (!healed) {
        stuck =
          `not fully replicated ${this.#options.healMs ?? 15_000} ms after healing: ` +
          this.describe();
      }
      await this.invariants.checkFinal(this.snapshots());
      this.invariants.throwIfViolated();
    } catch (error) {
      if (!this.invariants.violation) {
        this.invariants.violation = error instanceof Error ? error.message : String(error);
      }
    }
    await this.stop();
    return this.result(stuck);
  }

  async #createTopic(): Promise<void> {
    const unfenced = await this.#until(
      () => this.nodes.every((n) => n.inc?.lifecycle.isFenced === false),
      10_000,
      false,
    );
    if (!unfenced) throw new Error('brokers not unfenced within 10 s');
    // Through a broker, as an admin client's CreateTopics: forwarded to the active controller.
    const configs = new Map([['min.insync.replicas', String(MIN_INSYNC_REPLICAS)]]);
    let created = false;
    for (let attempt = 0; attempt < 20 && !created; attempt++) {
      const broker = this.#workload.pick(this.nodes).inc;
      let answered: { readonly errorCode: number } | undefined;
      void broker?.cluster
        .createTopic({
          name: SIM_TOPIC,
          numPartitions: this.#options.partitions ?? 2,
          replicationFactor: 3,
          configs,
          assignments: [],
        })
        .then((r) => {
          answered = r;
        });
      await this.#until(() => answered !== undefined, 10_000, false);
      created =
        answered?.errorCode === ErrorCode.NONE ||
        answered?.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS;
    }
    if (!created) throw new Error('topic not created');
    const ready = await this.#until(
      () => this.leaders(0).length > 0 && this.#replicated(),
      10_000,
      false,
    );
    if (!ready) throw new Error('topic not replicated within 10 s of creation');
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) {
      const inc = node.inc;
      if (!inc) continue;
      node.inc = undefined;
      inc.clock.alive = false;
      inc.runtime.close();
      inc.lifecycle.close();
      await inc.driver.stop().catch(() => undefined);
      await inc.fetchers.close().catch(() => undefined);
      await inc.replicas.close().catch(() => undefined);
      await inc.logs.close().catch(() => undefined);
    }
  }

  result(stuck: string | undefined): ClusterSimResult {
    let maxLeaderEpoch = 0;
    for (const a of this.invariants.acknowledged) {
      maxLeaderEpoch = Math.max(maxLeaderEpoch, a.leaderEpoch);
    }
    return {
      seed: this.seed,
      violation:
        this.invariants.violation === undefined
          ? undefined
          : `seed ${this.seed}: ${this.invariants.violation}`,
      stuck,
      acknowledged: this.invariants.acknowledged.length,
      produceAttempts: this.#attempts,
      produceErrors: { ...this.#errors },
      crashes: this.#crashes,
      isolations: this.#isolations,
      controllerChanges: this.#controllerChanges,
      maxLeaderEpoch,
      truncations: this.invariants.truncations,
      ackedWithSmallIsr: this.invariants.ackedWithSmallIsr,
      checks: this.invariants.checks,
      messages: this.net.sent,
      dropped: this.net.dropped,
      simMs: this.clock.nowMs() - 1_700_000_000_000,
      fatal: [...this.fatal],
    };
  }
}

export function runClusterSim(options: ClusterSimOptions): Promise<ClusterSimResult> {
  return new ClusterSim(options).run();
}

/** The `ignoreDuplicates` bug: the partition's producer state takes duplicates for new. */
function forgetDuplicates(inc: Incarnation, partition: number): void {
  const producers = inc.replicas.partition(SIM_TOPIC, partition)?.producers;
  if (!producers || broken.has(producers)) return;
  broken.add(producers);
  const check = producers.check.bind(producers);
  producers.check = (view) => {
    const result = check(view);
    return result.kind === 'duplicate' ? { kind: 'append' } : result;
  };
}
const broken = new WeakSet<object>();

function errorName(code: number): string {
  for (const [name, value] of Object.entries(ErrorCode)) if (value === code) return name;
  return `error ${code}`;
}

function brokerContext(
  node: SimNode,
  inc: Incarnation,
  apiKey: number,
  version: number,
): RequestContext {
  const services: BrokerServices = {
    config: brokerConfig,
    nodeId: node.id,
    clock: inc.clock,
    metadata: inc.cluster,
    data: { cluster: inc.cluster, replicas: inc.replicas },
    apiVersions: () => [],
  };
  return requestContext(services, apiKey, version);
}

function controllerContext(
  node: SimNode,
  inc: Incarnation,
  apiKey: number,
  version: number,
): RequestContext {
  const services = {
    nodeId: node.id,
    clock: inc.clock,
    apiVersions: () => [],
    controller: inc.runtime,
    config: brokerConfig,
  };
  return requestContext(services as unknown as BrokerServices, apiKey, version);
}

function requestContext(services: BrokerServices, apiKey: number, version: number) {
  return {
    apiKey,
    version,
    correlationId: 1,
    clientId: 'sim',
    listenerName: 'PLAINTEXT',
    remoteAddress: 'sim',
    connectionId: 1,
    logger: silentLogger(),
    services,
  };
}

/** A response's bytes, file regions read from the answering node's file system. */
async function encodeResponse<Req, Res>(
  api: ApiDescriptor<Req, Res>,
  response: Res,
  version: number,
  fs: MemoryFileSystem,
): Promise<Buffer> {
  const out = new Writer();
  api.encodeResponse(out, response, version);
  const parts: Buffer[] = [];
  for (const chunk of out.chunks()) {
    if (Buffer.isBuffer(chunk)) {
      parts.push(chunk);
      continue;
    }
    const buf = Buffer.alloc(chunk.length);
    try {
      let done = 0;
      while (done < chunk.length) {
        const n = await fs.read(chunk.fd, buf.subarray(done), chunk.position + done);
        if (n === 0) break;
        done += n;
      }
    } finally {
      chunk.release();
    }
    parts.push(buf);
  }
  return Buffer.concat(parts);
}
