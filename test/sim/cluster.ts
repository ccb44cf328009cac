/**
 * A whole quorum in one process under simulated time: replicas, a faulty network, storage whose
 * writes complete later (and are lost by a crash), and a state machine per replica. Every event
 * is followed by the SafetyChecker. A run is a pure function of its seed.
 */
import { MemoryQuorumStateStore } from '../../src/raft/memory-log.ts';
import type { RaftEnvelope } from '../../src/raft/messages.ts';
import { RaftReplica } from '../../src/raft/replica.ts';
import type { RaftBugFlags, RaftConfig, StorageAction } from '../../src/raft/replica-config.ts';
import { raftConfigDefaults } from '../../src/raft/replica-config.ts';
import { SeededRandom } from '../../src/util/random.ts';
import { SafetyChecker, SimViolation } from './checker.ts';
import { EventQueue } from './event-queue.ts';
import { chainHash, decodeState, encodeState, SimLog } from './sim-log.ts';

export interface NetworkFaults {
  dropProbability: number;
  duplicateProbability: number;
  delayMsMin: number;
  delayMsMax: number;
}

export interface SimOptions {
  readonly seed: number;
  readonly voters: number;
  readonly observers: number;
  readonly network: NetworkFaults;
  readonly storageLatencyMsMax: number;
  /** A replica snapshots its state machine once this many entries sit above its log start. */
  readonly snapshotEveryEntries: number;
  readonly fetchMaxEntries: number;
  readonly bugs?: RaftBugFlags;
  readonly trace?: (line: string) => void;
}

const startMs = 1_000_000;
const pollsPerInstantMax = 64;
const inFlightRecordsMax = 16;

export class SimNode {
  readonly id: number;
  readonly isVoter: boolean;
  readonly log: SimLog;
  readonly store = new MemoryQuorumStateStore();
  replica: RaftReplica | undefined;
  incarnation = 0;
  paused = false;
  backlog: (() => void)[] = [];
  storageDueMs = 0;
  pollAtMs = Number.POSITIVE_INFINITY;
  pollsAtInstant = 0;
  lastPollMs = -1;
  appliedOffset = 0;
  appliedHash = 0;
  /** The role last printed by the trace. */
  tracedRole: object | undefined;

  constructor(id: number, isVoter: boolean, log: SimLog) {
    this.id = id;
    this.isVoter = isVoter;
    this.log = log;
  }

  get live(): boolean {
    return this.replica !== undefined && !this.paused;
  }
}

export class SimCluster {
  readonly options: SimOptions;
  readonly queue = new EventQueue(startMs);
  readonly checker: SafetyChecker;
  readonly nodes: SimNode[] = [];
  readonly voterIds: number[] = [];
  readonly network: NetworkFaults;
  /** One-way blocks, as "from>to". */
  readonly blocked = new Set<string>();
  readonly #random: SeededRandom;
  readonly #nodeRandom: SeededRandom;
  #events = 0;
  #payloads = 0;

  constructor(options: SimOptions) {
    this.options = options;
    this.network = { ...options.network };
    this.#random = new SeededRandom(options.seed);
    this.#nodeRandom = this.#random.fork();
    this.checker = new SafetyChecker(options.voters);
    for (let id = 1; id <= options.voters + options.observers; id++) {
      if (id <= options.voters) this.voterIds.push(id);
      const log = new SimLog((offset, epoch, hash) => {
        this.checker.noteAppend(id, offset, epoch, hash);
      });
      this.nodes.push(new SimNode(id, id <= options.voters, log));
    }
    for (const node of this.nodes) this.#start(node);
  }

  get nowMs(): number {
    return this.queue.nowMs;
  }
  get events(): number {
    return this.#events;
  }
  get random(): SeededRandom {
    return this.#random;
  }

  node(id: number): SimNode {
    const node = this.nodes[id - 1];
    if (!node) throw new RangeError(`no node ${id}`);
    return node;
  }

  /** The live leader of the highest epoch, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const node of this.nodes) {
      const replica = node.replica;
      if (!node.live || !replica?.isLeader) continue;
      if (!best || replica.epoch > (best.replica?.epoch ?? -1)) best = node;
    }
    return best;
  }

  trace(line: string): void {
    this.options.trace?.(`${String(this.nowMs - startMs).padStart(7)} ${line}`);
  }

  // ---- Running ----------------------------------------------------------------------------

  /** Runs events until `done()` holds (checked after each) or `timeoutMs` passes. */
  runUntil(done: () => boolean, timeoutMs: number): boolean {
    const deadlineMs = this.nowMs + timeoutMs;
    while (!done()) {
      const next = this.queue.peekTimeMs();
      if (next === undefined || next > deadlineMs) return false;
      this.#step();
    }
    return true;
  }

  runFor(durationMs: number): void {
    this.runUntil(() => false, durationMs);
  }

  #step(): void {
    this.queue.step();
    this.#events++;
    this.checker.check(this.nodes);
    for (const node of this.nodes) this.#applyCommitted(node);
  }

  // ---- Faults -----------------------------------------------------------------------------

  crash(id: number): void {
    const node = this.node(id);
    if (!node.replica) return;
    this.trace(`n${id} CRASH (durable end ${node.log.durableEndOffset()})`);
    node.replica = undefined;
    node.incarnation++;
    node.paused = false;
    node.backlog = [];
    node.log.crash();
  }

  restart(id: number): void {
    const node = this.node(id);
    if (node.replica) return;
    this.trace(`n${id} RESTART`);
    this.#start(node);
  }

  pause(id: number): void {
    const node = this.node(id);
    if (!node.replica || node.paused) return;
    this.trace(`n${id} PAUSE`);
    node.paused = true;
  }

  resume(id: number): void {
    const node = this.node(id);
    if (!node.paused) return;
    this.trace(`n${id} RESUME (${node.backlog.length} deferred)`);
    node.paused = false;
    const backlog = node.backlog;
    node.backlog = [];
    for (const run of backlog) run();
    this.#withReplica(node, node.incarnation, (replica) => replica.poll(this.nowMs));
  }

  /** Cuts every link between the groups (nodes in no group keep their links). */
  partition(groups: readonly (readonly number[])[]): void {
    this.trace(`PARTITION ${groups.map((g) => `[${g.join(',')}]`).join(' ')}`);
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const from of a) for (const to of b) this.blocked.add(`${from}>${to}`);
      }
    }
  }

  block(from: number, to: number): void {
    this.trace(`BLOCK n${from} -> n${to}`);
    this.blocked.add(`${from}>${to}`);
  }

  healNetwork(): void {
    this.trace('HEAL network');
    this.blocked.clear();
  }

  resign(id: number): boolean {
    let resigned = false;
    const node = this.node(id);
    this.#withReplica(node, node.incarnation, (replica) => {
      resigned = replica.resign(this.nowMs);
    });
    if (resigned) this.trace(`n${id} RESIGN`);
    return resigned;
  }

  /** Appends `count` unique records at the current leader; returns whether one took them. */
  appendToLeader(count: number): boolean {
    const leader = this.leader();
    if (!leader?.replica) return false;
    // The client keeps a bounded number of records in flight, as real producers do.
    if (leader.log.endOffset() - leader.replica.highWatermark >= inFlightRecordsMax) return false;
    const records: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const payload = new Uint8Array(4);
      new DataView(payload.buffer).setUint32(0, ++this.#payloads);
      records.push(payload);
    }
    let appended = false;
    this.#withReplica(leader, leader.incarnation, (replica) => {
      const result = replica.append(records);
      appended = result.kind === 'appended';
      if (this.options.trace)
        this.trace(`n${leader.id} append ${count}: ${JSON.stringify(result)}`);
    });
    return appended;
  }

  /** Snapshots a replica's state machine if enough entries accumulated above its log start. */
  maybeSnapshot(id: number): void {
    const node = this.node(id);
    const replica = node.replica;
    if (!replica || !node.live) return;
    if (node.appliedOffset - node.log.startOffset() < this.options.snapshotEveryEntries) return;
    const snapshotId = replica.createSnapshot(node.appliedOffset, encodeState(node.appliedHash));
    if (snapshotId) this.trace(`n${id} SNAPSHOT at ${snapshotId.endOffset}`);
  }

  // ---- Replicas, storage and network ------------------------------------------------------

  #start(node: SimNode): void {
    const config: RaftConfig = {
      ...raftConfigDefaults,
      nodeId: node.id,
      clusterId: 'sim',
      voterIds: this.voterIds,
      electionTimeoutMs: 300,
      fetchTimeoutMs: 600,
      requestTimeoutMs: 150,
      fetchMaxWaitMs: 100,
      fetchMaxEntries: this.options.fetchMaxEntries,
      electionBackoffMs: 20,
      snapshotChunkBytes: 3,
      bugs: this.options.bugs,
    };
    const replica = new RaftReplica(
      config,
      node.log,
      node.store.read(),
      this.#nodeRandom.fork(),
      this.nowMs,
    );
    node.replica = replica;
    node.pollAtMs = Number.POSITIVE_INFINITY;
    node.storageDueMs = this.nowMs;
    node.appliedOffset = 0;
    node.appliedHash = 0;
    this.checker.noteRestart(node.id);
    this.#afterCall(node, replica);
  }

  #applyCommitted(node: SimNode): void {
    const replica = node.replica;
    if (!replica || node.paused) return;
    while (node.appliedOffset < replica.highWatermark) {
      const read = replica.readCommitted(node.appliedOffset, 64);
      if (read.kind === 'snapshot') {
        node.appliedOffset = read.snapshot.id.endOffset;
        node.appliedHash = decodeState(read.snapshot.data);
        this.checker.noteApplied(node.id, node.appliedOffset - 1, node.appliedHash);
        continue;
      }
      if (read.entries.length === 0) break;
      for (const entry of read.entries) {
        node.appliedHash = chainHash(node.appliedHash, entry.epoch, entry.data);
        this.checker.noteApplied(node.id, entry.offset, node.appliedHash);
        node.appliedOffset = entry.offset + 1;
      }
    }
  }

  /** Runs `fn` on the replica of this incarnation, deferring it while the node is paused. */
  #withReplica(node: SimNode, incarnation: number, fn: (replica: RaftReplica) => void): void {
    if (node.incarnation !== incarnation || !node.replica) return;
    if (node.paused) {
      node.backlog.push(() => this.#withReplica(node, incarnation, fn));
      return;
    }
    const replica = node.replica;
    fn(replica);
    this.#afterCall(node, replica);
  }

  #afterCall(node: SimNode, replica: RaftReplica): void {
    if (this.options.trace && replica.role !== node.tracedRole) {
      node.tracedRole = replica.role;
      const { name, epoch, votedId, leaderId } = replica.role;
      this.trace(`n${node.id} becomes ${name}@${epoch} voted=${votedId} leader=${leaderId}`);
    }
    const output = replica.takeOutput();
    for (const envelope of output.messages) {
      this.checker.noteSent(node, envelope);
      this.#send(envelope);
    }
    for (const action of output.storage) this.#schedule(node, action);
    this.#schedulePoll(node, replica);
  }

  #schedulePoll(node: SimNode, replica: RaftReplica): void {
    const dueMs = Math.max(replica.nextDeadlineMs(), this.nowMs);
    if (dueMs >= node.pollAtMs || !Number.isFinite(dueMs)) return;
    node.pollAtMs = dueMs;
    const incarnation = node.incarnation;
    this.queue.at(dueMs, () => {
      if (node.pollAtMs !== dueMs || node.incarnation !== incarnation) return;
      node.pollAtMs = Number.POSITIVE_INFINITY;
      if (node.lastPollMs === this.nowMs) node.pollsAtInstant++;
      else node.pollsAtInstant = 0;
      node.lastPollMs = this.nowMs;
      if (node.pollsAtInstant > pollsPerInstantMax) {
        throw new SimViolation(`n${node.id} polls without progress at ${this.nowMs}`);
      }
      this.#withReplica(node, incarnation, (r) => r.poll(this.nowMs));
    });
  }

  #schedule(node: SimNode, action: StorageAction): void {
    const latencyMs = this.#random.int(0, this.options.storageLatencyMsMax);
    node.storageDueMs = Math.max(node.storageDueMs, this.nowMs + latencyMs);
    const incarnation = node.incarnation;
    this.queue.at(node.storageDueMs, () => {
      this.#withReplica(node, incarnation, (replica) => {
        if (action.kind === 'persist-quorum-state') {
          node.store.write(action.state);
          this.trace(`n${node.id} persisted ${JSON.stringify(action.state)}`);
          replica.handleQuorumStatePersisted(action.version, this.nowMs);
        } else {
          const durable = node.log.flush();
          if (this.options.trace) this.trace(`n${node.id} flushed to ${durable}`);
          replica.handleLogFlushed(durable, action.generation, this.nowMs);
        }
      });
    });
  }

  #send(envelope: RaftEnvelope): void {
    const net = this.network;
    const link = `${envelope.source}>${envelope.destination}`;
    if (this.blocked.has(link) || this.#random.chance(net.dropProbability)) return;
    const copies = this.#random.chance(net.duplicateProbability) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delayMs = this.#random.int(net.delayMsMin, net.delayMsMax);
      this.queue.after(delayMs, () => this.#deliver(envelope, link));
    }
  }

  #deliver(envelope: RaftEnvelope, link: string): void {
    if (this.blocked.has(link)) return;
    const node = this.nodes[envelope.destination - 1];
    if (!node?.replica) return;
    if (this.options.trace) this.trace(describe(envelope));
    this.#withReplica(node, node.incarnation, (replica) => replica.handle(envelope, this.nowMs));
  }
}

function describe(envelope: RaftEnvelope): string {
  const { type, ...fields } = envelope.message;
  const text = JSON.stringify(fields, (key, value) =>
    key === 'data' || key === 'unalignedRecords' ? undefined : value,
  );
  const route = `n${envelope.destination} <- n${envelope.source} #${envelope.correlationId}`;
  return `${route} ${type} ${text}`;
}
