/**
 * KRaft metadata records as Brook writes them to `__cluster_metadata`: each record is the value
 * of one Kafka record (null key), framed as Kafka's metadata serde frames it:
 *
 *   unsigned varint frameVersion (1), unsigned varint record type, unsigned varint version,
 *   then the record body in the generated codec of that type and version.
 *
 * Only the record types the image applies are typed here; any other type found on replay is
 * skipped by the image (a newer writer), never an error.
 */
import type {
  ConfigRecord,
  PartitionChangeRecord,
  PartitionRecord,
  ProducerIdsRecord,
  RemoveTopicRecord,
  TopicRecord,
} from '../../protocol/generated/index.ts';
import {
  type MetadataRecordDescriptor,
  MetadataRecords,
  type MetadataRecordType,
  metadataRecordFor,
} from '../../protocol/generated/metadata-record-table.ts';
import { Reader } from '../../protocol/wire/reader.ts';
import { Writer } from '../../protocol/wire/writer.ts';
import { BrokerError } from '../util/errors.ts';

export const FRAME_VERSION = 1;

/** ConfigRecord.resourceType of a topic (Kafka's ConfigResource.Type.TOPIC). */
export const CONFIG_RESOURCE_TOPIC = 2;

export type MetadataRecord =
  | { readonly type: typeof MetadataRecordType.TopicRecord; readonly data: TopicRecord }
  | { readonly type: typeof MetadataRecordType.PartitionRecord; readonly data: PartitionRecord }
  | { readonly type: typeof MetadataRecordType.ConfigRecord; readonly data: ConfigRecord }
  | {
      readonly type: typeof MetadataRecordType.PartitionChangeRecord;
      readonly data: PartitionChangeRecord;
    }
  | { readonly type: typeof MetadataRecordType.RemoveTopicRecord; readonly data: RemoveTopicRecord }
  | { readonly type: typeof MetadataRecordType.ProducerIdsRecord; readonly data: ProducerIdsRecord }
  /** A record type this image does not apply (kept so replay counts stay exact). */
  | { readonly type: -1; readonly data: null };

/** The versions Brook writes (v0 of each: the fields a single node needs). */
const WRITE_VERSION = 0;

function descriptorOf(type: number): MetadataRecordDescriptor<unknown> {
  const descriptor = metadataRecordFor(type);
  if (!descriptor) throw new Error(`no metadata record type ${type}`);
  return descriptor;
}

export function encodeMetadataRecord(record: MetadataRecord): Buffer {
  if (record.type === -1) throw new Error('cannot encode an unknown metadata record');
  const writer = new Writer(64);
  writer.unsignedVarint(FRAME_VERSION);
  writer.unsignedVarint(record.type);
  writer.unsignedVarint(WRITE_VERSION);
  descriptorOf(record.type).encode(writer, record.data, WRITE_VERSION);
  return writer.finish();
}

const applied = new Set<number>([
  MetadataRecords.TopicRecord.type,
  MetadataRecords.PartitionRecord.type,
  MetadataRecords.ConfigRecord.type,
  MetadataRecords.PartitionChangeRecord.type,
  MetadataRecords.RemoveTopicRecord.type,
  MetadataRecords.ProducerIdsRecord.type,
]);

/** Decodes one framed record; throws BrokerError `metadata-record-corrupt` on bad bytes. */
export function decodeMetadataRecord(value: Buffer): MetadataRecord {
  const reader = new Reader(value);
  const frame = reader.unsignedVarint();
  const type = reader.unsignedVarint();
  const version = reader.unsignedVarint();
  if (!reader.ok || frame !== FRAME_VERSION) {
    throw new BrokerError('metadata-record-corrupt', `bad metadata record frame ${frame}`);
  }
  if (!applied.has(type)) return { type: -1, data: null };
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
