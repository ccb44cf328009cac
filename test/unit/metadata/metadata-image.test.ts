/**
 * MetadataImage.apply with Kafka's semantics: broker registrations (register, fence, unfence,
 * controlled shutdown, re-registration, stale epochs, unregistration), features, partition
 * changes, copy-on-write sharing, linear cost of a large batch, and agreement with the
 * controller's own replay of a real controller session.
 */
import { describe, expect, test } from 'vitest';
import { MetadataRecordType as T } from '../../../protocol/generated/metadata-record-table.ts';
import { ZERO_UUID } from '../../../protocol/wire/codec-support.ts';
import type { ControllerState } from '../../../src/controller/controller-state.ts';
import { MetadataImage } from '../../../src/metadata/metadata-image.ts';
import {
  decodeMetadataRecord,
  encodeMetadataRecord,
  type MetadataRecord,
} from '../../../src/metadata/metadata-record.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { ControllerHarness } from '../controller/harness.ts';
import {
  change,
  config,
  feature,
  fence,
  partition,
  register,
  registrationChange,
  topic,
  unfence,
  unregister,
  uuid,
} from './records.ts';

/** Applies each record as its own batch at offsets 0, 1, 2... (as a log would). */
function applyEach(records: readonly MetadataRecord[], from = MetadataImage.EMPTY): MetadataImage {
  let image = from;
  for (const record of records) image = image.apply([record], image.offset + 1);
  return image;
}

const brokerState = (image: MetadataImage, id: number) => {
  const b = image.broker(id);
  return b && { epoch: b.epoch, fenced: b.fenced, shutdown: b.inControlledShutdown };
};

describe('broker registrations', () => {
  test('register, unfence, controlled shutdown, fence; endpoints by listener', () => {
    let image = applyEach([register(1, 0), register(2, 1), register(3, -1)]);
    expect(image.brokerCount).toBe(3);
    // A record without an epoch takes its offset (what the controller decided).
    expect(brokerState(image, 3)).toEqual({ epoch: 2, fenced: true, shutdown: false });
    const b1 = image.broker(1);
    expect(b1?.incarnationId).toBe(uuid(1, 'I'));
    expect(b1?.rack).toBe('rack-1');
    expect([...(b1?.endpoints ?? [])]).toEqual([
      ['PLAINTEXT', { host: 'b1.local', port: 9092, securityProtocol: 0 }],
      ['INTERNAL', { host: 'b1.internal', port: 19092, securityProtocol: 0 }],
    ]);
    image = applyEach([unfence(1, 0), unfence(2, 1), registrationChange(3, 2, -1, 0)], image);
    expect([...image.brokers()].map((b) => b.fenced)).toEqual([false, false, false]);
    image = applyEach([registrationChange(2, 1, 0, 1)], image);
    expect(brokerState(image, 2)).toEqual({ epoch: 1, fenced: false, shutdown: true });
    image = applyEach([fence(2, 1), registrationChange(3, 2, 1, 0)], image);
    expect(brokerState(image, 2)).toEqual({ epoch: 1, fenced: true, shutdown: true });
    expect(brokerState(image, 3)).toEqual({ epoch: 2, fenced: true, shutdown: false });
    // A value outside the tri-state changes nothing (never an error on replay).
    image = applyEach([registrationChange(3, 2, 5, 0)], image);
    expect(brokerState(image, 3)?.fenced).toBe(true);
  });

  test('a re-registration replaces the old incarnation; stale epochs are ignored', () => {
    let image = applyEach([register(1, 0), unfence(1, 0)]);
    image = applyEach(
      [register(1, 7, { incarnationId: uuid(5, 'N'), endPoints: [], rack: null })],
      image,
    );
    expect(brokerState(image, 1)).toEqual({ epoch: 7, fenced: true, shutdown: false });
    expect(image.broker(1)?.incarnationId).toBe(uuid(5, 'N'));
    expect(image.broker(1)?.endpoints.size).toBe(0);
    const stale = [
      unfence(1, 0),
      registrationChange(1, 0, -1, 1),
      unregister(1, 0),
      fence(9, 0),
      unfence(9, 0),
    ];
    const after = applyEach(stale, image);
    expect(after.broker(1)).toEqual(image.broker(1));
    expect(after.brokerCount).toBe(1);
    image = applyEach([unfence(1, 7), registrationChange(1, 7, 0, 0, [uuid(3)])], image);
    expect(image.broker(1)?.fenced).toBe(false);
    expect(image.broker(1)?.logDirs).toEqual([uuid(3)]);
    image = applyEach([unregister(1, 7)], image);
    expect(image.broker(1)).toBeUndefined();
    expect(image.brokerCount).toBe(0);
  });

  test('finalized features: set, raise, remove with level 0', () => {
    let image = applyEach([feature('metadata.version', 19), feature('kraft.version', 1)]);
    image = applyEach([feature('metadata.version', 21)], image);
    expect([...image.features]).toEqual([
      ['metadata.version', 21],
      ['kraft.version', 1],
    ]);
    image = applyEach([feature('kraft.version', 0)], image);
    expect([...image.features]).toEqual([['metadata.version', 21]]);
  });
});

describe('partitions', () => {
  const id = uuid(1);

  test('leader, isr, replicas and recovery state change with Kafka epochs', () => {
    let image = applyEach([
      topic('t', id),
      partition(id, 0, [1, 2, 3], { directories: [uuid(11), uuid(12), uuid(13)] }),
    ]);
    const at = () => image.topic('t')?.partitions[0];
    expect(at()).toMatchObject({ leaderId: 1, leaderEpoch: 0, partitionEpoch: 0 });
    image = applyEach([change(id, 0, { isr: [1, 2] })], image);
    expect(at()).toMatchObject({ isrNodes: [1, 2], leaderEpoch: 0, partitionEpoch: 1 });
    image = applyEach([change(id, 0, { leader: 2, isr: [2] })], image);
    expect(at()).toMatchObject({ leaderId: 2, isrNodes: [2], leaderEpoch: 1, partitionEpoch: 2 });
    // Naming a leader bumps its epoch even when it is the same one (Kafka's merge).
    image = applyEach([change(id, 0, { leader: 2 })], image);
    expect(at()).toMatchObject({ leaderId: 2, leaderEpoch: 2, partitionEpoch: 3 });
    image = applyEach([change(id, 0, { leader: -1 })], image);
    expect(at()).toMatchObject({ leaderId: -1, leaderEpoch: 3 });
    image = applyEach([change(id, 0, { leader: 3, isr: [3], leaderRecoveryState: 1 })], image);
    expect(at()).toMatchObject({ leaderId: 3, leaderRecoveryState: 1, leaderEpoch: 4 });
    image = applyEach([change(id, 0, { leaderRecoveryState: -1, isr: [3, 2] })], image);
    expect(at()?.leaderRecoveryState).toBe(1);
    image = applyEach([change(id, 0, { leaderRecoveryState: 0 })], image);
    expect(at()).toMatchObject({ leaderRecoveryState: 0, partitionEpoch: 7 });
    // New replicas keep their directories; a new one is unassigned.
    image = applyEach(
      [change(id, 0, { replicas: [3, 4], addingReplicas: [4], removingReplicas: [2] })],
      image,
    );
    expect(at()).toMatchObject({
      replicaNodes: [3, 4],
      addingReplicas: [4],
      removingReplicas: [2],
      directories: [uuid(13), ZERO_UUID],
    });
    image = applyEach(
      [change(id, 0, { eligibleLeaderReplicas: [4], lastKnownElr: [2], addingReplicas: [] })],
      image,
    );
    expect(at()).toMatchObject({ eligibleLeaderReplicas: [4], lastKnownElr: [2] });
    expect(at()?.addingReplicas).toEqual([]);
    // Unknown topics and partitions are ignored.
    const same = applyEach(
      [change(uuid(2), 0, { leader: 1 }), change(id, 5, { leader: 1 })],
      image,
    );
    expect(same.topic('t')).toEqual(image.topic('t'));
  });

  test('a topic recorded again replaces the old one by name and by id', () => {
    let image = applyEach([topic('a', id), partition(id, 0, [1]), topic('a', uuid(2))]);
    expect(image.topicById(id)).toBeUndefined();
    expect(image.topic('a')?.partitions).toEqual([]);
    image = applyEach([topic('b', uuid(2))], image);
    expect([...image.topics()].map((t) => [t.name, t.topicId])).toEqual([['b', uuid(2)]]);
  });

  test('apply is copy-on-write: old images unchanged, untouched topics shared', () => {
    const other = uuid(2);
    const before = MetadataImage.EMPTY.apply(
      [
        topic('t', id),
        partition(id, 0, [1]),
        partition(id, 1, [1]),
        topic('u', other),
        partition(other, 0, [1]),
        register(1, 5),
        config(4, '1', 'log.retention.ms', '5'),
      ],
      6,
    );
    const after = before.apply(
      [change(id, 1, { leader: -1 }), fence(1, 5), config(4, '1', 'log.retention.ms', null)],
      9,
    );
    expect(before.topic('t')?.partitions[1]?.leaderId).toBe(1);
    expect(before.broker(1)?.fenced).toBe(true);
    expect(after.offset).toBe(9);
    expect(after.topic('t')?.partitions[1]?.leaderId).toBe(-1);
    expect(after.topic('u')).toBe(before.topic('u'));
    expect(after.topic('t')?.partitions[0]).toBe(before.topic('t')?.partitions[0]);
    expect(after.topic('t')?.configs).toBe(before.topic('t')?.configs);
    expect(before.resourceConfigs(4, '1').get('log.retention.ms')).toBe('5');
    expect([...after.configResources()]).toEqual([]);
  });

  test('many topics: indexes stay consistent through adds and removals', () => {
    const idOf = (i: number) => uuid(i % 256, 'ABCDEFGH'[Math.floor(i / 256)]);
    const created = Array.from({ length: 2000 }, (_, i) => topic(`t${i}`, idOf(i)));
    const full = MetadataImage.EMPTY.apply(created, created.length - 1);
    const removed = Array.from({ length: 1000 }, (_, i) => ({
      type: T.RemoveTopicRecord,
      data: { topicId: idOf(i * 2) },
    })) as MetadataRecord[];
    const half = full.apply(removed, 2999);
    expect([full.topicCount, half.topicCount]).toEqual([2000, 1000]);
    expect([...half.topics()].every((t) => Number(t.name.slice(1)) % 2 === 1)).toBe(true);
    for (let i = 0; i < 2000; i++) {
      expect(half.topicById(idOf(i))?.name).toBe(i % 2 === 1 ? `t${i}` : undefined);
      expect(full.topic(`t${i}`)?.topicId).toBe(idOf(i));
    }
    const next = half.apply([partition(idOf(1), 0, [1])], 3000);
    const shared = [...half.topics()].filter((t) => next.topic(t.name) === t).length;
    expect(shared).toBe(999);
  });

  test('a batch of 100k records costs linear time', () => {
    const partitions = 50_000;
    const records: MetadataRecord[] = [topic('big', id)];
    for (let p = 0; p < partitions; p++) records.push(partition(id, p, [1, 2, 3]));
    for (let p = 0; p < partitions; p++) records.push(change(id, p, { isr: [1, 2] }));
    const started = performance.now();
    const image = MetadataImage.EMPTY.apply(records, records.length - 1);
    const elapsedMs = performance.now() - started;
    expect(image.topic('big')?.partitions).toHaveLength(partitions);
    expect(image.topic('big')?.partitions[partitions - 1]?.partitionEpoch).toBe(1);
    // Quadratic copying (a partition list copy per record) takes minutes here.
    expect(elapsedMs).toBeLessThan(5_000);
  });
});

/** The controller's view and the image's, in the same shape. */
function controllerShape(state: ControllerState) {
  return {
    brokers: [...state.brokers()].map((b) => ({
      id: b.brokerId,
      epoch: b.epoch,
      fenced: b.fenced,
      shutdown: b.inControlledShutdown,
      rack: b.rack,
      endpoints: b.endpoints.map((e) => [e.name, e.host, e.port]),
    })),
    topics: [...state.topics()].map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        replicas: p.replicas,
        isr: p.isr,
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        partitionEpoch: p.partitionEpoch,
        recovery: p.leaderRecoveryState,
      })),
    })),
    features: [...state.features()],
    nextProducerId: state.nextProducerId,
  };
}

function imageShape(image: MetadataImage) {
  return {
    brokers: [...image.brokers()].map((b) => ({
      id: b.id,
      epoch: b.epoch,
      fenced: b.fenced,
      shutdown: b.inControlledShutdown,
      rack: b.rack,
      endpoints: [...b.endpoints].map(([name, e]) => [name, e.host, e.port]),
    })),
    topics: [...image.topics()].map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        replicas: p.replicaNodes,
        isr: p.isrNodes,
        leader: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        partitionEpoch: p.partitionEpoch,
        recovery: p.leaderRecoveryState,
      })),
    })),
    features: [...image.features],
    nextProducerId: image.nextProducerId,
  };
}

test('a controller session read back from bytes builds the controller state', () => {
  const seed = 20_261_207;
  const random = new SeededRandom(seed);
  const h = new ControllerHarness(seed);
  h.startBrokers([1, 2, 3, 4], ['a', 'b', 'a', undefined]);
  h.createTopic('orders', 6, 3, [['retention.ms', '60000']]);
  h.createTopic('audit', 2, 2);
  h.alterIsr('orders', 0, [h.partition('orders', 0).leader]);
  h.heartbeat(2, { wantShutDown: true });
  h.heartbeat(2, { wantShutDown: true });
  h.register(3, { incarnationId: uuid(9, 'N') });
  h.heartbeat(3);
  h.heartbeat(4, { wantFence: true });
  h.run(h.controller.allocateProducerIds({ brokerId: 1, brokerEpoch: h.state.broker(1)!.epoch }));
  h.run(h.controller.deleteTopics([{ name: 'audit', topicId: null }]));
  const records = h.log.map((r) => decodeMetadataRecord(encodeMetadataRecord(r)));
  expect(records.some((r) => r.type === T.BrokerRegistrationChangeRecord)).toBe(true);
  // Offsets start at the harness's first offset (0 is the Raft leader-change entry); the
  // log is applied in batches of random sizes, as a follower would commit it.
  let image = MetadataImage.EMPTY.apply([], h.firstOffset - 1);
  for (let i = 0; i < records.length; ) {
    const n = random.int(1, 7);
    const batch = records.slice(i, i + n);
    image = image.apply(batch, image.offset + batch.length);
    i += batch.length;
  }
  expect(imageShape(image), `seed ${seed}`).toEqual(controllerShape(h.replayedFromLog()));
  expect(image.broker(2)?.inControlledShutdown).toBe(true);
});
