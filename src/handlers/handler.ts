/**
 * The contract between the request path and the code that answers one API. A handler file
 * (`NN-name.ts`, NN = API key) exports one Handler; the registry collects them, and the broker's
 * ApiVersions answer is derived from what registered.
 */
import type { BrokerConfig } from '../config/catalogue.ts';
import type { GroupService } from '../coordinator/group/group-service.ts';
import type { ClusterMetadata } from '../metadata/cluster-metadata.ts';
import type { ReplicaManager } from '../replication/replica-manager.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { MetadataView } from './metadata-view.ts';

/** The data path: cluster metadata (its controller on one node) and hosted partitions. */
export interface DataServices {
  readonly cluster: ClusterMetadata;
  readonly replicas: ReplicaManager;
}

/** Everything about the request except its body. */
export interface RequestContext {
  readonly apiKey: number;
  readonly version: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  /** The listener the request arrived on (advertised endpoints are per listener). */
  readonly listenerName: string;
  readonly remoteAddress: string;
  readonly connectionId: number;
  readonly logger: Logger;
  readonly services: BrokerServices;
}

/** What handlers may use of the broker; grows as the broker does (storage, groups, ...). */
export interface BrokerServices {
  readonly config: BrokerConfig;
  readonly nodeId: number;
  readonly clock: Clock;
  readonly metadata: MetadataView;
  /**
   * Consumer groups and committed offsets (the classic group coordinator over
   * __consumer_offsets); absent when the broker runs without one, which the group APIs
   * answer with COORDINATOR_NOT_AVAILABLE.
   */
  readonly groups?: GroupService;
  /**
   * Topics and partitions (src/metadata ClusterMetadata, src/replication ReplicaManager);
   * absent only in tests of handlers that need no storage.
   */
  readonly data?: DataServices;
  /** The API ranges this broker serves, derived from the handler registry. */
  apiVersions(): readonly ApiVersionRange[];
}

export interface ApiVersionRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

export interface Handler<Request = unknown, Response = unknown> {
  readonly apiKey: number;
  /** Versions this handler serves; the registry intersects them with the schema's. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The response, or null for none (Produce with acks=0). */
  handle(
    ctx: RequestContext,
    request: Request,
    version: number,
  ): Response | null | Promise<Response | null>;
  /**
   * A response that reports `errorCode` wherever this API reports errors (every partition of
   * a Produce, the top level of most others). Used by test controls that inject an error;
   * without it the registry sets a top-level `errorCode` field if the response has one.
   */
  errorResponse?(request: Request, version: number, errorCode: number): Response;
}

/**
 * Erases a handler's message types so handlers of every API fit one table. The dispatcher
 * only ever passes a handler the request its own API's codec decoded.
 */
export function defineHandler<Request, Response>(
  handler: Handler<Request, Response>,
): Handler<unknown, unknown> {
  return handler as unknown as Handler<unknown, unknown>;
}
