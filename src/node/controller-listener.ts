/**
 * The CONTROLLER listener: the controller handler registry (src/handlers/controller) over a
 * KafkaServer, separate from the broker's client-facing listeners. Composed here once for
 * src/raft-node.ts and the broker's composition root.
 */
import type { ControllerServices } from '../handlers/controller/controller-services.ts';
import { controllerRegistry } from '../handlers/controller/index.ts';
import { ControlRegistry } from '../handlers/controls.ts';
import type { BrokerServices, Handler } from '../handlers/handler.ts';
import { KafkaServer } from '../server/kafka-server.ts';
import { RequestDispatcher, schemaRangeOf } from '../server/request-dispatcher.ts';
import type { Logger } from '../util/logger.ts';

export interface ControllerListenerOptions {
  readonly listenerName?: string;
  readonly host: string;
  /** 0: any free port (read it from `server.listen()`). */
  readonly port: number;
  readonly logger: Logger;
  /** What the handlers read; `apiVersions` is filled in from the registry. */
  readonly services: Omit<ControllerServices, 'apiVersions'>;
  /** Served in addition, for keys the controller registry does not serve (tests, tools). */
  readonly handlers?: readonly Handler[];
  /**
   * Serve the cluster-management APIs. Default: whether `services.controller` is set; a
   * listener bound before its controller exists (a getter) says so here.
   */
  readonly runsController?: boolean;
}

export function controllerListener(options: ControllerListenerOptions): KafkaServer {
  const registry = controllerRegistry(schemaRangeOf, {
    runsController: options.runsController ?? options.services.controller !== undefined,
  });
  for (const handler of options.handlers ?? []) {
    if (!registry.range(handler.apiKey)) registry.register(handler);
  }
  // Inherits from the given services rather than copying them, so a getter (a controller
  // started after the listener) is read on each request.
  const services: ControllerServices = Object.create(options.services, {
    apiVersions: { value: () => registry.apiVersions(), enumerable: true },
  });
  const clock = options.services.clock;
  return new KafkaServer({
    listenerName: options.listenerName ?? 'CONTROLLER',
    host: options.host,
    port: options.port,
    processor: new RequestDispatcher({
      registry,
      controls: new ControlRegistry(),
      // The controller handlers read only the members ControllerServices declares.
      services: services as unknown as BrokerServices,
      clock,
      logger: options.logger,
    }),
    limits: {
      frameSizeBytesMax: 100 * 1024 * 1024,
      inFlightMax: 64,
      idleMs: 600_000,
      connectionsMax: 256,
    },
    logger: options.logger,
    clock,
  });
}
