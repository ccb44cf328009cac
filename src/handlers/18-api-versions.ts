/**
 * ApiVersions (key 18), versions 0-4.
 *
 * Behavior:
 * - Lists every API this broker serves with its version range, derived from the handler
 *   registry (handler range ∩ schema range), never from a hand-kept table.
 * - A request at a version above 4 never reaches this handler: the dispatcher answers it at v0
 *   with UNSUPPORTED_VERSION and the same list (request-dispatcher.ts).
 * - v3+: the client's software name and version must match Kafka's pattern (letters, digits,
 *   '-', '.'; alphanumeric at both ends), else INVALID_REQUEST with no API list, as Kafka does.
 * - v3+: supported and finalized features, as a Kafka 4.0 KRaft broker reports them.
 *
 * Version notes:
 * - v0: error code and API list. v1: throttle time. v2: same as v1.
 * - v3: flexible; client software name/version; features as tagged fields. A v3 answer omits
 *   features whose minimum version is 0 (clients before KIP-1022 could not parse them); v4
 *   lists them all.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type ApiVersionsRequest,
  type ApiVersionsResponse,
  newApiVersionsResponse,
} from '../../protocol/generated/apis/18-api-versions.ts';
import { defineHandler, type RequestContext } from './handler.ts';

interface Feature {
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The cluster-wide finalized level; 0 means not enabled (omitted from finalized). */
  readonly finalizedLevel: number;
}

/**
 * What a single-node Kafka 4.0 cluster formatted at the latest production metadata version
 * reports: metadata.version 7 (3.3-IV3, the oldest 4.0 accepts) to 25 (4.0-IV3), finalized at
 * 25; kraft.version 0-1 (dynamic quorums), finalized at 0 (a static quorum).
 */
export const features: readonly Feature[] = [
  { name: 'metadata.version', minVersion: 7, maxVersion: 25, finalizedLevel: 25 },
  { name: 'kraft.version', minVersion: 0, maxVersion: 1, finalizedLevel: 0 },
];

/** Advanced when finalized features change; a single node's never do after format. */
const finalizedFeaturesEpoch = 0;

const softwarePattern = /^[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?$/;

export function handleApiVersions(
  ctx: RequestContext,
  request: ApiVersionsRequest,
  version: number,
): ApiVersionsResponse {
  const response = newApiVersionsResponse();
  if (
    version >= 3 &&
    (!softwarePattern.test(request.clientSoftwareName) ||
      !softwarePattern.test(request.clientSoftwareVersion))
  ) {
    response.errorCode = ErrorCode.INVALID_REQUEST;
    return response;
  }
  response.apiKeys = ctx.services.apiVersions().map((r) => ({ ...r }));
  if (version >= 3) {
    const listed = features.filter((f) => version >= 4 || f.minVersion > 0);
    response.supportedFeatures = listed.map(({ name, minVersion, maxVersion }) => ({
      name,
      minVersion,
      maxVersion,
    }));
    response.finalizedFeaturesEpoch = finalizedFeaturesEpoch;
    response.finalizedFeatures = features
      .filter((f) => f.finalizedLevel > 0)
      .map((f) => ({
        name: f.name,
        minVersionLevel: f.finalizedLevel,
        maxVersionLevel: f.finalizedLevel,
      }));
  }
  return response;
}

export const apiVersionsHandler = defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  apiKey: ApiKey.ApiVersions,
  minVersion: 0,
  maxVersion: 4,
  handle: handleApiVersions,
  errorResponse(_request, _version, errorCode) {
    return { ...newApiVersionsResponse(), errorCode };
  },
});
