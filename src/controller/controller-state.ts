/**
 * ControllerState: what the metadata log says at one offset, as the controller needs it —
 * broker registrations (epoch, incarnation, fencing, endpoints, rack, features), topics and
 * their partitions (replicas, ISR, leader, leader epoch, partition epoch), configs, finalized
 * feature levels and the next producer id. `replay` moves it forward by committed (or, on the
 * active controller, decided) records; `clone` copies it so the active controller can drop
 * what it decided but never got committed.
 *
 * Epoch rules, Kafka's: every PartitionChangeRecord bumps the partition epoch; one that names
 * a leader bumps the leader epoch (the controller names one only when the leader changes). A
 * broker record carrying an epoch other than the registration's is stale and ignored.
 */
import type {
  PartitionChangeRecord,
  PartitionRecord,
  RegisterBrokerRecord,
} from '../../protocol/generated/index.ts';
import { MetadataRecordType } from '../../protocol/generated/metadata-record-table.ts';
import type { SupportedFeature } from '../metadata/metadata-image.ts';
import { CONFIG_RESOURCE_TOPIC } from '../metadata/metadata-record.ts';
import {
  ControlledShutdownChange,
  type ControllerRecord,
  FencedChange,
  LEADER_UNCHANGED,
  LeaderRecoveryState,
} from './controller-record.ts';

export interface BrokerEndpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly securityProtocol: number;
}

export type { SupportedFeature } from '../metadata/metadata-image.ts';

export interface BrokerState {
  readonly brokerId: number;
  /** The offset of the broker's RegisterBrokerRecord. */
  readonly epoch: number;
  readonly incarnationId: string;
  readonly endpoints: readonly BrokerEndpoint[];
  readonly rack: string | null;
  readonly features: readonly SupportedFeature[];
  readonly logDirs: readonly string[];
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
}

export interface PartitionState {
  readonly topicId: string;
  readonly partitionId: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** -1: no leader. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly leaderRecoveryState: number;
}

export interface TopicState {
  readonly name: string;
  readonly topicId: string;
  /** Indexed by partition id (records add them in order). */
  readonly partitions: PartitionState[];
}

export class ControllerState {
  #brokers = new Map<number, BrokerState>();
  #topicsById = new Map<string, TopicState>();
  #topicIdsByName = new Map<string, string>();
  /** Keyed by `${resourceType}:${resourceName}`. */
  #configs = new Map<string, Map<string, string>>();
  #features = new Map<string, number>();
  #nextProducerId = 0;
  /** Offset of the last record replayed; -1 for the empty state. */
  #offset = -1;

  /** A copy that shares nothing mutable with this state. */
  clone(): ControllerState {
    const copy = new ControllerState();
    copy.#brokers = new Map(this.#brokers);
    for (const [id, topic] of this.#topicsById) {
      copy.#topicsById.set(id, { ...topic, partitions: [...topic.partitions] });
    }
    copy.#topicIdsByName = new Map(this.#topicIdsByName);
    for (const [key, values] of this.#configs) copy.#configs.set(key, new Map(values));
    copy.#features = new Map(this.#features);
    copy.#nextProducerId = this.#nextProducerId;
    copy.#offset = this.#offset;
    return copy;
  }

  get offset(): number {
    return this.#offset;
  }

  get nextProducerId(): number {
    return this.#nextProducerId;
  }

  broker(brokerId: number): BrokerState | undefined {
    return this.#brokers.get(brokerId);
  }

  brokers(): Iterable<BrokerState> {
    return this.#brokers.values();
  }

  /** Registered, unfenced and not shutting down: may lead and join ISRs. */
  isActive(brokerId: number): boolean {
    const broker = this.#brokers.get(brokerId);
    return broker !== undefined && !broker.fenced && !broker.inControlledShutdown;
  }

  topic(topicId: string): TopicState | undefined {
    return this.#topicsById.get(topicId);
  }

  topicByName(name: string): TopicState | undefined {
    const id = this.#topicIdsByName.get(name);
    return id === undefined ? undefined : this.#topicsById.get(id);
  }

  topics(): Iterable<TopicState> {
    return this.#topicsById.values();
  }

  partition(topicId: string, partitionId: number): PartitionState | undefined {
    return this.#topicsById.get(topicId)?.partitions[partitionId];
  }

  *partitions(): Iterable<PartitionState> {
    for (const topic of this.#topicsById.values()) yield* topic.partitions;
  }

  configs(resourceType: number, resourceName: string): ReadonlyMap<string, string> {
    return this.#configs.get(`${resourceType}:${resourceName}`) ?? new Map();
  }

  featureLevel(name: string): number {
    return this.#features.get(name) ?? 0;
  }

  features(): ReadonlyMap<string, number> {
    return this.#features;
  }

  /** Applies `records`, the last of which sits at `lastOffset`. */
  replay(records: readonly ControllerRecord[], lastOffset: number): void {
    const firstOffset = lastOffset - records.length + 1;
    records.forEach((record, i) => {
      this.#replayOne(record, firstOffset + i);
    });
    if (records.length > 0) this.#offset = lastOffset;
  }

  #replayOne(record: ControllerRecord, offset: number): void {
    switch (record.type) {
      case MetadataRecordType.RegisterBrokerRecord:
        this.#brokers.set(record.data.brokerId, brokerOf(record.data, offset));
        break;
      case MetadataRecordType.UnregisterBrokerRecord: {
        const broker = this.#brokers.get(record.data.brokerId);
        if (broker?.epoch === record.data.brokerEpoch) this.#brokers.delete(broker.brokerId);
        break;
      }
      case MetadataRecordType.FenceBrokerRecord:
        this.#changeBroker(record.data.id, record.data.epoch, { fenced: true });
        break;
      case MetadataRecordType.UnfenceBrokerRecord:
        this.#changeBroker(record.data.id, record.data.epoch, { fenced: false });
        break;
      case MetadataRecordType.BrokerRegistrationChangeRecord: {
        const { brokerId, brokerEpoch, fenced, inControlledShutdown } = record.data;
        const change: { fenced?: boolean; inControlledShutdown?: boolean } = {};
        if (fenced === FencedChange.FENCE) change.fenced = true;
        if (fenced === FencedChange.UNFENCE) change.fenced = false;
        if (inControlledShutdown === ControlledShutdownChange.IN_CONTROLLED_SHUTDOWN) {
          change.inControlledShutdown = true;
        }
        this.#changeBroker(brokerId, brokerEpoch, change);
        break;
      }
      case MetadataRecordType.FeatureLevelRecord:
        if (record.data.featureLevel === 0) this.#features.delete(record.data.name);
        else this.#features.set(record.data.name, record.data.featureLevel);
        break;
      default:
        this.#replayTopicRecord(record);
    }
  }

  #replayTopicRecord(record: ControllerRecord): void {
    switch (record.type) {
      case MetadataRecordType.TopicRecord: {
        const { name, topicId } = record.data;
        this.#topicsById.set(topicId, { name, topicId, partitions: [] });
        this.#topicIdsByName.set(name, topicId);
        break;
      }
      case MetadataRecordType.PartitionRecord: {
        const topic = this.#topicsById.get(record.data.topicId);
        if (topic && record.data.partitionId <= topic.partitions.length) {
          topic.partitions[record.data.partitionId] = partitionOf(record.data);
        }
        break;
      }
      case MetadataRecordType.PartitionChangeRecord: {
        const topic = this.#topicsById.get(record.data.topicId);
        const current = topic?.partitions[record.data.partitionId];
        if (topic && current) topic.partitions[current.partitionId] = merged(current, record.data);
        break;
      }
      case MetadataRecordType.RemoveTopicRecord: {
        const topic = this.#topicsById.get(record.data.topicId);
        if (!topic) break;
        this.#topicsById.delete(topic.topicId);
        this.#topicIdsByName.delete(topic.name);
        this.#configs.delete(`${CONFIG_RESOURCE_TOPIC}:${topic.name}`);
        break;
      }
      case MetadataRecordType.ConfigRecord: {
        const { resourceType, resourceName, name, value } = record.data;
        const key = `${resourceType}:${resourceName}`;
        const values = this.#configs.get(key) ?? new Map<string, string>();
        if (value === null) values.delete(name);
        else values.set(name, value);
        this.#configs.set(key, values);
        break;
      }
      case MetadataRecordType.ProducerIdsRecord:
        this.#nextProducerId = Math.max(this.#nextProducerId, record.data.nextProducerId);
        break;
      default:
        break;
    }
  }

  #changeBroker(
    brokerId: number,
    epoch: number,
    change: { fenced?: boolean; inControlledShutdown?: boolean },
  ): void {
    const broker = this.#brokers.get(brokerId);
    if (broker?.epoch !== epoch) return;
    this.#brokers.set(brokerId, { ...broker, ...change });
  }
}

function brokerOf(record: RegisterBrokerRecord, offset: number): BrokerState {
  return {
    brokerId: record.brokerId,
    // The record carries the epoch it was decided with: the offset the controller expected.
    epoch: record.brokerEpoch >= 0 ? record.brokerEpoch : offset,
    incarnationId: record.incarnationId,
    endpoints: record.endPoints.map(({ name, host, port, securityProtocol }) => ({
      name,
      host,
      port,
      securityProtocol,
    })),
    rack: record.rack,
    features: record.features.map(({ name, minSupportedVersion, maxSupportedVersion }) => ({
      name,
      minSupportedVersion,
      maxSupportedVersion,
    })),
    logDirs: [...record.logDirs],
    fenced: record.fenced,
    inControlledShutdown: record.inControlledShutdown,
  };
}

function partitionOf(record: PartitionRecord): PartitionState {
  return {
    topicId: record.topicId,
    partitionId: record.partitionId,
    replicas: [...record.replicas],
    isr: [...record.isr],
    leader: record.leader,
    leaderEpoch: record.leaderEpoch,
    partitionEpoch: record.partitionEpoch,
    leaderRecoveryState: record.leaderRecoveryState,
  };
}

function merged(current: PartitionState, change: PartitionChangeRecord): PartitionState {
  const leaderNamed = change.leader !== LEADER_UNCHANGED;
  return {
    ...current,
    replicas: change.replicas ?? current.replicas,
    isr: change.isr ?? current.isr,
    leader: leaderNamed ? change.leader : current.leader,
    leaderEpoch: leaderNamed ? current.leaderEpoch + 1 : current.leaderEpoch,
    partitionEpoch: current.partitionEpoch + 1,
    leaderRecoveryState:
      change.leaderRecoveryState === LeaderRecoveryState.UNCHANGED
        ? current.leaderRecoveryState
        : change.leaderRecoveryState,
  };
}
