/** The controller core's public surface (see README.md). */
export type { ConfigAlteration, ConfigResult, PlannedChanges } from './config-commands.ts';
export {
  CONFIG_RESOURCE_BROKER,
  ControlledShutdownChange,
  type ControllerRecord,
  FencedChange,
  LEADER_UNCHANGED,
  LeaderRecoveryState,
  NO_LEADER,
} from './controller-record.ts';
export {
  type CommittedBatch,
  type ControllerLog,
  ControllerRuntime,
  type ControllerRuntimeOptions,
  type LeaderAndEpoch,
  type Refusal,
} from './controller-runtime.ts';
export {
  type BrokerEndpoint,
  type BrokerState,
  ControllerState,
  type PartitionState,
  type SupportedFeature,
  type TopicState,
} from './controller-state.ts';
export { type ControllerConfig, DEFAULT_CONTROLLER_CONFIG } from './decision.ts';
export { ElectionType } from './partition-commands.ts';
export {
  type ControllerOptions,
  type ControllerResult,
  QuorumController,
} from './quorum-controller.ts';
export type { TopicResult } from './topic-commands.ts';
