/**
 * @confluentinc/kafka-javascript (librdkafka inside Node), installed in test/interop/clients
 * rather than the root package because it builds librdkafka for minutes. The types below are the
 * part of its KafkaJS-style API the tests use, declared here so the root typechecks without it.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clientsDir, requireClient } from './clients.ts';

/** librdkafka properties, plus `kafkaJS: {...}` for the KafkaJS-style options. */
export type ConfluentConfig = Readonly<Record<string, unknown>>;

export interface ConfluentMessage {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly partition?: number;
  readonly headers?: Readonly<Record<string, Buffer | string>>;
}

export interface ConfluentRecordMetadata {
  readonly topicName: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly offset?: string;
  readonly baseOffset?: string;
}

export interface ConfluentEachMessage {
  readonly topic: string;
  readonly partition: number;
  readonly message: {
    readonly offset: string;
    readonly key: Buffer | null;
    readonly value: Buffer | null;
    readonly timestamp: string;
    readonly headers?: Readonly<Record<string, unknown>>;
  };
}

interface ConfluentConnection {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

export interface ConfluentProducer extends ConfluentConnection {
  send(record: {
    readonly topic: string;
    readonly messages: readonly ConfluentMessage[];
  }): Promise<ConfluentRecordMetadata[]>;
}

export interface ConfluentConsumer extends ConfluentConnection {
  subscribe(subscription: { readonly topics: readonly string[] }): Promise<void>;
  run(config: { readonly eachMessage: (payload: ConfluentEachMessage) => Promise<void> }): void;
}

export interface ConfluentAdmin extends ConfluentConnection {
  createTopics(options: {
    readonly topics: readonly { readonly topic: string; readonly numPartitions?: number }[];
    readonly timeout?: number;
  }): Promise<boolean>;
  listTopics(options?: { readonly timeout?: number }): Promise<string[]>;
}

export interface ConfluentKafka {
  producer(config?: ConfluentConfig): ConfluentProducer;
  consumer(config: ConfluentConfig): ConfluentConsumer;
  admin(config?: ConfluentConfig): ConfluentAdmin;
}

export interface ConfluentJs {
  readonly librdkafkaVersion: string;
  readonly features: readonly string[];
  readonly KafkaJS: {
    readonly Kafka: new (config?: ConfluentConfig) => ConfluentKafka;
  };
  /** node-rdkafka-style API (Producer, KafkaConsumer, AdminClient); untyped here. */
  readonly RdKafka: unknown;
}

let loaded: Promise<ConfluentJs> | undefined;

/** Loads the package from test/interop/clients/node_modules (once per process). */
export function loadConfluentJs(): Promise<ConfluentJs> {
  requireClient('confluent-js');
  loaded ??= importConfluentJs();
  return loaded;
}

async function importConfluentJs(): Promise<ConfluentJs> {
  const require = createRequire(join(clientsDir, 'package.json'));
  const entry = require.resolve('@confluentinc/kafka-javascript');
  // The package is CommonJS: its module.exports is the default export.
  const module = (await import(pathToFileURL(entry).href)) as { default: ConfluentJs };
  const api = module.default;
  if (typeof api.librdkafkaVersion !== 'string' || typeof api.KafkaJS?.Kafka !== 'function') {
    throw new Error(`${entry} loaded but does not look like @confluentinc/kafka-javascript`);
  }
  return api;
}
