/**
 * The handlers a broker serves. Add a handler here and ApiVersions advertises it: the list of
 * APIs and their versions is derived from this registration, never written down elsewhere.
 */
import { metadataHandler } from './03-metadata.ts';
import { apiVersionsHandler } from './18-api-versions.ts';
import { describeClusterHandler } from './60-describe-cluster.ts';
import type { Handler } from './handler.ts';

export const builtinHandlers: readonly Handler[] = [
  metadataHandler,
  apiVersionsHandler,
  describeClusterHandler,
];
