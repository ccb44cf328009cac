/**
 * KRaft metadata records as Brook writes them to `__cluster_metadata`: each record is the value
 * of one Kafka record (null key), framed as Kafka's metadata serde frames it:
 *
 *   unsigned varint frameVersion (1), unsigned varint record type, unsigned varint version,
 *   then the record body in the generated codec of that type and version.
 *
 * `MetadataRecord` is every record the controller writes and the image applies (the
 * controller's ControllerRecord is the same union). Any other type found on replay decodes as
 * type -1 and is skipped by the image (a newer writer), never an error.
 *
 * Each record is written at the lowest version that carries every non-default field it sets,
 * so Kafka's own tools (kafka-dump-log --cluster-metadata-decoder) read what Brook writes.
 */
import type {
  BrokerRegistrationChangeRecord,
  ConfigRecord,
  FeatureLevelRecord,
  FenceBrokerRecord,
  PartitionChangeRecord,
  PartitionRecord,
  ProducerIdsRecord,
  RegisterBrokerRecord,
  RemoveTopicRecord,
  TopicRecord,
  UnfenceBrokerRecord,
  UnregisterBrokerRecord,
} from '../../protocol/generated/index.ts';
import {
  type MetadataRecordDescriptor,
  MetadataRecordType,
  metadataRecordFor,
} from '../../protocol/generated/metadata-record-table.ts';
import { Reader } from '../../protocol/wire/reader.ts';
import { Writer } from '../../protocol/wire/writer.ts';
import { BrokerError } from '../util/errors.ts';

export const FRAME_VERSION = 1;

/** ConfigRecord.resourceType of a topic (Kafka's ConfigResource.Type.TOPIC). */
export const CONFIG_RESOURCE_TOPIC = 2;

/** PartitionChangeRecord.leader: "no change". */
export const LEADER_UNCHANGED = -2;
/** A partition without a leader. */
export const NO_LEADER = -1;

/** PartitionRecord.leaderRecoveryState (KIP-704). */
export const LeaderRecoveryState = {
  RECOVERED: 0,
  /** Elected uncleanly: the leader must tell the controller once it has recovered. */
  RECOVERING: 1,
  /** PartitionChangeRecord: "no change". */
  UNCHANGED: -1,
} as const;

/** BrokerRegistrationChangeRecord.fenced (an int8 tri-state). */
export const FencedChange = { UNFENCE: -1, NONE: 0, FENCE: 1 } as const;

/** BrokerRegistrationChangeRecord.inControlledShutdown. */
export const ControlledShutdownChange = { NONE: 0, IN_CONTROLLED_SHUTDOWN: 1 } as const;

type Typed<K extends keyof typeof MetadataRecordType, T> = {
  readonly type: (typeof MetadataRecordType)[K];
  readonly data: T;
};

export type MetadataRecord =
  | Typed<'TopicRecord', TopicRecord>
  | Typed<'PartitionRecord', PartitionRecord>
  | Typed<'ConfigRecord', ConfigRecord>
  | Typed<'PartitionChangeRecord', PartitionChangeRecord>
  | Typed<'RemoveTopicRecord', RemoveTopicRecord>
  | Typed<'ProducerIdsRecord', ProducerIdsRecord>
  | Typed<'RegisterBrokerRecord', RegisterBrokerRecord>
  | Typed<'UnregisterBrokerRecord', UnregisterBrokerRecord>
  | Typed<'FenceBrokerRecord', FenceBrokerRecord>
  | Typed<'UnfenceBrokerRecord', UnfenceBrokerRecord>
  | Typed<'BrokerRegistrationChangeRecord', BrokerRegistrationChangeRecord>
  | Typed<'FeatureLevelRecord', FeatureLevelRecord>
  /** A record type this image does not apply (kept so replay counts stay exact). */
  | { readonly type: -1; readonly data: null };

/** The record types `MetadataRecord` names; others decode as type -1. */
const KNOWN_TYPES: ReadonlySet<number> = new Set([
  MetadataRecordType.TopicRecord,
  MetadataRecordType.PartitionRecord,
  MetadataRecordType.ConfigRecord,
  MetadataRecordType.PartitionChangeRecord,
  MetadataRecordType.RemoveTopicRecord,
  MetadataRecordType.ProducerIdsRecord,
  MetadataRecordType.RegisterBrokerRecord,
  MetadataRecordType.UnregisterBrokerRecord,
  MetadataRecordType.FenceBrokerRecord,
  MetadataRecordType.UnfenceBrokerRecord,
  MetadataRecordType.BrokerRegistrationChangeRecord,
  MetadataRecordType.FeatureLevelRecord,
]);

function descriptorOf(type: number): MetadataRecordDescriptor<unknown> {
  const descriptor = metadataRecordFor(type);
  if (!descriptor) throw new Error(`no metadata record type ${type}`);
  return descriptor;
}

/**
 * The lowest version of `record`'s type that carries every field it sets to a non-default
 * value (the generated encoder asserts on a value its version cannot carry).
 */
export function writeVersionOf(record: MetadataRecord): number {
  switch (record.type) {
    case MetadataRecordType.RegisterBrokerRecord: {
      const d = record.data;
      if (d.logDirs.length > 0) return 3;
      if (d.isMigratingZkBroker) return 2;
      return d.inControlledShutdown ? 1 : 0;
    }
    case MetadataRecordType.BrokerRegistrationChangeRecord: {
      const d = record.data;
      if (d.logDirs.length > 0) return 2;
      return d.inControlledShutdown !== 0 ? 1 : 0;
    }
    case MetadataRecordType.PartitionRecord: {
      const d = record.data;
      if (d.eligibleLeaderReplicas !== null || d.lastKnownElr !== null) return 2;
      return d.directories.length > 0 ? 1 : 0;
    }
    case MetadataRecordType.PartitionChangeRecord: {
      const d = record.data;
      if (d.eligibleLeaderReplicas !== null || d.lastKnownElr !== null) return 2;
      return d.directories !== null ? 1 : 0;
    }
    default:
      return 0;
  }
}

export function encodeMetadataRecord(record: MetadataRecord): Buffer {
  if (record.type === -1) throw new Error('cannot encode an unknown metadata record');
  const version = writeVersionOf(record);
  const writer = new Writer(64);
  writer.unsignedVarint(FRAME_VERSION);
  writer.unsignedVarint(record.type);
  writer.unsignedVarint(version);
  descriptorOf(record.type).encode(writer, record.data, version);
  return writer.finish();
}

/** The version a framed record was written at (for tests and tools); -1 on a bad frame. */
export function frameVersionOf(value: Buffer): { type: number; version: number } {
  const reader = new Reader(value);
  const frame = reader.unsignedVarint();
  const type = reader.unsignedVarint();
  const version = reader.unsignedVarint();
  return reader.ok && frame === FRAME_VERSION ? { type, version } : { type: -1, version: -1 };
}

/** Decodes one framed record; throws BrokerError `metadata-record-corrupt` on bad bytes. */
export function decodeMetadataRecord(value: Buffer): MetadataRecord {
  const reader = new Reader(value);
  const frame = reader.unsignedVarint();
  const type = reader.unsignedVarint();
  const version = reader.unsignedVarint();
  if (!reader.ok || frame !== FRAME_VERSION) {
    throw new BrokerError('metadata-record-corrupt', `bad metadata record frame ${frame}`);
  }
  if (!KNOWN_TYPES.has(type)) return { type: -1, data: null };
  const descriptor = descriptorOf(type);
  if (version < descriptor.minVersion || version > descriptor.maxVersion) {
    throw new BrokerError('metadata-record-corrupt', `record type ${type} version ${version}`);
  }
  const data = descriptor.decode(reader, version);
  if (!reader.ok || reader.remaining !== 0) {
    throw new BrokerError('metadata-record-corrupt', `record type ${type} does not decode`, {
      cause: reader.error,
    });
  }
  return { type, data } as MetadataRecord;
}
