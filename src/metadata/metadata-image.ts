/**
 * MetadataImage: what the cluster's metadata log says at one offset, immutable. `apply`
 * returns a new image with a batch of records applied, copy-on-write: what a batch does not
 * touch (topics, brokers, configs) is shared with the previous image, and what it touches is
 * copied once per batch, then changed in place until `apply` returns, so a batch of n records
 * costs O(n) plus one copy of each touched topic's partition list, never O(n^2). The topic
 * indexes are sharded (image-sharded-map.ts) so a small batch copies a few shards, not every
 * topic. A reader holding an image never sees it change.
 *
 * Records are KRaft's, applied with Kafka's semantics (MetadataDelta on a broker):
 * - Topics: TopicRecord, PartitionRecord, PartitionChangeRecord (every change bumps the
 *   partition epoch; one naming a leader bumps the leader epoch), RemoveTopicRecord,
 *   ConfigRecord (topic configs live on the topic; other resources' apart).
 * - Brokers: RegisterBrokerRecord replaces any earlier incarnation of the id; Fence, Unfence,
 *   BrokerRegistrationChange and Unregister apply only when their broker epoch is the
 *   registration's (a stale one is ignored, as the controller's replay does).
 * - FeatureLevelRecord sets a finalized feature (level 0 removes it); ProducerIdsRecord moves
 *   the next producer id forward.
 * A record naming an unknown topic id or partition is ignored, as a replica replaying a log
 * written by a newer controller would.
 */
import type {
  BrokerRegistrationChangeRecord,
  ConfigRecord,
  PartitionChangeRecord,
  PartitionRecord,
  RegisterBrokerRecord,
} from '../../protocol/generated/index.ts';
import { MetadataRecordType } from '../../protocol/generated/metadata-record-table.ts';
import { ZERO_UUID } from '../../protocol/wire/codec-support.ts';
import type { PartitionView, TopicView } from '../handlers/metadata-view.ts';
import { ShardedMap, type ShardedMapDraft } from './image-sharded-map.ts';
import {
  CONFIG_RESOURCE_TOPIC,
  ControlledShutdownChange,
  FencedChange,
  LEADER_UNCHANGED,
  type MetadataRecord,
} from './metadata-record.ts';

export interface PartitionImage extends PartitionView {
  readonly partitionEpoch: number;
  /** 0 recovered, 1 recovering from an unclean election (KIP-704). */
  readonly leaderRecoveryState: number;
  readonly removingReplicas: readonly number[];
  readonly addingReplicas: readonly number[];
  /** The log directory of each replica (same order as replicaNodes); empty when unknown. */
  readonly directories: readonly string[];
  /** KIP-966 eligible leader replicas; empty when none (Kafka reads null as empty). */
  readonly eligibleLeaderReplicas: readonly number[];
  readonly lastKnownElr: readonly number[];
}

export interface TopicImage extends TopicView {
  readonly partitions: readonly PartitionImage[];
  /** Topic-level config overrides (Kafka names), as ConfigRecords set them. */
  readonly configs: ReadonlyMap<string, string>;
}

/** One listener of a registered broker. */
export interface BrokerListener {
  readonly host: string;
  readonly port: number;
  readonly securityProtocol: number;
}

export interface SupportedFeature {
  readonly name: string;
  readonly minSupportedVersion: number;
  readonly maxSupportedVersion: number;
}

/** A broker registration (Kafka's BrokerRegistration). */
export interface BrokerImage {
  readonly id: number;
  /** The offset of its RegisterBrokerRecord. */
  readonly epoch: number;
  readonly incarnationId: string;
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
  readonly rack: string | null;
  /** By listener name, in registration order. */
  readonly endpoints: ReadonlyMap<string, BrokerListener>;
  readonly features: readonly SupportedFeature[];
  readonly logDirs: readonly string[];
  readonly isMigratingZkBroker: boolean;
}

/** The configs of a resource other than a topic (a broker, the cluster default, ...). */
export interface ConfigResourceImage {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly configs: ReadonlyMap<string, string>;
}

/** Topics Kafka marks internal: clients may not produce to them. */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set([
  '__consumer_offsets',
  '__transaction_state',
]);

const NONE: readonly number[] = Object.freeze([]);

interface ImageState {
  readonly byName: ShardedMap<TopicImage>;
  readonly byId: ShardedMap<TopicImage>;
  readonly brokers: ReadonlyMap<number, BrokerImage>;
  readonly features: ReadonlyMap<string, number>;
  /** Keyed by configKey(type, name); topics' configs live on their TopicImage. */
  readonly configs: ReadonlyMap<string, ConfigResourceImage>;
  readonly nextProducerId: number;
}

const EMPTY_STATE: ImageState = {
  byName: ShardedMap.empty(),
  byId: ShardedMap.empty(),
  brokers: new Map(),
  features: new Map(),
  configs: new Map(),
  nextProducerId: 0,
};

export class MetadataImage {
  static readonly EMPTY = new MetadataImage(EMPTY_STATE, -1);

  readonly #state: ImageState;
  /** Offset of the last metadata record applied; -1 for the empty image. */
  readonly offset: number;

  private constructor(state: ImageState, offset: number) {
    this.#state = state;
    this.offset = offset;
  }

  /** The next producer id to hand out (ProducerIdsRecord). */
  get nextProducerId(): number {
    return this.#state.nextProducerId;
  }

  topics(): Iterable<TopicImage> {
    return this.#state.byName.values();
  }

  get topicCount(): number {
    return this.#state.byName.size;
  }

  topic(name: string): TopicImage | undefined {
    return this.#state.byName.get(name);
  }

  topicById(topicId: string): TopicImage | undefined {
    return this.#state.byId.get(topicId);
  }

  broker(id: number): BrokerImage | undefined {
    return this.#state.brokers.get(id);
  }

  /** Every registered broker, fenced or not, in registration order. */
  brokers(): Iterable<BrokerImage> {
    return this.#state.brokers.values();
  }

  /** Registered brokers; 0 on a single node, which registers with no one. */
  get brokerCount(): number {
    return this.#state.brokers.size;
  }

  /** Finalized feature levels (FeatureLevelRecord), e.g. metadata.version. */
  get features(): ReadonlyMap<string, number> {
    return this.#state.features;
  }

  /** The config overrides of a resource; a topic's are its TopicImage's. */
  resourceConfigs(resourceType: number, resourceName: string): ReadonlyMap<string, string> {
    if (resourceType === CONFIG_RESOURCE_TOPIC) {
      return this.#state.byName.get(resourceName)?.configs ?? new Map();
    }
    return this.#state.configs.get(configKey(resourceType, resourceName))?.configs ?? new Map();
  }

  /** Resources other than topics that have config overrides. */
  configResources(): Iterable<ConfigResourceImage> {
    return this.#state.configs.values();
  }

  /**
   * A new image with `records` applied in order; `offset` is that of the last one, and the
   * records sit at consecutive offsets (one per record, as in the metadata log).
   */
  apply(records: readonly MetadataRecord[], offset: number): MetadataImage {
    if (records.length === 0) return new MetadataImage(this.#state, offset);
    const draft = new Draft(this.#state);
    const firstOffset = offset - records.length + 1;
    for (let i = 0; i < records.length; i++) {
      draft.apply(records[i] as MetadataRecord, firstOffset + i);
    }
    return new MetadataImage(draft.finish(), offset);
  }
}

function configKey(resourceType: number, resourceName: string): string {
  return `${resourceType}/${resourceName}`;
}

/** A topic created or copied by the batch being applied: changed in place until it ends. */
interface DraftTopic {
  readonly name: string;
  readonly topicId: string;
  readonly isInternal: boolean;
  partitions: PartitionImage[];
  configs: ReadonlyMap<string, string>;
}

/** The state a batch builds: each map is copied the first time the batch changes it. */
class Draft {
  readonly #base: ImageState;
  #byName: ShardedMapDraft<TopicImage> | null = null;
  #byId: ShardedMapDraft<TopicImage> | null = null;
  #brokers: Map<number, BrokerImage> | null = null;
  #features: Map<string, number> | null = null;
  #configs: Map<string, ConfigResourceImage> | null = null;
  #nextProducerId: number;
  /** Topics this batch made (copies or new ones), safe to change in place. */
  readonly #ownTopics = new Set<TopicImage>();
  /** Config maps this batch made, safe to change in place. */
  readonly #ownConfigs = new Set<ReadonlyMap<string, string>>();

  constructor(base: ImageState) {
    this.#base = base;
    this.#nextProducerId = base.nextProducerId;
  }

  finish(): ImageState {
    return {
      byName: this.#byName?.finish() ?? this.#base.byName,
      byId: this.#byId?.finish() ?? this.#base.byId,
      brokers: this.#brokers ?? this.#base.brokers,
      features: this.#features ?? this.#base.features,
      configs: this.#configs ?? this.#base.configs,
      nextProducerId: this.#nextProducerId,
    };
  }

  apply(record: MetadataRecord, offset: number): void {
    switch (record.type) {
      case MetadataRecordType.TopicRecord:
        this.#addTopic(record.data.name, record.data.topicId);
        break;
      case MetadataRecordType.PartitionRecord: {
        const topic = this.#topicById(record.data.topicId);
        const id = record.data.partitionId;
        // Partitions are recorded in id order; one out of order would leave a hole.
        if (topic && id >= 0 && id <= topic.partitions.length) {
          this.#ownTopic(topic).partitions[id] = partitionOf(record.data);
        }
        break;
      }
      case MetadataRecordType.PartitionChangeRecord: {
        const topic = this.#topicById(record.data.topicId);
        const current = topic?.partitions[record.data.partitionId];
        if (topic && current && record.data.partitionId >= 0) {
          this.#ownTopic(topic).partitions[current.partitionIndex] = changed(current, record.data);
        }
        break;
      }
      case MetadataRecordType.ConfigRecord:
        this.#config(record.data);
        break;
      case MetadataRecordType.RemoveTopicRecord: {
        const topic = this.#topicById(record.data.topicId);
        if (!topic) break;
        this.#topicMaps().byId.delete(topic.topicId);
        this.#topicMaps().byName.delete(topic.name);
        break;
      }
      case MetadataRecordType.ProducerIdsRecord:
        this.#nextProducerId = Math.max(this.#nextProducerId, record.data.nextProducerId);
        break;
      case MetadataRecordType.FeatureLevelRecord: {
        const features = (this.#features ??= new Map(this.#base.features));
        if (record.data.featureLevel === 0) features.delete(record.data.name);
        else features.set(record.data.name, record.data.featureLevel);
        break;
      }
      default:
        this.#applyBroker(record, offset);
    }
  }

  #applyBroker(record: MetadataRecord, offset: number): void {
    switch (record.type) {
      case MetadataRecordType.RegisterBrokerRecord:
        this.#brokerMap().set(record.data.brokerId, brokerOf(record.data, offset));
        break;
      case MetadataRecordType.UnregisterBrokerRecord: {
        const { brokerId, brokerEpoch } = record.data;
        if (this.#broker(brokerId)?.epoch === brokerEpoch) this.#brokerMap().delete(brokerId);
        break;
      }
      case MetadataRecordType.FenceBrokerRecord:
        this.#changeBroker(record.data.id, record.data.epoch, (b) => ({ ...b, fenced: true }));
        break;
      case MetadataRecordType.UnfenceBrokerRecord:
        this.#changeBroker(record.data.id, record.data.epoch, (b) => ({ ...b, fenced: false }));
        break;
      case MetadataRecordType.BrokerRegistrationChangeRecord: {
        const change = record.data;
        this.#changeBroker(change.brokerId, change.brokerEpoch, (b) =>
          registrationChanged(b, change),
        );
        break;
      }
      default:
        break;
    }
  }

  #broker(id: number): BrokerImage | undefined {
    return (this.#brokers ?? this.#base.brokers).get(id);
  }

  #brokerMap(): Map<number, BrokerImage> {
    this.#brokers ??= new Map(this.#base.brokers);
    return this.#brokers;
  }

  /** Applies `change` to the broker if `epoch` is its registration's; else ignores it. */
  #changeBroker(id: number, epoch: number, change: (b: BrokerImage) => BrokerImage): void {
    const broker = this.#broker(id);
    if (broker?.epoch !== epoch) return;
    this.#brokerMap().set(id, change(broker));
  }

  #topicMaps(): { byName: ShardedMapDraft<TopicImage>; byId: ShardedMapDraft<TopicImage> } {
    this.#byName ??= this.#base.byName.edit();
    this.#byId ??= this.#base.byId.edit();
    return { byName: this.#byName, byId: this.#byId };
  }

  #topicById(topicId: string): TopicImage | undefined {
    return (this.#byId ?? this.#base.byId).get(topicId);
  }

  #addTopic(name: string, topicId: string): void {
    const { byName, byId } = this.#topicMaps();
    // A name or id recorded again replaces the old topic whole (never two names for one id).
    const previous = byName.get(name);
    if (previous) byId.delete(previous.topicId);
    const sameId = byId.get(topicId);
    if (sameId) byName.delete(sameId.name);
    const topic: DraftTopic = {
      name,
      topicId,
      isInternal: INTERNAL_TOPICS.has(name),
      partitions: [],
      configs: new Map(),
    };
    this.#ownTopics.add(topic);
    this.#ownConfigs.add(topic.configs);
    byName.set(name, topic);
    byId.set(topicId, topic);
  }

  /** The batch's own copy of `topic`, made on first change. */
  #ownTopic(topic: TopicImage): DraftTopic {
    if (this.#ownTopics.has(topic)) return topic as DraftTopic;
    const copy: DraftTopic = { ...topic, partitions: [...topic.partitions] };
    this.#ownTopics.add(copy);
    const { byName, byId } = this.#topicMaps();
    byName.set(copy.name, copy);
    byId.set(copy.topicId, copy);
    return copy;
  }

  #config(record: ConfigRecord): void {
    const { resourceType, resourceName, name, value } = record;
    if (resourceType === CONFIG_RESOURCE_TOPIC) {
      const current = (this.#byName ?? this.#base.byName).get(resourceName);
      if (!current) return;
      const topic = this.#ownTopic(current);
      topic.configs = this.#changedConfigs(topic.configs, name, value);
      return;
    }
    const key = configKey(resourceType, resourceName);
    this.#configs ??= new Map(this.#base.configs);
    const configs = this.#changedConfigs(this.#configs.get(key)?.configs, name, value);
    if (configs.size === 0) this.#configs.delete(key);
    else this.#configs.set(key, { resourceType, resourceName, configs });
  }

  /** `configs` with `name` set (or removed, for null), copied once per batch. */
  #changedConfigs(
    configs: ReadonlyMap<string, string> | undefined,
    name: string,
    value: string | null,
  ): ReadonlyMap<string, string> {
    let own: Map<string, string>;
    if (configs && this.#ownConfigs.has(configs)) own = configs as Map<string, string>;
    else {
      own = new Map(configs);
      this.#ownConfigs.add(own);
    }
    if (value === null) own.delete(name);
    else own.set(name, value);
    return own;
  }
}

function brokerOf(record: RegisterBrokerRecord, offset: number): BrokerImage {
  return {
    id: record.brokerId,
    // The controller records the epoch it decided: the offset it expected the record at.
    epoch: record.brokerEpoch >= 0 ? record.brokerEpoch : offset,
    incarnationId: record.incarnationId,
    fenced: record.fenced,
    inControlledShutdown: record.inControlledShutdown,
    rack: record.rack,
    endpoints: new Map(
      record.endPoints.map(({ name, host, port, securityProtocol }) => [
        name,
        { host, port, securityProtocol },
      ]),
    ),
    features: record.features.map(({ name, minSupportedVersion, maxSupportedVersion }) => ({
      name,
      minSupportedVersion,
      maxSupportedVersion,
    })),
    logDirs: [...record.logDirs],
    isMigratingZkBroker: record.isMigratingZkBroker,
  };
}

/** Kafka's BrokerRegistration.cloneWith: unknown tri-state values change nothing. */
function registrationChanged(
  broker: BrokerImage,
  change: BrokerRegistrationChangeRecord,
): BrokerImage {
  let fenced = broker.fenced;
  if (change.fenced === FencedChange.FENCE) fenced = true;
  else if (change.fenced === FencedChange.UNFENCE) fenced = false;
  const inControlledShutdown =
    broker.inControlledShutdown ||
    change.inControlledShutdown === ControlledShutdownChange.IN_CONTROLLED_SHUTDOWN;
  const logDirs = change.logDirs.length > 0 ? [...change.logDirs] : broker.logDirs;
  return { ...broker, fenced, inControlledShutdown, logDirs };
}

function partitionOf(record: PartitionRecord): PartitionImage {
  return {
    partitionIndex: record.partitionId,
    leaderId: record.leader,
    leaderEpoch: record.leaderEpoch,
    partitionEpoch: record.partitionEpoch,
    replicaNodes: [...record.replicas],
    isrNodes: [...record.isr],
    offlineReplicas: NONE,
    leaderRecoveryState: record.leaderRecoveryState,
    removingReplicas: listOf(record.removingReplicas),
    addingReplicas: listOf(record.addingReplicas),
    directories: record.directories.length > 0 ? [...record.directories] : [],
    eligibleLeaderReplicas: listOf(record.eligibleLeaderReplicas),
    lastKnownElr: listOf(record.lastKnownElr),
  };
}

function listOf(values: readonly number[] | null): readonly number[] {
  return values && values.length > 0 ? [...values] : NONE;
}

/**
 * Kafka's PartitionRegistration.merge: null fields are unchanged; a named leader (anything
 * but -2) bumps the leader epoch; every change bumps the partition epoch.
 */
function changed(current: PartitionImage, change: PartitionChangeRecord): PartitionImage {
  const leaderNamed = change.leader !== LEADER_UNCHANGED;
  const replicas = change.replicas ? [...change.replicas] : current.replicaNodes;
  const recovery = change.leaderRecoveryState;
  return {
    ...current,
    leaderId: leaderNamed ? change.leader : current.leaderId,
    leaderEpoch: leaderNamed ? current.leaderEpoch + 1 : current.leaderEpoch,
    partitionEpoch: current.partitionEpoch + 1,
    replicaNodes: replicas,
    isrNodes: change.isr ? [...change.isr] : current.isrNodes,
    removingReplicas: change.removingReplicas
      ? listOf(change.removingReplicas)
      : current.removingReplicas,
    addingReplicas: change.addingReplicas ? listOf(change.addingReplicas) : current.addingReplicas,
    leaderRecoveryState: recovery === 0 || recovery === 1 ? recovery : current.leaderRecoveryState,
    directories: directoriesAfter(current, change, replicas),
    eligibleLeaderReplicas: change.eligibleLeaderReplicas
      ? listOf(change.eligibleLeaderReplicas)
      : current.eligibleLeaderReplicas,
    lastKnownElr: change.lastKnownElr ? listOf(change.lastKnownElr) : current.lastKnownElr,
  };
}

/**
 * New directories when the record names them; when only the replicas change, each replica
 * keeps its directory and a new one is unassigned (Kafka's DirectoryId.createDirectoriesFrom).
 */
function directoriesAfter(
  current: PartitionImage,
  change: PartitionChangeRecord,
  replicas: readonly number[],
): readonly string[] {
  if (change.directories && change.directories.length > 0) return [...change.directories];
  if (!change.replicas || current.directories.length === 0) return current.directories;
  const byReplica = new Map<number, string>();
  current.replicaNodes.forEach((id, i) => {
    byReplica.set(id, current.directories[i] ?? ZERO_UUID);
  });
  return replicas.map((id) => byReplica.get(id) ?? ZERO_UUID);
}
