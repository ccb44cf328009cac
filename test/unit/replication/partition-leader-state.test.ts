/**
 * The leader's partition state on a simulated clock: the high-watermark rule (minimum over
 * the maximal ISR, never lowered, caught-up replicas outside the ISR hold it back), ISR
 * expansion (at the HW and the epoch start, eligible brokers only) and shrink (lag timer at
 * half the lag period, Kafka's caught-up time), one AlterPartition in flight with the maximal
 * ISR while pending, and how answers and images settle a proposal.
 */
import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import type {
  AlterPartitionRequest,
  AlterPartitionResponse,
} from '../../../protocol/generated/apis/56-alter-partition.ts';
import {
  type IsrBrokerView,
  PartitionLeaderState,
} from '../../../src/replication/partition-leader-state.ts';
import { SimClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';

const LAG_MS = 10_000;
/** Far from 0: a never-caught-up follower (time 0) must not look caught up. */
const START = 1_000_000;

interface Sent {
  readonly request: AlterPartitionRequest;
  answer(response: AlterPartitionResponse): void;
  fail(error: Error): void;
}

function setup(
  options: {
    isr?: number[];
    replicas?: number[];
    logEnd?: number;
    hw?: number;
    brokers?: Map<number, IsrBrokerView>;
    withSender?: boolean;
  } = {},
) {
  const clock = new SimClock(START);
  const sent: Sent[] = [];
  const hws: number[] = [];
  let isrChanges = 0;
  const env = { logEnd: options.logEnd ?? 10 };
  const state = new PartitionLeaderState({
    topic: 't',
    topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
    partition: 0,
    nodeId: 1,
    leaderEpoch: 5,
    partitionEpoch: 7,
    replicas: options.replicas ?? [1, 2, 3],
    isr: options.isr ?? [1, 2, 3],
    epochStartOffset: env.logEnd,
    leaderEndOffset: env.logEnd,
    highWatermark: options.hw ?? 4,
    clock,
    logger: silentLogger(),
    lagTimeMaxMs: LAG_MS,
    logEndOffset: () => env.logEnd,
    brokerEpoch: () => 100,
    brokerState: (id) => options.brokers?.get(id),
    sender:
      options.withSender === false
        ? undefined
        : {
            send: (request) =>
              new Promise<AlterPartitionResponse>((resolve, reject) => {
                sent.push({ request, answer: resolve, fail: reject });
              }),
          },
    onHighWatermark: (hw) => hws.push(hw),
    onIsrChange: () => isrChanges++,
  });
  /** The leader appended up to `end` (written and acknowledged). */
  const append = (end: number) => {
    env.logEnd = end;
    state.leaderAppended(end, 100);
  };
  return { clock, state, sent, hws, env, append, isrChanges: () => isrChanges };
}

function answer(
  isr: number[],
  partitionEpoch: number,
  errorCode: number = ErrorCode.NONE,
  leaderEpoch = 5,
): AlterPartitionResponse {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    topics: [
      {
        topicName: '',
        topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
        partitions: [
          {
            partitionIndex: 0,
            errorCode,
            leaderId: 1,
            leaderEpoch,
            isr,
            leaderRecoveryState: 0,
            partitionEpoch,
          },
        ],
      },
    ],
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('PartitionLeaderState: high watermark', () => {
  test('the leader alone in the ISR: the HW is its acknowledged end', () => {
    const { state, hws, append } = setup({ isr: [1], replicas: [1], withSender: false });
    expect(state.highWatermark).toBe(10);
    append(15);
    expect(state.highWatermark).toBe(15);
    expect(hws).toEqual([10, 15]);
  });

  test('the minimum log end over the ISR; unknown followers hold it; it never decreases', () => {
    const { state, append } = setup();
    // A new leader does not know its followers' ends yet: the HW stays where it was.
    expect(state.highWatermark).toBe(4);
    append(20);
    expect(state.followerFetched(2, 12, -1)).toBe(true);
    expect(state.highWatermark).toBe(4);
    state.followerFetched(3, 8, -1);
    expect(state.highWatermark).toBe(8);
    state.followerFetched(3, 15, -1);
    expect(state.highWatermark).toBe(12);
    // A follower that truncated and fetches lower does not lower the HW.
    state.followerFetched(2, 6, -1);
    expect(state.highWatermark).toBe(12);
    state.followerFetched(2, 20, -1);
    state.followerFetched(3, 20, -1);
    expect(state.highWatermark).toBe(20);
    expect(state.followerFetched(9, 20, -1)).toBe(false);
  });

  test('a caught-up follower outside the ISR holds the HW back until it joins', () => {
    const { state, append, sent } = setup({ isr: [1, 2] });
    state.followerFetched(2, 10, -1);
    expect(state.highWatermark).toBe(10);
    append(30);
    // Replica 3 reaches the leader's end as of this fetch: caught up, so the HW waits for it.
    state.followerFetched(3, 30, -1);
    state.followerFetched(2, 30, -1);
    expect(sent).toHaveLength(1);
    expect(state.highWatermark).toBe(30);
    append(40);
    state.followerFetched(2, 40, -1);
    // 3 is caught up (within the lag) at 30 and pending-added: the HW waits at 30.
    expect(state.highWatermark).toBe(30);
  });
});

describe('PartitionLeaderState: ISR expansion', () => {
  test('a follower at the HW and the epoch start is proposed, one request at a time', async () => {
    const { state, sent, append, isrChanges } = setup({ isr: [1, 2], hw: 10 });
    append(20);
    state.followerFetched(2, 20, -1);
    expect(state.highWatermark).toBe(20);
    // Behind the HW: not yet.
    state.followerFetched(3, 15, 77);
    expect(sent).toHaveLength(0);
    state.followerFetched(3, 20, 77);
    expect(sent).toHaveLength(1);
    const partition = sent[0]?.request.topics[0]?.partitions[0];
    expect(sent[0]?.request.brokerId).toBe(1);
    expect(sent[0]?.request.brokerEpoch).toBe(100);
    expect(partition?.leaderEpoch).toBe(5);
    expect(partition?.partitionEpoch).toBe(7);
    expect(partition?.newIsrWithEpochs).toEqual([
      { brokerId: 1, brokerEpoch: 100 },
      { brokerId: 2, brokerEpoch: -1 },
      { brokerId: 3, brokerEpoch: 77 },
    ]);
    expect(state.maximalIsr).toEqual([1, 2, 3]);
    expect(state.isr).toEqual([1, 2]);
    expect(isrChanges()).toBe(1);
    // While pending, nothing else is sent.
    state.followerFetched(3, 20, 77);
    expect(sent).toHaveLength(1);
    sent[0]?.answer(answer([1, 2, 3], 8));
    await tick();
    expect(state.isr).toEqual([1, 2, 3]);
    expect(state.partitionEpoch).toBe(8);
    expect(state.isAlterPending).toBe(false);
  });

  test('not before the epoch start offset, even at the HW', () => {
    // HW 4 but the epoch started at 10: a follower at 6 is at the HW but not in this epoch.
    const { state, sent } = setup({ isr: [1, 2], hw: 4 });
    state.followerFetched(3, 6, -1);
    expect(sent).toHaveLength(0);
    state.followerFetched(3, 10, -1);
    expect(sent).toHaveLength(1);
  });

  test('fenced, shutting-down and stale-epoch brokers are not eligible', () => {
    const brokers = new Map<number, IsrBrokerView>([
      [2, { epoch: 50, fenced: false, inControlledShutdown: false }],
      [3, { epoch: 60, fenced: true, inControlledShutdown: false }],
    ]);
    const { state, sent } = setup({ isr: [1], hw: 10, brokers });
    state.followerFetched(3, 10, 60);
    expect(sent).toHaveLength(0);
    // An old incarnation of broker 2 (epoch 40) fetching: not counted.
    state.followerFetched(2, 10, 40);
    expect(sent).toHaveLength(0);
    state.followerFetched(2, 10, 50);
    expect(sent).toHaveLength(1);
  });
});

describe('PartitionLeaderState: ISR shrink', () => {
  test('a follower not caught up within the lag goes at the next half-period check', async () => {
    const { state, clock, sent, append } = setup({ isr: [1, 2, 3], hw: 10 });
    state.followerFetched(2, 10, -1);
    state.followerFetched(3, 10, -1);
    append(20);
    // 2 keeps up; 3 stops fetching at 10.
    for (let t = 0; t < 4; t++) {
      clock.advance(2_000);
      state.followerFetched(2, 20, -1);
    }
    clock.advance(1_000); // t = 9000: the 5000 check passed with everyone in sync
    expect(sent).toHaveLength(0);
    for (let t = 0; t < 3; t++) {
      clock.advance(1_000);
      state.followerFetched(2, 20, -1);
    }
    // t = 12000: 3 last caught up at 0 (its fetch at the leader's end), lag 12000 > 10000,
    // but the check runs at 10000 (lag exactly 10000: still in sync) and next at 15000.
    expect(sent).toHaveLength(0);
    clock.advance(3_000);
    expect(sent).toHaveLength(1);
    expect(
      sent[0]?.request.topics[0]?.partitions[0]?.newIsrWithEpochs.map((b) => b.brokerId),
    ).toEqual([1, 2]);
    // Maximal ISR while the shrink is pending: 3 still holds the HW back.
    expect(state.maximalIsr).toEqual([1, 2, 3]);
    expect(state.highWatermark).toBe(10);
    sent[0]?.answer(answer([1, 2], 8));
    await tick();
    expect(state.isr).toEqual([1, 2]);
    expect(state.highWatermark).toBe(20);
  });

  test("caught-up time: reaching the leader's end as of the previous fetch counts", () => {
    const { state, clock, sent, append } = setup({ isr: [1, 2], hw: 10 });
    state.followerFetched(2, 10, -1); // t=0, at the end
    // The leader keeps appending; the follower always fetches the previous end.
    let end = 10;
    for (let i = 0; i < 8; i++) {
      clock.advance(2_000);
      const previous = end;
      end += 10;
      append(end);
      state.followerFetched(2, previous, -1);
    }
    expect(state.follower(2)?.lastCaughtUpTimeMs).toBe(START + 14_000);
    expect(sent).toHaveLength(0);
  });

  test('without a sender (single node) nothing is proposed', () => {
    const { state, clock, sent } = setup({ isr: [1, 2], withSender: false });
    clock.advance(60_000);
    state.checkShrink();
    expect(sent).toHaveLength(0);
    expect(state.isr).toEqual([1, 2]);
  });
});

describe('PartitionLeaderState: answers and images', () => {
  test('FENCED_LEADER_EPOCH keeps the proposal pending until an image settles it', async () => {
    const { state, sent } = setup({ isr: [1, 2], hw: 10 });
    state.followerFetched(3, 10, -1);
    sent[0]?.answer(answer([], 0, ErrorCode.FENCED_LEADER_EPOCH));
    await tick();
    expect(state.isAlterPending).toBe(true);
    state.followerFetched(3, 10, -1);
    expect(sent).toHaveLength(1);
    // An older image does nothing; a newer one replaces the ISR and ends the proposal.
    state.updateFromImage({ partitionEpoch: 7, isr: [1], replicas: [1, 2, 3] });
    expect(state.isAlterPending).toBe(true);
    state.updateFromImage({ partitionEpoch: 9, isr: [1, 2, 3], replicas: [1, 2, 3] });
    expect(state.isAlterPending).toBe(false);
    expect(state.isr).toEqual([1, 2, 3]);
    expect(state.partitionEpoch).toBe(9);
  });

  test('a refused or failed proposal is dropped and proposed again later', async () => {
    const { state, sent } = setup({ isr: [1, 2], hw: 10 });
    state.followerFetched(3, 10, -1);
    sent[0]?.answer(answer([], 0, ErrorCode.INELIGIBLE_REPLICA));
    await tick();
    expect(state.isAlterPending).toBe(false);
    expect(state.maximalIsr).toEqual([1, 2]);
    state.followerFetched(3, 10, -1);
    expect(sent).toHaveLength(2);
    sent[1]?.fail(new Error('controller unreachable'));
    await tick();
    expect(state.isAlterPending).toBe(false);
    state.followerFetched(3, 10, -1);
    expect(sent).toHaveLength(3);
    // An answer for another leader epoch is not taken.
    sent[2]?.answer(answer([1, 2, 3], 12, ErrorCode.NONE, 6));
    await tick();
    expect(state.isr).toEqual([1, 2]);
  });

  test('an answer arriving after close is ignored', async () => {
    const { state, sent } = setup({ isr: [1, 2], hw: 10 });
    state.followerFetched(3, 10, -1);
    state.close();
    sent[0]?.answer(answer([1, 2, 3], 8));
    await tick();
    expect(state.isr).toEqual([1, 2]);
  });
});
