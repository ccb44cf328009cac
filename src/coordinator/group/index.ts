/** The classic group coordinator's public surface for the request handlers and the broker. */
export type { ClassicGroup, CommittedOffset } from './classic-group.ts';
export * from './coordinator-config.ts';
export * from './group-coordinator.ts';
export * from './group-service.ts';
export * from './group-state.ts';
export * from './group-store.ts';
export * from './log-group-store.ts';
export { leaveErrorForSingleMemberVersions } from './membership.ts';
export * from './partition-for.ts';
export * from './records.ts';
export type * from './types.ts';
