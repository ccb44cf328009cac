/**
 * NodeRuntime: what a node in cluster mode runs besides its data path, composed from its
 * BrokerConfig, for the composition root to pick up:
 *
 * - always its MetadataQuorum member (a voter, or an observer for a broker-only node);
 * - with `process.roles` holding `controller`: a ControllerRuntime over the quorum, fed by
 *   its committed stream, served on the controller listener (the listener named in
 *   `controller.listener.names`, at this voter's port);
 * - with `broker`: a ControllerChannel to the active controller, and factories for the
 *   ClusterMetadata forwarding options, the BrokerLifecycleManager (the broker's image and
 *   its readiness live in the data path, so the caller supplies them), the AlterPartition
 *   sender of partition leaders and the connections followers fetch over;
 * - always a MetadataSnapshotGenerator over the quorum: every node snapshots its own metadata
 *   log (`metadata.log.max.record.bytes.between.snapshots`), so the log stays short.
 *
 * A node with `controller` must be a voter and have a controller listener (BrokerError
 * `NODE_CONFIG` otherwise).
 */
import { Apis } from '../../protocol/generated/api-table.ts';
import type {
  AlterPartitionRequest,
  AlterPartitionResponse,
} from '../../protocol/generated/index.ts';
import type { FileSystem } from '../../storage/io/file-system.ts';
import type { BrokerConfig } from '../config/catalogue.ts';
import { advertisedListenersOf, listenersOf } from '../config/derived.ts';
import { ControllerRuntime } from '../controller/controller-runtime.ts';
import type { ControllerConfig } from '../controller/decision.ts';
import { DEFAULT_CONTROLLER_CONFIG } from '../controller/decision.ts';
import type { ControllerServices } from '../handlers/controller/controller-services.ts';
import type { Handler } from '../handlers/handler.ts';
import type { ForwardingOptions } from '../metadata/cluster-metadata.ts';
import type { MetadataImage } from '../metadata/metadata-image.ts';
import type { KafkaServer } from '../server/kafka-server.ts';
import type { Clock } from '../util/clock.ts';
import { BrokerError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import type { Random } from '../util/random.ts';
import { BrokerChannels, imageEndpoints } from './broker-channels.ts';
import { BrokerLifecycleManager, type RegisteredListener } from './broker-lifecycle.ts';
import { ControllerChannel, controllerChannelDefaults } from './controller-channel.ts';
import { controllerListener } from './controller-listener.ts';
import { MetadataQuorum } from './metadata-quorum.ts';
import { MetadataSnapshotGenerator } from './metadata-snapshots.ts';

export interface NodeRuntimeOptions {
  readonly config: BrokerConfig;
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly clusterId: string;
  /** Served on the controller listener where its registry serves no handler for the key. */
  readonly controllerHandlers?: readonly Handler[];
  /** The quorum stopped on a storage failure: restart from the disk. Default: log it. */
  readonly onFatal?: (error: Error) => void;
  /** Segment size of the metadata log (storage's default when absent). */
  readonly metadataSegmentBytes?: number;
}

export interface NodeRoles {
  readonly broker: boolean;
  readonly controller: boolean;
}

export function rolesOf(config: BrokerConfig): NodeRoles {
  const roles = config['process.roles'];
  return { broker: roles.includes('broker'), controller: roles.includes('controller') };
}

/** The controller's settings from the broker's config. */
export function controllerConfigOf(config: BrokerConfig, clusterId: string): ControllerConfig {
  return {
    ...DEFAULT_CONTROLLER_CONFIG,
    clusterId,
    brokerSessionTimeoutMs: config['broker.session.timeout.ms'],
    uncleanLeaderElectionEnable: config['unclean.leader.election.enable'],
    topicDefaults: {
      numPartitions: config['num.partitions'],
      replicationFactor: config['default.replication.factor'],
    },
  };
}

/** The listeners a broker registers: the advertised ones but the controller listeners. */
export function brokerListenersOf(config: BrokerConfig): RegisteredListener[] {
  const controllerNames = new Set(config['controller.listener.names'].map((n) => n.toUpperCase()));
  return advertisedListenersOf(config)
    .filter((l) => !controllerNames.has(l.name))
    .map((l) => ({ name: l.name, host: l.host, port: l.port }));
}

/** `inter.broker.listener.name`, else the first listener that is not a controller one. */
export function interBrokerListenerNameOf(config: BrokerConfig): string | undefined {
  const configured = config['inter.broker.listener.name'];
  if (configured) return configured.toUpperCase();
  return brokerListenersOf(config)[0]?.name;
}

export class NodeRuntime {
  readonly roles: NodeRoles;
  readonly quorum: MetadataQuorum;
  /** The controller, with the controller role. */
  readonly controller: ControllerRuntime | undefined;
  /** The controller listener, with the controller role. */
  readonly controllerServer: KafkaServer | undefined;
  /** The channel to the active controller, with the broker role. */
  readonly channel: ControllerChannel | undefined;
  /** Snapshots this node's metadata log. */
  readonly snapshots: MetadataSnapshotGenerator;
  readonly #options: NodeRuntimeOptions;
  #stopping: Promise<void> | undefined;

  private constructor(
    options: NodeRuntimeOptions,
    parts: {
      roles: NodeRoles;
      quorum: MetadataQuorum;
      controller: ControllerRuntime | undefined;
      controllerServer: KafkaServer | undefined;
      channel: ControllerChannel | undefined;
      snapshots: MetadataSnapshotGenerator;
    },
  ) {
    this.#options = options;
    this.roles = parts.roles;
    this.quorum = parts.quorum;
    this.controller = parts.controller;
    this.controllerServer = parts.controllerServer;
    this.channel = parts.channel;
    this.snapshots = parts.snapshots;
  }

  static async start(options: NodeRuntimeOptions): Promise<NodeRuntime> {
    const { config, clock, random, logger, clusterId } = options;
    const nodeId = config['node.id'];
    const roles = rolesOf(config);
    const controllerEndpoint = roles.controller ? controllerEndpointOf(config) : undefined;
    const quorum = await MetadataQuorum.start({
      config,
      fs: options.fs,
      clock,
      random,
      logger,
      clusterId,
      onFatal: options.onFatal,
      segmentBytes: options.metadataSegmentBytes,
    });
    if (roles.controller && !quorum.isVoter) {
      await quorum.stop();
      throw new BrokerError('NODE_CONFIG', `node ${nodeId} has the controller role: not a voter`);
    }
    let controller: ControllerRuntime | undefined;
    let controllerServer: KafkaServer | undefined;
    if (controllerEndpoint) {
      const runtime = new ControllerRuntime({
        nodeId,
        clock,
        random,
        logger: logger.child({ component: 'controller' }),
        config: controllerConfigOf(config, clusterId),
        log: quorum,
      });
      controller = runtime;
      quorum.addListener({
        onCommitted: (batch) => runtime.handleCommitted(batch),
        onLeaderChange: (leader, nextOffset) => runtime.handleLeaderChange(leader, nextOffset),
      });
      // `controller` and `config` for the controller handlers of the broker APIs.
      const services = { nodeId, clock, config, raft: quorum.controllerRaft, controller: runtime };
      controllerServer = controllerListener({
        listenerName: controllerEndpoint.name,
        host: controllerEndpoint.host,
        port: controllerEndpoint.port,
        logger,
        services: services as Omit<ControllerServices, 'apiVersions'>,
        handlers: options.controllerHandlers,
      });
      try {
        await controllerServer.listen();
      } catch (error) {
        runtime.close();
        await quorum.stop();
        throw error;
      }
    }
    const channel = roles.broker
      ? new ControllerChannel({
          ...controllerChannelDefaults,
          nodeId,
          voters: quorum.voters,
          leaderId: () => quorum.leader().leaderId,
          clock,
          random,
          logger: logger.child({ component: 'controller-channel' }),
          requestTimeoutMs: config['controller.quorum.request.timeout.ms'],
        })
      : undefined;
    const snapshots = new MetadataSnapshotGenerator({
      quorum,
      clock,
      logger: logger.child({ component: 'metadata-snapshots' }),
      maxBytesBetweenSnapshots: config['metadata.log.max.record.bytes.between.snapshots'],
      maxIntervalMs: config['metadata.log.max.snapshot.interval.ms'],
    });
    logger.info({ nodeId, roles }, 'node runtime started');
    return new NodeRuntime(options, {
      roles,
      quorum,
      controller,
      controllerServer,
      channel,
      snapshots,
    });
  }

  /** ClusterMetadata's cluster mode, over this node's channel. */
  forwarding(brokerEpoch: () => number, catchUpTimeoutMs = 30_000): ForwardingOptions {
    const channel = this.#channel();
    return {
      channel,
      controllerId: () => this.quorum.leader().leaderId,
      brokerEpoch,
      clock: this.#options.clock,
      catchUpTimeoutMs,
      requestTimeoutMs: controllerChannelDefaults.callTimeoutMs,
    };
  }

  /** The broker's lifecycle manager (not started): registration from the config. */
  lifecycle(broker: {
    readonly metadataOffset: () => number;
    readonly readyToUnfence?: () => boolean;
  }): BrokerLifecycleManager {
    const { config, clock, random, logger, clusterId } = this.#options;
    return new BrokerLifecycleManager({
      nodeId: config['node.id'],
      clusterId,
      channel: this.#channel(),
      clock,
      random,
      logger: logger.child({ component: 'broker-lifecycle' }),
      listeners: () => brokerListenersOf(config),
      rack: config['broker.rack'] ?? null,
      logDirs: [],
      heartbeatIntervalMs: config['broker.heartbeat.interval.ms'],
      metadataOffset: broker.metadataOffset,
      readyToUnfence: broker.readyToUnfence,
    });
  }

  /**
   * AlterPartition v3 to the active controller (the leader side's AlterPartitionSender,
   * src/replication). A channel that gives up rejects; the leader retries on its schedule.
   */
  alterPartitionSender(): {
    send(request: AlterPartitionRequest): Promise<AlterPartitionResponse>;
  } {
    const channel = this.#channel();
    return { send: (request) => channel.send(Apis.AlterPartition, 3, request) };
  }

  /**
   * Connections to the other brokers at their registered endpoints on the inter-broker
   * listener (the follower side's `channelFor`); `image` is the broker's current image.
   */
  brokerChannels(image: () => MetadataImage): BrokerChannels {
    const { config, clock, logger } = this.#options;
    const listener = interBrokerListenerNameOf(config);
    if (!listener) throw new BrokerError('NODE_CONFIG', 'no inter-broker listener');
    return new BrokerChannels({
      nodeId: config['node.id'],
      clock,
      logger: logger.child({ component: 'broker-channels' }),
      endpointOf: imageEndpoints(image, listener),
      requestTimeoutMs: config['replica.socket.timeout.ms'],
    });
  }

  /** Stops the channel, the snapshots, the controller, the quorum and the controller listener. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.channel?.close();
      this.snapshots.close();
      this.controller?.close();
      await this.quorum.stop();
      await this.controllerServer?.stop(1_000);
    })();
    return this.#stopping;
  }

  #channel(): ControllerChannel {
    if (!this.channel) throw new BrokerError('NODE_CONFIG', 'this node has no broker role');
    return this.channel;
  }
}

function controllerEndpointOf(config: BrokerConfig) {
  const names = config['controller.listener.names'].map((n) => n.toUpperCase());
  const listener = listenersOf(config).find((l) => names.includes(l.name));
  if (!listener) {
    throw new BrokerError(
      'NODE_CONFIG',
      `the controller role needs a listener named in controller.listener.names (${names})`,
    );
  }
  return listener;
}
