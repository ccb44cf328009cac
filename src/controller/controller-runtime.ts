/**
 * ControllerRuntime: the QuorumController run on one event queue over the Raft metadata log.
 *
 * Inputs (fed by the node runtime, src/node, from the RaftDriver's replica):
 * - `handleCommitted(batch)`: every committed stretch of the log, in offset order, exactly once,
 *   INCLUDING stretches that hold no metadata record (a Raft leader-change entry): `lastOffset`
 *   is the high watermark minus one, `records` the metadata records in it. The runtime replays
 *   them and answers the commands whose records are now committed.
 * - `handleLeaderChange(leader, nextOffset)`: on every Raft leader or epoch change. When the
 *   leader is this node, `nextOffset` is where the controller's first record will land: one past
 *   the epoch's leader-change entry, i.e. `(replica.role as LeaderRole).epochStartOffset + 1`,
 *   or `log.endOffset() + 1` inside RaftListener.onLeaderChange (the replica announces the new
 *   role just before it appends that entry). For another leader it is ignored (pass -1).
 *
 * Activation: a new Raft leader becomes the active controller only once the committed stream
 * has passed its leader-change entry (`lastOffset >= nextOffset - 1`): every record of earlier
 * epochs is then replayed, and Raft commits nothing of an earlier epoch except under that
 * entry. Until then, and whenever not leader, commands are answered NOT_CONTROLLER.
 *
 * Commands: queued (bounded with those awaiting commit; beyond: REQUEST_TIMED_OUT, which
 * callers retry), run one at a time on a microtask — never inside a Raft callback, so an
 * append never re-enters the replica. Each command's records go to the log in one `append`;
 * its answer waits until `handleCommitted` passes its `commitOffset`. An append refused
 * (not-leader, backlog-full, a stopped driver) or a leadership change deactivates: every
 * queued and waiting command is answered NOT_CONTROLLER, and decided-but-uncommitted records
 * are forgotten. After a refused append while still leader, the runtime activates again once
 * everything it appended has committed.
 *
 * Timers (the injected Clock): while active, stale brokers are fenced at
 * `nextSessionDeadlineMs()`.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors.ts';
import {
  type AllocateProducerIdsRequest,
  type AllocateProducerIdsResponse,
  type AlterPartitionRequest,
  type AlterPartitionResponse,
  type BrokerHeartbeatRequest,
  type BrokerHeartbeatResponse,
  type BrokerRegistrationRequest,
  type BrokerRegistrationResponse,
  type ElectLeadersRequest,
  type ElectLeadersResponse,
  newAllocateProducerIdsResponse,
  newAlterPartitionResponse,
  newBrokerHeartbeatResponse,
  newBrokerRegistrationResponse,
  newElectLeadersResponse,
} from '../../protocol/generated/index.ts';
import { decodeMetadataRecord, encodeMetadataRecord } from '../metadata/metadata-record.ts';
import type { NewTopic } from '../metadata/topic-commands.ts';
import type { AppendResult } from '../raft/replica-config.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { Random } from '../util/random.ts';
import type { ConfigAlteration, ConfigResult } from './config-commands.ts';
import type { ControllerRecord } from './controller-record.ts';
import type { ControllerState } from './controller-state.ts';
import type { ControllerConfig } from './decision.ts';
import { type ControllerResult, QuorumController } from './quorum-controller.ts';
import type { TopicResult } from './topic-commands.ts';

/** A committed stretch of the metadata log (src/node's CommittedBatch). */
export interface CommittedBatch {
  /** The metadata records in the stretch, by offset; `data` is one framed record. */
  readonly records: readonly { readonly offset: number; readonly data: Buffer }[];
  /** The last offset of the stretch (high watermark - 1), whether or not it holds a record. */
  readonly lastOffset: number;
  /**
   * The records of a snapshot ending at `lastOffset + 1` (each carries offset `lastOffset`):
   * they replace every record delivered before.
   */
  readonly snapshot?: boolean;
}

/** Where the controller appends its records: the Raft leader's log (RaftDriver.append). */
export interface ControllerLog {
  /** `undefined` when the driver has stopped. */
  append(records: readonly Buffer[]): AppendResult | undefined;
}

export interface LeaderAndEpoch {
  /** -1: unknown. */
  readonly leaderId: number;
  readonly epoch: number;
}

export interface ControllerRuntimeOptions {
  readonly nodeId: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly config: ControllerConfig;
  readonly log: ControllerLog;
  /** Commands queued or awaiting commit at most; beyond, REQUEST_TIMED_OUT. Default 1000. */
  readonly commandsMax?: number;
}

/** Per-topic refusals as the topic commands report them. */
export interface Refusal {
  readonly errorCode: number;
  readonly errorMessage: string;
}

interface Command {
  decide(controller: QuorumController): ControllerResult<unknown>;
  answer(response: unknown): void;
  refuse(errorCode: number): void;
}

interface Awaiting {
  readonly commitOffset: number;
  readonly answer: () => void;
  readonly refuse: (errorCode: number) => void;
}

const COMMANDS_MAX_DEFAULT = 1000;

export class ControllerRuntime {
  readonly #nodeId: number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #log: ControllerLog;
  readonly #controllerOptions: ConstructorParameters<typeof QuorumController>[0];
  #controller: QuorumController;
  readonly #commandsMax: number;
  readonly #clusterId: string;
  #queue: Command[] = [];
  #awaiting: Awaiting[] = [];
  #leader: LeaderAndEpoch = { leaderId: -1, epoch: -1 };
  /** One past the last committed offset replayed. */
  #committedEnd = 0;
  /** Set while this node leads but has not yet caught up: activate at `nextOffset`. */
  #activation: { readonly epoch: number; readonly nextOffset: number } | undefined;
  /** The epoch this runtime is active in (-1 when not), checked against every append. */
  #activeEpoch = -1;
  /** Where the next record this node appends will land. */
  #appendEnd = 0;
  #pumping = false;
  #fenceQueued = false;
  #fenceTimer: TimerHandle | undefined;
  #closed = false;

  constructor(options: ControllerRuntimeOptions) {
    this.#nodeId = options.nodeId;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#log = options.log;
    this.#commandsMax = options.commandsMax ?? COMMANDS_MAX_DEFAULT;
    this.#clusterId = options.config.clusterId;
    this.#controllerOptions = {
      clock: options.clock,
      random: options.random,
      config: options.config,
    };
    this.#controller = new QuorumController(this.#controllerOptions);
  }

  get clusterId(): string {
    return this.#clusterId;
  }

  /** Answers commands now (leading, caught up, not stopped). */
  get isActive(): boolean {
    return this.#controller.isActive;
  }

  /** The quorum's leader as last reported (the active controller, or about to be); -1. */
  activeControllerId(): number {
    return this.#leader.leaderId;
  }

  /** The state of the committed records (every node's, active or not). */
  get committed(): ControllerState {
    return this.#controller.committed;
  }

  /** One past the last committed offset replayed. */
  get committedEnd(): number {
    return this.#committedEnd;
  }

  handleCommitted(batch: CommittedBatch): void {
    if (this.#closed) return;
    if (batch.snapshot === true) {
      this.#loadSnapshot(batch);
    } else {
      assert(batch.lastOffset >= this.#committedEnd, 'a committed stretch was delivered twice');
      for (const { offset, data } of batch.records) {
        assert(offset >= this.#committedEnd && offset <= batch.lastOffset, 'record out of batch');
        // One record at a time: a stretch may hold offsets without a record (leader changes).
        const record = decodeMetadataRecord(data);
        this.#controller.replay([record], offset);
      }
    }
    this.#committedEnd = batch.lastOffset + 1;
    while (this.#awaiting.length > 0) {
      const first = this.#awaiting[0] as Awaiting;
      if (first.commitOffset >= this.#committedEnd) break;
      this.#awaiting.shift();
      first.answer();
    }
    this.#maybeActivate();
  }

  /** Replaces the committed state by a snapshot's; an active controller starts over. */
  #loadSnapshot(batch: CommittedBatch): void {
    if (this.#controller.isActive) {
      this.#deactivate('snapshot loaded');
      if (this.#leader.leaderId === this.#nodeId) {
        this.#activation = { epoch: this.#leader.epoch, nextOffset: this.#appendEnd };
      }
    }
    const controller = new QuorumController(this.#controllerOptions);
    const records = batch.records.map(({ data }) => decodeMetadataRecord(data));
    // A snapshot's records hold the state at its end; their own offsets are gone.
    if (records.length > 0) controller.replay(records, batch.lastOffset);
    this.#controller = controller;
  }

  handleLeaderChange(leader: LeaderAndEpoch, nextOffset: number): void {
    if (this.#closed) return;
    const same = leader.leaderId === this.#leader.leaderId && leader.epoch === this.#leader.epoch;
    if (same) return;
    this.#leader = { leaderId: leader.leaderId, epoch: leader.epoch };
    this.#deactivate('leadership changed');
    if (leader.leaderId === this.#nodeId) {
      assert(nextOffset > 0, 'a leader has a leader-change entry before its first record');
      this.#activation = { epoch: leader.epoch, nextOffset };
      this.#appendEnd = nextOffset;
      this.#maybeActivate();
    }
  }

  registerBroker(request: BrokerRegistrationRequest): Promise<BrokerRegistrationResponse> {
    return this.#submit(
      (c) => c.registerBroker(request),
      (errorCode) => ({ ...newBrokerRegistrationResponse(), errorCode }),
    );
  }

  brokerHeartbeat(request: BrokerHeartbeatRequest): Promise<BrokerHeartbeatResponse> {
    return this.#submit(
      (c) => c.brokerHeartbeat(request),
      (errorCode) => ({ ...newBrokerHeartbeatResponse(), errorCode }),
    );
  }

  alterPartition(request: AlterPartitionRequest): Promise<AlterPartitionResponse> {
    return this.#submit(
      (c) => c.alterPartition(request),
      (errorCode) => ({ ...newAlterPartitionResponse(), errorCode }),
    );
  }

  allocateProducerIds(request: AllocateProducerIdsRequest): Promise<AllocateProducerIdsResponse> {
    return this.#submit(
      (c) => c.allocateProducerIds(request),
      (errorCode) => ({ ...newAllocateProducerIdsResponse(), errorCode }),
    );
  }

  electLeaders(request: ElectLeadersRequest): Promise<ElectLeadersResponse> {
    return this.#submit(
      (c) => c.electLeaders(request),
      (errorCode) => ({ ...newElectLeadersResponse(), errorCode }),
    );
  }

  /** One result per topic, in request order. */
  createTopics(
    topics: readonly NewTopic[],
    options: { readonly validateOnly?: boolean } = {},
  ): Promise<TopicResult[]> {
    return this.#submit(
      (c) => c.createTopics(topics, options),
      (errorCode) =>
        topics.map((t) => ({
          name: t.name,
          errorCode,
          errorMessage: null,
          topicId: '',
          numPartitions: -1,
          replicationFactor: -1,
        })),
    );
  }

  /** One result per reference, in request order. */
  deleteTopics(
    refs: readonly { readonly name: string | null; readonly topicId: string | null }[],
  ): Promise<(TopicResult | Refusal)[]> {
    return this.#submit(
      (c) => c.deleteTopics(refs),
      (errorCode) => refs.map(() => ({ errorCode, errorMessage: '' })),
    );
  }

  /** One result per topic, in request order. */
  createPartitions(
    requests: Parameters<QuorumController['createPartitions']>[0],
    options: { readonly validateOnly?: boolean } = {},
  ): Promise<Refusal[]> {
    return this.#submit(
      (c) => c.createPartitions(requests, options),
      (errorCode) => requests.map(() => ({ errorCode, errorMessage: '' })),
    );
  }

  /** IncrementalAlterConfigs and AlterConfigs: one result per resource, in request order. */
  alterConfigs(
    alterations: readonly ConfigAlteration[],
    options: { readonly validateOnly?: boolean } = {},
  ): Promise<ConfigResult[]> {
    return this.#submit(
      (c) => c.alterConfigs(alterations, options),
      (errorCode) =>
        alterations.map((a) => ({
          resourceType: a.resourceType,
          resourceName: a.resourceName,
          errorCode,
          errorMessage: null,
        })),
    );
  }

  /** Stops: every queued and waiting command is answered NOT_CONTROLLER; timers cancelled. */
  close(): void {
    this.#deactivate('closed');
    this.#closed = true;
  }

  #submit<T>(
    decide: (controller: QuorumController) => ControllerResult<T>,
    refuse: (errorCode: number) => T,
  ): Promise<T> {
    if (this.#closed || !this.#controller.isActive) {
      return Promise.resolve(refuse(ErrorCode.NOT_CONTROLLER));
    }
    if (this.#queue.length + this.#awaiting.length >= this.#commandsMax) {
      return Promise.resolve(refuse(ErrorCode.REQUEST_TIMED_OUT));
    }
    return new Promise<T>((resolve) => {
      this.#queue.push({
        decide,
        answer: (response) => resolve(response as T),
        refuse: (errorCode) => resolve(refuse(errorCode)),
      });
      this.#schedulePump();
    });
  }

  #schedulePump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    // A microtask, not a call in place: callers include Raft listeners, and an append must
    // never re-enter the replica from inside one of its own entry points.
    queueMicrotask(() => {
      this.#pumping = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#controller.isActive) {
      const command = this.#queue.shift() as Command;
      this.#run(command);
    }
    this.#armFenceTimer();
  }

  #run(command: Command): void {
    const result = command.decide(this.#controller);
    const awaiting: Awaiting = {
      commitOffset: result.commitOffset,
      answer: () => command.answer(result.response),
      refuse: (errorCode) => command.refuse(errorCode),
    };
    if (result.records.length === 0) {
      if (result.commitOffset < this.#committedEnd) awaiting.answer();
      else this.#awaiting.push(awaiting);
      return;
    }
    const baseOffset = result.commitOffset - result.records.length + 1;
    const appended = this.#append(result.records);
    if (
      appended?.kind === 'appended' &&
      appended.epoch === this.#activeEpoch &&
      appended.baseOffset === baseOffset
    ) {
      this.#appendEnd = result.commitOffset + 1;
      this.#awaiting.push(awaiting);
      return;
    }
    awaiting.refuse(ErrorCode.NOT_CONTROLLER);
    const why = appended === undefined ? 'the log refused the records' : appended.kind;
    if (appended?.kind === 'appended') {
      // The log holds records this controller did not decide where its own should be.
      this.#logger.error({ appended, baseOffset }, 'controller append landed elsewhere');
      this.#deactivate('append landed at an unexpected offset');
      return;
    }
    this.#deactivate(`append refused: ${why}`);
    if (appended?.kind === 'backlog-full' && this.#leader.leaderId === this.#nodeId) {
      // Still leader: take over again once everything appended so far has committed.
      this.#activation = { epoch: this.#leader.epoch, nextOffset: this.#appendEnd };
      this.#maybeActivate();
    }
  }

  #append(records: readonly ControllerRecord[]): AppendResult | undefined {
    let frames: Buffer[];
    try {
      frames = records.map((record) => encodeMetadataRecord(record));
    } catch (error) {
      this.#logger.error({ err: error }, 'controller record does not encode');
      return undefined;
    }
    return this.#log.append(frames);
  }

  #maybeActivate(): void {
    const activation = this.#activation;
    if (activation === undefined || this.#closed) return;
    if (this.#committedEnd < activation.nextOffset) return;
    this.#activation = undefined;
    this.#controller.activate(activation.nextOffset);
    this.#activeEpoch = activation.epoch;
    this.#logger.info(
      { nodeId: this.#nodeId, epoch: activation.epoch, nextOffset: activation.nextOffset },
      'active controller',
    );
    this.#armFenceTimer();
  }

  #deactivate(reason: string): void {
    this.#activation = undefined;
    this.#fenceTimer?.cancel();
    this.#fenceTimer = undefined;
    const wasActive = this.#controller.isActive;
    if (wasActive) {
      this.#controller.deactivate();
      this.#logger.info({ nodeId: this.#nodeId, reason }, 'controller inactive');
    }
    this.#activeEpoch = -1;
    const queue = this.#queue;
    const awaiting = this.#awaiting;
    this.#queue = [];
    this.#awaiting = [];
    this.#fenceQueued = false;
    for (const command of queue) command.refuse(ErrorCode.NOT_CONTROLLER);
    for (const waiting of awaiting) waiting.refuse(ErrorCode.NOT_CONTROLLER);
  }

  #armFenceTimer(): void {
    this.#fenceTimer?.cancel();
    this.#fenceTimer = undefined;
    if (!this.#controller.isActive || this.#closed) return;
    const dueMs = this.#controller.nextSessionDeadlineMs();
    if (dueMs === undefined) return;
    const delayMs = Math.max(0, dueMs - this.#clock.monotonicMs());
    this.#fenceTimer = this.#clock.setTimer(delayMs, () => {
      this.#fenceTimer = undefined;
      this.#queueFence();
    });
  }

  /** Fencing goes through the queue like any command; at most one is queued at a time. */
  #queueFence(): void {
    if (this.#fenceQueued || !this.#controller.isActive) return;
    this.#fenceQueued = true;
    this.#queue.push({
      decide: (c) => {
        this.#fenceQueued = false;
        return c.fenceStaleBrokers();
      },
      answer: () => {},
      refuse: () => {},
    });
    this.#schedulePump();
  }
}
