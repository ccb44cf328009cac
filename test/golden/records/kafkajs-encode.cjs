// Encodes one RecordBatch with kafkajs's own producer-side encoder (the code its Produce v3+
// request runs), reading a JSON spec on stdin and writing the batch bytes to stdout.
//
// Plain CommonJS on purpose: kafkajs-lz4 needs the `lz4` native module, which here is built
// for the system Node (20) and does not load on Node 24, so generate.ts runs this helper with
// whichever `node` can load the codec.
'use strict';
const { CompressionTypes, CompressionCodecs } = require('kafkajs');
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0');
const Record = require('kafkajs/src/protocol/recordBatch/record/v0');
const Long = require('kafkajs/src/utils/long');

const codecs = { 0: CompressionTypes.None, 1: CompressionTypes.GZIP, 2: CompressionTypes.Snappy };
CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy');
codecs[3] = CompressionTypes.LZ4;
try {
  // Needs the `lz4` native module built for this Node; without it only lz4 batches fail.
  const LZ4Codec = require('kafkajs-lz4');
  CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec;
} catch {}

const fromB64 = (text) => (text === null ? null : Buffer.from(text, 'base64'));

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const spec = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const timestamps = spec.records.map((r) => r.timestamp);
  const firstTimestamp = Math.min(...timestamps);
  const records = spec.records.map((r, i) => {
    const headers = {};
    for (const [key, value] of r.headers) {
      const v = fromB64(value);
      if (headers[key] === undefined) headers[key] = v;
      else headers[key] = [].concat(headers[key], v);
    }
    return Record({
      offsetDelta: i,
      timestampDelta: r.timestamp - firstTimestamp,
      key: fromB64(r.key),
      value: fromB64(r.value),
      headers,
    });
  });
  const batch = await RecordBatch({
    compression: codecs[spec.codec],
    records,
    firstTimestamp,
    maxTimestamp: Math.max(...timestamps),
    producerId: Long.fromNumber(spec.producerId),
    producerEpoch: spec.producerEpoch,
    firstSequence: spec.baseSequence,
    transactional: spec.transactional,
    lastOffsetDelta: records.length - 1,
  });
  process.stdout.write(batch.buffer);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
