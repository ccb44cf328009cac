/**
 * QuorumController: the active controller's decisions, one command at a time (the caller runs
 * it on one event queue). A command reads the latest state — committed records plus the ones
 * decided and not yet committed — and returns the records to append through Raft with the
 * response to send once they commit (`commitOffset`). The caller appends, and feeds every
 * committed batch back through `replay`; if the append fails or leadership is lost it calls
 * `deactivate`, which drops everything decided and not committed.
 *
 * Commands run only while active (the caller answers NOT_CONTROLLER otherwise). A standby
 * controller only replays. Offsets: each record takes one offset of the metadata log, and
 * `activate(nextOffset)` says where the first record this controller decides will land (the
 * Raft leader's end offset after its leader-change entry).
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors.ts';
import type {
  AllocateProducerIdsRequest,
  AllocateProducerIdsResponse,
  AlterPartitionRequest,
  AlterPartitionResponse,
  BrokerHeartbeatRequest,
  BrokerHeartbeatResponse,
  BrokerRegistrationRequest,
  BrokerRegistrationResponse,
  ElectLeadersRequest,
  ElectLeadersResponse,
} from '../../protocol/generated/index.ts';
import { MetadataRecordType } from '../../protocol/generated/metadata-record-table.ts';
import type { NewTopic } from '../metadata/topic-commands.ts';
import type { Clock } from '../util/clock.ts';
import type { Random } from '../util/random.ts';
import {
  BrokerSessions,
  brokerHeartbeat,
  fenceStaleBrokers,
  registerBroker,
} from './broker-lifecycle.ts';
import { alterConfigs, type ConfigAlteration, type ConfigResult } from './config-commands.ts';
import type { ControllerRecord } from './controller-record.ts';
import { ControllerState } from './controller-state.ts';
import type { ControllerConfig, Decision } from './decision.ts';
import { alterPartition, electLeaders } from './partition-commands.ts';
import { createPartitions, createTopic, deleteTopic, type TopicResult } from './topic-commands.ts';

export interface ControllerResult<T> {
  readonly records: readonly ControllerRecord[];
  readonly response: T;
  /**
   * Answer once the log has committed this offset: the last record written, or — for a
   * command that wrote nothing — the last one it read, so no answer reveals uncommitted state.
   */
  readonly commitOffset: number;
}

export interface ControllerOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly config: ControllerConfig;
}

export class QuorumController {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #config: ControllerConfig;
  readonly #committed = new ControllerState();
  readonly #sessions = new BrokerSessions();
  /** Committed plus decided records, while active; null on a standby. */
  #latest: ControllerState | null = null;
  #nextOffset = 0;

  constructor(options: ControllerOptions) {
    this.#clock = options.clock;
    this.#random = options.random;
    this.#config = options.config;
  }

  /** The image of the committed records. */
  get committed(): ControllerState {
    return this.#committed;
  }

  /** What commands decide on: committed plus pending records (committed on a standby). */
  get latest(): ControllerState {
    return this.#latest ?? this.#committed;
  }

  get isActive(): boolean {
    return this.#latest !== null;
  }

  /** Becomes the active controller; `nextOffset` is where its first record will land. */
  activate(nextOffset: number): void {
    assert(nextOffset > this.#committed.offset, 'activation below the committed offset');
    this.#latest = this.#committed.clone();
    this.#nextOffset = nextOffset;
    // Heartbeats went to the previous controller: every broker starts a fresh session.
    this.#sessions.clear();
    const nowMs = this.#clock.monotonicMs();
    for (const broker of this.#committed.brokers()) this.#sessions.touch(broker.brokerId, nowMs);
  }

  /** Stops being active; decided records not yet committed are forgotten. */
  deactivate(): void {
    this.#latest = null;
    this.#sessions.clear();
  }

  /** Applies a committed batch whose last record is at `lastOffset`. */
  replay(records: readonly ControllerRecord[], lastOffset: number): void {
    assert(lastOffset > this.#committed.offset || records.length === 0, 'replay went backwards');
    this.#committed.replay(records, lastOffset);
    if (this.#latest !== null) {
      assert(lastOffset < this.#nextOffset, 'committed a record this controller never decided');
    }
  }

  registerBroker(request: BrokerRegistrationRequest): ControllerResult<BrokerRegistrationResponse> {
    return this.#decide((d) => registerBroker(d, this.#sessions, request, this.#nowMs()));
  }

  brokerHeartbeat(request: BrokerHeartbeatRequest): ControllerResult<BrokerHeartbeatResponse> {
    return this.#decide((d) => brokerHeartbeat(d, this.#sessions, request, this.#nowMs()));
  }

  /** Fences brokers whose session expired; call it at `nextSessionDeadlineMs()`. */
  fenceStaleBrokers(): ControllerResult<readonly number[]> {
    return this.#decide((d) => fenceStaleBrokers(d, this.#sessions, this.#nowMs()));
  }

  /** When the earliest unfenced broker's session expires (monotonic ms), if any. */
  nextSessionDeadlineMs(): number | undefined {
    let earliest: number | undefined;
    for (const broker of this.latest.brokers()) {
      const last = this.#sessions.lastContactMs(broker.brokerId);
      if (broker.fenced || last === undefined) continue;
      const due = last + this.#config.brokerSessionTimeoutMs;
      if (earliest === undefined || due < earliest) earliest = due;
    }
    return earliest;
  }

  alterPartition(request: AlterPartitionRequest): ControllerResult<AlterPartitionResponse> {
    return this.#decide((d) => alterPartition(d, request));
  }

  electLeaders(request: ElectLeadersRequest): ControllerResult<ElectLeadersResponse> {
    return this.#decide((d) => electLeaders(d, request));
  }

  /** One result per topic, in request order; a refused topic writes nothing. */
  createTopics(
    topics: readonly NewTopic[],
    options: { readonly validateOnly?: boolean } = {},
  ): ControllerResult<TopicResult[]> {
    return this.#decide(
      (d) => topics.map((topic) => createTopic(d, topic)),
      options.validateOnly ?? false,
    );
  }

  deleteTopics(
    refs: readonly { readonly name: string | null; readonly topicId: string | null }[],
  ): ControllerResult<ReturnType<typeof deleteTopic>[]> {
    return this.#decide((d) => refs.map((ref) => deleteTopic(d, ref)));
  }

  createPartitions(
    requests: readonly {
      readonly name: string;
      readonly count: number;
      readonly assignments: readonly (readonly number[])[] | null;
    }[],
    options: { readonly validateOnly?: boolean } = {},
  ): ControllerResult<ReturnType<typeof createPartitions>[]> {
    return this.#decide(
      (d) => requests.map((r) => createPartitions(d, r.name, r.count, r.assignments)),
      options.validateOnly ?? false,
    );
  }

  /**
   * IncrementalAlterConfigs and AlterConfigs: one result per resource, in request order; a
   * refused resource writes nothing. `validateOnly` checks and keeps nothing.
   */
  alterConfigs(
    alterations: readonly ConfigAlteration[],
    options: { readonly validateOnly?: boolean } = {},
  ): ControllerResult<ConfigResult[]> {
    return this.#decide(
      (d) => alterations.map((alteration) => alterConfigs(d, alteration)),
      options.validateOnly ?? false,
    );
  }

  allocateProducerIds(
    request: AllocateProducerIdsRequest,
  ): ControllerResult<AllocateProducerIdsResponse> {
    return this.#decide((d) => {
      const response = { throttleTimeMs: 0, errorCode: 0, producerIdStart: -1, producerIdLen: 0 };
      const broker = d.state.broker(request.brokerId);
      if (!broker || broker.epoch !== request.brokerEpoch) {
        return { ...response, errorCode: ErrorCode.STALE_BROKER_EPOCH };
      }
      const start = d.state.nextProducerId;
      const length = this.#config.producerIdBlockSize;
      if (start + length > Number.MAX_SAFE_INTEGER) {
        return { ...response, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR };
      }
      d.emit({
        type: MetadataRecordType.ProducerIdsRecord,
        data: {
          brokerId: broker.brokerId,
          brokerEpoch: broker.epoch,
          nextProducerId: start + length,
        },
      });
      return { ...response, producerIdStart: start, producerIdLen: length };
    });
  }

  #nowMs(): number {
    return this.#clock.monotonicMs();
  }

  /**
   * Runs `command` on the latest state. `validateOnly` runs it on a copy and keeps nothing:
   * the response says what would happen (CreateTopics and CreatePartitions' validateOnly).
   */
  #decide<T>(command: (decision: Decision) => T, validateOnly = false): ControllerResult<T> {
    assert(this.#latest !== null, 'a command ran on a controller that is not active');
    const state = validateOnly ? this.#latest.clone() : this.#latest;
    const records: ControllerRecord[] = [];
    const firstOffset = this.#nextOffset;
    const recordsPerCommandMax = this.#config.recordsPerCommandMax;
    const decision: Decision = {
      state,
      config: this.#config,
      random: this.#random,
      get nextOffset() {
        return firstOffset + records.length;
      },
      get recordsLeft() {
        return recordsPerCommandMax - records.length;
      },
      emit(record: ControllerRecord): void {
        state.replay([record], firstOffset + records.length);
        records.push(record);
      },
    };
    const response = command(decision);
    if (validateOnly) return { records: [], response, commitOffset: firstOffset - 1 };
    this.#nextOffset += records.length;
    return { records, response, commitOffset: this.#nextOffset - 1 };
  }
}
