/**
 * ControllerChannel: a broker's requests to the active controller (Kafka's
 * NodeToControllerChannelManager). The active controller is the quorum's leader; on a node
 * without a view of the quorum (none given, or the leader unknown) the voters are tried in
 * turn. One NodeClient per voter, created on first use, at the voter's endpoint in
 * `controller.quorum.voters` (its controller listener).
 *
 * A call is retried, with exponential backoff jittered by the injected Random, while it fails
 * with a disconnect, a timeout, or an answer saying NOT_CONTROLLER (the leader moved, or has
 * not yet taken office), until the call's deadline: then it rejects with BrokerError
 * `CONTROLLER_UNAVAILABLE` carrying the last failure as its cause. Calls in progress are
 * bounded: beyond `inFlightMax` a call rejects at once with `CONTROLLER_CHANNEL_FULL`.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import type { ApiDescriptor } from '../../protocol/generated/api-table.ts';
import { NodeClient, nodeClientDefaults } from '../server/node-client.ts';
import type { Clock } from '../util/clock.ts';
import { BrokerError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import type { Random } from '../util/random.ts';
import type { VoterEndpoint } from './metadata-quorum.ts';

export interface ControllerChannelOptions {
  readonly nodeId: number;
  readonly voters: ReadonlyMap<number, VoterEndpoint>;
  /** The quorum leader's id, -1 when unknown; absent on a node without a quorum view. */
  readonly leaderId?: () => number;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** One attempt's timeout (the NodeClient's request timeout). */
  readonly requestTimeoutMs: number;
  /** A call's deadline unless the call names its own. */
  readonly callTimeoutMs: number;
  readonly backoffMsMin: number;
  readonly backoffMsMax: number;
  readonly inFlightMax: number;
}

export const controllerChannelDefaults = {
  requestTimeoutMs: 5_000,
  callTimeoutMs: 30_000,
  backoffMsMin: 50,
  backoffMsMax: 1_000,
  inFlightMax: 1_024,
} as const;

export interface SendOptions<Res> {
  /** This call's deadline from now; default `callTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Whether an answer means "not the controller, ask again". Default: `saysNotController`. */
  readonly retriable?: (response: Res) => boolean;
}

/**
 * NOT_CONTROLLER at the top level of a response, or in any entry of one of its top-level
 * arrays (CreateTopics, DeleteTopics, CreatePartitions and IncrementalAlterConfigs answer per
 * topic or resource).
 */
export function saysNotController(response: unknown): boolean {
  if (typeof response !== 'object' || response === null) return false;
  const fields = response as Record<string, unknown>;
  if (fields.errorCode === ErrorCode.NOT_CONTROLLER) return true;
  for (const value of Object.values(fields)) {
    if (!Array.isArray(value)) continue;
    for (const item of value) {
      const code = (item as { errorCode?: unknown } | null)?.errorCode;
      if (code === ErrorCode.NOT_CONTROLLER) return true;
    }
  }
  return false;
}

export class ControllerChannel {
  readonly #options: ControllerChannelOptions;
  readonly #voterIds: readonly number[];
  readonly #clients = new Map<number, NodeClient>();
  #nextVoter = 0;
  #inFlight = 0;
  #closed = false;

  constructor(options: ControllerChannelOptions) {
    if (options.voters.size === 0) {
      throw new BrokerError('CONTROLLER_NO_VOTERS', 'controller.quorum.voters is empty');
    }
    this.#options = options;
    this.#voterIds = [...options.voters.keys()].sort((a, b) => a - b);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Sends to the active controller, retrying as the header says. */
  async send<Req, Res>(
    api: ApiDescriptor<Req, Res>,
    version: number,
    body: Req,
    options: SendOptions<Res> = {},
  ): Promise<Res> {
    if (this.#closed) throw new BrokerError('CONTROLLER_CHANNEL_CLOSED', 'channel closed');
    if (this.#inFlight >= this.#options.inFlightMax) {
      throw new BrokerError(
        'CONTROLLER_CHANNEL_FULL',
        `${this.#inFlight} controller requests already in progress`,
      );
    }
    this.#inFlight++;
    try {
      return await this.#attempts(api, version, body, options);
    } finally {
      this.#inFlight--;
    }
  }

  /** Closes every connection; calls in progress reject. */
  close(): void {
    this.#closed = true;
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }

  async #attempts<Req, Res>(
    api: ApiDescriptor<Req, Res>,
    version: number,
    body: Req,
    options: SendOptions<Res>,
  ): Promise<Res> {
    const { clock, logger } = this.#options;
    const retriable = options.retriable ?? saysNotController;
    const deadline = clock.monotonicMs() + (options.timeoutMs ?? this.#options.callTimeoutMs);
    let lastFailure: unknown;
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new BrokerError('CONTROLLER_CHANNEL_CLOSED', 'channel closed');
      const target = this.#target();
      try {
        const response = await this.#client(target).request(api, version, body);
        if (!retriable(response)) return response;
        lastFailure = new BrokerError('NOT_CONTROLLER', `node ${target} is not the controller`);
      } catch (error) {
        if (this.#closed) throw new BrokerError('CONTROLLER_CHANNEL_CLOSED', 'channel closed');
        lastFailure = error;
      }
      // Without a leader to follow, the next attempt goes to the next voter.
      this.#nextVoter++;
      const delayMs = this.#backoffMs(attempt);
      if (clock.monotonicMs() + delayMs >= deadline) break;
      logger.debug({ api: api.name, target, attempt, delayMs }, 'controller request retried');
      await new Promise<void>((resolve) => clock.setTimer(delayMs, resolve));
    }
    const reason = lastFailure instanceof Error ? lastFailure.message : String(lastFailure);
    throw new BrokerError('CONTROLLER_UNAVAILABLE', `${api.name}: no controller answered`, {
      cause: lastFailure ?? reason,
    });
  }

  #target(): number {
    const leader = this.#options.leaderId?.() ?? -1;
    if (leader >= 0 && this.#options.voters.has(leader)) return leader;
    return this.#voterIds[this.#nextVoter % this.#voterIds.length] as number;
  }

  #backoffMs(attempt: number): number {
    const { backoffMsMin, backoffMsMax, random } = this.#options;
    const base = Math.min(backoffMsMax, backoffMsMin * 2 ** Math.min(attempt, 20));
    // Jitter keeps brokers that lost the same controller from retrying in lockstep.
    return Math.round(base * (0.5 + random.next() / 2));
  }

  #client(id: number): NodeClient {
    let client = this.#clients.get(id);
    if (!client) {
      const endpoint = this.#options.voters.get(id) as VoterEndpoint;
      client = new NodeClient({
        ...nodeClientDefaults,
        ...endpoint,
        clientId: `broker-${this.#options.nodeId}`,
        clock: this.#options.clock,
        logger: this.#options.logger.child({ controller: id }),
        requestTimeoutMs: this.#options.requestTimeoutMs,
        queuedMax: this.#options.inFlightMax,
      });
      this.#clients.set(id, client);
    }
    return client;
  }
}
