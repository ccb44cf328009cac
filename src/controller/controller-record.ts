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

/** ConfigRecord.resourceType of the broker/cluster (Kafka's ConfigResource.Type.BROKER). */
export const CONFIG_RESOURCE_BROKER = 4;
