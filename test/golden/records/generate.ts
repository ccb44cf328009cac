/**
 * Regenerates the golden record batches in this folder from real client libraries:
 *
 *   npx node test/golden/records/generate.ts
 *
 * kafkajs batches come from kafkajs-encode.cjs (kafkajs's own RecordBatch encoder, with
 * kafkajs-snappy and kafkajs-lz4; kafkajs has no zstd codec installed). @platformatic/kafka
 * batches come from its createRecordsBatch, with every codec. Each library's version is
 * recorded in manifest.json. librdkafka batches are captured by hand (librdkafka/README.md).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRecordsBatch } from '@platformatic/kafka';
import {
  type FixtureRecord,
  type GoldenEntry,
  kafkajsFixture,
  platformaticFixture,
} from './fixtures.ts';

const here = import.meta.dirname;
const codecNames = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

function packageVersion(name: string): string {
  // Read by path: @platformatic/kafka's exports map hides its package.json.
  const path = join(here, '../../../node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

const b64 = (data: Buffer | null): string | null =>
  data === null ? null : data.toString('base64');

/** Node binaries to try for kafkajs: this one, then the system one (where lz4 may load). */
const nodeCandidates = [process.execPath, '/usr/bin/node', '/usr/local/bin/node'];

function kafkajsBatch(codec: number, records: readonly FixtureRecord[], ids: Ids): Buffer {
  const spec = {
    codec,
    ...ids,
    records: records.map((r) => ({
      key: b64(r.key),
      value: b64(r.value),
      headers: r.headers.map((h) => [h.key, b64(h.value)]),
      timestamp: r.timestamp,
    })),
  };
  const errors: string[] = [];
  for (const node of nodeCandidates) {
    const run = spawnSync(node, [join(here, 'kafkajs-encode.cjs')], {
      input: JSON.stringify(spec),
      maxBuffer: 16 << 20,
    });
    if (run.status === 0) return run.stdout;
    errors.push(`${node}: ${run.error?.message ?? run.stderr.toString().split('\n')[0]}`);
  }
  throw new Error(`kafkajs could not encode codec ${codec}:\n${errors.join('\n')}`);
}

interface Ids {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly transactional: boolean;
}

function platformaticBatch(codec: number, records: readonly FixtureRecord[], ids: Ids): Buffer {
  const messages = records.map((r) => ({
    topic: 'golden',
    partition: 0,
    key: r.key,
    value: r.value,
    headers: new Map(r.headers.map((h) => [Buffer.from(h.key, 'utf8'), h.value])),
    timestamp: BigInt(r.timestamp),
  }));
  const options: Record<string, unknown> = {
    compression: codecNames[codec],
    producerId: BigInt(ids.producerId),
    producerEpoch: ids.producerEpoch,
  };
  if (ids.transactional) options.transactionalId = 'golden-tx';
  return createRecordsBatch(messages as never, options).buffer;
}

function main(): void {
  const entries: GoldenEntry[] = [];
  const plain: Ids = { producerId: -1, producerEpoch: 0, baseSequence: 0, transactional: false };
  const txn: Ids = { producerId: 4242, producerEpoch: 3, baseSequence: 0, transactional: true };
  const write = (entry: GoldenEntry, batch: Buffer): void => {
    writeFileSync(join(here, entry.file), batch);
    entries.push(entry);
    console.log(`${entry.file}: ${batch.length} bytes`);
  };
  const kafkajsVersion = packageVersion('kafkajs');
  for (const codec of [0, 1, 2, 3]) {
    const ids = codec === 1 ? txn : plain;
    const file = `kafkajs-${codecNames[codec]}.bin`;
    const entry = { file, library: 'kafkajs', libraryVersion: kafkajsVersion, codec, ...ids };
    write({ ...entry, fixture: 'kafkajs' }, kafkajsBatch(codec, kafkajsFixture, ids));
  }
  const platformaticVersion = packageVersion('@platformatic/kafka');
  for (const codec of [0, 1, 2, 3, 4]) {
    const ids = codec === 4 ? txn : plain;
    const file = `platformatic-${codecNames[codec]}.bin`;
    const entry = { file, library: '@platformatic/kafka', codec, ...ids };
    const batch = platformaticBatch(codec, platformaticFixture, ids);
    write({ ...entry, libraryVersion: platformaticVersion, fixture: 'platformatic' }, batch);
  }
  writeFileSync(join(here, 'manifest.json'), `${JSON.stringify(entries, null, 2)}\n`);
}

main();
