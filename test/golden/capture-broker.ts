/**
 * A recording responder for capturing golden frames from real clients. It is NOT Brook: it
 * answers just enough of ApiVersions, Metadata, Produce, Fetch, ListOffsets, InitProducerId,
 * FindCoordinator and CreateTopics (with Brook's generated codecs) that a client completes a
 * produce and a consume, and it saves every request frame exactly as received. The golden test
 * then checks that Brook decodes each frame and re-encodes it byte for byte.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { encodeResponseFrame, FrameDecoder, readRequestHeader } from '../../protocol/frame.ts';
import { type AnyApi, ApiKey, apiFor, apiTable } from '../../protocol/generated/api-table.ts';
import * as g from '../../protocol/generated/index.ts';
import { Reader } from '../../protocol/wire/reader.ts';

const TOPIC_ID = Buffer.from('brook-golden-top').toString('base64url');
const NODE_ID = 1;
const FRAMES_PER_KIND_MAX = 3;

interface StoredBatch {
  readonly baseOffset: number;
  readonly bytes: Buffer;
}

export interface CaptureBroker {
  readonly port: number;
  readonly frames: number;
  close(): Promise<void>;
}

type Body = Record<string, unknown>;
type Respond = (request: Body, version: number) => Body;

export async function startCaptureBroker(outDir: string): Promise<CaptureBroker> {
  mkdirSync(outDir, { recursive: true });
  const partitions = new Map<string, StoredBatch[]>();
  let frames = 0;
  const perKind = new Map<string, number>();
  let port = 0;

  const logOf = (topic: string, partition: number): StoredBatch[] => {
    const key = `${topic}-${partition}`;
    let log = partitions.get(key);
    if (!log) partitions.set(key, (log = []));
    return log;
  };
  const endOffset = (log: StoredBatch[]): number => {
    const last = log.at(-1);
    if (!last) return 0;
    return last.baseOffset + last.bytes.readInt32BE(23) + 1;
  };

  const responders = new Map<number, Respond>([
    [ApiKey.ApiVersions, apiVersions],
    [ApiKey.Metadata, (req) => metadata(req, port)],
    [ApiKey.FindCoordinator, (req) => findCoordinator(req, port)],
    [ApiKey.InitProducerId, () => ({ errorCode: 0, producerId: 4242, producerEpoch: 0 })],
    [ApiKey.CreateTopics, createTopics],
    [ApiKey.Produce, (req) => produce(req, logOf, endOffset)],
    [ApiKey.Fetch, (req) => fetch(req, logOf, endOffset)],
    [ApiKey.ListOffsets, (req, v) => listOffsets(req, v, logOf, endOffset)],
  ]);

  const onFrame = (socket: Socket, frame: Buffer): void => {
    const r = new Reader(frame);
    const decoded = readRequestHeader(r, frame);
    const api = decoded ? apiFor(decoded.header.requestApiKey) : undefined;
    if (!decoded || !api) return void socket.destroy();
    const { requestApiVersion: version, correlationId } = decoded.header;
    // A few frames of each API version are enough; a polling consumer sends thousands.
    const kind = `${api.name}-v${version}`;
    const seen = (perKind.get(kind) ?? 0) + 1;
    perKind.set(kind, seen);
    if (seen <= FRAMES_PER_KIND_MAX || api.apiKey === ApiKey.Produce) {
      frames += 1;
      writeFileSync(join(outDir, `${String(frames).padStart(3, '0')}-${kind}.bin`), frame);
    }
    const request = api.decodeRequest(r, version) as Body;
    const respond = responders.get(api.apiKey);
    if (!respond) return void socket.destroy();
    const body = { ...(api.newResponse() as Body), ...respond(request, version) };
    for (const chunk of encodeResponseFrame(api, version, correlationId, body)) {
      if (!Buffer.isBuffer(chunk)) throw new Error('capture broker writes buffers only');
      socket.write(chunk);
    }
  };

  const server: Server = createServer((socket) => {
    const decoder = new FrameDecoder();
    socket.on('error', () => socket.destroy());
    socket.on('data', (data) => {
      try {
        for (const frame of decoder.push(data)) onFrame(socket, frame);
      } catch (error) {
        console.error('capture broker: cannot answer', error);
        socket.destroy();
      }
      if (decoder.error) socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  port = address.port;
  return {
    port,
    get frames() {
      return frames;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function apiVersions(): Body {
  const served = apiTable.filter((a): a is AnyApi => a?.listeners.includes('broker') === true);
  return {
    errorCode: 0,
    apiKeys: served.map((a) => ({
      ...g.newApiVersionsResponseApiVersion(),
      apiKey: a.apiKey,
      minVersion: a.minVersion,
      maxVersion: a.maxVersion,
    })),
  };
}

function broker(port: number): Body {
  return {
    ...g.newMetadataResponseMetadataResponseBroker(),
    nodeId: NODE_ID,
    host: '127.0.0.1',
    port,
    rack: null,
  };
}

function metadata(request: Body, port: number): Body {
  const asked = (request.topics as { name: string | null }[] | null) ?? [];
  const names = asked.length > 0 ? asked.map((t) => t.name ?? 'golden') : ['golden'];
  return {
    brokers: [broker(port)],
    clusterId: 'brook-golden',
    controllerId: NODE_ID,
    topics: names.map((name) => ({
      ...g.newMetadataResponseMetadataResponseTopic(),
      errorCode: 0,
      name,
      topicId: TOPIC_ID,
      isInternal: false,
      partitions: [
        {
          ...g.newMetadataResponseMetadataResponsePartition(),
          errorCode: 0,
          partitionIndex: 0,
          leaderId: NODE_ID,
          leaderEpoch: 0,
          replicaNodes: [NODE_ID],
          isrNodes: [NODE_ID],
          offlineReplicas: [],
        },
      ],
      topicAuthorizedOperations: -2147483648,
    })),
  };
}

function findCoordinator(request: Body, port: number): Body {
  const keys = (request.coordinatorKeys as string[] | undefined) ?? [];
  return {
    errorCode: 0,
    nodeId: NODE_ID,
    host: '127.0.0.1',
    port,
    coordinators: keys.map((key) => ({
      ...g.newFindCoordinatorResponseCoordinator(),
      key,
      nodeId: NODE_ID,
      host: '127.0.0.1',
      port,
      errorCode: 0,
    })),
  };
}

function createTopics(request: Body): Body {
  const topics = request.topics as { name: string }[];
  return {
    topics: topics.map((t) => ({
      ...g.newCreateTopicsResponseCreatableTopicResult(),
      name: t.name,
      topicId: TOPIC_ID,
      errorCode: 0,
    })),
  };
}

type LogOf = (topic: string, partition: number) => StoredBatch[];

function produce(request: Body, logOf: LogOf, endOffset: (l: StoredBatch[]) => number): Body {
  const topics = request.topicData as {
    name: string;
    partitionData: { index: number; records: Buffer | null }[];
  }[];
  return {
    responses: topics.map((t) => ({
      ...g.newProduceResponseTopicProduceResponse(),
      name: t.name,
      partitionResponses: t.partitionData.map((p) => {
        const log = logOf(t.name, p.index);
        const baseOffset = endOffset(log);
        if (p.records) {
          const bytes = Buffer.from(p.records);
          bytes.writeUInt32BE(Math.floor(baseOffset / 2 ** 32), 0);
          bytes.writeUInt32BE(baseOffset % 2 ** 32, 4);
          log.push({ baseOffset, bytes });
        }
        return {
          ...g.newProduceResponsePartitionProduceResponse(),
          index: p.index,
          errorCode: 0,
          baseOffset,
          logAppendTimeMs: -1,
          logStartOffset: 0,
        };
      }),
    })),
  };
}

function fetch(request: Body, logOf: LogOf, endOffset: (l: StoredBatch[]) => number): Body {
  const topics = request.topics as {
    topic: string;
    topicId: string;
    partitions: { partition: number; fetchOffset: number }[];
  }[];
  return {
    errorCode: 0,
    sessionId: 0,
    responses: topics.map((t) => ({
      ...g.newFetchResponseFetchableTopicResponse(),
      topic: t.topic,
      topicId: t.topicId,
      partitions: t.partitions.map((p) => {
        const log = logOf(t.topic === '' ? 'golden' : t.topic, p.partition);
        const from = log.filter((b) => b.baseOffset + b.bytes.readInt32BE(23) >= p.fetchOffset);
        return {
          ...g.newFetchResponsePartitionData(),
          partitionIndex: p.partition,
          errorCode: 0,
          highWatermark: endOffset(log),
          lastStableOffset: endOffset(log),
          logStartOffset: 0,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: Buffer.concat(from.map((b) => b.bytes)),
        };
      }),
    })),
  };
}

function listOffsets(
  request: Body,
  version: number,
  logOf: LogOf,
  endOffset: (l: StoredBatch[]) => number,
): Body {
  const topics = request.topics as {
    name: string;
    partitions: { partitionIndex: number; timestamp: number }[];
  }[];
  return {
    topics: topics.map((t) => ({
      ...g.newListOffsetsResponseListOffsetsTopicResponse(),
      name: t.name,
      partitions: t.partitions.map((p) => {
        const offset = p.timestamp === -2 ? 0 : endOffset(logOf(t.name, p.partitionIndex));
        return {
          ...g.newListOffsetsResponseListOffsetsPartitionResponse(),
          partitionIndex: p.partitionIndex,
          errorCode: 0,
          oldStyleOffsets: version === 0 ? [offset] : [],
          timestamp: -1,
          offset,
          leaderEpoch: version >= 4 ? 0 : -1,
        };
      }),
    })),
  };
}
