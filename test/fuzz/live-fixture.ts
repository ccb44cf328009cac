/**
 * The broker under fuzz: started with `startBroker()`, its log lines captured as JSON, data
 * written before the fuzzing through the real Produce path, and a canary on its own
 * connection whose answers (ApiVersions, Metadata, Fetch of that data) must never change.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-table.ts';
import {
  newProduceRequest,
  type ProduceResponse,
} from '../../protocol/generated/apis/00-produce.ts';
import { type FetchResponse, newFetchRequest } from '../../protocol/generated/apis/01-fetch.ts';
import {
  type MetadataResponse,
  newMetadataRequest,
} from '../../protocol/generated/apis/03-metadata.ts';
import {
  type ApiVersionsResponse,
  newApiVersionsRequest,
} from '../../protocol/generated/apis/18-api-versions.ts';
import {
  type CreateTopicsResponse,
  newCreateTopicsRequest,
  newCreateTopicsRequestCreatableTopic,
} from '../../protocol/generated/apis/19-create-topics.ts';
import { buildBatch } from '../../protocol/records/batch-builder.ts';
import { type RunningBroker, startBroker } from '../../src/index.ts';
import { createLogger } from '../../src/util/logger.ts';
import type { SeededRandom } from '../../src/util/random.ts';
import { KafkaCaller } from './kafka-wire.ts';

export const canaryTopic = 'fuzz-canary';
export const canaryPartitions = 3;
/** Small, so slow and truncated frames are closed quickly. */
export const idleMs = 1_000;
/** Small, so a size just above it is cheap to send; every golden frame is far below. */
export const requestBytesMax = 100_000;

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly remote?: string;
  readonly reason?: string;
  readonly err?: { readonly type?: string; readonly message?: string };
}

export interface PartitionSnapshot {
  readonly records: Buffer;
  readonly highWatermark: number;
}

export interface LiveFixture {
  readonly broker: RunningBroker;
  readonly logs: LogLine[];
  readonly canary: KafkaCaller;
  readonly apiVersions: ApiVersionsResponse;
  readonly metadata: MetadataResponse;
  readonly snapshot: readonly PartitionSnapshot[];
}

export async function openLiveFixture(random: SeededRandom): Promise<LiveFixture> {
  const logs: LogLine[] = [];
  const logger = createLogger({
    level: 'info',
    format: 'json',
    destination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
  });
  const broker = await startBroker({
    logger,
    config: {
      'connections.max.idle.ms': idleMs,
      'socket.request.max.bytes': requestBytesMax,
    },
  });
  const canary = await KafkaCaller.connect(broker.port);
  await writeCanaryData(canary, random);
  const apiVersions = await canaryApiVersions(canary);
  const metadata = await canaryMetadata(canary);
  const snapshot = await canaryFetch(canary);
  return { broker, logs, canary, apiVersions, metadata, snapshot };
}

async function writeCanaryData(canary: KafkaCaller, random: SeededRandom): Promise<void> {
  const create = newCreateTopicsRequest();
  create.timeoutMs = 10_000;
  create.topics = [
    {
      ...newCreateTopicsRequestCreatableTopic(),
      name: canaryTopic,
      numPartitions: 3,
      replicationFactor: -1,
    },
  ];
  const created = await canary.call<CreateTopicsResponse>(ApiKey.CreateTopics, 7, create);
  if (created.topics[0]?.errorCode !== ErrorCode.NONE) {
    throw new Error(`creating ${canaryTopic}: ${JSON.stringify(created.topics[0])}`);
  }
  for (let batch = 0; batch < 4; batch++) {
    for (let partition = 0; partition < canaryPartitions; partition++) {
      const records = Array.from({ length: random.int(1, 30) }, (_, i) => {
        const value = Buffer.alloc(random.int(0, 300));
        random.fill(value);
        return { key: Buffer.from(`k${batch}-${i}`), value, timestamp: 1_700_000_000_000 + i };
      });
      await produce(canary, partition, buildBatch({ records }), -1, ErrorCode.NONE);
    }
  }
}

/** Produces one batch and checks the partition's error code. */
export async function produce(
  caller: KafkaCaller,
  partition: number,
  records: Buffer,
  acks: number,
  ...expected: number[]
): Promise<number> {
  const request = newProduceRequest();
  request.acks = acks;
  request.timeoutMs = 10_000;
  request.topicData = [{ name: canaryTopic, partitionData: [{ index: partition, records }] }];
  const response = await caller.call<ProduceResponse>(ApiKey.Produce, 9, request);
  const errorCode = response.responses[0]?.partitionResponses[0]?.errorCode;
  if (errorCode === undefined || !expected.includes(errorCode)) {
    throw new Error(`produce to ${partition}: error ${errorCode}, expected one of ${expected}`);
  }
  return errorCode;
}

export function canaryApiVersions(canary: KafkaCaller): Promise<ApiVersionsResponse> {
  const request = {
    ...newApiVersionsRequest(),
    clientSoftwareName: 'brook-fuzz-canary',
    clientSoftwareVersion: '1.0',
  };
  return canary.call<ApiVersionsResponse>(ApiKey.ApiVersions, 3, request);
}

export function canaryMetadata(canary: KafkaCaller): Promise<MetadataResponse> {
  const request = newMetadataRequest();
  request.topics = [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: canaryTopic }];
  request.allowAutoTopicCreation = false;
  return canary.call<MetadataResponse>(ApiKey.Metadata, 12, request);
}

/** Every partition of the canary topic from offset 0 (Fetch v12: by name, no session). */
export async function canaryFetch(canary: KafkaCaller): Promise<PartitionSnapshot[]> {
  const request = newFetchRequest();
  request.maxWaitMs = 0;
  request.minBytes = 0;
  request.maxBytes = 4 * 1024 * 1024;
  request.topics = [
    {
      topic: canaryTopic,
      topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
      partitions: Array.from({ length: canaryPartitions }, (_, partition) => ({
        partition,
        currentLeaderEpoch: -1,
        fetchOffset: 0,
        lastFetchedEpoch: -1,
        logStartOffset: -1,
        partitionMaxBytes: 1024 * 1024,
        replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
      })),
    },
  ];
  const response = await canary.call<FetchResponse>(ApiKey.Fetch, 12, request);
  if (response.errorCode !== ErrorCode.NONE) throw new Error(`fetch: ${response.errorCode}`);
  const partitions = response.responses[0]?.partitions ?? [];
  return partitions.map((p) => {
    if (p.errorCode !== ErrorCode.NONE)
      throw new Error(`fetch ${p.partitionIndex}: ${p.errorCode}`);
    if (!Buffer.isBuffer(p.records)) throw new Error('fetch answered without record bytes');
    return { records: Buffer.from(p.records), highWatermark: p.highWatermark };
  });
}
