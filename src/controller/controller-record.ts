/**
 * The KRaft metadata records the controller writes and replays: the same set the broker's
 * MetadataImage applies (src/metadata/metadata-record.ts), broker registrations, fencing and
 * feature levels included. Each record takes one offset in the metadata log, so a broker's
 * epoch (the offset of its RegisterBrokerRecord) is known when the record is decided.
 */
import type { MetadataRecord } from '../metadata/metadata-record.ts';

/**
 * Every record the controller writes or replays. src/metadata's MetadataRecord names them all
 * (and type -1 for a record type this version does not know, skipped on replay).
 */
export type ControllerRecord = MetadataRecord;

// The records' special field values are src/metadata's (the image applies them too).
export {
  ControlledShutdownChange,
  FencedChange,
  LEADER_UNCHANGED,
  LeaderRecoveryState,
  NO_LEADER,
} from '../metadata/metadata-record.ts';

/** ConfigRecord.resourceType of the broker/cluster (Kafka's ConfigResource.Type.BROKER). */
export const CONFIG_RESOURCE_BROKER = 4;
