/**
 * BrokerLifecycleManager: a broker's side of registration and heartbeats (Kafka's
 * BrokerLifecycleManager), over the ControllerChannel.
 *
 * - Registers with BrokerRegistration v4 (broker id, cluster id, an incarnation id drawn once
 *   per process, the broker's advertised listeners, the features it supports, rack, the
 *   previous broker epoch if known) until the controller accepts; the answer's broker epoch
 *   is the offset of its RegisterBrokerRecord.
 * - Heartbeats with BrokerHeartbeat v1 every `heartbeatIntervalMs`, one at a time:
 *   `currentMetadataOffset` = the offset of the broker's applied image, `wantFence` while it
 *   is not caught up (its image does not yet hold its own registration, or the broker is not
 *   ready), `wantShutDown` once a controlled shutdown began. The controller unfences a caught
 *   up broker; `whenUnfenced()` resolves then.
 * - STALE_BROKER_EPOCH or BROKER_ID_NOT_REGISTERED (the controller fenced and forgot this
 *   registration, or the broker was unregistered): registers again, same incarnation.
 * - `controlledShutdown(timeoutMs)`: heartbeats with `wantShutDown` until the controller
 *   answers `shouldShutDown` (it moved every leadership away) or the time is up.
 * Timers only through the injected Clock.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { Apis } from '../../protocol/generated/api-table.ts';
import type {
  BrokerHeartbeatRequest,
  BrokerHeartbeatResponse,
  BrokerRegistrationRequest,
  BrokerRegistrationResponse,
} from '../../protocol/generated/index.ts';
import { randomUuid } from '../metadata/meta-properties.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { BrokerError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import type { Random } from '../util/random.ts';
import type { ControllerChannel, SendOptions } from './controller-channel.ts';

export const BROKER_REGISTRATION_VERSION = 4;
export const BROKER_HEARTBEAT_VERSION = 1;

/**
 * What Brook brokers support: metadata.version 7 (3.3-IV3) to 25 (4.0-IV3), as ApiVersions
 * advertises (src/handlers/18-api-versions.ts); kraft.version 0 to 1.
 */
export const SUPPORTED_FEATURES: readonly {
  readonly name: string;
  readonly minSupportedVersion: number;
  readonly maxSupportedVersion: number;
}[] = [
  { name: 'metadata.version', minSupportedVersion: 7, maxSupportedVersion: 25 },
  { name: 'kraft.version', minSupportedVersion: 0, maxSupportedVersion: 1 },
];

/** Kafka's SecurityProtocol id of PLAINTEXT, the only protocol Brook serves. */
export const SECURITY_PROTOCOL_PLAINTEXT = 0;

export interface RegisteredListener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** The channel calls the manager makes (a ControllerChannel). */
export type ControllerSender = Pick<ControllerChannel, 'send'>;

export interface BrokerLifecycleOptions {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly channel: ControllerSender;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** The broker's advertised listeners (not the controller listener). */
  readonly listeners: () => readonly RegisteredListener[];
  readonly rack: string | null;
  readonly logDirs?: readonly string[];
  /** The epoch of this broker's last registration, if it kept one (-1: none). */
  readonly previousBrokerEpoch?: number;
  readonly heartbeatIntervalMs: number;
  /** Offset of the last metadata record the broker's image applied (-1: none). */
  readonly metadataOffset: () => number;
  /** Whether the broker is ready to serve once caught up (default: always). */
  readonly readyToUnfence?: () => boolean;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class BrokerLifecycleManager {
  readonly incarnationId: string;
  readonly #options: BrokerLifecycleOptions;
  #brokerEpoch = -1;
  #previousBrokerEpoch: number;
  #fenced = true;
  #caughtUp = false;
  #wantShutDown = false;
  #shouldShutDown = false;
  #timer: TimerHandle | undefined;
  #busy = false;
  #wakeRequested = false;
  #started = false;
  #closed = false;
  #unfencedWaiters: Waiter[] = [];
  #shutdownWaiters: Waiter[] = [];

  constructor(options: BrokerLifecycleOptions) {
    this.#options = options;
    this.incarnationId = randomUuid(options.random);
    this.#previousBrokerEpoch = options.previousBrokerEpoch ?? -1;
  }

  /** The epoch of the current registration; -1 while unregistered. */
  get brokerEpoch(): number {
    return this.#brokerEpoch;
  }
  get isFenced(): boolean {
    return this.#fenced;
  }
  /** As the controller last judged it (its image holds this broker's registration). */
  get isCaughtUp(): boolean {
    return this.#caughtUp;
  }
  /** The controller agreed to a controlled shutdown. */
  get shouldShutDown(): boolean {
    return this.#shouldShutDown;
  }

  /** Starts registering, then heartbeating. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#wake();
  }

  /** Resolves once the controller unfenced this broker; rejects if closed first. */
  whenUnfenced(): Promise<void> {
    if (this.#brokerEpoch >= 0 && !this.#fenced) return Promise.resolve();
    if (this.#closed) return Promise.reject(closedError());
    return new Promise((resolve, reject) => this.#unfencedWaiters.push({ resolve, reject }));
  }

  /**
   * Asks the controller to move this broker's leaderships away, heartbeating with
   * `wantShutDown` until it answers `shouldShutDown` or `timeoutMs` passes (resolves either
   * way; `shouldShutDown` says which).
   */
  controlledShutdown(timeoutMs: number): Promise<void> {
    if (this.#closed || this.#brokerEpoch < 0 || this.#shouldShutDown) return Promise.resolve();
    this.#wantShutDown = true;
    const done = new Promise<void>((resolve, reject) => {
      this.#shutdownWaiters.push({ resolve, reject });
    });
    const timer = this.#options.clock.setTimer(timeoutMs, () => {
      if (this.#shouldShutDown) return;
      this.#options.logger.warn({ timeoutMs }, 'controlled shutdown timed out');
      this.#settle(this.#shutdownWaiters);
    });
    this.#wake();
    return done.finally(() => timer.cancel());
  }

  /** Stops heartbeating; waiters of `whenUnfenced` reject, of `controlledShutdown` resolve. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    const error = closedError();
    for (const w of this.#unfencedWaiters.splice(0)) w.reject(error);
    this.#settle(this.#shutdownWaiters);
  }

  /** Sends the next request now, or right after the one in flight. */
  #wake(): void {
    if (this.#closed || !this.#started) return;
    if (this.#busy) {
      this.#wakeRequested = true;
      return;
    }
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#busy = true;
    const step = this.#brokerEpoch < 0 ? this.#register() : this.#heartbeat();
    step.then(
      (delayMs) => this.#after(delayMs),
      (error: unknown) => {
        // The channel gave up (controller unreachable until its deadline): try again later.
        this.#options.logger.warn({ err: error }, 'controller request failed');
        this.#after(this.#options.heartbeatIntervalMs);
      },
    );
  }

  #after(delayMs: number): void {
    this.#busy = false;
    if (this.#closed) return;
    if (this.#wakeRequested) {
      this.#wakeRequested = false;
      this.#wake();
      return;
    }
    this.#timer = this.#options.clock.setTimer(delayMs, () => {
      this.#timer = undefined;
      this.#wake();
    });
  }

  #callOptions<Res>(): SendOptions<Res> {
    // A heartbeat that cannot get through in two intervals is stale: send a fresh one.
    return { timeoutMs: 2 * this.#options.heartbeatIntervalMs };
  }

  /** Returns the delay before the next step. */
  async #register(): Promise<number> {
    const o = this.#options;
    const request: BrokerRegistrationRequest = {
      brokerId: o.nodeId,
      clusterId: o.clusterId,
      incarnationId: this.incarnationId,
      listeners: o.listeners().map((l) => ({
        name: l.name,
        host: l.host,
        port: l.port,
        securityProtocol: SECURITY_PROTOCOL_PLAINTEXT,
      })),
      features: SUPPORTED_FEATURES.map((f) => ({ ...f })),
      rack: o.rack,
      isMigratingZkBroker: false,
      logDirs: [...(o.logDirs ?? [])],
      previousBrokerEpoch: this.#previousBrokerEpoch,
    };
    const response: BrokerRegistrationResponse = await o.channel.send(
      Apis.BrokerRegistration,
      BROKER_REGISTRATION_VERSION,
      request,
      this.#callOptions(),
    );
    if (this.#closed) return 0;
    if (response.errorCode !== ErrorCode.NONE) {
      o.logger.warn({ errorCode: response.errorCode }, 'broker registration refused');
      return o.heartbeatIntervalMs;
    }
    this.#brokerEpoch = response.brokerEpoch;
    this.#previousBrokerEpoch = response.brokerEpoch;
    this.#fenced = true;
    this.#caughtUp = false;
    o.logger.info({ brokerEpoch: response.brokerEpoch }, 'broker registered');
    return 0;
  }

  async #heartbeat(): Promise<number> {
    const o = this.#options;
    const epoch = this.#brokerEpoch;
    const offset = o.metadataOffset();
    const ready = offset >= epoch && (o.readyToUnfence?.() ?? true);
    const request: BrokerHeartbeatRequest = {
      brokerId: o.nodeId,
      brokerEpoch: epoch,
      currentMetadataOffset: offset,
      wantFence: !ready && !this.#wantShutDown,
      wantShutDown: this.#wantShutDown,
      offlineLogDirs: [],
    };
    const response: BrokerHeartbeatResponse = await o.channel.send(
      Apis.BrokerHeartbeat,
      BROKER_HEARTBEAT_VERSION,
      request,
      this.#callOptions(),
    );
    if (this.#closed || epoch !== this.#brokerEpoch) return 0;
    if (
      response.errorCode === ErrorCode.STALE_BROKER_EPOCH ||
      response.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED
    ) {
      o.logger.warn({ brokerEpoch: epoch, errorCode: response.errorCode }, 'registering again');
      this.#brokerEpoch = -1;
      this.#fenced = true;
      return 0;
    }
    if (response.errorCode !== ErrorCode.NONE) {
      o.logger.warn({ errorCode: response.errorCode }, 'heartbeat refused');
      return o.heartbeatIntervalMs;
    }
    this.#caughtUp = response.isCaughtUp;
    const wasFenced = this.#fenced;
    this.#fenced = response.isFenced;
    if (wasFenced && !this.#fenced) {
      o.logger.info({ brokerEpoch: epoch }, 'broker unfenced');
      this.#settle(this.#unfencedWaiters);
    }
    if (response.shouldShutDown && this.#wantShutDown) {
      this.#shouldShutDown = true;
      this.#settle(this.#shutdownWaiters);
      return o.heartbeatIntervalMs;
    }
    // Caught up but still fenced, or shutting down: the answer is one heartbeat away.
    const eager = (ready && this.#fenced) || this.#wantShutDown;
    return eager ? Math.min(o.heartbeatIntervalMs, EAGER_HEARTBEAT_MS) : o.heartbeatIntervalMs;
  }

  #settle(waiters: Waiter[]): void {
    for (const w of waiters.splice(0)) w.resolve();
  }
}

/** Heartbeat spacing while an answer that changes state is expected (Kafka: immediate). */
const EAGER_HEARTBEAT_MS = 50;

function closedError(): BrokerError {
  return new BrokerError('BROKER_LIFECYCLE_CLOSED', 'broker lifecycle manager closed');
}
