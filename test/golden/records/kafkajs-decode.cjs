// Decodes one RecordBatch (stdin) with kafkajs's own consumer-side decoder and prints its
// records as JSON (stdout). Plain CommonJS for the same reason as kafkajs-encode.cjs: the
// test runs it with a `node` that can load kafkajs-lz4's native module.
'use strict';
const { CompressionTypes, CompressionCodecs } = require('kafkajs');
const Decoder = require('kafkajs/src/protocol/decoder');
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder');

CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy');
try {
  // Needs the `lz4` native module built for this Node; without it only lz4 batches fail.
  const LZ4Codec = require('kafkajs-lz4');
  CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec;
} catch {}

const b64 = (data) => (data === null ? null : data.toString('base64'));

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const batch = await decodeBatch(new Decoder(Buffer.concat(chunks)));
  const records = batch.records.map((r) => ({
    offset: r.offset,
    timestamp: r.timestamp,
    key: b64(r.key),
    value: b64(r.value),
    headers: Object.entries(r.headers).flatMap(([key, value]) =>
      [].concat(value).map((v) => [key, b64(v)]),
    ),
  }));
  process.stdout.write(JSON.stringify({ maxTimestamp: batch.maxTimestamp, records }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
