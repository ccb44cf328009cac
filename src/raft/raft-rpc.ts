/**
 * The quorum's messages on the Kafka protocol, both ways, for one replica's driver.
 *
 * Outbound: a request the replica sends goes to the peer's channel (a NodeClient in
 * production) as the generated request at a fixed version (Brook nodes speak the same ones,
 * listed in `raftApiVersions`); the decoded answer comes back to the replica as a response
 * envelope carrying the request's correlation id. Failures and unusable answers are dropped:
 * to the replica they are a lost message, which it retries.
 *
 * Inbound: a controller handler calls `call(source, request)`; the request is delivered to the
 * replica under a local id and the promise resolves with the response the replica emits for
 * that id, or undefined after `inboundTimeoutMs` (held longer than any long-poll fetch).
 * Waiting calls are bounded by `inboundMax`.
 *
 * VoteResponse has no PreVote field: the outbound side remembers it from the request.
 */
import type { ApiDescriptor } from '../../protocol/generated/api-table.ts';
import { Apis } from '../../protocol/generated/api-table.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { isRequest, type RaftEnvelope, type RaftRequest, type RaftResponse } from './messages.ts';
import type { RaftDriver, RaftTransport } from './raft-driver.ts';
import * as codec from './transport-codec.ts';

/** The versions Brook nodes use with each other (KIP-996 pre-votes need Vote v2). */
export const raftApiVersions = {
  vote: 2,
  beginQuorumEpoch: 1,
  endQuorumEpoch: 1,
  fetch: 17,
  fetchSnapshot: 1,
  describeQuorum: 2,
} as const;

/** What the RPC layer needs of the driver. */
export type RaftDriverPort = Pick<RaftDriver, 'deliver' | 'stopped'>;

export interface PeerChannel {
  request<Req, Res>(api: ApiDescriptor<Req, Res>, version: number, body: Req): Promise<Res>;
}

export interface RaftRpcOptions {
  readonly nodeId: number;
  readonly peers: ReadonlyMap<number, PeerChannel>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly fetchMaxWaitMs: number;
  readonly inboundTimeoutMs: number;
  readonly inboundMax: number;
}

interface InboundCall {
  readonly resolve: (response: RaftResponse | undefined) => void;
  readonly timer: TimerHandle;
}

export class RaftRpc implements RaftTransport {
  readonly #options: RaftRpcOptions;
  #driver: RaftDriverPort | undefined;
  #inbound = new Map<number, InboundCall>();
  #nextInboundId = 1;

  constructor(options: RaftRpcOptions) {
    this.#options = options;
  }

  attach(driver: RaftDriverPort): void {
    this.#driver = driver;
  }

  /** Delivers a peer's request to the replica; resolves with its answer, if any in time. */
  call(source: number, message: RaftRequest): Promise<RaftResponse | undefined> {
    const driver = this.#driver;
    if (!driver || driver.stopped || this.#inbound.size >= this.#options.inboundMax) {
      return Promise.resolve(undefined);
    }
    const correlationId = this.#nextInboundId++;
    return new Promise((resolve) => {
      const timer = this.#options.clock.setTimer(this.#options.inboundTimeoutMs, () => {
        this.#inbound.delete(correlationId);
        resolve(undefined);
      });
      this.#inbound.set(correlationId, { resolve, timer });
      driver.deliver({ source, destination: this.#options.nodeId, correlationId, message });
    });
  }

  send(envelope: RaftEnvelope): void {
    const message = envelope.message;
    if (!isRequest(message)) {
      const call = this.#inbound.get(envelope.correlationId);
      if (!call) return;
      this.#inbound.delete(envelope.correlationId);
      call.timer.cancel();
      call.resolve(message);
      return;
    }
    const peer = this.#options.peers.get(envelope.destination);
    if (!peer) return;
    this.#outbound(peer, message).then(
      (response) => {
        if (!response) return;
        this.#driver?.deliver({
          source: envelope.destination,
          destination: this.#options.nodeId,
          correlationId: envelope.correlationId,
          message: response,
        });
      },
      (error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        this.#options.logger.debug({ peer: envelope.destination, reason }, 'raft request lost');
      },
    );
  }

  /** Stops waiting inbound calls (their handlers answer with a timeout error). */
  close(): void {
    for (const call of this.#inbound.values()) {
      call.timer.cancel();
      call.resolve(undefined);
    }
    this.#inbound.clear();
  }

  async #outbound(peer: PeerChannel, m: RaftRequest): Promise<RaftResponse | undefined> {
    const v = raftApiVersions;
    switch (m.type) {
      case 'vote-request': {
        const w = await peer.request(Apis.Vote, v.vote, codec.voteRequestToWire(m));
        return codec.voteResponseFromWire(w, m.preVote);
      }
      case 'begin-quorum-epoch-request': {
        const body = codec.beginQuorumEpochToWire(m);
        const w = await peer.request(Apis.BeginQuorumEpoch, v.beginQuorumEpoch, body);
        return codec.quorumEpochResponseFromWire('begin-quorum-epoch-response', w);
      }
      case 'end-quorum-epoch-request': {
        const body = codec.endQuorumEpochToWire(m);
        const w = await peer.request(Apis.EndQuorumEpoch, v.endQuorumEpoch, body);
        return codec.quorumEpochResponseFromWire('end-quorum-epoch-response', w);
      }
      case 'fetch-request': {
        const body = codec.fetchRequestToWire(m, this.#options.fetchMaxWaitMs, v.fetch);
        return codec.fetchResponseFromWire(await peer.request(Apis.Fetch, v.fetch, body));
      }
      case 'fetch-snapshot-request': {
        const body = codec.fetchSnapshotRequestToWire(m);
        const w = await peer.request(Apis.FetchSnapshot, v.fetchSnapshot, body);
        return codec.fetchSnapshotResponseFromWire(w);
      }
    }
  }
}
