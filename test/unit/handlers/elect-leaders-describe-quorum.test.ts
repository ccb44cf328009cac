/**
 * ElectLeaders (key 43) and DescribeQuorum (key 55) on the broker listener of a single node,
 * through the real codecs at every served version, over a real data path: the node is every
 * partition's only replica and leader, and the metadata quorum's only voter. (Cluster mode,
 * where both are passed on to the active controller: test/integration/cluster-admin.test.ts.)
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { Apis } from '../../../protocol/generated/api-table.ts';
import {
  type ElectLeadersRequest,
  newDescribeQuorumRequest,
  newElectLeadersRequest,
} from '../../../protocol/generated/index.ts';
import { electLeadersHandler } from '../../../src/handlers/43-elect-leaders.ts';
import { describeQuorumHandler } from '../../../src/handlers/55-describe-quorum.ts';
import { builtinHandlers } from '../../../src/handlers/index.ts';
import { HandlerRegistry } from '../../../src/handlers/registry.ts';
import { schemaRangeOf } from '../../../src/server/request-dispatcher.ts';
import type { Clock } from '../../../src/util/clock.ts';
import { SystemClock } from '../../../src/util/clock.ts';
import { call, type Fixture, openFixture } from '../replication/fixture.ts';

let fixture: Fixture;
afterEach(async () => {
  await fixture?.close();
});

/** The system clock held at one instant, so timestamps in answers are known exactly. */
class FrozenClock extends SystemClock implements Clock {
  readonly #nowMs: number;
  constructor(nowMs: number) {
    super();
    this.#nowMs = nowMs;
  }
  override nowMs(): number {
    return this.#nowMs;
  }
}

async function setup(clock?: Clock): Promise<void> {
  fixture = await openFixture(clock ? { clock } : {});
  const result = await fixture.data.cluster.createTopic({
    name: 't',
    numPartitions: 2,
    replicationFactor: 1,
    configs: new Map(),
    assignments: [],
  });
  expect(result.errorCode).toBe(0);
}

test('both are registered, so ApiVersions advertises them', () => {
  const registry = new HandlerRegistry(schemaRangeOf);
  for (const handler of builtinHandlers) registry.register(handler);
  const served = new Map(registry.apiVersions().map((r) => [r.apiKey, r]));
  expect(served.get(Apis.ElectLeaders.apiKey)).toMatchObject({ minVersion: 0, maxVersion: 2 });
  expect(served.get(Apis.DescribeQuorum.apiKey)).toMatchObject({ minVersion: 0, maxVersion: 2 });
});

/** ElectLeaders through the codecs to the single node's handler. */
function elect(request: ElectLeadersRequest, version: number) {
  return call(fixture, Apis.ElectLeaders, electLeadersHandler, request, version);
}

describe('ElectLeaders on a single node', () => {
  test('named partitions need no election; unknown ones are named', async () => {
    await setup();
    for (let version = 0; version <= 2; version++) {
      for (const electionType of version === 0 ? [0] : [0, 1]) {
        const request = newElectLeadersRequest();
        request.electionType = electionType;
        request.timeoutMs = 1_000;
        request.topicPartitions = [
          { topic: 't', partitions: [0, 1, 2] },
          { topic: 'missing', partitions: [0] },
        ];
        const response = await elect(request, version);
        expect(response?.errorCode).toBe(ErrorCode.NONE);
        expect(response?.replicaElectionResults).toEqual(
          [
            {
              topic: 't',
              partitionResult: [
                { partitionId: 0, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: null },
                { partitionId: 1, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: null },
                {
                  partitionId: 2,
                  errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                  errorMessage: null,
                },
              ].map((r) => expect.objectContaining(r)),
            },
            {
              topic: 'missing',
              partitionResult: [
                expect.objectContaining({
                  partitionId: 0,
                  errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                }),
              ],
            },
          ].map((r) => expect.objectContaining(r)),
        );
      }
    }
  });

  test('every partition (null): nothing elected, nothing reported', async () => {
    await setup();
    const request = newElectLeadersRequest();
    request.topicPartitions = null;
    for (let version = 0; version <= 2; version++) {
      const response = await elect(request, version);
      expect(response).toMatchObject({ errorCode: 0, replicaElectionResults: [] });
    }
  });

  test('an unknown election type is INVALID_REQUEST at the top level', async () => {
    await setup();
    const request = newElectLeadersRequest();
    request.electionType = 7;
    request.topicPartitions = [{ topic: 't', partitions: [0] }];
    for (let version = 1; version <= 2; version++) {
      const response = await elect(request, version);
      expect(response).toMatchObject({
        errorCode: ErrorCode.INVALID_REQUEST,
        replicaElectionResults: [],
      });
    }
  });
});

describe('DescribeQuorum on a single node', () => {
  test('this node is the only voter and the leader, at the metadata log end', async () => {
    const nowMs = 1_700_000_000_123;
    await setup(new FrozenClock(nowMs));
    // The topic's records (topic + 2 partitions) are the metadata log.
    const logEnd = fixture.data.cluster.image.offset + 1;
    expect(logEnd).toBeGreaterThanOrEqual(3);
    const nodeId = fixture.config['node.id'];
    for (let version = 0; version <= 2; version++) {
      const request = newDescribeQuorumRequest();
      request.topics = [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }];
      const response = await call(
        fixture,
        Apis.DescribeQuorum,
        describeQuorumHandler,
        request,
        version,
      );
      expect(response?.errorCode).toBe(0);
      const partition = response?.topics[0]?.partitions[0];
      expect(response?.topics[0]?.topicName).toBe('__cluster_metadata');
      expect(partition).toMatchObject({
        partitionIndex: 0,
        errorCode: 0,
        leaderId: nodeId,
        leaderEpoch: 0,
        highWatermark: logEnd,
        observers: [],
      });
      // v0 carries no timestamps: they decode as -1.
      const at = version >= 1 ? nowMs : -1;
      expect(partition?.currentVoters).toEqual([
        expect.objectContaining({
          replicaId: nodeId,
          logEndOffset: logEnd,
          lastFetchTimestamp: at,
          lastCaughtUpTimestamp: at,
        }),
      ]);
    }
  });

  test('anything but __cluster_metadata-0 is INVALID_REQUEST', async () => {
    await setup();
    const asks = [
      [{ topicName: 't', partitions: [{ partitionIndex: 0 }] }],
      [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 1 }] }],
      [],
    ];
    for (const topics of asks) {
      const request = newDescribeQuorumRequest();
      request.topics = topics;
      const response = await call(fixture, Apis.DescribeQuorum, describeQuorumHandler, request, 2);
      expect(response).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, topics: [] });
    }
  });
});
