/**
 * Metadata records through their frame: every type the controller writes round-trips at
 * every version Brook writes, each at the lowest version that carries its fields (so Kafka's
 * tools read them), and every record of a controller session encodes.
 */
import { describe, expect, test } from 'vitest';
import { MetadataRecordType as T } from '../../../protocol/generated/metadata-record-table.ts';
import type { ControllerRecord } from '../../../src/controller/controller-record.ts';
import {
  decodeMetadataRecord,
  encodeMetadataRecord,
  frameVersionOf,
  type MetadataRecord,
} from '../../../src/metadata/metadata-record.ts';
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

/** Encodes, checks the frame's type and version, decodes, and compares. */
function roundTrip(record: MetadataRecord, version: number): void {
  const bytes = encodeMetadataRecord(record);
  expect(frameVersionOf(bytes)).toEqual({ type: record.type, version });
  expect([...bytes.subarray(0, 3)]).toEqual([1, record.type, version]);
  expect(decodeMetadataRecord(bytes)).toEqual({
    type: record.type,
    data: { ...record.data, unknownTaggedFields: undefined },
  });
}

const id = uuid(7);

const cases: [string, MetadataRecord, number][] = [
  ['RegisterBroker v0', register(1, 10), 0],
  [
    'RegisterBroker v1 (in controlled shutdown)',
    register(1, 10, { inControlledShutdown: true }),
    1,
  ],
  ['RegisterBroker v2 (migrating zk broker)', register(1, 10, { isMigratingZkBroker: true }), 2],
  ['RegisterBroker v3 (log dirs)', register(1, 10, { logDirs: [uuid(1, 'D')] }), 3],
  ['RegisterBroker v0, null rack, unfenced', register(2, 3, { rack: null, fenced: false }), 0],
  ['UnregisterBroker v0', unregister(1, 10), 0],
  ['FenceBroker v0', fence(1, 10), 0],
  ['UnfenceBroker v0', unfence(1, 10), 0],
  ['BrokerRegistrationChange v0 (fence)', registrationChange(1, 10, 1, 0), 0],
  ['BrokerRegistrationChange v0 (unfence)', registrationChange(1, 10, -1, 0), 0],
  ['BrokerRegistrationChange v1 (controlled shutdown)', registrationChange(1, 10, 0, 1), 1],
  ['BrokerRegistrationChange v2 (log dirs)', registrationChange(1, 10, 0, 0, [uuid(2)]), 2],
  ['FeatureLevel v0', feature('metadata.version', 21), 0],
  ['Topic v0', topic('orders', id), 0],
  ['Partition v0', partition(id, 0, [1, 2, 3]), 0],
  ['Partition v0 (recovering, adding)', partition(id, 1, [1], { leaderRecoveryState: 1 }), 0],
  ['Partition v1 (directories)', partition(id, 2, [1, 2], { directories: [uuid(1), uuid(2)] }), 1],
  [
    'Partition v2 (eligible leader replicas)',
    partition(id, 3, [1, 2], { eligibleLeaderReplicas: [2], lastKnownElr: [] }),
    2,
  ],
  ['PartitionChange v0 (leader, isr)', change(id, 0, { leader: 2, isr: [2, 3] }), 0],
  [
    'PartitionChange v0 (replicas, recovery)',
    change(id, 0, { replicas: [3, 2], removingReplicas: [1], leaderRecoveryState: 0 }),
    0,
  ],
  ['PartitionChange v1 (directories)', change(id, 0, { directories: [uuid(3), uuid(4)] }), 1],
  ['PartitionChange v2 (ELR)', change(id, 0, { eligibleLeaderReplicas: [3] }), 2],
  ['Config v0 (set)', config(2, 'orders', 'retention.ms', '1000'), 0],
  ['Config v0 (unset)', config(4, '', 'log.retention.ms', null), 0],
  ['RemoveTopic v0', { type: T.RemoveTopicRecord, data: { topicId: id } }, 0],
  [
    'ProducerIds v0',
    { type: T.ProducerIdsRecord, data: { brokerId: 1, brokerEpoch: 10, nextProducerId: 5000 } },
    0,
  ],
];

describe('metadata record frame', () => {
  test.each(cases)('%s round-trips at the lowest version that carries it', (_, record, v) => {
    roundTrip(record, v);
  });

  test('a type Brook does not apply decodes as -1; bad frames and versions are refused', () => {
    // NoOpRecord (type 20) v0: an empty flexible body.
    expect(decodeMetadataRecord(Buffer.from([1, 20, 0, 0]))).toEqual({ type: -1, data: null });
    expect(() => decodeMetadataRecord(Buffer.from([2, 2, 0]))).toThrow(/frame/);
    const topicV1 = Buffer.from(encodeMetadataRecord(topic('t', id)));
    topicV1[2] = 1;
    expect(() => decodeMetadataRecord(topicV1)).toThrow(/version 1/);
    const truncated = encodeMetadataRecord(register(1, 10)).subarray(0, 12);
    expect(() => decodeMetadataRecord(truncated)).toThrow(/does not decode/);
    expect(frameVersionOf(Buffer.from([7]))).toEqual({ type: -1, version: -1 });
  });

  test('every record of a controller session encodes and decodes to itself', () => {
    const h = new ControllerHarness(3);
    h.startBrokers([1, 2, 3], ['a', 'b', undefined]);
    h.createTopic('t', 3, 3, [['retention.ms', '60000']]);
    h.alterIsr('t', 0, [h.partition('t', 0).leader]);
    h.heartbeat(2, { wantShutDown: true });
    h.heartbeat(3, { wantFence: true });
    h.run(h.controller.allocateProducerIds({ brokerId: 1, brokerEpoch: h.state.broker(1)!.epoch }));
    h.register(3, { incarnationId: uuid(9, 'N') });
    h.run(h.controller.deleteTopics([{ name: 't', topicId: null }]));
    const types = new Set(h.log.map((r) => r.type));
    expect(types.size).toBeGreaterThanOrEqual(9);
    expect(types).toContain(T.BrokerRegistrationChangeRecord);
    for (const record of h.log as readonly ControllerRecord[]) {
      const bytes = encodeMetadataRecord(record);
      expect(decodeMetadataRecord(bytes), `type ${record.type}`).toMatchObject({
        type: record.type,
        data: record.data as object,
      });
      if (record.type === T.BrokerRegistrationChangeRecord) {
        // inControlledShutdown needs v1: a v0 record would drop it.
        expect(frameVersionOf(bytes).version).toBe(1);
      }
    }
  });
});
