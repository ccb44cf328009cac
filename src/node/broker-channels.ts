/**
 * BrokerChannels: a broker's connections to the other brokers (follower fetches go to each
 * partition leader's inter-broker listener). One NodeClient per broker id, created on first
 * use at the endpoint the metadata image registers for it; replaced when the registration
 * moves it (a restarted broker on another port), closed by `close()`.
 */
import type { MetadataImage } from '../metadata/metadata-image.ts';
import { NodeClient, nodeClientDefaults } from '../server/node-client.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';

export interface BrokerEndpointAddress {
  readonly host: string;
  readonly port: number;
}

export interface BrokerChannelsOptions {
  readonly nodeId: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where broker `id` listens for other brokers now; undefined when unknown. */
  readonly endpointOf: (brokerId: number) => BrokerEndpointAddress | undefined;
  /** replica.socket.timeout.ms: longer than any fetch parks at the leader. */
  readonly requestTimeoutMs: number;
  readonly queuedMax?: number;
}

/** Endpoints on `listenerName` from the broker registrations of the current image. */
export function imageEndpoints(
  image: () => MetadataImage,
  listenerName: string,
): (brokerId: number) => BrokerEndpointAddress | undefined {
  return (brokerId) => {
    const endpoint = image().broker(brokerId)?.endpoints.get(listenerName);
    return endpoint ? { host: endpoint.host, port: endpoint.port } : undefined;
  };
}

export class BrokerChannels {
  readonly #options: BrokerChannelsOptions;
  readonly #clients = new Map<number, { readonly client: NodeClient; readonly endpoint: string }>();
  #closed = false;

  constructor(options: BrokerChannelsOptions) {
    this.#options = options;
  }

  /** The client for broker `brokerId`, or undefined when it has no known endpoint. */
  channelFor(brokerId: number): NodeClient | undefined {
    if (this.#closed || brokerId === this.#options.nodeId) return undefined;
    const address = this.#options.endpointOf(brokerId);
    if (!address) return undefined;
    const endpoint = `${address.host}:${address.port}`;
    const current = this.#clients.get(brokerId);
    if (current?.endpoint === endpoint) return current.client;
    // Requests in flight to the old endpoint fail: their callers retry at the new one.
    current?.client.close();
    const client = new NodeClient({
      ...nodeClientDefaults,
      host: address.host,
      port: address.port,
      clientId: `broker-${this.#options.nodeId}`,
      clock: this.#options.clock,
      logger: this.#options.logger.child({ peer: brokerId }),
      requestTimeoutMs: this.#options.requestTimeoutMs,
      queuedMax: this.#options.queuedMax ?? nodeClientDefaults.queuedMax,
    });
    this.#clients.set(brokerId, { client, endpoint });
    return client;
  }

  close(): void {
    this.#closed = true;
    for (const { client } of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}
