/**
 * Builders of KRaft metadata records for the metadata tests (defaults are Kafka's).
 */
import {
  newPartitionChangeRecord,
  newPartitionRecord,
  newRegisterBrokerRecord,
  type PartitionChangeRecord,
  type PartitionRecord,
  type RegisterBrokerRecord,
} from '../../../protocol/generated/index.ts';
import { MetadataRecordType as T } from '../../../protocol/generated/metadata-record-table.ts';
import type { MetadataRecord } from '../../../src/metadata/metadata-record.ts';

/** A canonical base64url uuid, distinct for each `n` in 0-255. */
export function uuid(n: number, prefix = 'A'): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return `${prefix.repeat(20)}${alphabet[n % 64]}${'AQgw'[Math.floor(n / 64) % 4]}`;
}

export function register(
  id: number,
  epoch: number,
  overrides: Partial<RegisterBrokerRecord> = {},
): MetadataRecord {
  const data = newRegisterBrokerRecord();
  data.brokerId = id;
  data.brokerEpoch = epoch;
  data.incarnationId = uuid(id, 'I');
  data.endPoints = [
    { name: 'PLAINTEXT', host: `b${id}.local`, port: 9092, securityProtocol: 0 },
    { name: 'INTERNAL', host: `b${id}.internal`, port: 19092, securityProtocol: 0 },
  ];
  data.rack = `rack-${id}`;
  return { type: T.RegisterBrokerRecord, data: { ...data, ...overrides } };
}

export const fence = (id: number, epoch: number): MetadataRecord => ({
  type: T.FenceBrokerRecord,
  data: { id, epoch },
});

export const unfence = (id: number, epoch: number): MetadataRecord => ({
  type: T.UnfenceBrokerRecord,
  data: { id, epoch },
});

export const unregister = (brokerId: number, brokerEpoch: number): MetadataRecord => ({
  type: T.UnregisterBrokerRecord,
  data: { brokerId, brokerEpoch },
});

export function registrationChange(
  brokerId: number,
  brokerEpoch: number,
  fenced: number,
  inControlledShutdown: number,
  logDirs: string[] = [],
): MetadataRecord {
  return {
    type: T.BrokerRegistrationChangeRecord,
    data: { brokerId, brokerEpoch, fenced, inControlledShutdown, logDirs },
  };
}

export const topic = (name: string, topicId: string): MetadataRecord => ({
  type: T.TopicRecord,
  data: { name, topicId },
});

export function partition(
  topicId: string,
  partitionId: number,
  replicas: number[],
  overrides: Partial<PartitionRecord> = {},
): MetadataRecord {
  const data = newPartitionRecord();
  data.topicId = topicId;
  data.partitionId = partitionId;
  data.replicas = replicas;
  data.isr = [...replicas];
  data.leader = replicas[0] ?? -1;
  data.leaderEpoch = 0;
  data.partitionEpoch = 0;
  return { type: T.PartitionRecord, data: { ...data, ...overrides } };
}

export function change(
  topicId: string,
  partitionId: number,
  fields: Partial<PartitionChangeRecord>,
): MetadataRecord {
  const data = newPartitionChangeRecord();
  data.topicId = topicId;
  data.partitionId = partitionId;
  return { type: T.PartitionChangeRecord, data: { ...data, ...fields } };
}

export const config = (
  resourceType: number,
  resourceName: string,
  name: string,
  value: string | null,
): MetadataRecord => ({
  type: T.ConfigRecord,
  data: { resourceType, resourceName, name, value },
});

export const feature = (name: string, featureLevel: number): MetadataRecord => ({
  type: T.FeatureLevelRecord,
  data: { name, featureLevel },
});
