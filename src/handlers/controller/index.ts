/**
 * The controller listener's handlers: the quorum's own APIs, plus ApiVersions so that Kafka's
 * tools (kafka-metadata-quorum) can talk to it. Separate from src/handlers/index.ts, the
 * broker's client-facing list.
 */
import { apiVersionsHandler } from '../18-api-versions.ts';
import type { Handler } from '../handler.ts';
import { HandlerRegistry } from '../registry.ts';
import { controllerFetchHandler } from './01-fetch.ts';
import { controllerVoteHandler } from './52-vote.ts';
import { controllerBeginQuorumEpochHandler } from './53-begin-quorum-epoch.ts';
import { controllerEndQuorumEpochHandler } from './54-end-quorum-epoch.ts';
import { controllerDescribeQuorumHandler } from './55-describe-quorum.ts';
import { controllerFetchSnapshotHandler } from './59-fetch-snapshot.ts';

export const controllerHandlers: readonly Handler[] = [
  controllerFetchHandler,
  apiVersionsHandler,
  controllerVoteHandler,
  controllerBeginQuorumEpochHandler,
  controllerEndQuorumEpochHandler,
  controllerDescribeQuorumHandler,
  controllerFetchSnapshotHandler,
];

export function controllerRegistry(
  schemaRange: ConstructorParameters<typeof HandlerRegistry>[0],
): HandlerRegistry {
  const registry = new HandlerRegistry(schemaRange);
  for (const handler of controllerHandlers) registry.register(handler);
  return registry;
}
