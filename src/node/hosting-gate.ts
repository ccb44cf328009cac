/**
 * The catch-up gate of a broker's ReplicaManager in cluster mode. Until the image holds this
 * broker's own registration (so every record before it), an image may be a prefix of the
 * log: applying it would delete the logs of topics it does not show yet. Kafka's broker waits
 * for the same catch-up before its ReplicaManager starts. The registration may reach the image
 * before its answer gives us the epoch, so the check runs on each image and again when the
 * lifecycle asks whether it may be unfenced. Images are applied one at a time, in order.
 */
import type { MetadataImage } from '../metadata/metadata-image.ts';
import type { ReplicaManager } from '../replication/replica-manager.ts';
import type { Logger } from '../util/logger.ts';

export interface HostingGateOptions {
  readonly nodeId: number;
  /** The broker epoch, -1 until registered. */
  readonly brokerEpoch: () => number;
  readonly replicas: Pick<ReplicaManager, 'applyImage'>;
  readonly logger?: Logger;
}

export class HostingGate {
  readonly #o: HostingGateOptions;
  #caughtUp = false;
  #hosting = false;
  #applied: Promise<void> = Promise.resolve();

  constructor(options: HostingGateOptions) {
    this.#o = options;
  }

  /** True once the replicas follow a caught-up image (the broker may be unfenced). */
  get hosting(): boolean {
    return this.#hosting;
  }

  /** ClusterMetadata's image listener: hosts `image` once caught up, in order. */
  async onImage(image: MetadataImage): Promise<void> {
    if (this.#caughtUp) await this.#host(image);
    else await this.catchUp(image);
  }

  /** Starts hosting `image` if it is the first caught-up one; undefined otherwise. */
  catchUp(image: MetadataImage): Promise<void> | undefined {
    if (this.#caughtUp || !this.#holdsOwnRegistration(image)) return undefined;
    this.#caughtUp = true;
    this.#o.logger?.info({ metadataOffset: image.offset }, 'metadata caught up: hosting replicas');
    return this.#host(image).then(() => {
      this.#hosting = true;
    });
  }

  #holdsOwnRegistration(image: MetadataImage): boolean {
    const epoch = this.#o.brokerEpoch();
    return epoch >= 0 && image.offset >= epoch && image.broker(this.#o.nodeId)?.epoch === epoch;
  }

  #host(image: MetadataImage): Promise<void> {
    this.#applied = this.#applied.then(() => this.#o.replicas.applyImage(image));
    return this.#applied;
  }
}
