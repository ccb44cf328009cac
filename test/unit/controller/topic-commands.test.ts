import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { MetadataRecordType } from '../../../protocol/generated/metadata-record-table.ts';
import { ControllerState } from '../../../src/controller/controller-state.ts';
import { MetadataImage } from '../../../src/metadata/metadata-image.ts';
import type { MetadataRecord } from '../../../src/metadata/metadata-record.ts';
import { ControllerHarness, leaderCounts } from './harness.ts';

function replicaCounts(h: ControllerHarness): Map<number, number> {
  const counts = new Map<number, number>();
  for (const p of h.state.partitions()) {
    for (const id of p.replicas) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('CreateTopics', () => {
  test('RF 3 on 3 brokers: every broker holds every partition and leads a third of them', () => {
    const h = new ControllerHarness(11);
    h.startBrokers([1, 2, 3]);
    const result = h.createTopic('orders', 6, 3);
    expect(result).toMatchObject({ errorCode: 0, numPartitions: 6, replicationFactor: 3 });
    const partitions = h.partitions('orders');
    expect(partitions).toHaveLength(6);
    for (const p of partitions) {
      expect([...p.replicas].sort()).toEqual([1, 2, 3]);
      expect(p.isr).toEqual(p.replicas);
      expect(p.leader).toBe(p.replicas[0]);
      expect(p).toMatchObject({ leaderEpoch: 0, partitionEpoch: 0, leaderRecoveryState: 0 });
    }
    const expected = new Map<number, number>([1, 2, 3].map((id) => [id, 2]));
    expect(leaderCounts(partitions)).toEqual(expected);
  });

  test('leaders and replicas spread evenly, across topics too', () => {
    const h = new ControllerHarness(5);
    h.startBrokers([1, 2, 3, 4]);
    h.createTopic('a', 3, 2);
    h.createTopic('b', 5, 2);
    const counts = leaderCounts([...h.state.partitions()]);
    expect([...counts.values()].sort()).toEqual([2, 2, 2, 2]);
    expect([...replicaCounts(h).values()]).toEqual([4, 4, 4, 4]);
  });

  test('replicas of a partition go to distinct racks when racks allow', () => {
    const h = new ControllerHarness(9);
    h.startBrokers([1, 2, 3, 4], ['east', 'east', 'west', 'west']);
    h.createTopic('racked', 8, 2);
    const rackOf = (id: number) => h.state.broker(id)?.rack;
    for (const p of h.partitions('racked')) {
      expect(new Set(p.replicas.map(rackOf)).size).toBe(2);
    }
    expect([...leaderCounts(h.partitions('racked')).values()]).toEqual([2, 2, 2, 2]);
  });

  test('only active brokers receive replicas', () => {
    const h = new ControllerHarness(2);
    h.startBrokers([1, 2, 3]);
    h.heartbeat(2, { wantFence: true });
    h.createTopic('t', 4, 2);
    for (const p of h.partitions('t')) expect(p.replicas).not.toContain(2);
    expect(h.createTopic('u', 1, 3)).toMatchObject({
      errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
    });
  });

  test('bad names, duplicates, collisions, configs and counts are refused, writing nothing', () => {
    const h = new ControllerHarness();
    h.startBrokers([1]);
    h.createTopic('a.b', 1, 1);
    const logLength = h.log.length;
    expect(h.createTopic('bad/name', 1, 1).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(h.createTopic('a.b', 1, 1).errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    expect(h.createTopic('a_b', 1, 1).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(h.createTopic('c', 0, 1).errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(h.createTopic('c', 1, 0).errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
    expect(h.createTopic('c', 1, 1, [['cleanup.policy', 'sometimes']]).errorCode).toBe(
      ErrorCode.INVALID_CONFIG,
    );
    expect(h.log).toHaveLength(logLength);
  });

  test('a request needing more records than one command may write is refused', () => {
    const h = new ControllerHarness(1, { recordsPerCommandMax: 10 });
    h.startBrokers([1]);
    expect(h.createTopic('big', 10, 1).errorCode).toBe(ErrorCode.POLICY_VIOLATION);
    expect(h.createTopic('fits', 9, 1).errorCode).toBe(0);
  });

  test('explicit assignments: registered brokers only; fenced ones start outside the ISR', () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2, 3]);
    h.heartbeat(1, { wantFence: true });
    const topic = (name: string, assignments: number[][]) => ({
      name,
      numPartitions: -1,
      replicationFactor: -1,
      configs: new Map<string, string>(),
      assignments,
    });
    const [ok, unknown, uneven, allFenced] = h.run(
      h.controller.createTopics([
        topic('m', [
          [1, 2],
          [3, 1],
        ]),
        topic('n', [[1, 9]]),
        topic('o', [[1, 2], [3]]),
        topic('p', [[1]]),
      ]),
    );
    expect(ok?.errorCode).toBe(0);
    expect(unknown?.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(uneven?.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(allFenced?.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(h.partitions('m').map((p) => [p.replicas, p.isr, p.leader])).toEqual([
      [[1, 2], [2], 2],
      [[3, 1], [3], 3],
    ]);
  });
});

describe('validateOnly', () => {
  test('CreateTopics and CreatePartitions answer as they would, writing nothing', () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2]);
    h.createTopic('t', 1, 2);
    const offset = h.state.offset;
    const topic = {
      name: 'u',
      numPartitions: 3,
      replicationFactor: 2,
      configs: new Map(),
      assignments: [],
    };
    const created = h.controller.createTopics([topic, { ...topic, name: 't' }], {
      validateOnly: true,
    });
    expect(created.records).toEqual([]);
    expect(created.commitOffset).toBe(offset);
    expect(created.response.map((r) => [r.errorCode, r.numPartitions])).toEqual([
      [0, 3],
      [ErrorCode.TOPIC_ALREADY_EXISTS, -1],
    ]);
    const grown = h.controller.createPartitions([{ name: 't', count: 4, assignments: null }], {
      validateOnly: true,
    });
    expect(grown.records).toEqual([]);
    expect(grown.response[0]?.errorCode).toBe(0);
    expect(h.state.topicByName('u')).toBeUndefined();
    expect(h.partitions('t')).toHaveLength(1);
    expect(h.state.offset).toBe(offset);
    expect(h.createTopic('u', 1, 1).errorCode).toBe(0);
    expect(h.state.offset).toBe(offset + 2);
  });
});

describe('DeleteTopics and CreatePartitions', () => {
  test('a topic is deleted by name or id; unknown ones are refused', () => {
    const h = new ControllerHarness();
    h.startBrokers([1]);
    const a = h.createTopic('a', 1, 1);
    h.createTopic('b', 1, 1, [['retention.ms', '1000']]);
    const results = h.run(
      h.controller.deleteTopics([
        { name: null, topicId: a.topicId },
        { name: 'b', topicId: null },
        { name: 'zz', topicId: null },
        { name: null, topicId: a.topicId },
      ]),
    );
    expect(results.map((r) => r.errorCode)).toEqual([
      0,
      0,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.UNKNOWN_TOPIC_ID,
    ]);
    expect([...h.state.topics()]).toEqual([]);
    expect(h.state.configs(2, 'b').size).toBe(0);
  });

  test('partitions are added with the topic replication factor, or as assigned', () => {
    const h = new ControllerHarness(4);
    h.startBrokers([1, 2, 3]);
    h.createTopic('t', 2, 2);
    const grow = (count: number, assignments: number[][] | null = null) =>
      h.run(h.controller.createPartitions([{ name: 't', count, assignments }]))[0]?.errorCode;
    expect(grow(4)).toBe(0);
    expect(h.partitions('t').map((p) => p.replicas.length)).toEqual([2, 2, 2, 2]);
    expect(grow(4)).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(grow(3)).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(grow(6, [[3, 1]])).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(grow(5, [[3]])).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(grow(5, [[3, 1]])).toBe(0);
    expect(h.partition('t', 4)).toMatchObject({ replicas: [3, 1], isr: [3, 1], leader: 3 });
    const missing = h.run(
      h.controller.createPartitions([{ name: 'nope', count: 2, assignments: null }]),
    );
    expect(missing[0]?.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

describe('AllocateProducerIds', () => {
  test('brokers get consecutive disjoint blocks; a stale epoch gets none', () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2]);
    const ask = (brokerId: number, brokerEpoch = h.state.broker(brokerId)?.epoch ?? -1) =>
      h.run(h.controller.allocateProducerIds({ brokerId, brokerEpoch }));
    expect(ask(1)).toMatchObject({ errorCode: 0, producerIdStart: 0, producerIdLen: 1000 });
    expect(ask(2)).toMatchObject({ errorCode: 0, producerIdStart: 1000, producerIdLen: 1000 });
    expect(ask(1, 0).errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH);
    expect(h.log.at(-1)).toEqual({
      type: MetadataRecordType.ProducerIdsRecord,
      data: { brokerId: 2, brokerEpoch: 2, nextProducerId: 2000 },
    });
    expect(h.replayedFromLog().nextProducerId).toBe(2000);
  });
});

describe('pending records', () => {
  test('commands decide on records not yet committed; deactivation forgets them', () => {
    const h = new ControllerHarness();
    h.startBrokers([1]);
    const committedOffset = h.state.offset;
    const topic = { numPartitions: 1, replicationFactor: 1, configs: new Map(), assignments: [] };
    const first = h.controller.createTopics([{ name: 'x', ...topic }]);
    expect(first.commitOffset).toBe(committedOffset + 2);
    // Not committed yet, but a second create of the same name already sees it.
    const second = h.controller.createTopics([{ name: 'x', ...topic }]);
    expect(second.response[0]?.errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    expect(second.records).toEqual([]);
    expect(second.commitOffset).toBe(first.commitOffset);
    expect(h.controller.committed.topicByName('x')).toBeUndefined();
    h.controller.deactivate();
    expect(h.controller.latest.topicByName('x')).toBeUndefined();
    h.controller.activate(committedOffset + 2);
    expect(h.createTopic('x', 1, 1).errorCode).toBe(0);
  });

  test('the broker-side MetadataImage agrees with the controller on every partition', () => {
    const h = new ControllerHarness(21);
    h.startBrokers([1, 2, 3]);
    h.createTopic('t', 4, 3);
    h.alterIsr('t', 0, [h.partition('t', 0).leader]);
    h.heartbeat(2, { wantFence: true });
    const image = MetadataImage.EMPTY.apply(h.log as MetadataRecord[], h.state.offset);
    const fromLog = h.replayedFromLog();
    for (const p of h.partitions('t')) {
      const seen = image.topic('t')?.partitions[p.partitionId];
      expect(seen).toMatchObject({
        leaderId: p.leader,
        leaderEpoch: p.leaderEpoch,
        partitionEpoch: p.partitionEpoch,
        isrNodes: p.isr,
        replicaNodes: p.replicas,
      });
      expect(fromLog.partition(p.topicId, p.partitionId)).toEqual(p);
    }
    expect(new ControllerState().offset).toBe(-1);
  });
});
