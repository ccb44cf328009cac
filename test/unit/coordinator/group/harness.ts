/**
 * A group coordinator on simulated time with an in-memory __consumer_offsets, plus helpers
 * that speak like a consumer: join (through MEMBER_ID_REQUIRED), sync, heartbeat.
 */
import { expect, onTestFailed } from 'vitest';
import { ErrorCode } from '../../../../protocol/errors.ts';
import {
  GroupCoordinator,
  type GroupCoordinatorConfig,
  type GroupRecord,
  type GroupStore,
  GroupStoreError,
  type JoinGroupRequest,
  type JoinGroupResult,
  type OffsetCommitRequest,
  type SyncGroupResult,
} from '../../../../src/coordinator/group/index.ts';
import { SimClock } from '../../../../src/util/clock.ts';
import { SeededRandom } from '../../../../src/util/random.ts';

/** An in-memory log per partition; appends can be failed or held to test in-flight states. */
export class MemoryStore implements GroupStore {
  readonly partitions = new Map<number, GroupRecord[]>();
  /** Every record in append order, across partitions. */
  readonly #all: GroupRecord[] = [];
  failWith: number | undefined = undefined;
  hold = false;
  readonly #held: (() => void)[] = [];

  append(partition: number, records: readonly GroupRecord[]): Promise<void> {
    const failWith = this.failWith;
    const write = (): void => {
      if (failWith !== undefined) return;
      let log = this.partitions.get(partition);
      if (log === undefined) this.partitions.set(partition, (log = []));
      log.push(...records);
      this.#all.push(...records);
    };
    const settle = (resolve: () => void, reject: (e: unknown) => void): void => {
      write();
      if (failWith === undefined) resolve();
      else reject(new GroupStoreError(failWith, 'append refused by test'));
    };
    return new Promise((resolve, reject) => {
      if (this.hold) this.#held.push(() => settle(resolve, reject));
      else settle(resolve, reject);
    });
  }

  /** Completes held appends in order. */
  release(): void {
    this.hold = false;
    for (const complete of this.#held.splice(0)) complete();
  }

  get heldCount(): number {
    return this.#held.length;
  }

  all(): GroupRecord[] {
    return [...this.#all];
  }
}

export interface Harness {
  readonly clock: SimClock;
  readonly random: SeededRandom;
  readonly store: MemoryStore;
  readonly coordinator: GroupCoordinator;
  readonly seed: number;
}

export function seedFromEnv(): number {
  const fromEnv = Number(process.env.BROOK_TEST_SEED);
  return Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : 0x5eed_0001;
}

/** A coordinator that owns every partition (loaded from nothing), with test-friendly config. */
export async function harness(config: Partial<GroupCoordinatorConfig> = {}): Promise<Harness> {
  const seed = seedFromEnv();
  onTestFailed(() => {
    console.error(`group coordinator test seed: ${seed} (rerun with BROOK_TEST_SEED=${seed})`);
  });
  const clock = new SimClock();
  const random = new SeededRandom(seed);
  const store = new MemoryStore();
  const coordinator = new GroupCoordinator({
    clock,
    random,
    store,
    config: {
      'group.initial.rebalance.delay.ms': 0,
      'offsets.topic.num.partitions': 4,
      ...config,
    },
  });
  for (let p = 0; p < coordinator.config['offsets.topic.num.partitions']; p++) {
    await coordinator.loadPartition(p, []);
  }
  return { clock, random, store, coordinator, seed };
}

/** Lets promise continuations run (appends resolve, callbacks settle). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Watches a promise so a test can assert that it is still waiting. */
export interface Tracked<T> {
  readonly promise: Promise<T>;
  readonly settled: boolean;
  readonly value: T | undefined;
}

export function track<T>(promise: Promise<T>): Tracked<T> {
  const state: { settled: boolean; value: T | undefined } = { settled: false, value: undefined };
  promise.then((v) => {
    state.settled = true;
    state.value = v;
  });
  return {
    promise,
    get settled() {
      return state.settled;
    },
    get value() {
      return state.value;
    },
  };
}

/** ConsumerProtocolSubscription v0 bytes for `topics` (user data null). */
export function subscription(topics: readonly string[], userData?: string): Buffer {
  const parts: Buffer[] = [Buffer.from([0, 0])];
  const count = Buffer.alloc(4);
  count.writeInt32BE(topics.length);
  parts.push(count);
  for (const t of topics) {
    const len = Buffer.alloc(2);
    len.writeInt16BE(Buffer.byteLength(t));
    parts.push(len, Buffer.from(t));
  }
  if (userData === undefined) {
    parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  } else {
    const len = Buffer.alloc(4);
    len.writeInt32BE(Buffer.byteLength(userData));
    parts.push(len, Buffer.from(userData));
  }
  return Buffer.concat(parts);
}

export function joinRequest(
  groupId: string,
  over: Partial<JoinGroupRequest> = {},
): JoinGroupRequest {
  return {
    groupId,
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    rebalanceTimeoutMs: 60_000,
    sessionTimeoutMs: 10_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['orders']) }],
    apiVersion: 9,
    ...over,
  };
}

/**
 * The first join of a dynamic v4+ member: MEMBER_ID_REQUIRED hands out the id, and the
 * retried JoinGroup is returned still pending (it is held until the join phase ends).
 */
export async function joinNew(
  h: Harness,
  groupId: string,
  over: Partial<JoinGroupRequest> = {},
): Promise<{ memberId: string; join: Tracked<JoinGroupResult> }> {
  const first = await h.coordinator.join(joinRequest(groupId, over));
  expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  expect(first.memberId).toMatch(/^client-[0-9a-f-]{36}$/);
  const join = track(
    h.coordinator.join(joinRequest(groupId, { ...over, memberId: first.memberId })),
  );
  return { memberId: first.memberId, join };
}

export function syncRequest(
  groupId: string,
  memberId: string,
  generationId: number,
  assignments: readonly { memberId: string; assignment: Buffer }[] = [],
): Parameters<GroupCoordinator['sync']>[0] {
  return {
    groupId,
    memberId,
    generationId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments,
  };
}

/** Runs one member from nothing to Stable: join, join phase ends, leader sync. */
export async function stableSingleMember(
  h: Harness,
  groupId: string,
  over: Partial<JoinGroupRequest> = {},
): Promise<{ memberId: string; generationId: number; sync: SyncGroupResult }> {
  // A static member is never asked for MEMBER_ID_REQUIRED: its first join is held at once.
  const join =
    over.groupInstanceId != null
      ? track(h.coordinator.join(joinRequest(groupId, over)))
      : (await joinNew(h, groupId, over)).join;
  h.clock.advance(0);
  const joined = await join.promise;
  expect(joined.errorCode).toBe(ErrorCode.NONE);
  const memberId = joined.memberId;
  const assignment = Buffer.from(`assigned:${memberId}`);
  const sync = await h.coordinator.sync({
    ...syncRequest(groupId, memberId, joined.generationId, [{ memberId, assignment }]),
    groupInstanceId: over.groupInstanceId ?? null,
    protocolType: joined.protocolType,
    protocolName: joined.protocolName,
  });
  expect(sync.errorCode).toBe(ErrorCode.NONE);
  return { memberId, generationId: joined.generationId, sync };
}

/** An OffsetCommit of orders-0 by a client outside any generation (simple consumer). */
export function offsetCommitRequest(
  over: Partial<OffsetCommitRequest> = {},
  offset = 42,
): OffsetCommitRequest {
  return {
    groupId: 'g',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      {
        name: 'orders',
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: offset,
            committedLeaderEpoch: 3,
            committedMetadata: 'm',
          },
        ],
      },
    ],
    apiVersion: 8,
    ...over,
  };
}
