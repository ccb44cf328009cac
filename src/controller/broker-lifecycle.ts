/**
 * Broker registration, heartbeats, fencing and controlled shutdown (Kafka's
 * ClusterControlManager and BrokerHeartbeatManager).
 *
 * - A broker's epoch is the offset of its RegisterBrokerRecord. A new registration starts
 *   fenced; the broker is unfenced by a heartbeat showing it has replayed the log up to its
 *   own registration (it knows the cluster as of joining it).
 * - Another incarnation of a broker id is refused (DUPLICATE_BROKER_REGISTRATION) while the
 *   registered one holds a valid session: unfenced and heard from within
 *   broker.session.timeout.ms. Heartbeat times live only on the active controller; a new
 *   active controller grants every broker a fresh session.
 * - Fencing (session expiry or a broker asking for it) removes the broker from every ISR and
 *   moves its leaderships to other ISR members. Controlled shutdown does the same while the
 *   broker is still up, then fences it once it leads nothing.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import {
  type BrokerHeartbeatRequest,
  type BrokerHeartbeatResponse,
  type BrokerRegistrationRequest,
  type BrokerRegistrationResponse,
  newBrokerHeartbeatResponse,
  newBrokerRegistrationResponse,
} from '../../protocol/generated/index.ts';
import { MetadataRecordType } from '../../protocol/generated/metadata-record-table.ts';
import { ControlledShutdownChange, FencedChange, NO_LEADER } from './controller-record.ts';
import type { BrokerState, ControllerState } from './controller-state.ts';
import { changePartition, type Decision, uncleanAllowed } from './decision.ts';

/** Last heartbeat time per broker, on the active controller only. */
export class BrokerSessions {
  readonly #lastContactMs = new Map<number, number>();

  touch(brokerId: number, nowMs: number): void {
    this.#lastContactMs.set(brokerId, nowMs);
  }

  lastContactMs(brokerId: number): number | undefined {
    return this.#lastContactMs.get(brokerId);
  }

  clear(): void {
    this.#lastContactMs.clear();
  }

  isValid(broker: BrokerState, nowMs: number, timeoutMs: number): boolean {
    const last = this.#lastContactMs.get(broker.brokerId);
    return !broker.fenced && last !== undefined && nowMs - last < timeoutMs;
  }
}

export function registerBroker(
  decision: Decision,
  sessions: BrokerSessions,
  request: BrokerRegistrationRequest,
  nowMs: number,
): BrokerRegistrationResponse {
  const response = newBrokerRegistrationResponse();
  const refusal = registrationProblem(decision, sessions, request, nowMs);
  if (refusal !== ErrorCode.NONE) {
    response.errorCode = refusal;
    return response;
  }
  const previous = decision.state.broker(request.brokerId);
  const brokerEpoch = decision.nextOffset;
  decision.emit({
    type: MetadataRecordType.RegisterBrokerRecord,
    data: {
      brokerId: request.brokerId,
      isMigratingZkBroker: false,
      incarnationId: request.incarnationId,
      brokerEpoch,
      endPoints: request.listeners.map(({ name, host, port, securityProtocol }) => ({
        name,
        host,
        port,
        securityProtocol,
      })),
      features: request.features.map(({ name, minSupportedVersion, maxSupportedVersion }) => ({
        name,
        minSupportedVersion,
        maxSupportedVersion,
      })),
      rack: request.rack,
      fenced: true,
      inControlledShutdown: false,
      logDirs: [...request.logDirs],
    },
  });
  // A restarted broker may have lost what it held: it leaves ISRs until it catches up again.
  if (previous) moveAwayFrom(decision, request.brokerId);
  sessions.touch(request.brokerId, nowMs);
  response.brokerEpoch = brokerEpoch;
  return response;
}

function registrationProblem(
  decision: Decision,
  sessions: BrokerSessions,
  request: BrokerRegistrationRequest,
  nowMs: number,
): number {
  if (request.clusterId !== decision.config.clusterId) return ErrorCode.INCONSISTENT_CLUSTER_ID;
  if (request.brokerId < 0) return ErrorCode.INVALID_REQUEST;
  const existing = decision.state.broker(request.brokerId);
  if (
    existing &&
    existing.incarnationId !== request.incarnationId &&
    sessions.isValid(existing, nowMs, decision.config.brokerSessionTimeoutMs)
  ) {
    return ErrorCode.DUPLICATE_BROKER_REGISTRATION;
  }
  // Every finalized feature must lie in the broker's supported range ([0, 0] if unlisted).
  for (const [name, level] of decision.state.features()) {
    const supported = request.features.find((f) => f.name === name);
    const min = supported?.minSupportedVersion ?? 0;
    const max = supported?.maxSupportedVersion ?? 0;
    if (level < min || level > max) return ErrorCode.UNSUPPORTED_VERSION;
  }
  return ErrorCode.NONE;
}

export function brokerHeartbeat(
  decision: Decision,
  sessions: BrokerSessions,
  request: BrokerHeartbeatRequest,
  nowMs: number,
): BrokerHeartbeatResponse {
  const response = newBrokerHeartbeatResponse();
  const broker = decision.state.broker(request.brokerId);
  if (!broker) {
    response.errorCode = ErrorCode.BROKER_ID_NOT_REGISTERED;
    return response;
  }
  if (broker.epoch !== request.brokerEpoch) {
    response.errorCode = ErrorCode.STALE_BROKER_EPOCH;
    return response;
  }
  sessions.touch(broker.brokerId, nowMs);
  const caughtUp = request.currentMetadataOffset >= broker.epoch;
  response.isCaughtUp = caughtUp;
  if (broker.fenced) {
    if (!request.wantShutDown && !request.wantFence && caughtUp && !broker.inControlledShutdown) {
      unfenceBroker(decision, broker);
    }
    response.shouldShutDown = request.wantShutDown;
  } else if (request.wantShutDown) {
    if (!broker.inControlledShutdown) enterControlledShutdown(decision, broker);
    if (!hasLeaderships(decision.state, broker.brokerId)) fenceBroker(decision, broker);
    response.shouldShutDown = decision.state.broker(broker.brokerId)?.fenced ?? true;
  } else if (request.wantFence) {
    fenceBroker(decision, broker);
  }
  response.isFenced = decision.state.broker(broker.brokerId)?.fenced ?? true;
  return response;
}

/** Fences every unfenced broker whose session expired; returns their ids. */
export function fenceStaleBrokers(
  decision: Decision,
  sessions: BrokerSessions,
  nowMs: number,
): number[] {
  const fenced: number[] = [];
  for (const broker of [...decision.state.brokers()]) {
    if (broker.fenced) continue;
    const last = sessions.lastContactMs(broker.brokerId) ?? Number.NEGATIVE_INFINITY;
    if (nowMs - last < decision.config.brokerSessionTimeoutMs) continue;
    fenceBroker(decision, broker);
    fenced.push(broker.brokerId);
  }
  return fenced;
}

export function fenceBroker(decision: Decision, broker: BrokerState): void {
  decision.emit({
    type: MetadataRecordType.FenceBrokerRecord,
    data: { id: broker.brokerId, epoch: broker.epoch },
  });
  moveAwayFrom(decision, broker.brokerId);
}

function unfenceBroker(decision: Decision, broker: BrokerState): void {
  decision.emit({
    type: MetadataRecordType.UnfenceBrokerRecord,
    data: { id: broker.brokerId, epoch: broker.epoch },
  });
  electLeaderless(decision);
}

function enterControlledShutdown(decision: Decision, broker: BrokerState): void {
  decision.emit({
    type: MetadataRecordType.BrokerRegistrationChangeRecord,
    data: {
      brokerId: broker.brokerId,
      brokerEpoch: broker.epoch,
      fenced: FencedChange.NONE,
      inControlledShutdown: ControlledShutdownChange.IN_CONTROLLED_SHUTDOWN,
      logDirs: [],
    },
  });
  moveAwayFrom(decision, broker.brokerId);
}

/** Removes `brokerId` from every ISR (but a last member) and re-elects where it led. */
function moveAwayFrom(decision: Decision, brokerId: number): void {
  for (const topic of [...decision.state.topics()]) {
    for (const partition of [...topic.partitions]) {
      if (partition.leader !== brokerId && !partition.isr.includes(brokerId)) continue;
      changePartition(decision, partition, {
        isr: partition.isr.filter((id) => id !== brokerId),
        uncleanAllowed: uncleanAllowed(decision, topic.name),
      });
    }
  }
}

/** Elects leaders for leaderless partitions where an active broker now qualifies. */
export function electLeaderless(decision: Decision): void {
  for (const topic of [...decision.state.topics()]) {
    for (const partition of [...topic.partitions]) {
      if (partition.leader !== NO_LEADER) continue;
      changePartition(decision, partition, {
        uncleanAllowed: uncleanAllowed(decision, topic.name),
      });
    }
  }
}

export function hasLeaderships(state: ControllerState, brokerId: number): boolean {
  for (const partition of state.partitions()) if (partition.leader === brokerId) return true;
  return false;
}
