/**
 * Produce throughput of real client libraries against the broker, for comparison with the
 * load generator: kafkajs and @platformatic/kafka, `sends` calls of `perSend` 100-byte
 * records each (the client batches them into one request), `concurrency` calls in flight,
 * acks=-1, no compression.
 */
import { Producer } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';

export interface ClientRun {
  readonly sends: number;
  readonly perSend: number;
  readonly concurrency: number;
  readonly recordBytes: number;
}

async function inParallel(run: ClientRun, send: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next++ < run.sends) await send();
  };
  await Promise.all(Array.from({ length: run.concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return (run.sends * run.perSend) / seconds;
}

/** Records per second through a kafkajs producer. */
export async function kafkajsProduce(bootstrap: string, topic: string, run: ClientRun) {
  const kafka = new Kafka({
    clientId: 'brook-load',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const value = Buffer.alloc(run.recordBytes, 0x61);
  const messages = Array.from({ length: run.perSend }, () => ({ value }));
  try {
    return await inParallel(run, () => producer.send({ topic, acks: -1, messages }));
  } finally {
    await producer.disconnect();
  }
}

/** Records per second through a @platformatic/kafka producer. */
export async function platformaticProduce(bootstrap: string, topic: string, run: ClientRun) {
  const producer = new Producer({ clientId: 'brook-load', bootstrapBrokers: [bootstrap] });
  const value = Buffer.alloc(run.recordBytes, 0x61);
  const messages = Array.from({ length: run.perSend }, () => ({ topic, partition: 0, value }));
  try {
    return await inParallel(run, () => producer.send({ messages, acks: -1 }));
  } finally {
    await producer.close();
  }
}
