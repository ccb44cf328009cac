import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { newBrokerRegistrationRequest } from '../../../protocol/generated/index.ts';
import { MetadataRecordType } from '../../../protocol/generated/metadata-record-table.ts';
import { DEFAULT_CONTROLLER_CONFIG } from '../../../src/controller/decision.ts';
import { QuorumController } from '../../../src/controller/quorum-controller.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { CLUSTER_ID, ControllerHarness, featureLevel, incarnationFor } from './harness.ts';

const SESSION_MS = DEFAULT_CONTROLLER_CONFIG.brokerSessionTimeoutMs;

describe('registration', () => {
  test('three brokers register: epochs are the offsets of their records, all start fenced', () => {
    const h = new ControllerHarness();
    const epochs = [1, 2, 3].map((id) => h.register(id));
    expect(epochs.map((r) => r.errorCode)).toEqual([0, 0, 0]);
    expect(epochs.map((r) => r.brokerEpoch)).toEqual([1, 2, 3]);
    expect(h.log.map((r) => r.type)).toEqual(
      [0, 0, 0].map(() => MetadataRecordType.RegisterBrokerRecord),
    );
    for (const id of [1, 2, 3]) {
      const broker = h.state.broker(id);
      expect(broker?.fenced).toBe(true);
      expect(broker?.epoch).toBe(id);
      expect(broker?.endpoints[0]?.port).toBe(9092 + id);
    }
    expect(h.replayedFromLog().broker(2)?.epoch).toBe(2);
  });

  test('a heartbeat unfences a broker only once it has replayed its own registration', () => {
    const h = new ControllerHarness();
    h.register(1);
    h.register(2);
    const behind = h.heartbeat(2, { offset: 1 });
    expect(behind).toMatchObject({ errorCode: 0, isCaughtUp: false, isFenced: true });
    expect(h.log).toHaveLength(2);
    const caughtUp = h.heartbeat(2, { offset: 2 });
    expect(caughtUp).toMatchObject({ errorCode: 0, isCaughtUp: true, isFenced: false });
    expect(h.log.at(-1)).toEqual({
      type: MetadataRecordType.UnfenceBrokerRecord,
      data: { id: 2, epoch: 2 },
    });
    expect(h.state.broker(2)?.fenced).toBe(false);
    expect(h.heartbeat(2)).toMatchObject({ isFenced: false });
    expect(h.log).toHaveLength(3);
  });

  test('another incarnation is refused while the broker holds a session, accepted after', () => {
    const h = new ControllerHarness();
    h.startBrokers([1]);
    const other = incarnationFor(1, 2);
    expect(h.register(1, { incarnationId: other })).toMatchObject({
      errorCode: ErrorCode.DUPLICATE_BROKER_REGISTRATION,
      brokerEpoch: -1,
    });
    h.clock.advance(SESSION_MS);
    const again = h.register(1, { incarnationId: other });
    expect(again.errorCode).toBe(0);
    expect(again.brokerEpoch).toBe(h.state.offset);
    expect(h.state.broker(1)).toMatchObject({ incarnationId: other, fenced: true });
  });

  test('the same incarnation re-registering gets a new epoch', () => {
    const h = new ControllerHarness();
    h.startBrokers([1]);
    const first = h.state.broker(1)?.epoch;
    const again = h.register(1);
    expect(again.errorCode).toBe(0);
    expect(again.brokerEpoch).toBeGreaterThan(first ?? 0);
  });

  test('a wrong cluster id, a negative id and an unsupported feature level are refused', () => {
    const h = new ControllerHarness(1, {}, [featureLevel('metadata.version', 21)]);
    const request = newBrokerRegistrationRequest();
    request.brokerId = 1;
    request.incarnationId = incarnationFor(1, 1);
    request.clusterId = 'AAAAAAAAAAAAAAAAAAAAAB';
    expect(h.run(h.controller.registerBroker(request)).errorCode).toBe(
      ErrorCode.INCONSISTENT_CLUSTER_ID,
    );
    request.clusterId = CLUSTER_ID;
    request.brokerId = -1;
    expect(h.run(h.controller.registerBroker(request)).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    request.brokerId = 1;
    // Unlisted means [0, 0]: level 21 is not supported.
    expect(h.run(h.controller.registerBroker(request)).errorCode).toBe(
      ErrorCode.UNSUPPORTED_VERSION,
    );
    request.features = [
      { name: 'metadata.version', minSupportedVersion: 1, maxSupportedVersion: 20 },
    ];
    expect(h.run(h.controller.registerBroker(request)).errorCode).toBe(
      ErrorCode.UNSUPPORTED_VERSION,
    );
    request.features = [
      { name: 'metadata.version', minSupportedVersion: 1, maxSupportedVersion: 25 },
    ];
    expect(h.run(h.controller.registerBroker(request)).errorCode).toBe(0);
    expect(h.state.broker(1)?.features).toEqual(request.features);
  });
});

describe('heartbeats and fencing', () => {
  test('unknown brokers and stale epochs are refused', () => {
    const h = new ControllerHarness();
    h.startBrokers([1]);
    expect(h.heartbeat(7).errorCode).toBe(ErrorCode.BROKER_ID_NOT_REGISTERED);
    expect(h.heartbeat(1, { epoch: 0 }).errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH);
  });

  test('a broker missing heartbeats is fenced and its leaderships move to ISR members', () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2, 3]);
    h.createTopic('orders', 6, 3);
    const before = h.partitions('orders');
    const ledBy3 = before.filter((p) => p.leader === 3);
    expect(ledBy3).toHaveLength(2);
    // Brokers 1 and 2 keep heartbeating; 3 goes silent.
    for (let elapsed = 0; elapsed < SESSION_MS; elapsed += 2_000) {
      h.clock.advance(2_000);
      h.heartbeat(1);
      h.heartbeat(2);
      expect(h.run(h.controller.fenceStaleBrokers())).toEqual(
        elapsed + 2_000 >= SESSION_MS ? [3] : [],
      );
    }
    expect(h.state.broker(3)?.fenced).toBe(true);
    for (const p of h.partitions('orders')) {
      const old = before[p.partitionId]!;
      expect(p.isr).toEqual(old.isr.filter((id) => id !== 3));
      expect(p.partitionEpoch).toBe(old.partitionEpoch + 1);
      if (old.leader === 3) {
        expect([1, 2]).toContain(p.leader);
        expect(p.leaderEpoch).toBe(old.leaderEpoch + 1);
      } else {
        expect(p.leader).toBe(old.leader);
        expect(p.leaderEpoch).toBe(old.leaderEpoch);
      }
    }
    expect(h.log.find((r) => r.type === MetadataRecordType.FenceBrokerRecord)?.data).toEqual({
      id: 3,
      epoch: 3,
    });
    expect(h.replayedFromLog().partition(before[0]!.topicId, 0)).toEqual(h.partition('orders', 0));
  });

  test('the session deadline follows the last heartbeat; a fenced broker has none', () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2]);
    const start = h.clock.monotonicMs();
    expect(h.controller.nextSessionDeadlineMs()).toBe(start + SESSION_MS);
    h.clock.advance(1_000);
    h.heartbeat(1);
    expect(h.controller.nextSessionDeadlineMs()).toBe(start + SESSION_MS);
    h.clock.advance(SESSION_MS - 1_000);
    expect(h.run(h.controller.fenceStaleBrokers())).toEqual([2]);
    expect(h.controller.nextSessionDeadlineMs()).toBe(start + 1_000 + SESSION_MS);
  });

  test('a new active controller grants every broker a fresh session', () => {
    const h = new ControllerHarness();
    h.startBrokers([1]);
    h.clock.advance(SESSION_MS - 1);
    h.controller.deactivate();
    h.controller.activate(h.state.offset + 2);
    h.clock.advance(SESSION_MS - 1);
    expect(h.controller.fenceStaleBrokers().records).toEqual([]);
    h.clock.advance(1);
    expect(h.controller.fenceStaleBrokers().response).toEqual([1]);
  });

  test('a broker asking to be fenced is fenced; it is unfenced again when it asks no more', () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2]);
    h.createTopic('t', 2, 2);
    expect(h.heartbeat(1, { wantFence: true }).isFenced).toBe(true);
    for (const p of h.partitions('t')) expect(p.leader).toBe(2);
    expect(h.heartbeat(1).isFenced).toBe(false);
  });
});

describe('controlled shutdown', () => {
  test('leaderships move away, then the broker is fenced and told to shut down', () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2, 3]);
    h.createTopic('t', 6, 2);
    const led = h.partitions('t').filter((p) => p.leader === 1);
    expect(led.length).toBeGreaterThan(0);
    const response = h.heartbeat(1, { wantShutDown: true });
    expect(response).toMatchObject({ errorCode: 0, shouldShutDown: true, isFenced: true });
    const change = h.log.find((r) => r.type === MetadataRecordType.BrokerRegistrationChangeRecord);
    expect(change?.data).toMatchObject({ brokerId: 1, inControlledShutdown: 1 });
    for (const p of h.partitions('t')) {
      expect(p.leader).not.toBe(1);
      expect(p.isr).not.toContain(1);
    }
    expect(h.state.broker(1)).toMatchObject({ fenced: true, inControlledShutdown: true });
    // Registering again is a restart: it clears the shutdown.
    expect(h.register(1).errorCode).toBe(0);
    expect(h.heartbeat(1).isFenced).toBe(false);
    expect(h.state.broker(1)?.inControlledShutdown).toBe(false);
  });

  test('a partition whose only ISR member shuts down goes offline, then returns with it', () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2]);
    h.createTopic('solo', 1, 1);
    const leader = h.partition('solo', 0).leader;
    const epoch = h.partition('solo', 0).leaderEpoch;
    // Like Kafka: a broker shutting down may not lead, and nothing else can lead this one.
    const first = h.heartbeat(leader, { wantShutDown: true });
    expect(first).toMatchObject({ shouldShutDown: true, isFenced: true });
    expect(h.partition('solo', 0)).toMatchObject({
      leader: -1,
      isr: [leader],
      leaderEpoch: epoch + 1,
    });
    expect(h.register(leader).errorCode).toBe(0);
    expect(h.heartbeat(leader).isFenced).toBe(false);
    expect(h.partition('solo', 0)).toMatchObject({ leader, isr: [leader], leaderEpoch: epoch + 2 });
  });
});

describe('failover', () => {
  test('a standby that replayed the log takes over with the same brokers and partitions', () => {
    const h = new ControllerHarness(8);
    h.startBrokers([1, 2, 3]);
    h.createTopic('t', 3, 3);
    const standby = new QuorumController({
      clock: h.clock,
      random: new SeededRandom(99),
      config: { ...DEFAULT_CONTROLLER_CONFIG, clusterId: CLUSTER_ID },
    });
    const lastOffset = h.state.offset;
    standby.replay(h.log, lastOffset);
    expect(standby.isActive).toBe(false);
    expect([...standby.latest.partitions()]).toEqual([...h.state.partitions()]);
    h.controller.deactivate();
    standby.activate(lastOffset + 2);
    h.clock.advance(SESSION_MS / 2);
    for (const id of [1, 2]) {
      const epoch = standby.latest.broker(id)?.epoch ?? -1;
      const request = { brokerId: id, brokerEpoch: epoch, currentMetadataOffset: lastOffset };
      const beat = standby.brokerHeartbeat({
        ...request,
        wantFence: false,
        wantShutDown: false,
        offlineLogDirs: [],
      });
      expect(beat.response).toMatchObject({ errorCode: 0, isFenced: false });
    }
    h.clock.advance(SESSION_MS / 2);
    const fenced = standby.fenceStaleBrokers();
    expect(fenced.response).toEqual([3]);
    expect(fenced.records[0]).toEqual({
      type: MetadataRecordType.FenceBrokerRecord,
      data: { id: 3, epoch: 3 },
    });
    expect(fenced.commitOffset).toBe(lastOffset + 1 + fenced.records.length);
  });
});
