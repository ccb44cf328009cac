/**
 * Captures golden request frames from real clients: `npx node test/golden/capture.ts [client]`.
 * Each client runs against the recording responder (capture-broker.ts) and its frames land in
 * test/golden/frames/<client>/. Re-run when a client is upgraded; the frames are committed and
 * test/golden/golden-frames.test.ts checks them on every run.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startCaptureBroker } from './capture-broker.ts';

const framesDir = join(import.meta.dirname, 'frames');
const python = '/usr/bin/python3';

type Run = (bootstrap: string) => Promise<void> | void;

/** Runs a client process; async, because the responder answers it from this same process. */
function sh(file: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'ignore', 'inherit'], timeout: 60_000 });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')}: ${code ?? signal}`)),
    );
    child.stdin.end(input ?? '');
  });
}

const kcat: Run = async (bootstrap) => {
  await sh('kcat', ['-b', bootstrap, '-L']);
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    const input = 'k1:v1\nk2:v2\n:no-key\n';
    await sh(
      'kcat',
      ['-b', bootstrap, '-P', '-t', 'golden', '-z', codec, '-K', ':', '-H', 'h=1'],
      input,
    );
  }
  await sh('kcat', ['-b', bootstrap, '-C', '-t', 'golden', '-o', 'beginning', '-c', '15', '-q']);
};

// kafkajs-lz4 needs the native lz4 addon, which is built for the system Node, not Node 24:
// kafkajs's lz4 batches are covered by test/golden/records instead.
const kafkajs: Run = async (bootstrap) => {
  const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = (await import('kafkajs'))
    .default;
  const SnappyCodec = (await import('kafkajs-snappy')).default;
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
  const kafka = new Kafka({
    clientId: 'golden-kafkajs',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'golden', numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (const compression of [
    CompressionTypes.None,
    CompressionTypes.GZIP,
    CompressionTypes.Snappy,
  ]) {
    await producer.send({
      topic: 'golden',
      compression,
      messages: [
        { key: 'k1', value: 'v1', headers: { h: '1' } },
        { key: null, value: 'no-key' },
      ],
    });
  }
  await producer.disconnect();
};

const platformatic: Run = async (bootstrap) => {
  const { Producer, Admin, stringSerializers } = await import('@platformatic/kafka');
  const admin = new Admin({ clientId: 'golden-platformatic', bootstrapBrokers: [bootstrap] });
  await admin.createTopics({ topics: ['golden'], partitions: 1, replicas: 1 });
  await admin.close();
  const producer = new Producer({
    clientId: 'golden-platformatic',
    bootstrapBrokers: [bootstrap],
    serializers: stringSerializers,
    idempotent: true,
  });
  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    await producer.send({
      messages: [
        { topic: 'golden', key: 'k1', value: 'v1', headers: new Map([['h', '1']]) },
        { topic: 'golden', value: 'no-key' },
      ],
      compression,
    });
  }
  await producer.close();
};

const kafkaPython: Run = (bootstrap) => {
  const script = `
import sys
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
for codec in [None, 'gzip', 'snappy', 'lz4', 'zstd']:
    p = KafkaProducer(bootstrap_servers=sys.argv[1], compression_type=codec,
                      client_id='golden-kafka-python')
    p.send('golden', key=b'k1', value=b'v1', headers=[('h', b'1')]).get(timeout=20)
    p.send('golden', value=b'no-key').get(timeout=20)
    p.close()
c = KafkaConsumer(bootstrap_servers=sys.argv[1], client_id='golden-kafka-python',
                  consumer_timeout_ms=2000)
c.assign([TopicPartition('golden', 0)])
c.seek_to_beginning()
n = sum(1 for _ in c)
c.close()
`;
  return sh(python, ['-c', script, bootstrap]);
};

const confluentPython: Run = (bootstrap) => {
  const script = `
import sys
from confluent_kafka import Producer
for codec in ['none', 'gzip', 'snappy', 'lz4', 'zstd']:
    p = Producer({'bootstrap.servers': sys.argv[1], 'compression.type': codec,
                  'enable.idempotence': True, 'client.id': 'golden-confluent-python'})
    p.produce('golden', key=b'k1', value=b'v1', headers=[('h', b'1')])
    p.produce('golden', value=b'no-key')
    assert p.flush(20) == 0
`;
  return sh(python, ['-c', script, bootstrap]);
};

const clients: Record<string, Run> = {
  kcat,
  kafkajs,
  platformatic,
  'kafka-python': kafkaPython,
  'confluent-python': confluentPython,
};

const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(clients)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const dir = join(framesDir, name);
  rmSync(dir, { recursive: true, force: true });
  const broker = await startCaptureBroker(dir);
  try {
    await run(`127.0.0.1:${broker.port}`);
    console.log(`${name}: ${broker.frames} frames`);
  } finally {
    await broker.close();
  }
}
