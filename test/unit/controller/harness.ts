/**
 * A controller on a simulated clock whose records commit as soon as they are decided (unless a
 * test holds them), with helpers that speak the request codecs the brokers will send.
 */
import { expect } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { newAlterPartitionRequest } from '../../../protocol/generated/apis/56-alter-partition.ts';
import { newBrokerHeartbeatRequest } from '../../../protocol/generated/apis/63-broker-heartbeat.ts';
import type {
  AlterPartitionRequest,
  BrokerHeartbeatRequest,
  BrokerHeartbeatResponse,
  BrokerRegistrationRequest,
} from '../../../protocol/generated/index.ts';
import { newBrokerRegistrationRequest } from '../../../protocol/generated/index.ts';
import { MetadataRecordType } from '../../../protocol/generated/metadata-record-table.ts';
import type { ControllerRecord } from '../../../src/controller/controller-record.ts';
import { ControllerState, type PartitionState } from '../../../src/controller/controller-state.ts';
import {
  type ControllerConfig,
  DEFAULT_CONTROLLER_CONFIG,
} from '../../../src/controller/decision.ts';
import {
  type ControllerResult,
  QuorumController,
} from '../../../src/controller/quorum-controller.ts';
import type { NewTopic } from '../../../src/metadata/topic-commands.ts';
import { SimClock } from '../../../src/util/clock.ts';
import { SeededRandom } from '../../../src/util/random.ts';

export const CLUSTER_ID = 'MkU3OEVBNTcwNTJENDM2Qg';

export class ControllerHarness {
  readonly clock = new SimClock();
  readonly controller: QuorumController;
  /** Every committed record in log order, from offset `firstOffset`. */
  readonly log: ControllerRecord[] = [];
  readonly firstOffset = 1;
  readonly incarnations = new Map<number, string>();

  constructor(
    seed = 1,
    config: Partial<ControllerConfig> = {},
    bootstrap: ControllerRecord[] = [],
  ) {
    this.controller = new QuorumController({
      clock: this.clock,
      random: new SeededRandom(seed),
      config: { ...DEFAULT_CONTROLLER_CONFIG, clusterId: CLUSTER_ID, ...config },
    });
    // Offset 0 is the Raft leader-change entry; bootstrap records follow it.
    if (bootstrap.length > 0) this.commit(bootstrap, bootstrap.length);
    this.controller.activate(1 + bootstrap.length);
  }

  get state(): ControllerState {
    return this.controller.latest;
  }

  /** Replays `result`'s records as committed, then returns its response. */
  run<T>(result: ControllerResult<T>): T {
    if (result.records.length > 0) this.commit(result.records, result.commitOffset);
    return result.response;
  }

  commit(records: readonly ControllerRecord[], lastOffset: number): void {
    this.controller.replay(records, lastOffset);
    this.log.push(...records);
  }

  register(brokerId: number, options: { rack?: string; incarnationId?: string } = {}) {
    const request = registrationRequest(brokerId, options);
    this.incarnations.set(brokerId, request.incarnationId);
    return this.run(this.controller.registerBroker(request));
  }

  heartbeat(
    brokerId: number,
    options: { wantShutDown?: boolean; wantFence?: boolean; offset?: number; epoch?: number } = {},
  ): BrokerHeartbeatResponse {
    return this.run(
      this.controller.brokerHeartbeat(heartbeatRequest(this.state, brokerId, options)),
    );
  }

  /** Registers and unfences brokers `ids`. */
  startBrokers(ids: readonly number[], racks: readonly (string | undefined)[] = []): void {
    ids.forEach((id, i) => {
      const rack = racks[i];
      expect(this.register(id, rack === undefined ? {} : { rack }).errorCode).toBe(0);
    });
    for (const id of ids) expect(this.heartbeat(id).isFenced).toBe(false);
  }

  createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: [string, string][] = [],
  ) {
    const topic: NewTopic = {
      name,
      numPartitions: partitions,
      replicationFactor,
      configs: new Map(configs),
      assignments: [],
    };
    const [result] = this.run(this.controller.createTopics([topic]));
    return result!;
  }

  partitions(topicName: string): PartitionState[] {
    return [...(this.state.topicByName(topicName)?.partitions ?? [])];
  }

  partition(topicName: string, partitionId: number): PartitionState {
    const partition = this.state.topicByName(topicName)?.partitions[partitionId];
    expect(partition).toBeDefined();
    return partition!;
  }

  alterIsr(
    topicName: string,
    partitionId: number,
    newIsr: number[],
    overrides: AlterOverrides = {},
  ) {
    const request = alterPartitionRequest(
      this.state,
      this.partition(topicName, partitionId),
      newIsr,
      overrides,
    );
    const response = this.run(this.controller.alterPartition(request));
    if (response.errorCode !== ErrorCode.NONE) return { errorCode: response.errorCode };
    return response.topics[0]!.partitions[0]!;
  }

  /** The committed log replayed into a fresh state (what a standby controller would hold). */
  replayedFromLog(): ControllerState {
    const state = new ControllerState();
    state.replay(this.log, this.firstOffset + this.log.length - 1);
    return state;
  }
}

/** A BrokerRegistrationRequest as broker `brokerId` sends it (one PLAINTEXT listener). */
export function registrationRequest(
  brokerId: number,
  options: { rack?: string; incarnationId?: string } = {},
): BrokerRegistrationRequest {
  const request = newBrokerRegistrationRequest();
  request.brokerId = brokerId;
  request.clusterId = CLUSTER_ID;
  request.incarnationId = options.incarnationId ?? incarnationFor(brokerId, 1);
  request.rack = options.rack ?? null;
  request.listeners = [
    { name: 'PLAINTEXT', host: '127.0.0.1', port: 9092 + brokerId, securityProtocol: 0 },
  ];
  return request;
}

/** A heartbeat at the broker's epoch in `state`, caught up to `state` unless told otherwise. */
export function heartbeatRequest(
  state: ControllerState,
  brokerId: number,
  options: { wantShutDown?: boolean; wantFence?: boolean; offset?: number; epoch?: number } = {},
): BrokerHeartbeatRequest {
  const request = newBrokerHeartbeatRequest();
  request.brokerId = brokerId;
  request.brokerEpoch = options.epoch ?? state.broker(brokerId)?.epoch ?? -1;
  request.currentMetadataOffset = options.offset ?? state.offset;
  request.wantFence = options.wantFence ?? false;
  request.wantShutDown = options.wantShutDown ?? false;
  return request;
}

/** What a test may set differently from the current state in an AlterPartition. */
export interface AlterOverrides {
  leaderEpoch?: number;
  partitionEpoch?: number;
  brokerId?: number;
  brokerEpoch?: number;
  epochs?: ReadonlyMap<number, number>;
}

/** The AlterPartition the leader of `partition` sends for `newIsr`, epochs from `state`. */
export function alterPartitionRequest(
  state: ControllerState,
  partition: PartitionState,
  newIsr: readonly number[],
  overrides: AlterOverrides = {},
): AlterPartitionRequest {
  const sender = overrides.brokerId ?? partition.leader;
  const request = newAlterPartitionRequest();
  request.brokerId = sender;
  request.brokerEpoch = overrides.brokerEpoch ?? state.broker(sender)?.epoch ?? -1;
  request.topics = [
    {
      topicName: '',
      topicId: partition.topicId,
      partitions: [
        {
          partitionIndex: partition.partitionId,
          leaderEpoch: overrides.leaderEpoch ?? partition.leaderEpoch,
          newIsr: [],
          newIsrWithEpochs: newIsr.map((id) => ({
            brokerId: id,
            brokerEpoch: overrides.epochs?.get(id) ?? state.broker(id)?.epoch ?? -1,
          })),
          leaderRecoveryState: 0,
          partitionEpoch: overrides.partitionEpoch ?? partition.partitionEpoch,
        },
      ],
    },
  ];
  return request;
}

export function incarnationFor(brokerId: number, generation: number): string {
  const bytes = Buffer.alloc(16);
  bytes.writeInt32BE(brokerId + 1, 0);
  bytes.writeInt32BE(generation, 4);
  return bytes.toString('base64url');
}

export function featureLevel(name: string, level: number): ControllerRecord {
  return { type: MetadataRecordType.FeatureLevelRecord, data: { name, featureLevel: level } };
}

/** Leaders per broker id. */
export function leaderCounts(partitions: readonly PartitionState[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const p of partitions) counts.set(p.leader, (counts.get(p.leader) ?? 0) + 1);
  return counts;
}
