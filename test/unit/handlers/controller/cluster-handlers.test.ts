/**
 * The controller listener's cluster-management handlers over the handler registry, on real
 * bytes: each request is encoded and decoded with the generated codecs at the version a Kafka 4
 * broker or admin client sends, handled by the registry's handler on a member of a real
 * three-voter quorum (test/unit/controller/quorum-harness.ts), and the response is encoded and
 * decoded back at that version.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../../protocol/errors.ts';
import type { ApiDescriptor } from '../../../../protocol/generated/api-catalogue.ts';
import { Apis } from '../../../../protocol/generated/api-table.ts';
import { ZERO_UUID } from '../../../../protocol/wire/codec-support.ts';
import { Reader } from '../../../../protocol/wire/reader.ts';
import { Writer } from '../../../../protocol/wire/writer.ts';
import { loadConfig } from '../../../../src/config/load-config.ts';
// biome-ignore format: a path longer than a line stays split so lines stay within 100 columns
import type {
  ControllerServices,
} from '../../../../src/handlers/controller/controller-services.ts';
import { controllerRegistry } from '../../../../src/handlers/controller/index.ts';
import type { BrokerServices, RequestContext } from '../../../../src/handlers/handler.ts';
import { schemaRangeOf } from '../../../../src/server/request-dispatcher.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import {
  alterPartitionRequest,
  heartbeatRequest,
  registrationRequest,
} from '../../controller/harness.ts';
import { ControllerQuorum, type QuorumMember } from '../../controller/quorum-harness.ts';

const SEED = Number(process.env.BROOK_SEED ?? 11);

const config = loadConfig({
  overrides: {
    'node.id': 1,
    'process.roles': ['broker', 'controller'],
    'controller.quorum.voters': ['1@127.0.0.1:9101', '2@127.0.0.1:9102', '3@127.0.0.1:9103'],
    listeners: ['PLAINTEXT://127.0.0.1:9092', 'CONTROLLER://127.0.0.1:9101'],
  },
});

const registry = controllerRegistry(schemaRangeOf, { runsController: true });

let quorum: ControllerQuorum | undefined;

afterEach(async () => {
  await quorum?.stop();
  expect(quorum?.fatal ?? []).toEqual([]);
  quorum = undefined;
});

function servicesOf(member: QuorumMember): BrokerServices {
  const services: ControllerServices = {
    nodeId: member.id,
    clock: quorum?.clock as ControllerQuorum['clock'],
    apiVersions: () => registry.apiVersions(),
    raft: {
      fetchMaxEntries: 64,
      call: async () => undefined,
      describeQuorum: () => member.driver.replica.describeQuorum(),
    },
    controller: member.runtime,
    config,
  };
  return services as unknown as BrokerServices;
}

/** Encodes `body`, decodes it, handles it on `member`, and round-trips the response. */
async function call<Req, Res>(
  member: QuorumMember,
  api: ApiDescriptor<Req, Res>,
  version: number,
  body: Req,
): Promise<Res> {
  const q = quorum as ControllerQuorum;
  const out = new Writer(64);
  api.encodeRequest(out, body, version);
  const reader = new Reader(out.finish());
  const request = api.decodeRequest(reader, version);
  expect(reader.ok && reader.remaining === 0).toBe(true);
  const handler = registry.lookup(api.apiKey, version);
  if (!handler) throw new Error(`no handler for ${api.name} v${version}`);
  const ctx: RequestContext = {
    apiKey: api.apiKey,
    version,
    correlationId: 1,
    clientId: 'test',
    listenerName: 'CONTROLLER',
    remoteAddress: '127.0.0.1',
    connectionId: 1,
    logger: silentLogger(),
    services: servicesOf(member),
  };
  const response = (await q.answer(Promise.resolve(handler.handle(ctx, request, version)))) as Res;
  const back = new Writer(64);
  api.encodeResponse(back, response, version);
  const responseReader = new Reader(back.finish());
  const decoded = api.decodeResponse(responseReader, version);
  expect(responseReader.ok && responseReader.remaining === 0).toBe(true);
  return decoded;
}

async function startedQuorum(): Promise<{ q: ControllerQuorum; active: QuorumMember }> {
  quorum = new ControllerQuorum(SEED);
  const q = quorum;
  const active = await q.activeController();
  for (const id of [1, 2, 3]) {
    const registered = await call(active, Apis.BrokerRegistration, 4, registrationRequest(id));
    expect(registered.errorCode).toBe(ErrorCode.NONE);
    expect(registered.brokerEpoch).toBe(active.runtime.committed.broker(id)?.epoch);
  }
  for (const id of [1, 2, 3]) {
    const beat = await call(
      active,
      Apis.BrokerHeartbeat,
      1,
      heartbeatRequest(active.runtime.committed, id),
    );
    expect(beat).toMatchObject({ errorCode: 0, isFenced: false, isCaughtUp: true });
  }
  return { q, active };
}

function createTopicsRequest(name: string, partitions: number) {
  const request = Apis.CreateTopics.newRequest();
  request.topics = [
    {
      name,
      numPartitions: partitions,
      replicationFactor: 3,
      assignments: [],
      configs: [{ name: 'retention.ms', value: '60000' }],
    },
  ];
  return request;
}

describe(`controller listener cluster handlers (seed ${SEED})`, () => {
  it('registers, heartbeats, creates a topic and moves its ISR (Kafka 4 versions)', async () => {
    const { active } = await startedQuorum();
    const created = await call(active, Apis.CreateTopics, 7, createTopicsRequest('t', 2));
    const topic = created.topics[0];
    expect(topic).toMatchObject({ name: 't', errorCode: 0, numPartitions: 2 });
    expect(topic?.replicationFactor).toBe(3);
    expect(topic?.topicId).toBe(active.runtime.committed.topicByName('t')?.topicId);
    const retention = topic?.configs?.find((c) => c.name === 'retention.ms');
    expect(retention).toMatchObject({ value: '60000', configSource: 1 });

    const state = active.runtime.committed;
    const partition = state.topicByName('t')?.partitions[0];
    if (!partition) throw new Error('no partition');
    const isr = [partition.leader];
    const v3 = await call(
      active,
      Apis.AlterPartition,
      3,
      alterPartitionRequest(state, partition, isr),
    );
    expect(v3.topics[0]?.topicId).toBe(partition.topicId);
    expect(v3.topics[0]?.partitions[0]).toMatchObject({ errorCode: 0, isr });

    // v1 names topics by name, and the answer does too.
    const now = active.runtime.committed;
    const current = now.topicByName('t')?.partitions[0];
    if (!current) throw new Error('no partition');
    const v1Request = alterPartitionRequest(now, current, [...current.replicas]);
    const v1Topic = v1Request.topics[0];
    if (!v1Topic) throw new Error('no topic');
    v1Request.topics = [{ ...v1Topic, topicName: 't', topicId: ZERO_UUID }];
    for (const p of v1Topic.partitions) {
      p.newIsr = p.newIsrWithEpochs.map((b) => b.brokerId);
      p.newIsrWithEpochs = [];
    }
    const v1 = await call(active, Apis.AlterPartition, 1, v1Request);
    expect(v1.topics[0]?.topicName).toBe('t');
    expect(v1.topics[0]?.partitions[0]?.errorCode).toBe(0);
    expect([...(v1.topics[0]?.partitions[0]?.isr ?? [])].sort()).toEqual([1, 2, 3]);

    const ids = await call(active, Apis.AllocateProducerIds, 0, {
      brokerId: 2,
      brokerEpoch: now.broker(2)?.epoch ?? -1,
    });
    expect(ids).toMatchObject({ errorCode: 0, producerIdStart: 0, producerIdLen: 1000 });
  });

  it('changes topics: partitions, configs, elections and deletion', async () => {
    const { active } = await startedQuorum();
    // v4 and v2 answers carry no configs nor counts: they encode without them.
    const v4 = await call(active, Apis.CreateTopics, 4, createTopicsRequest('grow', 1));
    expect(v4.topics[0]).toMatchObject({ name: 'grow', errorCode: 0 });
    const old = await call(active, Apis.CreateTopics, 2, createTopicsRequest('old', 1));
    expect(old.topics[0]?.errorCode).toBe(0);

    const grow = Apis.CreatePartitions.newRequest();
    grow.topics = [
      { name: 'grow', count: 3, assignments: null },
      { name: 'absent', count: 2, assignments: null },
    ];
    const grown = await call(active, Apis.CreatePartitions, 3, grow);
    expect(grown.results.map((r) => r.errorCode)).toEqual([
      ErrorCode.NONE,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    expect(active.runtime.committed.topicByName('grow')?.partitions).toHaveLength(3);

    const alter = Apis.IncrementalAlterConfigs.newRequest();
    alter.resources = [
      {
        resourceType: 2,
        resourceName: 'grow',
        configs: [
          { name: 'cleanup.policy', configOperation: 2, value: 'compact' },
          { name: 'retention.ms', configOperation: 1, value: null },
        ],
      },
      {
        resourceType: 2,
        resourceName: 'grow',
        configs: [{ name: 'max.message.bytes', configOperation: 0, value: 'big' }],
      },
    ];
    const altered = await call(active, Apis.IncrementalAlterConfigs, 1, alter);
    expect(altered.responses.map((r) => r.errorCode)).toEqual([0, ErrorCode.INVALID_CONFIG]);
    const configs = active.runtime.committed.configs(2, 'grow');
    expect(configs.get('cleanup.policy')).toBe('delete,compact');
    expect(configs.has('retention.ms')).toBe(false);

    // AlterConfigs replaces the whole set: cleanup.policy goes, segment.ms comes.
    const replace = Apis.AlterConfigs.newRequest();
    replace.resources = [
      {
        resourceType: 2,
        resourceName: 'grow',
        configs: [{ name: 'segment.ms', value: '3600000' }],
      },
    ];
    const replaced = await call(active, Apis.AlterConfigs, 2, replace);
    expect(replaced.responses[0]?.errorCode).toBe(0);
    expect([...active.runtime.committed.configs(2, 'grow')]).toEqual([['segment.ms', '3600000']]);

    const elect = Apis.ElectLeaders.newRequest();
    elect.electionType = 0;
    elect.topicPartitions = [{ topic: 'grow', partitions: [0] }];
    const elected = await call(active, Apis.ElectLeaders, 2, elect);
    expect(elected.errorCode).toBe(0);
    // Partitions start on their preferred leader: nothing to do.
    expect(elected.replicaElectionResults[0]?.partitionResult[0]?.errorCode).toBe(
      ErrorCode.ELECTION_NOT_NEEDED,
    );

    const topicId = active.runtime.committed.topicByName('grow')?.topicId ?? '';
    const del = Apis.DeleteTopics.newRequest();
    del.topics = [
      { name: null, topicId },
      { name: 'absent', topicId: ZERO_UUID },
    ];
    const deleted = await call(active, Apis.DeleteTopics, 6, del);
    expect(deleted.responses).toMatchObject([
      { name: 'grow', topicId, errorCode: 0 },
      { name: 'absent', errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
    ]);
    expect(active.runtime.committed.topicByName('grow')).toBeUndefined();
    const byName = Apis.DeleteTopics.newRequest();
    byName.topicNames = ['old', 'old-absent'];
    const v5 = await call(active, Apis.DeleteTopics, 5, byName);
    expect(v5.responses.map((r) => [r.name, r.errorCode])).toEqual([
      ['old', 0],
      ['old-absent', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
  });

  it('answers NOT_CONTROLLER on a standby, wherever each API reports errors', async () => {
    const { q, active } = await startedQuorum();
    const standby = q.members.find((m) => m !== active) as QuorumMember;
    const state = active.runtime.committed;
    const created = await call(standby, Apis.CreateTopics, 7, createTopicsRequest('s', 1));
    expect(created.topics[0]?.errorCode).toBe(ErrorCode.NOT_CONTROLLER);
    const beat = await call(standby, Apis.BrokerHeartbeat, 1, heartbeatRequest(state, 1));
    expect(beat.errorCode).toBe(ErrorCode.NOT_CONTROLLER);
    const registered = await call(standby, Apis.BrokerRegistration, 4, registrationRequest(9));
    expect(registered.errorCode).toBe(ErrorCode.NOT_CONTROLLER);
    const elect = Apis.ElectLeaders.newRequest();
    elect.topicPartitions = [{ topic: 'x', partitions: [0, 1] }];
    const elected = await call(standby, Apis.ElectLeaders, 0, elect);
    expect(elected.replicaElectionResults[0]?.partitionResult.map((p) => p.errorCode)).toEqual([
      ErrorCode.NOT_CONTROLLER,
      ErrorCode.NOT_CONTROLLER,
    ]);
    const del = Apis.DeleteTopics.newRequest();
    del.topicNames = ['x'];
    const deleted = await call(standby, Apis.DeleteTopics, 5, del);
    expect(deleted.responses[0]?.errorCode).toBe(ErrorCode.NOT_CONTROLLER);
    expect(state.topicByName('s')).toBeUndefined();
  });

  it('DescribeCluster answers with the controllers (KIP-919)', async () => {
    const { q, active } = await startedQuorum();
    const standby = q.members.find((m) => m !== active) as QuorumMember;
    const request = Apis.DescribeCluster.newRequest();
    request.endpointType = 2;
    const described = await call(standby, Apis.DescribeCluster, 1, request);
    expect(described).toMatchObject({
      errorCode: 0,
      endpointType: 2,
      clusterId: active.runtime.clusterId,
      controllerId: active.id,
    });
    expect(described.brokers.map((b) => [b.brokerId, b.host, b.port])).toEqual([
      [1, '127.0.0.1', 9101],
      [2, '127.0.0.1', 9102],
      [3, '127.0.0.1', 9103],
    ]);
    const asBroker = await call(
      standby,
      Apis.DescribeCluster,
      0,
      Apis.DescribeCluster.newRequest(),
    );
    expect(asBroker.errorCode).toBe(ErrorCode.MISMATCHED_ENDPOINT_TYPE);
  });

  it('advertises the cluster APIs only where a controller runs', () => {
    const keys = (r: typeof registry) => r.apiVersions().map((v) => v.apiKey);
    expect(keys(registry)).toEqual([
      1, 18, 19, 20, 33, 37, 43, 44, 52, 53, 54, 55, 56, 59, 60, 62, 63, 67,
    ]);
    expect(keys(controllerRegistry(schemaRangeOf))).toEqual([1, 18, 52, 53, 54, 55, 59]);
  });
});
