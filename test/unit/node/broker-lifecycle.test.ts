/**
 * ControllerChannel and BrokerLifecycleManager against real controllers: three voters, each a
 * MetadataQuorum with a ControllerRuntime serving BrokerRegistration/BrokerHeartbeat/
 * AllocateProducerIds on its controller listener over TCP; node 4 is a broker-only observer
 * whose "image offset" is what its quorum listener has been delivered.
 *
 * - the broker registers, heartbeats, and is unfenced once caught up; the controllers' state
 *   holds its registration (epoch = offset of its record, endpoints, rack, incarnation);
 * - heartbeats keep it unfenced past several session timeouts;
 * - a channel without a quorum view finds the controller by trying the voters;
 * - the channel follows a leader change (resignation), the broker stays registered;
 * - another registration of the same incarnation makes its epoch stale: it registers again;
 * - controlled shutdown ends with shouldShutDown and the broker fenced.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { Apis } from '../../../protocol/generated/api-table.ts';
import { MetadataRecordType } from '../../../protocol/generated/metadata-record-table.ts';
import { decodeMetadataRecord } from '../../../src/metadata/metadata-record.ts';
import { BrokerLifecycleManager, SUPPORTED_FEATURES } from '../../../src/node/broker-lifecycle.ts';
import {
  ControllerChannel,
  controllerChannelDefaults,
  saysNotController,
} from '../../../src/node/controller-channel.ts';
import { SystemClock } from '../../../src/util/clock.ts';
import { BrokerError } from '../../../src/util/errors.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { clusterId, startCluster, type TestCluster, until } from './quorum-harness.ts';

const seed = Number(process.env.BROOK_SEED ?? 11);
console.log(`broker-lifecycle seed ${seed}`);

const clock = new SystemClock();
const logger = silentLogger();
let cluster: TestCluster | undefined;
/** The broker's manager, shared by the tests that follow its life. */
let first: BrokerLifecycleManager | undefined;
const closers: (() => void)[] = [];

afterAll(async () => {
  for (const close of closers) close();
  await cluster?.stop();
});

function channel(c: TestCluster, withLeaderView: boolean, random = new SeededRandom(seed)) {
  const observer = c.node(4);
  const ch = new ControllerChannel({
    ...controllerChannelDefaults,
    nodeId: 4,
    voters: observer.quorum?.voters ?? new Map(),
    leaderId: withLeaderView ? () => observer.quorum?.leader().leaderId ?? -1 : undefined,
    clock,
    random,
    logger,
    requestTimeoutMs: 1_000,
    callTimeoutMs: 10_000,
  });
  closers.push(() => ch.close());
  return ch;
}

function activeRuntime(c: TestCluster) {
  return c.nodes.find((n) => n.runtime?.isActive)?.runtime;
}

function manager(c: TestCluster, ch: ControllerChannel) {
  const observer = c.node(4);
  const m = new BrokerLifecycleManager({
    nodeId: 4,
    clusterId,
    channel: ch,
    clock,
    random: new SeededRandom(seed + 1),
    logger,
    listeners: () => [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 19092 }],
    rack: 'rack-b',
    heartbeatIntervalMs: 100,
    metadataOffset: () => observer.collector.lastOffset,
  });
  closers.push(() => m.close());
  return m;
}

describe('saysNotController', () => {
  it('finds NOT_CONTROLLER at the top level and in per-topic results only', () => {
    expect(saysNotController({ errorCode: ErrorCode.NOT_CONTROLLER })).toBe(true);
    expect(saysNotController({ topics: [{ errorCode: 0 }, { errorCode: 41 }] })).toBe(true);
    expect(saysNotController({ errorCode: 0, topics: [{ errorCode: 36 }] })).toBe(false);
    expect(saysNotController(null)).toBe(false);
  });
});

describe('broker lifecycle against real controllers', () => {
  it('registers, heartbeats and is unfenced once caught up', async () => {
    cluster = await startCluster(3, 1, seed, { controllers: true, brokerSessionTimeoutMs: 1_000 });
    const c = cluster;
    const m = manager(c, channel(c, true));
    first = m;
    expect(m.incarnationId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    m.start();
    await m.whenUnfenced();
    expect(m.isFenced).toBe(false);
    expect(m.brokerEpoch).toBeGreaterThan(0);
    expect(m.isCaughtUp).toBe(true);
    // Every controller (active or standby) replayed the same registration.
    for (const id of c.voterIds) {
      const runtime = c.node(id).runtime;
      await until(`controller ${id} sees broker 4 unfenced`, () => {
        const broker = runtime?.committed.broker(4);
        return broker !== undefined && !broker.fenced;
      });
      const broker = runtime?.committed.broker(4);
      expect(broker?.epoch).toBe(m.brokerEpoch);
      expect(broker?.incarnationId).toBe(m.incarnationId);
      expect(broker?.rack).toBe('rack-b');
      expect(broker?.endpoints.map((e) => [e.name, e.host, e.port])).toEqual([
        ['PLAINTEXT', '127.0.0.1', 19092],
      ]);
      expect(broker?.features.map((f) => f.name)).toEqual(SUPPORTED_FEATURES.map((f) => f.name));
    }
    // The broker's epoch is the offset of its RegisterBrokerRecord in the log it follows.
    expect(c.node(4).collector.offsets).toContain(m.brokerEpoch);
  });

  it('stays unfenced past several session timeouts while it heartbeats', async () => {
    const c = cluster as TestCluster;
    const m = first as BrokerLifecycleManager;
    const collector = c.node(4).collector;
    const from = collector.batches.length;
    // Three session timeouts: a manager that stopped heartbeating would be fenced by now.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const fences = collector.batches
      .slice(from)
      .flatMap((b) => b.records)
      .map((r) => decodeMetadataRecord(r.data))
      .filter((r) => r.type === MetadataRecordType.FenceBrokerRecord);
    expect(fences).toEqual([]);
    expect(m.isFenced).toBe(false);
    expect(activeRuntime(c)?.committed.broker(4)?.fenced).toBe(false);
  });

  it('finds the controller without a quorum view by trying the voters', async () => {
    const c = cluster as TestCluster;
    const blind = channel(c, false);
    const response = await blind.send(Apis.AllocateProducerIds, 0, {
      brokerId: 4,
      brokerEpoch: activeRuntime(c)?.committed.broker(4)?.epoch ?? -1,
    });
    expect(response.errorCode).toBe(0);
    expect(response.producerIdLen).toBe(1000);
  });

  it('follows a leader change', async () => {
    const c = cluster as TestCluster;
    const ch = channel(c, true);
    const old = c.readyLeader();
    if (!old?.quorum) throw new Error('no leader');
    const epoch = activeRuntime(c)?.committed.broker(4)?.epoch ?? -1;
    expect(old.quorum.resign()).toBe(true);
    // Sent at once: the old leader answers NOT_CONTROLLER or the channel finds no one for a
    // while; it must end at the new controller.
    const response = await ch.send(Apis.AllocateProducerIds, 0, {
      brokerId: 4,
      brokerEpoch: epoch,
    });
    expect(response.errorCode).toBe(0);
    const leader = c.readyLeader();
    expect(leader?.id).not.toBe(old.id);
    expect(leader?.runtime?.isActive).toBe(true);
  });

  it('registers again when its epoch goes stale', async () => {
    const c = cluster as TestCluster;
    const m = first as BrokerLifecycleManager;
    const ch = channel(c, true);
    const registration = {
      brokerId: 4,
      clusterId,
      incarnationId: m.incarnationId,
      listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 19092, securityProtocol: 0 }],
      features: SUPPORTED_FEATURES.map((f) => ({ ...f })),
      rack: 'rack-b',
      isMigratingZkBroker: false,
      logDirs: [],
      previousBrokerEpoch: -1,
    };
    // Another incarnation of broker 4 is refused while this one holds its session.
    const other = await ch.send(Apis.BrokerRegistration, 4, {
      ...registration,
      incarnationId: 'AAAAAAAAAAAAAAAAAAAAAg',
    });
    expect(other.errorCode).toBe(ErrorCode.DUPLICATE_BROKER_REGISTRATION);
    // The same incarnation registering again gets a new epoch: the manager's is now stale.
    const before = m.brokerEpoch;
    const stolen = await ch.send(Apis.BrokerRegistration, 4, registration);
    expect(stolen.errorCode).toBe(0);
    expect(stolen.brokerEpoch).toBeGreaterThan(before);
    await until('registered again', () => m.brokerEpoch > stolen.brokerEpoch && !m.isFenced);
    const broker = activeRuntime(c)?.committed.broker(4);
    expect(broker?.epoch).toBe(m.brokerEpoch);
  });

  it('shuts down in a controlled way: shouldShutDown, then fenced', async () => {
    const c = cluster as TestCluster;
    const m = first as BrokerLifecycleManager;
    await m.controlledShutdown(10_000);
    expect(m.shouldShutDown).toBe(true);
    expect(m.isFenced).toBe(true);
    const epoch = m.brokerEpoch;
    await until('fenced in the controller', () => {
      const broker = activeRuntime(c)?.committed.broker(4);
      return broker?.epoch === epoch && broker.fenced;
    });
    m.close();
    await expect(m.whenUnfenced()).rejects.toMatchObject({ code: 'BROKER_LIFECYCLE_CLOSED' });
  });
});

describe('controller channel limits', () => {
  it('gives up at the deadline with CONTROLLER_UNAVAILABLE when no voter answers', async () => {
    const ch = new ControllerChannel({
      ...controllerChannelDefaults,
      nodeId: 9,
      // Port 1 on loopback: connections are refused at once.
      voters: new Map([[1, { host: '127.0.0.1', port: 1 }]]),
      clock,
      random: new SeededRandom(seed),
      logger,
      requestTimeoutMs: 200,
      callTimeoutMs: 300,
      inFlightMax: 1,
    });
    closers.push(() => ch.close());
    const body = { brokerId: 9, brokerEpoch: 1 };
    const first = ch.send(Apis.AllocateProducerIds, 0, body);
    // Bounded: a second call while one is in progress is refused at once.
    await expect(ch.send(Apis.AllocateProducerIds, 0, body)).rejects.toMatchObject({
      code: 'CONTROLLER_CHANNEL_FULL',
    });
    const error = await first.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('CONTROLLER_UNAVAILABLE');
  });
});
