/**
 * One group's life, the same for every client: a member alone, a second joins, a third joins,
 * the third is SIGKILLed (the coordinator notices when its session expires), the second leaves
 * cleanly, the first stays. A batch of records is produced after each change settles and is
 * consumed before the next change. Afterwards every record was consumed exactly once, by a
 * member that held its partition at that moment, and no partition had two holders at once.
 */
import assert from 'node:assert';
import { type Admin, Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../../src/index.ts';
import {
  type Assignor,
  assignorsOf,
  clientOfMember,
  type GroupClient,
  startGroupMember,
} from '../harness/group-members.ts';
import { skipWithout } from '../harness/index.ts';
import { type LiveDriver, untilAny } from '../harness/live-driver.ts';
import { groupBrokerConfig, scenarioTimeoutMs } from './group-broker.ts';
import {
  consumedBy,
  duplicates,
  heldBy,
  outsideOwnership,
  overlaps,
  ownerships,
} from './group-history.ts';

export interface ScenarioOptions {
  readonly bootstrap: string;
  readonly client: GroupClient;
  readonly assignor: Assignor;
  readonly partitions: number;
  readonly sessionTimeoutMs: number;
  /** Records per batch; one batch after each membership change. */
  readonly batchSize: number;
}

const settleMs = 40_000;

/** Committed offsets, log end offsets and their difference, per partition. */
export async function lagOf(admin: Admin, group: string, topic: string) {
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const ends = await admin.fetchTopicOffsets(topic);
  return ends
    .map((end) => {
      const c = committed?.partitions.find((p) => p.partition === end.partition);
      const committedOffset = Number(c?.offset ?? '-1');
      const endOffset = Number(end.high);
      const lag = endOffset - Math.max(0, committedOffset);
      return { partition: end.partition, committedOffset, endOffset, lag };
    })
    .sort((a, b) => a.partition - b.partition);
}

/** Polls `holds` until true, every 100 ms, up to `timeoutMs` (for state only a query shows). */
export async function eventually(holds: () => Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await holds())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

class Scenario {
  readonly members: LiveDriver[] = [];
  readonly exitMs = new Map<LiveDriver, number>();
  readonly #o: ScenarioOptions;
  readonly topic: string;
  readonly group: string;
  readonly #admin: Admin;
  readonly #producer: Producer;
  #batches = 0;
  readonly values: string[] = [];

  constructor(o: ScenarioOptions, kafka: Kafka) {
    this.#o = o;
    const name = `${o.client}-${o.assignor}`;
    this.topic = `rebalance-${name}`;
    this.group = `group-${name}`;
    this.#admin = kafka.admin();
    this.#producer = kafka.producer();
  }

  async open(): Promise<void> {
    await this.#admin.connect();
    await this.#producer.connect();
    const topics = [{ topic: this.topic, numPartitions: this.#o.partitions }];
    await this.#admin.createTopics({ topics, waitForLeaders: true });
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill()));
    await this.#producer.disconnect();
    await this.#admin.disconnect();
  }

  join(): LiveDriver {
    const { client, assignor, bootstrap, sessionTimeoutMs } = this.#o;
    const label = `${client} m${this.members.length + 1}`;
    const options = { bootstrap, topic: this.topic, group: this.group, assignor, sessionTimeoutMs };
    const member = startGroupMember(client, { ...options, label });
    this.members.push(member);
    return member;
  }

  live(): LiveDriver[] {
    return this.members.filter((m) => m.running && !this.exitMs.has(m));
  }

  /** Every partition held by exactly one live member, and each live member holds some. */
  balanced(): boolean {
    const live = this.live();
    const held = live.map((m) => [...heldBy(m)]);
    const all = held.flat().sort((a, b) => a - b);
    const want = Array.from({ length: this.#o.partitions }, (_, i) => i);
    return held.every((h) => h.length > 0) && JSON.stringify(all) === JSON.stringify(want);
  }

  /** A member that ended without being stopped or killed fails the scenario at once. */
  #checkAlive(what: string): void {
    const gone = this.members.filter((m) => !m.running && !this.exitMs.has(m));
    if (gone.length === 0) return;
    const why = gone.map((m) => `--- ${m.label} exited by itself\n${m.stderr}`).join('\n');
    throw new Error(`${what}: ${why}`);
  }

  async settle(what: string): Promise<void> {
    this.#checkAlive(`before ${what}`);
    try {
      await untilAny(this.live(), () => this.balanced(), what, settleMs);
    } catch (error) {
      throw new Error(`not balanced after ${what}: ${this.#holdings()}`, { cause: error });
    }
    this.#checkAlive(what);
  }

  #holdings(): string {
    return this.members.map((m) => `${m.label}=${JSON.stringify([...heldBy(m)])}`).join(' ');
  }

  /** Produces one batch and waits until the group consumed all of it. */
  async batch(): Promise<void> {
    const b = this.#batches++;
    const { batchSize, partitions } = this.#o;
    const messages = Array.from({ length: batchSize }, (_, i) => ({
      partition: i % partitions,
      value: `b${b}-${i}`,
    }));
    this.values.push(...messages.map((m) => m.value));
    await this.#producer.send({ topic: this.topic, acks: -1, messages });
    const want = this.values.length;
    const done = (): boolean => new Set(consumedBy(this.members).map((c) => c.value)).size >= want;
    try {
      await untilAny(this.members, done, `batch ${b}`, settleMs);
    } catch (error) {
      throw new Error(`batch ${b} not consumed; ${this.#holdings()}`, { cause: error });
    }
    this.#checkAlive(`batch ${b}`);
  }

  /**
   * Waits until every consumed offset is committed. Needed before a SIGKILL only: a clean
   * rebalance or leave commits first (synchronously, or on revocation for the auto-committing
   * clients).
   */
  async committed(): Promise<void> {
    const lagZero = async () =>
      (await lagOf(this.#admin, this.group, this.topic)).every((p) => p.lag === 0);
    await eventually(lagZero, 'consumed offsets committed');
  }

  async kill(member: LiveDriver): Promise<void> {
    const exit = await member.kill();
    this.exitMs.set(member, exit.atMs);
  }

  async leave(member: LiveDriver): Promise<void> {
    const exit = await member.stop();
    this.exitMs.set(member, exit.atMs);
  }

  lag() {
    return lagOf(this.#admin, this.group, this.topic);
  }

  describeGroup() {
    return this.#admin.describeGroups([this.group]);
  }
}

/** Runs the scenario of this file's header and asserts its properties. */
export async function joinLeaveKill(o: ScenarioOptions): Promise<void> {
  const kafka = new Kafka({ brokers: [o.bootstrap], logLevel: logLevel.NOTHING });
  const s = new Scenario(o, kafka);
  await s.open();
  try {
    const first = s.join();
    await s.settle('first member');
    await s.batch();
    const second = s.join();
    await s.settle('second member joined');
    await s.batch();
    const third = s.join();
    await s.settle('third member joined');
    await s.batch();
    const described = await s.describeGroup();
    const protocol = o.client === 'kafkajs' ? 'RoundRobinAssigner' : o.assignor;
    expect(described.groups[0]).toMatchObject({ state: 'Stable', protocol });
    expect(described.groups[0]?.members.length).toBe(3);
    await s.committed();
    await s.kill(third);
    await s.settle('third member killed');
    await s.batch();
    await s.leave(second);
    await s.settle('second member left');
    await s.batch();
    await s.leave(first);

    const consumed = consumedBy(s.members);
    expect(duplicates(consumed)).toEqual([]);
    expect(consumed.map((c) => c.value).sort()).toEqual([...s.values].sort());
    const owned = ownerships(s.members, s.exitMs);
    expect(overlaps(owned)).toEqual([]);
    expect(outsideOwnership(consumed, owned)).toEqual([]);
    expect((await s.describeGroup()).groups[0]?.state).toBe('Empty');
    expect((await s.lag()).every((p) => p.lag === 0)).toBe(true);
  } catch (error) {
    // The membership history is what explains a failure: show it with the error.
    for (const m of s.members) {
      const changes = m.lines.filter((line) => line.type !== 'record');
      console.error(`${m.label} (exit ${s.exitMs.get(m)}):`, JSON.stringify(changes));
    }
    throw error;
  } finally {
    await s.close();
  }
}

/**
 * The suite of one client: a broker for the file, and the scenario once per assignor the
 * client offers. Skipped (locally) or failing (CI) when the client is not installed.
 */
export function describeRebalances(
  client: GroupClient,
  assignors: readonly Assignor[] = assignorsOf[client],
): void {
  let broker: RunningBroker | undefined;
  beforeAll(async () => {
    broker = await startBroker({ config: groupBrokerConfig });
  });
  afterAll(async () => {
    await broker?.stop();
  });
  const needs = clientOfMember[client];
  const skip = needs !== undefined && skipWithout(needs);
  describe.skipIf(skip)(`${client} consumer group rebalances`, () => {
    for (const assignor of assignors) {
      test(
        `${assignor}: join, join, SIGKILL, leave`,
        async () => {
          assert(broker !== undefined);
          await joinLeaveKill({
            bootstrap: broker.bootstrap,
            client,
            assignor,
            partitions: 6,
            sessionTimeoutMs: 6000,
            batchSize: 12,
          });
        },
        scenarioTimeoutMs,
      );
    }
  });
}
