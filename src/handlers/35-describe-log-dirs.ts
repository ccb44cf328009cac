/**
 * DescribeLogDirs (key 35), versions 1-4.
 *
 * Behavior: one result per configured log dir (its absolute path), listing the partitions of
 * the asked topics (null: all) whose log lives there, with their size in bytes; offsetLag 0
 * and isFutureKey false (no replica movement between dirs). The metadata log is not listed
 * (Kafka keeps it out of DescribeLogDirs too). totalBytes/usableBytes (v4) are -1: unknown.
 *
 * Version notes: v2 flexible; v3 top-level errorCode; v4 totalBytes, usableBytes.
 */
import { dirname, resolve } from 'node:path';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import {
  type DescribeLogDirsRequest,
  type DescribeLogDirsResponse,
  newDescribeLogDirsResponse,
} from '../../protocol/generated/apis/35-describe-log-dirs.ts';
import { METADATA_TOPIC } from '../metadata/metadata-log.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { defineHandler, type RequestContext } from './handler.ts';

type TopicResult = DescribeLogDirsResponse['results'][number]['topics'][number];

export function handleDescribeLogDirs(
  ctx: RequestContext,
  request: DescribeLogDirsRequest,
): DescribeLogDirsResponse {
  const data = dataOf(ctx);
  const wanted =
    request.topics === null
      ? undefined
      : new Map(request.topics.map((t) => [t.topic, new Set(t.partitions)]));
  const dirs = ctx.services.config['log.dirs'].map((d) => resolve(d));
  const byDir = new Map<string, Map<string, TopicResult>>(dirs.map((d) => [d, new Map()]));
  for (const log of data.replicas.logs.logs()) {
    if (log.topic === METADATA_TOPIC) continue;
    const partitions = wanted?.get(log.topic);
    if (wanted && !partitions?.has(log.partition)) continue;
    const topics = byDir.get(dirname(log.dir));
    if (!topics) continue;
    let topic = topics.get(log.topic);
    if (!topic) topics.set(log.topic, (topic = { name: log.topic, partitions: [] }));
    topic.partitions.push({
      partitionIndex: log.partition,
      partitionSize: log.sizeBytes,
      offsetLag: 0,
      isFutureKey: false,
    });
  }
  const response = newDescribeLogDirsResponse();
  response.results = dirs.map((logDir) => ({
    errorCode: 0,
    logDir,
    topics: [...(byDir.get(logDir)?.values() ?? [])].map((t) => ({
      ...t,
      partitions: t.partitions.sort((a, b) => a.partitionIndex - b.partitionIndex),
    })),
    totalBytes: -1,
    usableBytes: -1,
  }));
  return response;
}

export const describeLogDirsHandler = defineHandler<
  DescribeLogDirsRequest,
  DescribeLogDirsResponse
>(
  withDataPath({
    apiKey: ApiKey.DescribeLogDirs,
    minVersion: 1,
    maxVersion: 4,
    handle: handleDescribeLogDirs,
    errorResponse(_request, _version, errorCode) {
      const response = newDescribeLogDirsResponse();
      response.errorCode = errorCode;
      return response;
    },
  }),
);
