/**
 * Three controllers over a real Raft quorum in one process: per voter a RaftReplica on a
 * MemoryRaftLog, run by a RaftDriver on a SimClock, and a ControllerRuntime fed the committed
 * stream and leader changes as src/node's MetadataQuorum feeds it. Messages cross an in-memory
 * network that delivers each one 1-5 ms later and can cut a node off.
 */

import {
  type CommittedBatch,
  ControllerRuntime,
} from '../../../src/controller/controller-runtime.ts';
import {
  type ControllerConfig,
  DEFAULT_CONTROLLER_CONFIG,
} from '../../../src/controller/decision.ts';
import { MemoryQuorumStateStore, MemoryRaftLog } from '../../../src/raft/memory-log.ts';
import type { RaftEnvelope } from '../../../src/raft/messages.ts';
import { type DurableRaftLog, RaftDriver } from '../../../src/raft/raft-driver.ts';
import { RaftReplica } from '../../../src/raft/replica.ts';
import { type RaftConfig, raftConfigDefaults } from '../../../src/raft/replica-config.ts';
import { SimClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { CLUSTER_ID } from './harness.ts';

/** MemoryRaftLog's flush is synchronous; the driver wants the async shape of a disk log. */
class DriverMemoryLog extends MemoryRaftLog implements DurableRaftLog {
  readonly hasUnsettledRewrites = false;
  async flushDurably(): Promise<number> {
    return this.flush();
  }
  async settled(): Promise<void> {}
}

export interface QuorumMember {
  readonly id: number;
  readonly log: DriverMemoryLog;
  readonly store: MemoryQuorumStateStore;
  driver: RaftDriver;
  runtime: ControllerRuntime;
  /** Every committed batch handed to the runtime, for checks on the stream. */
  readonly batches: CommittedBatch[];
}

/**
 * The committed stream of `replica` as src/node's MetadataQuorum produces it (each committed
 * stretch once, in order; leader-change entries advance the offsets without records), and its
 * leader changes with the offset where a new leader's first record lands (one past its
 * leader-change entry, appended after this call).
 */
export function followCommitted(
  replica: RaftReplica,
  nodeId: number,
  logEndOffset: () => number,
  to: {
    readonly onBatch: (batch: CommittedBatch) => void;
    readonly onLeaderChange: (
      leader: { readonly leaderId: number; readonly epoch: number },
      nextOffset: number,
    ) => void;
  },
): void {
  let delivered = 0;
  replica.addListener({
    onCommit: (highWatermark) => {
      while (delivered < highWatermark) {
        const read = replica.readCommitted(delivered, 64);
        if (read.kind !== 'entries' || read.entries.length === 0) break;
        const last = read.entries.at(-1)?.offset ?? delivered;
        delivered = last + 1;
        to.onBatch({
          records: read.entries
            .filter((e) => e.kind === 'data')
            .map((e) => ({ offset: e.offset, data: Buffer.from(e.data) })),
          lastOffset: last,
        });
      }
    },
    onLeaderChange: (leader) => {
      // Called as the role changes, before a new leader appends its leader-change entry.
      to.onLeaderChange(leader, leader.leaderId === nodeId ? logEndOffset() + 1 : -1);
    },
  });
}

export const VOTER_IDS = [1, 2, 3] as const;

export class ControllerQuorum {
  readonly clock = new SimClock();
  readonly random: SeededRandom;
  readonly members: QuorumMember[];
  /** Nodes cut off from the network: nothing reaches them or leaves them. */
  readonly isolated = new Set<number>();
  readonly fatal: Error[] = [];
  readonly #config: ControllerConfig;
  readonly #raft: Partial<RaftConfig>;

  constructor(
    seed: number,
    config: Partial<ControllerConfig> = {},
    raft: Partial<Pick<RaftConfig, 'uncommittedEntriesMax' | 'fetchMaxEntries'>> = {},
  ) {
    this.random = new SeededRandom(seed);
    this.#raft = raft;
    this.#config = {
      ...DEFAULT_CONTROLLER_CONFIG,
      clusterId: CLUSTER_ID,
      topicDefaults: { numPartitions: 1, replicationFactor: 3 },
      ...config,
    };
    this.members = VOTER_IDS.map((id) => this.#start(id));
  }

  #start(id: number): QuorumMember {
    const log = new DriverMemoryLog();
    const store = new MemoryQuorumStateStore();
    const member = { id, log, store, batches: [] } as unknown as QuorumMember;
    this.#wire(member);
    return member;
  }

  /** Builds the replica, driver and runtime of `member` on its (surviving) log and state. */
  #wire(member: QuorumMember): void {
    const config = {
      ...raftConfigDefaults,
      nodeId: member.id,
      clusterId: CLUSTER_ID,
      voterIds: [...VOTER_IDS],
      electionTimeoutMs: 300,
      fetchTimeoutMs: 600,
      requestTimeoutMs: 150,
      fetchMaxWaitMs: 100,
      ...this.#raft,
    };
    const replica = new RaftReplica(
      config,
      member.log,
      member.store.read(),
      this.random.fork(),
      this.clock.nowMs(),
    );
    const driver = new RaftDriver({
      replica,
      log: member.log,
      stateStore: { write: async (state) => member.store.write(state) },
      transport: { send: (envelope) => this.#send(envelope) },
      clock: this.clock,
      onFatal: (error) => this.fatal.push(error),
    });
    const runtime = new ControllerRuntime({
      nodeId: member.id,
      clock: this.clock,
      random: this.random.fork(),
      logger: silentLogger(),
      config: this.#config,
      log: { append: (records) => driver.append(records) },
    });
    member.driver = driver;
    member.runtime = runtime;
    member.batches.length = 0;
    followCommitted(replica, member.id, () => member.log.endOffset(), {
      onBatch: (batch) => {
        member.batches.push(batch);
        runtime.handleCommitted(batch);
      },
      onLeaderChange: (leader, nextOffset) => runtime.handleLeaderChange(leader, nextOffset),
    });
    driver.start();
  }

  /** A crash and restart: the node keeps only what its log flushed and its quorum state. */
  async restart(member: QuorumMember): Promise<void> {
    member.runtime.close();
    await member.driver.stop();
    member.log.crash();
    this.#wire(member);
  }

  #send(envelope: RaftEnvelope): void {
    if (this.isolated.has(envelope.source) || this.isolated.has(envelope.destination)) return;
    this.clock.setTimer(this.random.int(1, 5), () => {
      if (this.isolated.has(envelope.source) || this.isolated.has(envelope.destination)) return;
      this.member(envelope.destination).driver.deliver(envelope);
    });
  }

  member(id: number): QuorumMember {
    const found = this.members.find((m) => m.id === id);
    if (!found) throw new Error(`no member ${id}`);
    return found;
  }

  /** The member whose runtime is the active controller (at most one outside a partition). */
  active(): QuorumMember | undefined {
    return this.members.find((m) => m.runtime.isActive && !this.isolated.has(m.id));
  }

  /** Lets promise callbacks (driver storage, runtime pumps, answers) run. */
  async settle(): Promise<void> {
    for (let i = 0; i < 4; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  /** Advances simulated time in `stepMs` steps until `done` or `timeoutMs` passed. */
  async until(done: () => boolean, timeoutMs: number, stepMs = 5): Promise<boolean> {
    await this.settle();
    for (let elapsed = 0; elapsed < timeoutMs && !done(); elapsed += stepMs) {
      this.clock.advance(stepMs);
      await this.settle();
    }
    return done();
  }

  async elapse(ms: number): Promise<void> {
    await this.until(() => false, ms);
  }

  /** Waits for an active controller; fails the test if none comes within 10 s. */
  async activeController(): Promise<QuorumMember> {
    const found = await this.until(() => this.active() !== undefined, 10_000);
    if (!found) throw new Error('no active controller within 10 s');
    return this.active() as QuorumMember;
  }

  /** Resolves `promise` while moving time (its records must commit); fails after 5 s. */
  async answer<T>(promise: Promise<T>): Promise<T> {
    let result: { value: T } | undefined;
    void promise.then((value) => {
      result = { value };
    });
    await this.until(() => result !== undefined, 5_000);
    if (!result) throw new Error('no answer within 5 s of simulated time');
    return result.value;
  }

  /** Every member has replayed the committed log up to the active controller's. */
  async converged(): Promise<boolean> {
    return this.until(() => {
      const ends = this.members.map((m) => m.runtime.committedEnd);
      return ends.every((e) => e === ends[0]);
    }, 5_000);
  }

  async stop(): Promise<void> {
    for (const member of this.members) {
      member.runtime.close();
      await member.driver.stop();
    }
  }
}
