/**
 * A metadata image written back as the records that rebuild it: what a metadata snapshot
 * holds, so the metadata log can be compacted (Kafka's MetadataImage.write). Applying
 * `imageRecords(image)` to the empty image gives an equal image.
 *
 * Order, Kafka's: finalized features, broker registrations (each RegisterBrokerRecord carries
 * its epoch, fencing and controlled-shutdown state), topics (each TopicRecord followed by its
 * configs and its PartitionRecords), other resources' configs, then the next producer id.
 */
import { MetadataRecordType } from '../../protocol/generated/metadata-record-table.ts';
import type { BrokerImage, MetadataImage, PartitionImage, TopicImage } from './metadata-image.ts';
import { CONFIG_RESOURCE_TOPIC, type MetadataRecord } from './metadata-record.ts';

export function imageRecords(image: MetadataImage): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const [name, featureLevel] of image.features) {
    records.push({ type: MetadataRecordType.FeatureLevelRecord, data: { name, featureLevel } });
  }
  for (const broker of image.brokers()) records.push(registration(broker));
  for (const topic of image.topics()) topicRecords(topic, records);
  for (const { resourceType, resourceName, configs } of image.configResources()) {
    for (const [name, value] of configs) {
      records.push({
        type: MetadataRecordType.ConfigRecord,
        data: { resourceType, resourceName, name, value },
      });
    }
  }
  if (image.nextProducerId > 0) {
    records.push({
      type: MetadataRecordType.ProducerIdsRecord,
      // No broker asked for this block: the snapshot only carries where the next one starts.
      data: { brokerId: -1, brokerEpoch: -1, nextProducerId: image.nextProducerId },
    });
  }
  return records;
}

function registration(broker: BrokerImage): MetadataRecord {
  return {
    type: MetadataRecordType.RegisterBrokerRecord,
    data: {
      brokerId: broker.id,
      isMigratingZkBroker: broker.isMigratingZkBroker,
      incarnationId: broker.incarnationId,
      brokerEpoch: broker.epoch,
      endPoints: [...broker.endpoints].map(([name, { host, port, securityProtocol }]) => ({
        name,
        host,
        port,
        securityProtocol,
      })),
      features: broker.features.map((f) => ({ ...f })),
      rack: broker.rack,
      fenced: broker.fenced,
      inControlledShutdown: broker.inControlledShutdown,
      logDirs: [...broker.logDirs],
    },
  };
}

function topicRecords(topic: TopicImage, records: MetadataRecord[]): void {
  records.push({
    type: MetadataRecordType.TopicRecord,
    data: { name: topic.name, topicId: topic.topicId },
  });
  for (const [name, value] of topic.configs) {
    records.push({
      type: MetadataRecordType.ConfigRecord,
      data: { resourceType: CONFIG_RESOURCE_TOPIC, resourceName: topic.name, name, value },
    });
  }
  for (const partition of topic.partitions) records.push(partitionRecord(topic, partition));
}

function partitionRecord(topic: TopicImage, p: PartitionImage): MetadataRecord {
  // Empty ELR lists are written as null so the record needs no newer version than it must.
  const hasElr = p.eligibleLeaderReplicas.length > 0 || p.lastKnownElr.length > 0;
  return {
    type: MetadataRecordType.PartitionRecord,
    data: {
      partitionId: p.partitionIndex,
      topicId: topic.topicId,
      replicas: [...p.replicaNodes],
      isr: [...p.isrNodes],
      removingReplicas: [...p.removingReplicas],
      addingReplicas: [...p.addingReplicas],
      leader: p.leaderId,
      leaderRecoveryState: p.leaderRecoveryState,
      leaderEpoch: p.leaderEpoch,
      partitionEpoch: p.partitionEpoch,
      directories: [...p.directories],
      eligibleLeaderReplicas: hasElr ? [...p.eligibleLeaderReplicas] : null,
      lastKnownElr: hasElr ? [...p.lastKnownElr] : null,
    },
  };
}
