/**
 * GetTelemetrySubscriptions (key 71), version 0 (KIP-714): this broker collects no client
 * metrics, so every client is told that no metric is wanted (an empty requestedMetrics), and
 * clients then push nothing. A client without an instance id (the zero uuid) is given a new
 * random one, as Kafka does.
 */
import { randomBytes } from 'node:crypto';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type GetTelemetrySubscriptionsRequest,
  type GetTelemetrySubscriptionsResponse,
  newGetTelemetrySubscriptionsResponse,
} from '../../protocol/generated/apis/71-get-telemetry-subscriptions.ts';
import { ZERO_UUID } from '../../protocol/wire/codec-support.ts';
import { defineHandler } from './handler.ts';

/** Kafka's default push interval: how long a client waits before asking again. */
const PUSH_INTERVAL_MS = 300_000;

export function handleGetTelemetrySubscriptions(
  _ctx: unknown,
  request: GetTelemetrySubscriptionsRequest,
): GetTelemetrySubscriptionsResponse {
  const response = newGetTelemetrySubscriptionsResponse();
  response.clientInstanceId =
    request.clientInstanceId === ZERO_UUID
      ? randomBytes(16).toString('base64url')
      : request.clientInstanceId;
  response.subscriptionId = 0;
  response.acceptedCompressionTypes = [];
  response.pushIntervalMs = PUSH_INTERVAL_MS;
  response.telemetryMaxBytes = 1024 * 1024;
  response.deltaTemporality = true;
  response.requestedMetrics = [];
  return response;
}

export const getTelemetrySubscriptionsHandler = defineHandler<
  GetTelemetrySubscriptionsRequest,
  GetTelemetrySubscriptionsResponse
>({
  apiKey: ApiKey.GetTelemetrySubscriptions,
  minVersion: 0,
  maxVersion: 0,
  handle: handleGetTelemetrySubscriptions,
  errorResponse(_request, _version, errorCode) {
    const response = newGetTelemetrySubscriptionsResponse();
    response.errorCode = errorCode;
    return response;
  },
});
