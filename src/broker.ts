/**
 * One broker instance: configuration, logger, handler registry, test controls, and a server
 * per listener. Later layers (storage, metadata image, groups) plug in here. Many brokers can
 * run in one process; nothing here is global.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { LogCleaner } from '../storage/cleaner/log-cleaner.ts';
import type { FileSystem } from '../storage/io/file-system.ts';
import { NodeFileSystem } from '../storage/io/node-file-system.ts';
import type { BrokerConfig } from './config/catalogue.ts';
import { advertisedListenersOf, listenersOf, quorumVotersOf } from './config/derived.ts';
import type { Listener } from './config/listeners.ts';
import { startBrokerGroups } from './coordinator/group/broker-groups.ts';
import type { GroupService } from './coordinator/group/group-service.ts';
import type { ControlFn, ControlHandle, ControlOptions } from './handlers/controls.ts';
import { ControlRegistry } from './handlers/controls.ts';
import type { BrokerServices, DataServices, Handler } from './handlers/handler.ts';
import { builtinHandlers } from './handlers/index.ts';
import type { BrokerEndpoint, MetadataView } from './handlers/metadata-view.ts';
import { HandlerRegistry } from './handlers/registry.ts';
import { loadOrFormat } from './metadata/meta-properties.ts';
import type { BrokerLifecycleManager } from './node/broker-lifecycle.ts';
import { openClusterDataPath } from './node/cluster-data-path.ts';
import { NodeRuntime } from './node/node-runtime.ts';
import { type DataPath, type DataPathOptions, openDataPath } from './replication/data-path.ts';
import { startLogCleaning } from './replication/log-cleaning.ts';
import { bufferedChunkWriter, type ReadAt, type WriteChunks } from './server/chunk-writer.ts';
import { KafkaServer } from './server/kafka-server.ts';
import { RequestDispatcher, schemaRangeOf } from './server/request-dispatcher.ts';
import { sendfileChunkWriter } from './server/sendfile-chunk-writer.ts';
import { type Clock, SystemClock } from './util/clock.ts';
import { BrokerError } from './util/errors.ts';
import { type Logger, silentLogger } from './util/logger.ts';
import { type Random, systemRandom } from './util/random.ts';

export interface BrokerOptions {
  readonly config: BrokerConfig;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /**
   * How responses reach sockets. Default on the real file system: `sendfileChunkWriter()`
   * (zero-copy file regions, falling back to pooled reads without the addon); with a custom
   * `fileSystem` (whose descriptors are not the kernel's): regions read through it.
   */
  readonly writeChunks?: WriteChunks;
  /** The file system file regions are read through by the default writer. */
  readonly fileSystem?: FileSystem;
  /** Randomness for ids (cluster, topics); default: seeded from the system. */
  readonly random?: Random;
  /** Handlers to serve; default: every built-in handler. */
  readonly handlers?: readonly Handler[];
  /**
   * The node cannot go on (cluster mode: its metadata log failed, or its image no longer
   * follows the log) and must restart from its disk. Default: log it and stop the broker.
   */
  readonly onFatal?: (error: Error) => void;
}

export interface BoundListener extends Listener {
  /** The address clients are told (advertised.listeners, else the bound one). */
  readonly advertised: { readonly host: string; readonly port: number };
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export class Broker {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly registry: HandlerRegistry;
  readonly controls = new ControlRegistry();
  #options: BrokerOptions;
  #servers: KafkaServer[] = [];
  #listeners: BoundListener[] = [];
  #data: DataPath | undefined;
  #groups: GroupService | undefined;
  #cleaner: LogCleaner | undefined;
  #node: NodeRuntime | undefined;
  #lifecycle: BrokerLifecycleManager | undefined;
  #clusterId: string | undefined;
  #endpointMap = new Map<string, BrokerEndpoint>();
  #state: State = 'new';

  constructor(options: BrokerOptions) {
    this.#options = options;
    this.config = options.config;
    this.logger = options.logger ?? silentLogger();
    this.clock = options.clock ?? new SystemClock();
    this.registry = new HandlerRegistry(schemaRangeOf);
    for (const handler of options.handlers ?? builtinHandlers) this.registry.register(handler);
  }

  get nodeId(): number {
    return this.config['node.id'];
  }

  /** Listeners with their bound ports; empty before start() resolves. */
  get listeners(): readonly BoundListener[] {
    return this.#listeners;
  }

  get metadata(): MetadataView {
    return this.data.cluster;
  }

  /** Topics, partitions and logs (src/replication/data-path.ts); set once start() runs. */
  get data(): DataPath {
    if (!this.#data) throw new Error('Broker.data read before start()');
    return this.#data;
  }

  /** Consumer groups and committed offsets; set once start() runs. */
  get groups(): GroupService {
    if (!this.#groups) throw new Error('Broker.groups read before start()');
    return this.#groups;
  }

  /** The cluster id (kept in meta.properties); known once start() resolves. */
  get clusterId(): string {
    return this.#clusterId ?? this.data.clusterId;
  }

  /** Intercept requests of one API key (see handlers/controls.ts). */
  control<Request = unknown>(
    apiKey: number,
    fn: ControlFn<Request>,
    options?: ControlOptions,
  ): ControlHandle {
    return this.controls.add(apiKey, fn, options);
  }

  /** The cluster-mode runtime (quorum member, controller); undefined on a single node. */
  get node(): NodeRuntime | undefined {
    return this.#node;
  }

  /** This broker's registration with the controller (cluster mode with the broker role). */
  get lifecycle(): BrokerLifecycleManager | undefined {
    return this.#lifecycle;
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`Broker.start() in state ${this.#state}`);
    this.#state = 'starting';
    const fileSystem = this.#options.fileSystem ?? new NodeFileSystem();
    if (quorumVotersOf(this.config).length > 0) {
      try {
        await this.#startClusterNode(fileSystem);
      } catch (error) {
        await this.#closeAll();
        this.#state = 'stopped';
        throw error;
      }
      this.#state = 'running';
      return;
    }
    const random = this.#options.random ?? systemRandom();
    this.#data = await openDataPath(this.#dataPathOptions(fileSystem, random)).catch(
      (error: unknown) => {
        this.#state = 'stopped';
        throw error;
      },
    );
    const dispatcher = await this.#serveData(this.#data, fileSystem, random);
    try {
      await this.#listen(dispatcher, fileSystem, listenersOf(this.config));
    } catch (error) {
      await this.#closeAll();
      this.#state = 'stopped';
      throw error;
    }
    this.#state = 'running';
  }

  /**
   * Cluster mode: the node runtime first (its controller listener must be up for the quorum
   * to form), then with the broker role the data path over it, groups, the client
   * listeners, registration; resolves once the controller has unfenced this broker.
   */
  async #startClusterNode(fileSystem: FileSystem): Promise<void> {
    const clusterId = this.config['cluster.id'];
    if (clusterId === null) {
      throw new BrokerError(
        'CLUSTER_ID_REQUIRED',
        'cluster mode (controller.quorum.voters set) needs cluster.id, the same on every node',
      );
    }
    const random = this.#options.random ?? systemRandom();
    const firstDir = resolve(this.config['log.dirs'][0] as string);
    await fileSystem.mkdir(firstDir);
    await loadOrFormat(fileSystem, firstDir, { clusterId, nodeId: this.nodeId, random });
    this.#clusterId = clusterId;
    const onFatal = (error: Error): void => this.#fatal(error);
    this.#node = await NodeRuntime.start({
      config: this.config,
      fs: fileSystem,
      clock: this.clock,
      random,
      logger: this.logger,
      clusterId,
      onFatal,
    });
    const controllerServer = this.#node.controllerServer;
    if (controllerServer) {
      const address = controllerServer.address;
      const listener = listenersOf(this.config).find((l) => l.port === address.port);
      if (listener) this.#listeners.push({ ...listener, advertised: address });
    }
    if (!this.#node.roles.broker) return;
    const data = await openClusterDataPath({
      ...this.#dataPathOptions(fileSystem, random),
      node: this.#node,
      clusterId,
      onFatal,
    });
    this.#data = data;
    this.#lifecycle = data.lifecycle;
    const dispatcher = await this.#serveData(data, fileSystem, random);
    const controllerNames = new Set(
      this.config['controller.listener.names'].map((n) => n.toUpperCase()),
    );
    const clientListeners = listenersOf(this.config).filter((l) => !controllerNames.has(l.name));
    await this.#listen(dispatcher, fileSystem, clientListeners);
    data.lifecycle.start();
    await data.lifecycle.whenUnfenced();
    // Replicas were hosted when the caught-up image was applied, which may have been before
    // any later image event: let the group coordinator take the partitions it now leads.
    this.groups.leadershipChanged();
    this.logger.info({ brokerEpoch: data.lifecycle.brokerEpoch }, 'broker registered and unfenced');
  }

  #dataPathOptions(fileSystem: FileSystem, random: Random): DataPathOptions {
    return {
      config: this.config,
      fs: fileSystem,
      clock: this.clock,
      random,
      logger: this.logger,
      endpoints: () => this.#endpointMap,
    };
  }

  /**
   * What serves a data path in both modes: the group coordinators, the request dispatcher
   * (its codecs loaded) and the log cleaners. Listening is left to the caller.
   */
  async #serveData(
    data: DataPath,
    fileSystem: FileSystem,
    random: Random,
  ): Promise<RequestDispatcher> {
    this.#groups = startBrokerGroups({
      data,
      fs: fileSystem,
      config: this.config,
      clock: this.clock,
      random,
      logger: this.logger,
    });
    const dispatcher = new RequestDispatcher({
      registry: this.registry,
      controls: this.controls,
      services: this.#services(),
      clock: this.clock,
      logger: this.logger,
    });
    // The codecs of the served APIs load on demand; have them all before the first client.
    await dispatcher.ready();
    this.#cleaner = await startLogCleaning({
      replicas: data.replicas,
      logDirs: this.config['log.dirs'].map((dir) => resolve(dir)),
      fs: fileSystem,
      clock: this.clock,
      config: this.config,
      logger: this.logger.child({ component: 'log-cleaner' }),
    });
    return dispatcher;
  }

  async #listen(
    dispatcher: RequestDispatcher,
    fileSystem: FileSystem,
    listeners: readonly Listener[],
  ): Promise<void> {
    const writeChunks =
      this.#options.writeChunks ??
      (this.#options.fileSystem
        ? bufferedChunkWriter(readAtOf(fileSystem))
        : sendfileChunkWriter());
    const bound: BoundListener[] = [];
    for (const listener of listeners) {
      const server = new KafkaServer({
        listenerName: listener.name,
        host: listener.host,
        port: listener.port,
        processor: dispatcher,
        limits: {
          frameSizeBytesMax: this.config['socket.request.max.bytes'],
          inFlightMax: this.config['queued.max.requests'],
          idleMs: this.config['connections.max.idle.ms'],
          connectionsMax: this.config['max.connections'],
        },
        logger: this.logger.child({ listener: listener.name }),
        clock: this.clock,
        writeChunks,
      });
      const address = await server.listen();
      this.#servers.push(server);
      bound.push({ ...listener, port: address.port, advertised: address });
    }
    // Client listeners first: `bootstrap` and clients use the first one.
    this.#listeners = [...this.#advertise(bound), ...this.#listeners];
    this.#endpointMap = this.#endpoints();
  }

  #fatal(error: Error): void {
    if (this.#options.onFatal) {
      this.#options.onFatal(error);
      return;
    }
    this.logger.fatal({ err: error }, 'broker stopping: restart it from its disk');
    void this.stop(0);
  }

  /** Closes whatever start() opened, in reverse order (a failed start, or stop()). */
  async #closeAll(graceMs = 0): Promise<void> {
    // Long-polling fetches answer now rather than hold the graceful stop for their wait.
    this.#data?.replicas.purgatory.close();
    // acks=-1 produces waiting for followers answer now (NOT_LEADER_OR_FOLLOWER: the client
    // retries on the next leader) instead of holding the drain for their timeout.
    this.#data?.replicas.delayedProduce.close();
    // Closing the group coordinator while the servers drain answers the JoinGroup/SyncGroup
    // requests it holds (NOT_COORDINATOR), so they do not keep the stop waiting.
    await Promise.all([...this.#servers.map((s) => s.stop(graceMs)), this.#groups?.close()]);
    await this.#cleaner?.stop();
    await this.#data?.close();
    await this.#node?.stop();
  }

  /** Graceful: stop accepting, answer what was received, close. Idempotent. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return;
    this.#state = 'stopping';
    // Cluster mode: hand leaderships over before going (Kafka's controlled shutdown), so
    // clients move to the new leaders instead of timing out on this one.
    if (this.#lifecycle && this.config['controlled.shutdown.enable'] && graceMs > 0) {
      await this.#lifecycle.controlledShutdown(graceMs).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'controlled shutdown did not complete');
      });
    }
    await this.#closeAll(graceMs);
    this.#state = 'stopped';
  }

  #services(): BrokerServices {
    // Handlers run only once start() has bound the listeners and built the view.
    const metadataOf = (): MetadataView => this.metadata;
    const dataOf = (): DataServices => this.data;
    const groupsOf = (): GroupService => this.groups;
    return {
      config: this.config,
      nodeId: this.nodeId,
      clock: this.clock,
      get metadata(): MetadataView {
        return metadataOf();
      },
      get data(): DataServices {
        return dataOf();
      },
      get groups(): GroupService {
        return groupsOf();
      },
      apiVersions: () => this.registry.apiVersions(),
    };
  }

  /** Advertised address per listener: configured, else bound (a wildcard bind -> hostname). */
  #advertise(bound: readonly BoundListener[]): BoundListener[] {
    const configured =
      this.config['advertised.listeners'] === null ? undefined : advertisedListenersOf(this.config);
    return bound.map((listener) => {
      const explicit = configured?.find((a) => a.name === listener.name);
      if (explicit)
        return { ...listener, advertised: { host: explicit.host, port: explicit.port } };
      const wildcard =
        listener.host === '' || listener.host === '0.0.0.0' || listener.host === '::';
      return {
        ...listener,
        advertised: { host: wildcard ? hostname() : listener.host, port: listener.port },
      };
    });
  }

  #endpoints(): Map<string, BrokerEndpoint> {
    const rack = this.config['broker.rack'];
    return new Map(
      this.#listeners.map((l) => [
        l.name,
        { nodeId: this.nodeId, host: l.advertised.host, port: l.advertised.port, rack },
      ]),
    );
  }
}

/** Positional reads of exactly `length` bytes through storage's FileSystem. */
function readAtOf(fileSystem: FileSystem): ReadAt {
  return async (fd, position, length) => {
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = await fileSystem.read(fd, buffer.subarray(done), position + done);
      if (n === 0) break;
      done += n;
    }
    return buffer.subarray(0, done);
  };
}
