/**
 * A leader goes away under live clients: the idempotent producers of kafkajs and
 * @platformatic/kafka, side by side, send acks=all records one at a time, round-robin over the
 * partitions of an RF 3 topic, while the node leading
 * partition 0 stops: once with a controlled shutdown (RunningBroker.stop(): leaderships are
 * handed over first), once crash-like (Broker.stop(0): no controlled shutdown, sockets closed;
 * the controller notices when the node's session of broker.session.timeout.ms, 4 s in
 * startCluster, expires). The producer goes on through the new leaders, and afterwards a reader
 * on the surviving nodes (@platformatic/kafka's plain Fetch: no group, so no dependence on the
 * group coordinator, which group-failover.test.ts tests) gets every acknowledged record
 * exactly once at its acknowledged offset: nothing lost, no duplicate from the retries.
 */
import { ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import { afterEach, expect, test } from 'vitest';
import { type RunningBroker, type RunningCluster, startCluster } from '../../../src/index.ts';
import {
  type Acked,
  createReplicatedTopic,
  eventually,
  expectExactlyOnceInOrder,
  kafkaOn,
  leaderOf,
  readWithoutGroup,
} from './cluster-fixture.ts';

const partitions = 3;
/** Acknowledged records before the stop, and after it on the moved partition. */
const before = 30;
const afterOnMoved = 10;
let cluster: RunningCluster | undefined;

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

interface ProducerRun {
  readonly acked: Acked[];
  /** Values whose send failed: each may or may not be in the log, but at most once. */
  readonly unacked: Set<string>;
  readonly errors: string[];
  /** Wall-clock time of each acknowledgement, by index into `acked`. */
  readonly ackedAt: number[];
  stop: boolean;
}

/** Sends one record to a partition with acks=all; resolves with where it was appended. */
type Send = (value: string, partition: number) => Promise<{ partition: number; offset: number }>;

interface LiveProducer {
  readonly send: Send;
  close(): Promise<void>;
}

async function kafkajsProducer(bootstrap: string, topic: string): Promise<LiveProducer> {
  const producer = kafkaOn([bootstrap], 'live-kafkajs').producer({
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  await producer.connect();
  return {
    send: async (value, partition) => {
      const [meta] = await producer.send({
        topic,
        acks: -1,
        messages: [{ key: value, value, partition }],
      });
      if (!meta) throw new Error('no record metadata');
      return { partition: meta.partition, offset: Number(meta.baseOffset) };
    },
    close: () => producer.disconnect(),
  };
}

async function platformaticProducer(bootstrap: string, topic: string): Promise<LiveProducer> {
  const producer = new Producer({
    clientId: 'live-platformatic',
    bootstrapBrokers: [bootstrap],
    serializers: stringSerializers,
    idempotent: true,
    acks: ProduceAcks.ALL,
    // It retries a send on the connection it chose, without new Metadata, until the retries
    // run out (see the controlled test): keep that short so the next send finds the leader.
    retries: 8,
    retryDelay: 250,
  });
  return {
    send: async (value, partition) => {
      const result = await producer.send({
        messages: [{ topic, key: value, value, partition }],
      });
      const [meta] = result.offsets ?? [];
      if (!meta) throw new Error('no offsets in the produce result');
      return { partition: meta.partition, offset: Number(meta.offset) };
    },
    close: () => producer.close(),
  };
}

/**
 * Sends `${prefix}-i` until `run.stop`, one record per request, round-robin over partitions.
 * A failed send replaces the producer (a new producer id): @platformatic/kafka 1.35 advances
 * its sequence numbers only on success, so after a send that failed on the client but was
 * written, its next batch carries the same sequence and the leader takes it for a retry of
 * the written one, acknowledging it at that batch's offset (as Kafka does) without writing it.
 */
async function produceUntilStopped(
  open: () => Promise<LiveProducer>,
  prefix: string,
  run: ProducerRun,
) {
  let producer = await open();
  try {
    for (let i = 0; !run.stop; i++) {
      const value = `${prefix}-${i}`;
      try {
        const meta = await producer.send(value, i % partitions);
        run.acked.push({ ...meta, value });
        run.ackedAt.push(Date.now());
      } catch (error) {
        run.unacked.add(value);
        run.errors.push(`${value}: ${describeError(error)}`);
        await producer.close().catch(() => undefined);
        producer = await open();
      }
    }
  } finally {
    await producer.close();
  }
}

/** An error and its distinct causes (AggregateError's errors, `cause`), with their codes. */
function describeError(error: unknown): string {
  const seen = new Set<string>();
  const walk = (e: unknown, depth: number): void => {
    if (!(e instanceof Error) || depth > 4) {
      seen.add(String(e));
      return;
    }
    const fields = e as Error & { errors?: unknown[]; code?: string; apiCode?: number };
    const code = fields.apiCode ?? fields.code;
    seen.add(code === undefined ? e.message : `${e.message} [${code}]`);
    for (const inner of fields.errors ?? []) walk(inner, depth + 1);
    if (e.cause !== undefined) walk(e.cause, depth + 1);
  };
  walk(error, 0);
  return [...seen].join(' <- ');
}

function newRun(): ProducerRun {
  return { acked: [], unacked: new Set(), errors: [], ackedAt: [], stop: false };
}

/**
 * Both clients produce at once to one topic; the leader of partition 0 stops. Resolves with
 * each client's run and how long after the stop its first record on partition 0 was acked.
 */
async function leaderChangeUnderLoad(how: 'controlled' | 'crash') {
  const started = await startCluster({ nodes: 3 });
  cluster = started;
  const topic = `live-${how}`;
  const leaders = await createReplicatedTopic(started, topic, partitions);
  const victimId = leaders[0] ?? -1;
  const victim = started.nodes[victimId - 1];
  if (!victim) throw new Error(`no leader for ${topic}-0`);
  const survivors = started.nodes.filter((n) => n !== victim);
  const entry = survivors[0] as RunningBroker;
  // The clients know only a surviving node: they find the victim through Metadata.
  const clients = [
    { name: 'kafkajs', prefix: 'k', run: newRun(), producer: kafkajsProducer },
    { name: 'platformatic', prefix: 'p', run: newRun(), producer: platformaticProducer },
  ];
  const producing = clients.map((c) =>
    produceUntilStopped(() => c.producer(entry.bootstrap, topic), c.prefix, c.run),
  );
  try {
    await eventually(
      () => clients.every((c) => c.run.acked.length >= before),
      `${before} acknowledged records from each client`,
    );
    const stoppedAt = Date.now();
    const ackedAtStop = clients.map((c) => c.run.acked.length);
    // Not awaited here: the producers must move on while the node is still going away.
    // Crash-like: stop(0) skips the controlled shutdown and the grace, so the controller
    // learns only from the missed heartbeats, as after a crash.
    const stopping = (how === 'controlled' ? victim.stop() : victim.broker.stop(0)).then(
      () => Date.now() - stoppedAt,
    );
    const onMoved = (run: ProducerRun, from: number) =>
      run.acked.slice(from).filter((a) => a.partition === 0);
    await eventually(
      () => clients.every((c, i) => onMoved(c.run, ackedAtStop[i] ?? 0).length >= afterOnMoved),
      `${afterOnMoved} records of each client acknowledged on ${topic}-0 after node ` +
        `${victimId} stopped`,
      30_000,
    );
    for (const c of clients) c.run.stop = true;
    await Promise.all(producing);
    const stopMs = await stopping;
    const newLeader = leaderOf(entry, topic, 0);
    expect(newLeader).not.toBe(victimId);
    expect(newLeader).toBeGreaterThan(0);
    const read = await readWithoutGroup(
      survivors.map((n) => n.bootstrap),
      topic,
    );
    return clients.map((c, i) => {
      const from = ackedAtStop[i] ?? 0;
      const first = c.run.acked.findIndex((a, j) => j >= from && a.partition === 0);
      const recoveryMs = (c.run.ackedAt[first] ?? Number.NaN) - stoppedAt;
      console.log(
        `${how}, ${c.name}: node ${victimId} stopped (in ${stopMs} ms); ${topic}-0 led by ` +
          `${newLeader}, first acknowledged after ${recoveryMs} ms; ` +
          `${c.run.acked.length} acknowledged, ${c.run.unacked.size} failed sends`,
      );
      const mine = read.filter((r) => r.value.startsWith(`${c.prefix}-`));
      expectExactlyOnceInOrder(c.run.acked, mine, c.run.unacked);
      return { name: c.name, recoveryMs, run: c.run };
    });
  } finally {
    for (const c of clients) c.run.stop = true;
    await Promise.allSettled(producing);
  }
}

test('controlled shutdown of a leader: the producer moves on without losing a record', async () => {
  const [kafkajs, platformatic] = await leaderChangeUnderLoad('controlled');
  // The leaderships were handed over before the node went: every send succeeded.
  expect(kafkajs?.run.errors).toEqual([]);
  // @platformatic/kafka 1.35 retries a produce on the connection it picked without asking for
  // Metadata again: a send that reaches the node after its listener closed fails once the
  // retries run out (ECONNREFUSED each time), the next send goes to the new leader. Any other
  // failure is Brook's.
  for (const error of platformatic?.run.errors ?? []) expect(error).toMatch(/ECONNREFUSED/);
}, 45_000);

test('crash-like stop of a leader: recovery after the session timeout, nothing lost', async () => {
  for (const { name, recoveryMs } of await leaderChangeUnderLoad('crash')) {
    // Another leader is elected only once the 4 s session expired (its last heartbeat up to
    // 0.5 s before the stop); the clients must not take much longer to follow.
    expect(recoveryMs, name).toBeGreaterThan(3_000);
    expect(recoveryMs, name).toBeLessThan(20_000);
  }
}, 45_000);
