/**
 * MetadataQuorum: this node's member of the KRaft metadata quorum, composed once for every
 * composition root (src/raft-node.ts, the broker in cluster mode).
 *
 * It owns the Raft log in `<first log.dir>/__cluster_metadata-0` (StorageRaftLog), the
 * `quorum-state` file, a RaftReplica (a voter when `node.id` is in `controller.quorum.voters`,
 * else an observer that fetches from the leader), a NodeClient per other voter, RaftRpc and
 * the RaftDriver. Requests from peers arrive through the controller listener's handlers,
 * which the caller serves with `controllerRaft`.
 *
 * Listeners see the committed log as a stream: every committed data entry exactly once, in
 * offset order, from the start of the log (a listener added late is replayed from the start,
 * each listener keeping its own cursor), then live. Leader-change entries are not delivered
 * but count in `lastOffset`: a stretch holding only them comes as a batch without records
 * (ControllerRuntime.handleCommitted needs them to see its own leader-change entry commit).
 * When a listener's cursor is below the log start (a snapshot replaced those entries: stored
 * here, or installed from the leader), it gets the snapshot's records as one batch flagged
 * `snapshot: true` and must rebuild its state from it.
 *
 * Deliveries never run inside the replica's entry points: they are queued on a microtask, so
 * a listener may append (the active controller does) without re-entering the replica.
 *
 * Leadership for the controller: `onLeaderChange(leader, nextOffset)` names this node only
 * once its own leader-change entry is committed and every batch below it delivered (Raft: the
 * epoch's earlier entries commit under it), so the controller activates on a complete image
 * with `nextOffset` = where its first appended record will land. Until then, and after a
 * resignation, it reports leader -1 for the epoch.
 */
import type { FileSystem } from '../../storage/io/file-system.ts';
import type { BrokerConfig } from '../config/catalogue.ts';
import { quorumVotersOf } from '../config/derived.ts';
import type { ControllerRaft } from '../handlers/controller/controller-services.ts';
import type { OffsetAndEpoch, RaftEntry } from '../raft/messages.ts';
import { QuorumStateFile } from '../raft/quorum-state-file.ts';
import { RaftDriver } from '../raft/raft-driver.ts';
import type { RaftSnapshot } from '../raft/raft-log.ts';
import { type PeerChannel, RaftRpc } from '../raft/raft-rpc.ts';
import { RaftReplica } from '../raft/replica.ts';
import {
  type AppendResult,
  type LeaderAndEpoch,
  type RaftConfig,
  raftConfigDefaults,
} from '../raft/replica-config.ts';
import { LeaderRole } from '../raft/roles.ts';
import { StorageRaftLog } from '../raft/storage-raft-log.ts';
import { NodeClient, nodeClientDefaults } from '../server/node-client.ts';
import type { Clock } from '../util/clock.ts';
import { BrokerError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import type { Random } from '../util/random.ts';

export const METADATA_LOG_DIR_NAME = '__cluster_metadata-0';

/** Entries read from the log per delivered batch. */
const ENTRIES_PER_BATCH = 256;
/** Inbound quorum calls waiting for the replica's answer. */
const INBOUND_CALLS_MAX = 1024;
/** Records one snapshot may hold (decoding a hostile or damaged snapshot stays bounded). */
const SNAPSHOT_RECORDS_MAX = 10_000_000;

export interface CommittedRecord {
  readonly offset: number;
  /** One framed metadata record (src/metadata/metadata-record.ts). */
  readonly data: Buffer;
}

export interface CommittedBatch {
  readonly records: readonly CommittedRecord[];
  /** Offset of the last entry this batch covers (a leader-change entry included). */
  readonly lastOffset: number;
  /**
   * The records of a snapshot ending at `lastOffset + 1`: they replace everything delivered
   * before (each record carries offset `lastOffset`).
   */
  readonly snapshot?: boolean;
}

export interface MetadataQuorumListener {
  /** Committed records, in offset order, each exactly once. */
  onCommitted?(batch: CommittedBatch): void;
  /**
   * The quorum's leader, as the controller should see it: this node only once its leadership
   * is usable (see the header), -1 when unknown. `nextOffset` is where the next appended
   * record lands, meaningful when `leader.leaderId` is this node.
   */
  onLeaderChange?(leader: LeaderAndEpoch, nextOffset: number): void;
}

/** The properties the quorum reads (a whole BrokerConfig is one). */
export type QuorumConfig = Pick<
  BrokerConfig,
  | 'node.id'
  | 'controller.quorum.voters'
  | 'log.dirs'
  | 'controller.quorum.election.timeout.ms'
  | 'controller.quorum.fetch.timeout.ms'
  | 'controller.quorum.request.timeout.ms'
>;

export interface MetadataQuorumOptions {
  readonly config: QuorumConfig;
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly clusterId: string;
  /** Registered before the driver starts (equivalent to `addListener` right after). */
  readonly listeners?: readonly MetadataQuorumListener[];
  /**
   * A storage failure or a committed-truncation request: the quorum has stopped and the
   * process must restart from its disk. Default: log it.
   */
  readonly onFatal?: (error: Error) => void;
  /** Segment size of the metadata log (storage's default when absent). */
  readonly segmentBytes?: number;
}

export interface VoterEndpoint {
  readonly host: string;
  readonly port: number;
}

interface ListenerState {
  readonly listener: MetadataQuorumListener;
  /** The next offset this listener has not seen. */
  cursor: number;
  /** `leaderId:epoch` last reported; undefined before the first report. */
  reported: string | undefined;
}

/** The Raft settings from controller.quorum.* (timeouts as raft-node.ts derived them). */
export function raftConfigOf(config: QuorumConfig, clusterId: string): RaftConfig {
  const fetchTimeoutMs = config['controller.quorum.fetch.timeout.ms'];
  return {
    ...raftConfigDefaults,
    nodeId: config['node.id'],
    clusterId,
    voterIds: quorumVotersOf(config as BrokerConfig)
      .map((v) => v.nodeId)
      .sort((a, b) => a - b),
    electionTimeoutMs: config['controller.quorum.election.timeout.ms'],
    fetchTimeoutMs,
    requestTimeoutMs: config['controller.quorum.request.timeout.ms'],
    // Parked well inside the fetch timeout, so a healthy follower never looks gone.
    fetchMaxWaitMs: Math.min(500, Math.max(Math.floor(fetchTimeoutMs / 4), 50)),
  };
}

export class MetadataQuorum {
  readonly nodeId: number;
  readonly isVoter: boolean;
  readonly voters: ReadonlyMap<number, VoterEndpoint>;
  /** For the controller listener's handlers (src/handlers/controller). */
  readonly controllerRaft: ControllerRaft;
  /** The driver, for tools and tests (resign, raw listeners); others use the methods. */
  readonly driver: RaftDriver;
  readonly #replica: RaftReplica;
  readonly #log: StorageRaftLog;
  readonly #rpc: RaftRpc;
  readonly #clients: ReadonlyMap<number, NodeClient>;
  readonly #logger: Logger;
  readonly #snapshotBytesMax: number;
  readonly #listeners: ListenerState[] = [];
  #fatal: (error: Error) => void = () => {};
  #drainQueued = false;
  #stopped = false;
  #stopping: Promise<void> | undefined;

  private constructor(parts: {
    nodeId: number;
    voters: ReadonlyMap<number, VoterEndpoint>;
    replica: RaftReplica;
    log: StorageRaftLog;
    rpc: RaftRpc;
    driver: RaftDriver;
    clients: ReadonlyMap<number, NodeClient>;
    logger: Logger;
    fetchMaxEntries: number;
    snapshotBytesMax: number;
  }) {
    this.nodeId = parts.nodeId;
    this.voters = parts.voters;
    this.isVoter = parts.voters.has(parts.nodeId);
    this.#replica = parts.replica;
    this.#log = parts.log;
    this.#rpc = parts.rpc;
    this.driver = parts.driver;
    this.#clients = parts.clients;
    this.#logger = parts.logger;
    this.#snapshotBytesMax = parts.snapshotBytesMax;
    const rpc = parts.rpc;
    const replica = parts.replica;
    this.controllerRaft = {
      fetchMaxEntries: parts.fetchMaxEntries,
      call: (source, message) => rpc.call(source, message),
      describeQuorum: () => replica.describeQuorum(),
    };
    replica.addListener({
      onCommit: () => this.#scheduleDrain(),
      onLeaderChange: () => this.#scheduleDrain(),
      onSnapshotInstalled: () => this.#scheduleDrain(),
    });
  }

  static async start(options: MetadataQuorumOptions): Promise<MetadataQuorum> {
    const { config, fs, clock, random, logger } = options;
    const nodeId = config['node.id'];
    const voters = new Map<number, VoterEndpoint>();
    for (const v of quorumVotersOf(config as BrokerConfig)) {
      voters.set(v.nodeId, { host: v.host, port: v.port });
    }
    if (voters.size === 0) {
      throw new BrokerError('QUORUM_NO_VOTERS', 'controller.quorum.voters is empty');
    }
    const firstDir = config['log.dirs'][0];
    if (firstDir === undefined) throw new BrokerError('QUORUM_NO_LOG_DIR', 'log.dirs is empty');
    const raftConfig = raftConfigOf(config, options.clusterId);
    const dir = `${firstDir}/${METADATA_LOG_DIR_NAME}`;
    let fatal: (error: Error) => void = () => {};
    const log = await StorageRaftLog.open({
      fs,
      clock,
      random,
      dir,
      snapshotBytesMax: raftConfig.snapshotBytesMax,
      segmentBytes: options.segmentBytes,
      onFailure: (error) => fatal(error),
    });
    let stateFile: QuorumStateFile;
    try {
      stateFile = await QuorumStateFile.open(fs, dir);
    } catch (error) {
      await log.close();
      throw error;
    }
    const replica = new RaftReplica(raftConfig, log, stateFile.read(), random, clock.nowMs());
    const clients = new Map<number, NodeClient>();
    for (const [id, endpoint] of voters) {
      if (id === nodeId) continue;
      clients.set(
        id,
        new NodeClient({
          ...nodeClientDefaults,
          ...endpoint,
          clientId: `raft-${nodeId}`,
          clock,
          logger: logger.child({ peer: id }),
          // Longer than any parked fetch, shorter than the time a voter waits for its leader.
          requestTimeoutMs: raftConfig.fetchTimeoutMs,
        }),
      );
    }
    const rpc = new RaftRpc({
      nodeId,
      peers: clients as ReadonlyMap<number, PeerChannel>,
      clock,
      logger,
      fetchMaxWaitMs: raftConfig.fetchMaxWaitMs,
      inboundTimeoutMs: raftConfig.fetchMaxWaitMs + raftConfig.requestTimeoutMs,
      inboundMax: INBOUND_CALLS_MAX,
    });
    const driver = new RaftDriver({
      replica,
      log,
      stateStore: stateFile,
      transport: rpc,
      clock,
      onFatal: (error) => fatal(error),
    });
    rpc.attach(driver);
    const quorum = new MetadataQuorum({
      nodeId,
      voters,
      replica,
      log,
      rpc,
      driver,
      clients,
      logger,
      fetchMaxEntries: raftConfig.fetchMaxEntries,
      snapshotBytesMax: raftConfig.snapshotBytesMax,
    });
    let failed = false;
    fatal = (error) => {
      // The log's own failure and the driver's report of it may both arrive: report once.
      if (failed) return;
      failed = true;
      void quorum.stop();
      if (options.onFatal) options.onFatal(error);
      else logger.fatal({ err: error }, 'metadata quorum stopped: restart from the disk');
    };
    quorum.#fatal = (error) => fatal(error);
    for (const listener of options.listeners ?? []) quorum.addListener(listener);
    driver.start();
    logger.info(
      { nodeId, voters: raftConfig.voterIds, observer: !quorum.isVoter },
      'metadata quorum started',
    );
    return quorum;
  }

  /** The leader Raft knows of (may not yet be usable for commands: see the header). */
  leader(): LeaderAndEpoch {
    return { leaderId: this.#replica.leaderId, epoch: this.#replica.epoch };
  }

  get highWatermark(): number {
    return this.#replica.highWatermark;
  }

  /** Stopped (by `stop`, or by a fatal failure): nothing more is delivered or appended. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** The first offset still held as an entry: the latest snapshot's end, or 0. */
  get logStartOffset(): number {
    return this.#log.startOffset();
  }

  /** The latest snapshot this node holds (stored here or installed from the leader). */
  get latestSnapshotId(): OffsetAndEpoch | undefined {
    return this.#log.latestSnapshot()?.id;
  }

  /** One past the last entry of the local log, committed or not. */
  get logEndOffset(): number {
    return this.#log.endOffset();
  }

  /** True when this node leads and its own leader-change entry has committed. */
  get isLeaderReady(): boolean {
    const role = this.#replica.role;
    return role instanceof LeaderRole && this.#replica.highWatermark > role.epochStartOffset;
  }

  /** Appends framed records as leader (one Raft entry each); undefined once stopped. */
  append(records: readonly Buffer[]): AppendResult | undefined {
    if (this.#stopped) return undefined;
    return this.driver.append(records);
  }

  /** Hands leadership on (a graceful stop of the active controller). */
  resign(): boolean {
    return this.driver.resign();
  }

  /**
   * Adds a listener: it is replayed every committed record from the start of the log (or the
   * latest snapshot), then follows live, on later microtasks, never inside this call.
   */
  addListener(listener: MetadataQuorumListener): void {
    this.#listeners.push({ listener, cursor: 0, reported: undefined });
    this.#scheduleDrain();
  }

  removeListener(listener: MetadataQuorumListener): void {
    const index = this.#listeners.findIndex((s) => s.listener === listener);
    if (index >= 0) this.#listeners.splice(index, 1);
  }

  /**
   * Stores a snapshot of the state at `endOffset` (exclusive; committed and durable), the
   * records framed as `encodeSnapshotRecords` frames them. Returns its id, or undefined when
   * the offset does not qualify; BrokerError `SNAPSHOT_TOO_LARGE` beyond the Raft config's
   * `snapshotBytesMax` (the log keeps its entries).
   */
  createSnapshot(endOffset: number, records: readonly Buffer[]): OffsetAndEpoch | undefined {
    if (this.#stopped) return undefined;
    const data = encodeSnapshotRecords(records);
    if (data.length > this.#snapshotBytesMax) {
      // Stored, it could not be read back at the next start, nor fetched by a follower.
      throw new BrokerError(
        'SNAPSHOT_TOO_LARGE',
        `metadata snapshot of ${data.length} bytes exceeds ${this.#snapshotBytesMax}`,
      );
    }
    return this.#replica.createSnapshot(endOffset, data);
  }

  /**
   * Resolves once every change to the log made so far (a stored snapshot's file and the
   * segments it let go included) reached the disk; rejects if the log failed.
   */
  async settled(): Promise<void> {
    await this.#log.settled();
    const failure = this.#log.failure;
    if (failure) throw failure;
  }

  /** Stops the driver, the peers and the log; no delivery after it resolves. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    await this.driver.stop();
    this.#rpc.close();
    for (const client of this.#clients.values()) client.close();
    await this.#log.close();
  }

  #scheduleDrain(): void {
    if (this.#drainQueued || this.#stopped) return;
    this.#drainQueued = true;
    queueMicrotask(() => {
      this.#drainQueued = false;
      this.#drain();
    });
  }

  #drain(): void {
    // A listener added during the loop is handled by the drain its addListener scheduled.
    for (const state of [...this.#listeners]) {
      if (this.#stopped) return;
      if (!this.#listeners.includes(state)) continue;
      this.#deliver(state);
      this.#reportLeader(state);
    }
  }

  #deliver(state: ListenerState): void {
    while (!this.#stopped && state.cursor < this.#replica.highWatermark) {
      const read = this.#replica.readCommitted(state.cursor, ENTRIES_PER_BATCH);
      if (read.kind === 'snapshot') {
        let batch: CommittedBatch;
        try {
          batch = snapshotBatch(read.snapshot);
        } catch (error) {
          // Its CRC held, so the bytes are what the writer wrote: our bug, or a foreign one.
          this.#fatal(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        state.cursor = read.snapshot.id.endOffset;
        this.#call(state, batch);
        continue;
      }
      if (read.entries.length === 0) return;
      const batch = entriesBatch(read.entries);
      state.cursor = batch.lastOffset + 1;
      // Delivered even without records: the controller learns from it that its own
      // leader-change entry committed.
      this.#call(state, batch);
    }
  }

  #call(state: ListenerState, batch: CommittedBatch): void {
    try {
      state.listener.onCommitted?.(batch);
    } catch (error) {
      // A listener's bug must not stop the others or the quorum: it is reported loudly.
      this.#logger.error({ err: error, lastOffset: batch.lastOffset }, 'committed listener');
    }
  }

  #reportLeader(state: ListenerState): void {
    const replica = this.#replica;
    let leaderId = replica.leaderId;
    // This node is reported only once its leadership is usable; until then, and as a
    // resigned leader, the epoch has no usable leader.
    if (leaderId === this.nodeId && !this.isLeaderReady) leaderId = -1;
    if (leaderId === this.nodeId && state.cursor < replica.highWatermark) return;
    const key = `${leaderId}:${replica.epoch}`;
    if (state.reported === key) return;
    state.reported = key;
    try {
      state.listener.onLeaderChange?.({ leaderId, epoch: replica.epoch }, this.#log.endOffset());
    } catch (error) {
      this.#logger.error({ err: error }, 'leader-change listener');
    }
  }
}

function entriesBatch(entries: readonly RaftEntry[]): CommittedBatch {
  const records: CommittedRecord[] = [];
  for (const entry of entries) {
    if (entry.kind !== 'data') continue;
    const data = entry.data;
    records.push({
      offset: entry.offset,
      data: Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length),
    });
  }
  const last = entries.at(-1) as RaftEntry;
  return { records, lastOffset: last.offset };
}

function snapshotBatch(snapshot: RaftSnapshot): CommittedBatch {
  const lastOffset = snapshot.id.endOffset - 1;
  const records = decodeSnapshotRecords(snapshot.data).map((data) => ({
    offset: lastOffset,
    data,
  }));
  return { records, lastOffset, snapshot: true };
}

/**
 * A snapshot's bytes: the framed metadata records of the state, each preceded by its length
 * (int32, big-endian).
 */
export function encodeSnapshotRecords(records: readonly Buffer[]): Buffer {
  let total = 0;
  for (const record of records) total += 4 + record.length;
  // One allocation: a large image has tens of thousands of small records.
  const bytes = Buffer.allocUnsafe(total);
  let at = 0;
  for (const record of records) {
    bytes.writeInt32BE(record.length, at);
    record.copy(bytes, at + 4);
    at += 4 + record.length;
  }
  return bytes;
}

/** The inverse of `encodeSnapshotRecords`; BrokerError `SNAPSHOT_CORRUPT` on bad bytes. */
export function decodeSnapshotRecords(data: Uint8Array): Buffer[] {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
  const records: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 4 || records.length >= SNAPSHOT_RECORDS_MAX) {
      throw new BrokerError('SNAPSHOT_CORRUPT', `metadata snapshot damaged at byte ${at}`);
    }
    const length = bytes.readInt32BE(at);
    if (length < 0 || length > bytes.length - at - 4) {
      throw new BrokerError('SNAPSHOT_CORRUPT', `metadata snapshot record length ${length}`);
    }
    records.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return records;
}
