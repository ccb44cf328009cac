/** Everything an interop test needs to drive real Kafka clients; see test/interop/README.md. */

export {
  type ClientName,
  type ClientStatus,
  clientAvailable,
  clientNames,
  clientStatus,
  requireClient,
  skipWithout,
  underCi,
} from './clients.ts';
export { type ConfluentJs, type ConfluentKafka, loadConfluentJs } from './confluent-js.ts';
export {
  type DriverOptions,
  type DriverResult,
  driverExit,
  type PythonScript,
  runPython,
  runSarama,
} from './drivers.ts';
export {
  type Assignor,
  assignorsOf,
  type GroupClient,
  type GroupMemberOptions,
  groupClients,
  startGroupMember,
} from './group-members.ts';
export {
  type JsonLine,
  type JsonObject,
  type JsonValue,
  ofType,
  onlyOfType,
  parseDriverLines,
  parseJsonLines,
} from './json-lines.ts';
export { type KcatOptions, runKcat, runKcatJson } from './kcat.ts';
export { LiveDriver, type LiveDriverOptions, type LiveExit, untilAny } from './live-driver.ts';
export { ClientRunError, type RunOptions, type RunResult, runProcess } from './process.ts';
