/**
 * The KRaft metadata records the controller writes and replays. A superset of the records the
 * broker's MetadataImage applies (src/metadata/metadata-record.ts): the controller also keeps
 * the broker registrations, fencing and feature levels. Each record takes one offset in the
 * metadata log, so a broker's epoch (the offset of its RegisterBrokerRecord) is known when the
 * record is decided.
 */
import type {
  BrokerRegistrationChangeRecord,
  FeatureLevelRecord,
  FenceBrokerRecord,
  RegisterBrokerRecord,
  UnfenceBrokerRecord,
  UnregisterBrokerRecord,
} from '../../protocol/generated/index.ts';
import type { MetadataRecordType } from '../../protocol/generated/metadata-record-table.ts';
import type { MetadataRecord } from '../metadata/metadata-record.ts';

type Typed<K extends keyof typeof MetadataRecordType, T> = {
  readonly type: (typeof MetadataRecordType)[K];
  readonly data: T;
};

export type ControllerRecord =
  | MetadataRecord
  | Typed<'RegisterBrokerRecord', RegisterBrokerRecord>
  | Typed<'UnregisterBrokerRecord', UnregisterBrokerRecord>
  | Typed<'FenceBrokerRecord', FenceBrokerRecord>
  | Typed<'UnfenceBrokerRecord', UnfenceBrokerRecord>
  | Typed<'BrokerRegistrationChangeRecord', BrokerRegistrationChangeRecord>
  | Typed<'FeatureLevelRecord', FeatureLevelRecord>;

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
