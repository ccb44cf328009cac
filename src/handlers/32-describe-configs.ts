/**
 * DescribeConfigs (key 32), versions 1-4.
 *
 * Behavior:
 * - TOPIC resources: every topic config (config/topic-config.ts) with its effective value and
 *   source: TOPIC_CONFIG for the topic's overrides, STATIC_BROKER_CONFIG where the broker's
 *   configuration sets the property it defaults to (retention.ms <- log.retention.hours),
 *   DEFAULT_CONFIG for the rest; only `configurationKeys` when given (unknown keys are left
 *   out, as Kafka does). Unknown topic: UNKNOWN_TOPIC_OR_PARTITION.
 * - BROKER resources (this node's id, or '' for the cluster default): every broker property
 *   of the catalogue with its value and source (STATIC_BROKER_CONFIG when configured to other
 *   than the default, else DEFAULT_CONFIG); read-only unless Kafka can change it at runtime
 *   (Brook has no dynamic broker configs yet). Another node id: INVALID_REQUEST.
 * - includeSynonyms: Kafka's synonym lists (the topic override, then the broker properties
 *   set, then their defaults). includeDocumentation: the catalogue's line for broker
 *   properties; topic configs have none.
 * - Other resource types: INVALID_REQUEST.
 *
 * Version notes: v1 synonyms, configSource; v3 configType and documentation; v4 flexible.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
  newDescribeConfigsResponse,
} from '../../protocol/generated/apis/32-describe-configs.ts';
import { type BrokerConfig, propertyNames } from '../config/catalogue.ts';
import {
  ConfigSource,
  type ConfigSynonym,
  describeBrokerProperty,
  describeTopicConfigs,
} from '../config/topic-config.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { type DataServices, defineHandler, type RequestContext } from './handler.ts';

type Result = DescribeConfigsResponse['results'][number];
type Entry = Result['configs'][number];
type Resource = DescribeConfigsRequest['resources'][number];

export const ConfigResourceType = { topic: 2, broker: 4 } as const;

function failed(resource: Resource, errorCode: number, errorMessage: string | null): Result {
  return {
    errorCode,
    errorMessage,
    resourceType: resource.resourceType,
    resourceName: resource.resourceName,
    configs: [],
  };
}

interface Wanted {
  readonly synonyms: boolean;
  readonly documentation: boolean;
}

export function handleDescribeConfigs(
  ctx: RequestContext,
  request: DescribeConfigsRequest,
  version: number,
): DescribeConfigsResponse {
  const data = dataOf(ctx);
  const response = newDescribeConfigsResponse();
  // includeSynonyms is v1+; v0 clients never see synonyms (and Brook serves v1+ anyway).
  const wanted = {
    synonyms: version >= 1 && request.includeSynonyms,
    documentation: version >= 3 && request.includeDocumentation,
  };
  response.results = request.resources.map((resource) => {
    const result = describe(ctx, data, resource, wanted);
    const keys = resource.configurationKeys;
    const configs =
      keys === null ? result.configs : result.configs.filter((c) => keys.includes(c.name));
    return {
      ...result,
      configs: configs.map((c) => ({ ...c, isDefault: version === 0 && c.isDefault })),
    };
  });
  return response;
}

function describe(
  ctx: RequestContext,
  data: DataServices,
  resource: Resource,
  wanted: Wanted,
): Result {
  const ok = (configs: Entry[]): Result => ({ ...failed(resource, 0, null), configs });
  if (resource.resourceType === ConfigResourceType.topic) {
    const topic = data.cluster.topic(resource.resourceName);
    if (!topic) {
      return failed(resource, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Topic does not exist.');
    }
    return ok(
      describeTopicConfigs(topic.configs, ctx.services.config).map((c) => ({
        name: c.name,
        value: c.value,
        readOnly: c.readOnly,
        isDefault: c.source === ConfigSource.default,
        configSource: c.source,
        isSensitive: c.isSensitive,
        synonyms: wanted.synonyms ? c.synonyms.map(synonymOf) : [],
        configType: c.configType,
        documentation: null,
      })),
    );
  }
  if (resource.resourceType === ConfigResourceType.broker) {
    const name = resource.resourceName;
    if (name !== '' && name !== String(ctx.services.nodeId)) {
      return failed(resource, ErrorCode.INVALID_REQUEST, `Unexpected broker id ${name}`);
    }
    return ok(brokerConfigs(ctx.services.config, wanted));
  }
  return failed(resource, ErrorCode.INVALID_REQUEST, 'Unsupported resource type.');
}

function synonymOf(s: ConfigSynonym): Entry['synonyms'][number] {
  return { name: s.name, value: s.value, source: s.source };
}

function brokerConfigs(config: BrokerConfig, wanted: Wanted): Entry[] {
  return [...propertyNames].sort().map((name) => {
    const c = describeBrokerProperty(config, name);
    return {
      name,
      value: c.value,
      readOnly: c.readOnly,
      isDefault: c.source === ConfigSource.default,
      configSource: c.source,
      isSensitive: false,
      synonyms: wanted.synonyms ? c.synonyms.map(synonymOf) : [],
      configType: c.configType,
      documentation: wanted.documentation ? c.documentation : null,
    };
  });
}

export const describeConfigsHandler = defineHandler<
  DescribeConfigsRequest,
  DescribeConfigsResponse
>(
  withDataPath({
    apiKey: ApiKey.DescribeConfigs,
    minVersion: 1,
    maxVersion: 4,
    handle: handleDescribeConfigs,
    errorResponse(request, _version, errorCode) {
      const response = newDescribeConfigsResponse();
      response.results = request.resources.map((r) => failed(r, errorCode, null));
      return response;
    },
  }),
);
