/**
 * MetadataImage: what the cluster's metadata log says at one offset, immutable. `apply`
 * returns a new image with a batch of records applied (copy-on-write: untouched topics are
 * shared between images), so a reader holding an image never sees it change. Records are
 * KRaft's (TopicRecord, PartitionRecord, PartitionChangeRecord, ConfigRecord,
 * RemoveTopicRecord, ProducerIdsRecord); a record naming an unknown topic id is ignored, as a
 * replica replaying a log written by a newer controller would.
 */
import type { PartitionChangeRecord, PartitionRecord } from '../../protocol/generated/index.ts';
import { MetadataRecordType } from '../../protocol/generated/metadata-record-table.ts';
import type { PartitionView, TopicView } from '../handlers/metadata-view.ts';
import { CONFIG_RESOURCE_TOPIC, type MetadataRecord } from './metadata-record.ts';

export interface PartitionImage extends PartitionView {
  readonly partitionEpoch: number;
}

export interface TopicImage extends TopicView {
  readonly partitions: readonly PartitionImage[];
  /** Topic-level config overrides (Kafka names), as ConfigRecords set them. */
  readonly configs: ReadonlyMap<string, string>;
}

/** Topics Kafka marks internal: clients may not produce to them. */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set([
  '__consumer_offsets',
  '__transaction_state',
]);

/** PartitionChangeRecord's "leader unchanged" value. */
const LEADER_UNCHANGED = -2;

export class MetadataImage {
  static readonly EMPTY = new MetadataImage(new Map(), new Map(), 0, -1);

  readonly #byName: ReadonlyMap<string, TopicImage>;
  readonly #byId: ReadonlyMap<string, TopicImage>;
  /** The next producer id to hand out (ProducerIdsRecord). */
  readonly nextProducerId: number;
  /** Offset of the last metadata record applied; -1 for the empty image. */
  readonly offset: number;

  private constructor(
    byName: ReadonlyMap<string, TopicImage>,
    byId: ReadonlyMap<string, TopicImage>,
    nextProducerId: number,
    offset: number,
  ) {
    this.#byName = byName;
    this.#byId = byId;
    this.nextProducerId = nextProducerId;
    this.offset = offset;
  }

  topics(): Iterable<TopicImage> {
    return this.#byName.values();
  }

  get topicCount(): number {
    return this.#byName.size;
  }

  topic(name: string): TopicImage | undefined {
    return this.#byName.get(name);
  }

  topicById(topicId: string): TopicImage | undefined {
    return this.#byId.get(topicId);
  }

  /** A new image with `records` applied in order; `offset` is that of the last one. */
  apply(records: readonly MetadataRecord[], offset: number): MetadataImage {
    const byName = new Map(this.#byName);
    const byId = new Map(this.#byId);
    let nextProducerId = this.nextProducerId;
    const put = (topic: TopicImage): void => {
      byName.set(topic.name, topic);
      byId.set(topic.topicId, topic);
    };
    for (const record of records) {
      switch (record.type) {
        case MetadataRecordType.TopicRecord: {
          const { name, topicId } = record.data;
          const isInternal = INTERNAL_TOPICS.has(name);
          put({ name, topicId, isInternal, partitions: [], configs: new Map() });
          break;
        }
        case MetadataRecordType.PartitionRecord: {
          const topic = byId.get(record.data.topicId);
          // Partitions are recorded in id order; one out of order would leave a hole.
          if (topic && record.data.partitionId <= topic.partitions.length) {
            put(withPartition(topic, partitionOf(record.data)));
          }
          break;
        }
        case MetadataRecordType.PartitionChangeRecord: {
          const topic = byId.get(record.data.topicId);
          const current = topic?.partitions[record.data.partitionId];
          if (topic && current) put(withPartition(topic, changed(current, record.data)));
          break;
        }
        case MetadataRecordType.ConfigRecord: {
          const { resourceType, resourceName, name, value } = record.data;
          const topic = byName.get(resourceName);
          if (resourceType !== CONFIG_RESOURCE_TOPIC || !topic) break;
          const configs = new Map(topic.configs);
          if (value === null) configs.delete(name);
          else configs.set(name, value);
          put({ ...topic, configs });
          break;
        }
        case MetadataRecordType.RemoveTopicRecord: {
          const topic = byId.get(record.data.topicId);
          if (!topic) break;
          byId.delete(topic.topicId);
          byName.delete(topic.name);
          break;
        }
        case MetadataRecordType.ProducerIdsRecord:
          nextProducerId = Math.max(nextProducerId, record.data.nextProducerId);
          break;
        default:
          break;
      }
    }
    return new MetadataImage(byName, byId, nextProducerId, offset);
  }
}

function partitionOf(record: PartitionRecord): PartitionImage {
  return {
    partitionIndex: record.partitionId,
    leaderId: record.leader,
    leaderEpoch: record.leaderEpoch,
    partitionEpoch: record.partitionEpoch,
    replicaNodes: [...record.replicas],
    isrNodes: [...record.isr],
    offlineReplicas: [],
  };
}

/** Kafka's rule: a leader change bumps the leader epoch; every change bumps the partition's. */
function changed(current: PartitionImage, change: PartitionChangeRecord): PartitionImage {
  const leaderChanged = change.leader !== LEADER_UNCHANGED && change.leader !== current.leaderId;
  return {
    ...current,
    leaderId: change.leader === LEADER_UNCHANGED ? current.leaderId : change.leader,
    leaderEpoch: leaderChanged ? current.leaderEpoch + 1 : current.leaderEpoch,
    partitionEpoch: current.partitionEpoch + 1,
    replicaNodes: change.replicas ?? current.replicaNodes,
    isrNodes: change.isr ?? current.isrNodes,
  };
}

function withPartition(topic: TopicImage, partition: PartitionImage): TopicImage {
  const partitions = [...topic.partitions];
  partitions[partition.partitionIndex] = partition;
  return { ...topic, partitions };
}
