import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { MetadataRecordType } from '../../../protocol/generated/metadata-record-table.ts';
import { DEFAULT_CONTROLLER_CONFIG } from '../../../src/controller/decision.ts';
import { ElectionType } from '../../../src/controller/partition-commands.ts';
import { ControllerHarness } from './harness.ts';

const SESSION_MS = DEFAULT_CONTROLLER_CONFIG.brokerSessionTimeoutMs;

function threeBrokerTopic(config = {}) {
  const h = new ControllerHarness(7, config);
  h.startBrokers([1, 2, 3]);
  h.createTopic('t', 1, 3);
  return h;
}

/** Lets `silent`'s session expire while the others heartbeat, then fences it. */
function expire(h: ControllerHarness, silent: number, live: readonly number[]) {
  h.clock.advance(SESSION_MS);
  for (const id of live) h.heartbeat(id);
  expect(h.run(h.controller.fenceStaleBrokers())).toEqual([silent]);
}

describe('AlterPartition', () => {
  test('a leader shrinks its ISR, then expands it again', () => {
    const h = threeBrokerTopic();
    const start = h.partition('t', 0);
    const [leader, a, b] = start.isr as [number, number, number];
    const shrunk = h.alterIsr('t', 0, [leader, a]);
    expect(shrunk).toMatchObject({
      errorCode: 0,
      leaderId: leader,
      leaderEpoch: start.leaderEpoch,
      isr: [leader, a],
      partitionEpoch: start.partitionEpoch + 1,
    });
    expect(h.partition('t', 0).isr).toEqual([leader, a]);
    const expanded = h.alterIsr('t', 0, [leader, a, b]);
    expect(expanded).toMatchObject({ errorCode: 0, isr: [leader, a, b] });
    expect(h.partition('t', 0)).toMatchObject({
      leader,
      leaderEpoch: start.leaderEpoch,
      partitionEpoch: start.partitionEpoch + 2,
    });
    const changes = h.log.filter((r) => r.type === MetadataRecordType.PartitionChangeRecord);
    expect(changes.map((r) => (r.data as { leader: number }).leader)).toEqual([-2, -2]);
  });

  test('an old partition epoch, an old leader epoch and a non-leader sender are refused', () => {
    const h = threeBrokerTopic();
    const start = h.partition('t', 0);
    const [leader, a] = start.isr as [number, number];
    h.alterIsr('t', 0, [leader, a]);
    expect(h.alterIsr('t', 0, [leader], { partitionEpoch: start.partitionEpoch }).errorCode).toBe(
      ErrorCode.INVALID_UPDATE_VERSION,
    );
    expect(h.alterIsr('t', 0, [leader], { leaderEpoch: start.leaderEpoch - 1 }).errorCode).toBe(
      ErrorCode.FENCED_LEADER_EPOCH,
    );
    expect(h.alterIsr('t', 0, [a], { brokerId: a }).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(h.alterIsr('t', 0, [a]).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(h.alterIsr('t', 0, [leader, 9]).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(h.alterIsr('t', 0, [leader], { brokerEpoch: 0 })).toEqual({
      errorCode: ErrorCode.STALE_BROKER_EPOCH,
    });
    expect(h.partition('t', 0).isr).toEqual([leader, a]);
  });

  test('a fenced broker or a stale broker epoch cannot join the ISR', () => {
    const h = threeBrokerTopic();
    const leader = h.partition('t', 0).leader;
    const [a, b] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    expire(h, b, [leader, a]);
    expect(h.partition('t', 0).isr).not.toContain(b);
    expect(h.alterIsr('t', 0, [leader, a, b]).errorCode).toBe(ErrorCode.INELIGIBLE_REPLICA);
    // b restarts: its new registration is unfenced once caught up, and may then join.
    const oldEpoch = h.state.broker(b)?.epoch ?? -1;
    h.register(b);
    h.heartbeat(b);
    const stale = h.alterIsr('t', 0, [leader, a, b], { epochs: new Map([[b, oldEpoch]]) });
    expect(stale.errorCode).toBe(ErrorCode.INELIGIBLE_REPLICA);
    const before = h.partition('t', 0);
    expect(h.alterIsr('t', 0, [leader, a, b]).errorCode).toBe(0);
    expect(h.partition('t', 0)).toMatchObject({
      isr: [leader, a, b],
      partitionEpoch: before.partitionEpoch + 1,
    });
  });
});

describe('elections on fencing', () => {
  test('unclean election off: the last ISR member fenced leaves the partition leaderless', () => {
    const h = threeBrokerTopic();
    const leader = h.partition('t', 0).leader;
    const others = [1, 2, 3].filter((id) => id !== leader);
    h.alterIsr('t', 0, [leader]);
    const epoch = h.partition('t', 0).leaderEpoch;
    expire(h, leader, others);
    expect(h.partition('t', 0)).toMatchObject({
      leader: -1,
      isr: [leader],
      leaderEpoch: epoch + 1,
    });
    // The replica holding the data returns and leads again, cleanly.
    h.register(leader);
    h.heartbeat(leader);
    expect(h.partition('t', 0)).toMatchObject({ leader, isr: [leader], leaderEpoch: epoch + 2 });
    expect(h.partition('t', 0).leaderRecoveryState).toBe(0);
  });

  test('unclean election on (topic config): a live out-of-sync replica leads, recovering', () => {
    const h = new ControllerHarness(7);
    h.startBrokers([1, 2, 3]);
    h.createTopic('t', 1, 3, [['unclean.leader.election.enable', 'true']]);
    const leader = h.partition('t', 0).leader;
    const others = [1, 2, 3].filter((id) => id !== leader);
    h.alterIsr('t', 0, [leader]);
    const epoch = h.partition('t', 0).leaderEpoch;
    expire(h, leader, others);
    const after = h.partition('t', 0);
    expect(others).toContain(after.leader);
    expect(after).toMatchObject({
      isr: [after.leader],
      leaderEpoch: epoch + 1,
      leaderRecoveryState: 1,
    });
    // The new leader reports that it has recovered.
    const request = h.alterIsr('t', 0, [after.leader]);
    expect(request).toMatchObject({ errorCode: 0, leaderRecoveryState: 0 });
  });

  test('unclean election on (cluster default) applies to topics without an override', () => {
    const h = threeBrokerTopic({ uncleanLeaderElectionEnable: true });
    const leader = h.partition('t', 0).leader;
    h.alterIsr('t', 0, [leader]);
    expire(
      h,
      leader,
      [1, 2, 3].filter((id) => id !== leader),
    );
    expect(h.partition('t', 0).leader).not.toBe(-1);
  });
});

describe('ElectLeaders', () => {
  test('a preferred election moves leadership back to the first replica', () => {
    const h = threeBrokerTopic();
    const preferred = h.partition('t', 0).replicas[0]!;
    expect(h.partition('t', 0).leader).toBe(preferred);
    const notNeeded = h.run(
      h.controller.electLeaders({
        electionType: 0,
        topicPartitions: [{ topic: 't', partitions: [0, 5] }],
        timeoutMs: 1000,
      }),
    );
    expect(notNeeded.replicaElectionResults[0]?.partitionResult.map((r) => r.errorCode)).toEqual([
      ErrorCode.ELECTION_NOT_NEEDED,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    h.heartbeat(preferred, { wantFence: true });
    expect(h.partition('t', 0).leader).not.toBe(preferred);
    const all = { electionType: ElectionType.PREFERRED, topicPartitions: null, timeoutMs: 1000 };
    const unavailable = h.run(h.controller.electLeaders(all));
    expect(unavailable.replicaElectionResults[0]?.partitionResult[0]?.errorCode).toBe(
      ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
    );
    h.heartbeat(preferred);
    const leader = h.partition('t', 0).leader;
    h.alterIsr('t', 0, [...h.partition('t', 0).isr, preferred]);
    const epoch = h.partition('t', 0).leaderEpoch;
    expect(leader).not.toBe(preferred);
    const elected = h.run(h.controller.electLeaders(all));
    expect(elected.replicaElectionResults).toEqual([
      { topic: 't', partitionResult: [{ partitionId: 0, errorCode: 0, errorMessage: null }] },
    ]);
    expect(h.partition('t', 0)).toMatchObject({ leader: preferred, leaderEpoch: epoch + 1 });
    expect(h.run(h.controller.electLeaders(all)).replicaElectionResults).toEqual([]);
  });

  test('an unclean election on request elects a live replica even with the config off', () => {
    const h = threeBrokerTopic();
    const leader = h.partition('t', 0).leader;
    const others = [1, 2, 3].filter((id) => id !== leader);
    h.alterIsr('t', 0, [leader]);
    expire(h, leader, others);
    expect(h.partition('t', 0).leader).toBe(-1);
    const request = {
      electionType: ElectionType.UNCLEAN,
      topicPartitions: [{ topic: 't', partitions: [0] }],
      timeoutMs: 1,
    };
    const response = h.run(h.controller.electLeaders(request));
    expect(response.replicaElectionResults[0]?.partitionResult[0]?.errorCode).toBe(0);
    expect(others).toContain(h.partition('t', 0).leader);
    expect(
      h.run(h.controller.electLeaders(request)).replicaElectionResults[0]?.partitionResult[0]
        ?.errorCode,
    ).toBe(ErrorCode.ELECTION_NOT_NEEDED);
  });

  test('an unclean election with no live replica reports no eligible leader', () => {
    const h = new ControllerHarness(3);
    h.startBrokers([1, 2]);
    h.createTopic('t', 1, 1);
    const leader = h.partition('t', 0).leader;
    expire(h, leader, [leader === 1 ? 2 : 1]);
    const request = {
      electionType: ElectionType.UNCLEAN,
      topicPartitions: [{ topic: 't', partitions: [0] }],
      timeoutMs: 1,
    };
    const response = h.run(h.controller.electLeaders(request));
    expect(response.replicaElectionResults[0]?.partitionResult[0]?.errorCode).toBe(
      ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
    );
  });
});
