/**
 * One consumer-group member of a Node client, as its own process so a test can SIGKILL it:
 *
 *   node node-member.ts --client kafkajs|platformatic|confluent-js --bootstrap h:p
 *     --topic t --group g [--strategy roundrobin|range|cooperative-sticky]
 *     [--session-timeout-ms 6000]
 *
 * It prints the JSON lines of the Python and sarama group members: `assigned` / `revoked`
 * {partitions, t}, `record` {partition, offset, value, t} once the record's offset is committed
 * (synchronously, before the next record), `error`, and `closed` after a clean leave, which
 * it does when stdin ends. `t` is wall-clock ms: several processes' events are ordered by it.
 */
import { parseArgs } from 'node:util';
import { Consumer as PlatformaticConsumer, stringDeserializers } from '@platformatic/kafka';
import { Kafka, logLevel, PartitionAssigners } from 'kafkajs';
import { loadConfluentJs } from '../harness/confluent-js.ts';

const { values: args } = parseArgs({
  options: {
    client: { type: 'string' },
    bootstrap: { type: 'string', default: '127.0.0.1:9092' },
    topic: { type: 'string' },
    group: { type: 'string' },
    strategy: { type: 'string', default: 'roundrobin' },
    'session-timeout-ms': { type: 'string', default: '6000' },
  },
});
const topic = args.topic ?? '';
const group = args.group ?? '';
const sessionTimeoutMs = Number(args['session-timeout-ms']);
const heartbeatMs = Math.max(100, Math.floor(sessionTimeoutMs / 10));

function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function change(type: 'assigned' | 'revoked', partitions: Iterable<number>): void {
  emit({ type, partitions: [...partitions].sort((a, b) => a - b), t: Date.now() });
}

function record(partition: number, offset: string, value: unknown, receivedMs: number): void {
  emit({ type: 'record', partition, offset: Number(offset), value: String(value), t: receivedMs });
}

const stdinEnded = new Promise<void>((resolve) => {
  process.stdin.on('end', resolve);
  process.stdin.on('close', resolve);
  process.stdin.resume();
});

async function kafkajsMember(): Promise<() => Promise<void>> {
  const kafka = new Kafka({ brokers: [args.bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: group,
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: heartbeatMs,
    rebalanceTimeout: 20_000,
    maxWaitTimeInMs: 200,
    partitionAssigners: [PartitionAssigners.roundRobin],
  });
  let held: number[] = [];
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    // A rejoin without a rebalance event first (after UNKNOWN_MEMBER_ID) replaces it all too.
    if (held.length > 0) change('revoked', held);
    held = [...(event.payload.memberAssignment[topic] ?? [])];
    change('assigned', held);
  });
  // kafkajs has no revoke callback: it stops fetching, then says it rebalances, then rejoins
  // (eager), so at this event it has given up everything it held.
  consumer.on(consumer.events.REBALANCING, () => {
    change('revoked', held);
    held = [];
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const receivedMs = Date.now();
      const next = String(Number(message.offset) + 1);
      await consumer.commitOffsets([{ topic, partition, offset: next }]);
      record(partition, message.offset, message.value?.toString(), receivedMs);
    },
  });
  return async () => {
    await consumer.disconnect();
    change('revoked', held);
  };
}

async function platformaticMember(): Promise<() => Promise<void>> {
  const consumer = new PlatformaticConsumer({
    groupId: group,
    clientId: 'brook-platformatic-member',
    bootstrapBrokers: [args.bootstrap],
    deserializers: stringDeserializers,
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: heartbeatMs,
  });
  let held: number[] = [];
  consumer.on('consumer:group:join', (payload: { assignments?: unknown }) => {
    const mine = (payload.assignments ?? []) as { topic: string; partitions: number[] }[];
    if (held.length > 0) change('revoked', held);
    held = mine.find((a) => a.topic === topic)?.partitions ?? [];
    change('assigned', held);
  });
  consumer.on('consumer:group:rebalance', () => {
    change('revoked', held);
    held = [];
  });
  const stream = await consumer.consume({
    topics: [topic],
    mode: 'committed',
    fallbackMode: 'earliest',
    autocommit: false,
    maxWaitTime: 200,
  });
  const loop = (async () => {
    for await (const message of stream) {
      const receivedMs = Date.now();
      // @platformatic/kafka rejoins without stopping its fetches, so a fetch sent under the
      // old assignment can deliver records of a partition that now belongs to another member.
      // Processing them would consume them twice; the application has to drop them itself.
      if (!held.includes(message.partition)) {
        emit({ type: 'stale', partition: message.partition, offset: Number(message.offset) });
        continue;
      }
      await message.commit();
      record(message.partition, String(message.offset), message.value, receivedMs);
    }
  })();
  return async () => {
    await stream.close();
    await loop;
    await consumer.close(true);
    change('revoked', held);
  };
}

const rdAssign = -175;

async function confluentJsMember(): Promise<() => Promise<void>> {
  const { KafkaJS } = await loadConfluentJs();
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [args.bootstrap], logLevel: 0 } });
  const consumer = kafka.consumer({
    kafkaJS: { groupId: group, fromBeginning: true, autoCommit: false },
    'partition.assignment.strategy': args.strategy,
    'session.timeout.ms': sessionTimeoutMs,
    'heartbeat.interval.ms': heartbeatMs,
    rebalance_cb: (err: { code: number }, assignment: { partition: number }[]) => {
      change(
        err.code === rdAssign ? 'assigned' : 'revoked',
        assignment.map((a) => a.partition),
      );
    },
  }) as ConfluentGroupConsumer;
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  consumer.run({
    eachMessage: async ({ partition, message }) => {
      const receivedMs = Date.now();
      const next = String(Number(message.offset) + 1);
      await consumer.commitOffsets([{ topic, partition, offset: next }]);
      record(partition, message.offset, message.value?.toString(), receivedMs);
    },
  });
  return () => consumer.disconnect();
}

interface ConfluentGroupConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(subscription: { readonly topics: readonly string[] }): Promise<void>;
  run(config: {
    readonly eachMessage: (payload: {
      partition: number;
      message: { offset: string; value: Buffer | null };
    }) => Promise<void>;
  }): void;
  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
}

const members = {
  kafkajs: kafkajsMember,
  platformatic: platformaticMember,
  'confluent-js': confluentJsMember,
} as const;

async function main(): Promise<void> {
  const start = members[args.client as keyof typeof members];
  if (start === undefined || topic === '' || group === '') {
    process.stderr.write('usage: node-member.ts --client kafkajs|platformatic|confluent-js ...\n');
    process.exit(2);
  }
  const stop = await start();
  await stdinEnded;
  await stop();
  emit({ type: 'closed', t: Date.now() });
  process.exit(0);
}

process.on('unhandledRejection', (error) => {
  emit({ type: 'error', error: { message: String(error) } });
});
await main();
