/**
 * ElectLeaders (key 43) and DescribeQuorum (key 55) on a cluster-mode broker whose controller
 * cannot be reached: ClusterMetadata forwarding through a real ControllerChannel to a voter
 * port nobody listens on. The channel gives up at its deadline and the client gets
 * REQUEST_TIMED_OUT where the version reports errors (the top level; each named partition in
 * ElectLeaders v0), through the real codecs. (A reachable controller:
 * test/integration/cluster-admin.test.ts.)
 */
import { createServer } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { type ApiDescriptor, Apis } from '../../../protocol/generated/api-table.ts';
import {
  newDescribeQuorumRequest,
  newElectLeadersRequest,
} from '../../../protocol/generated/index.ts';
import { Reader } from '../../../protocol/wire/reader.ts';
import { Writer } from '../../../protocol/wire/writer.ts';
import { electLeadersHandler } from '../../../src/handlers/43-elect-leaders.ts';
import { describeQuorumHandler } from '../../../src/handlers/55-describe-quorum.ts';
import type { Handler } from '../../../src/handlers/handler.ts';
import { ClusterMetadata } from '../../../src/metadata/cluster-metadata.ts';
import { MetadataImage } from '../../../src/metadata/metadata-image.ts';
import {
  ControllerChannel,
  controllerChannelDefaults,
} from '../../../src/node/controller-channel.ts';
import { SystemClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { type Fixture, openFixture } from '../replication/fixture.ts';

let fixture: Fixture | undefined;
let channel: ControllerChannel | undefined;
afterEach(async () => {
  channel?.close();
  await fixture?.close();
});

/** A loopback port that was free a moment ago and has no listener now. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A cluster-mode ClusterMetadata whose controller channel can reach no controller. */
async function unreachableController(): Promise<ClusterMetadata> {
  const clock = new SystemClock();
  channel = new ControllerChannel({
    ...controllerChannelDefaults,
    nodeId: 1,
    voters: new Map([[2, { host: '127.0.0.1', port: await deadPort() }]]),
    clock,
    random: new SeededRandom(7),
    logger: silentLogger(),
    requestTimeoutMs: 100,
    callTimeoutMs: 300,
    backoffMsMin: 10,
    backoffMsMax: 50,
  });
  return new ClusterMetadata({
    clusterId: 'forwarded-admin',
    nodeId: 1,
    endpoints: () => new Map(),
    image: MetadataImage.EMPTY,
    forward: {
      channel,
      controllerId: () => -1,
      brokerEpoch: () => -1,
      clock,
      catchUpTimeoutMs: 1_000,
      requestTimeoutMs: 1_000,
    },
    random: new SeededRandom(7),
    defaults: () => ({ numPartitions: 1, replicationFactor: 3 }),
  });
}

/** The request and the answer through the codecs of `version`, with `cluster` as the data. */
async function call<Req, Res>(
  cluster: ClusterMetadata,
  api: ApiDescriptor<Req, Res>,
  handler: Handler,
  request: Req,
  version: number,
): Promise<Res> {
  fixture ??= await openFixture();
  const w = new Writer();
  api.encodeRequest(w, request, version);
  const decoded = api.decodeRequest(new Reader(w.finish()), version);
  const base = fixture.context(api.apiKey, version);
  const data = { cluster, replicas: fixture.data.replicas };
  const ctx = { ...base, services: { ...base.services, data } };
  const response = (await handler.handle(ctx, decoded, version)) as Res;
  const out = new Writer();
  api.encodeResponse(out, response, version);
  const reader = new Reader(out.finish());
  const result = api.decodeResponse(reader, version);
  if (!reader.ok) throw reader.error;
  return result;
}

test('ElectLeaders: no controller before the deadline is REQUEST_TIMED_OUT', async () => {
  const cluster = await unreachableController();
  const request = newElectLeadersRequest();
  request.topicPartitions = [{ topic: 't', partitions: [0, 1] }];
  const v0 = await call(cluster, Apis.ElectLeaders, electLeadersHandler, request, 0);
  expect(v0.replicaElectionResults).toEqual([
    expect.objectContaining({
      topic: 't',
      partitionResult: [0, 1].map((partitionId) =>
        expect.objectContaining({ partitionId, errorCode: ErrorCode.REQUEST_TIMED_OUT }),
      ),
    }),
  ]);
  for (const version of [1, 2]) {
    const answer = await call(cluster, Apis.ElectLeaders, electLeadersHandler, request, version);
    expect(answer).toMatchObject({
      errorCode: ErrorCode.REQUEST_TIMED_OUT,
      replicaElectionResults: [],
    });
  }
});

test('DescribeQuorum: no controller before the deadline is REQUEST_TIMED_OUT', async () => {
  const cluster = await unreachableController();
  const request = newDescribeQuorumRequest();
  request.topics = [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }];
  for (const version of [0, 2]) {
    const answer = await call(
      cluster,
      Apis.DescribeQuorum,
      describeQuorumHandler,
      request,
      version,
    );
    expect(answer).toMatchObject({ errorCode: ErrorCode.REQUEST_TIMED_OUT, topics: [] });
  }
});
