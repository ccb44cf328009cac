/**
 * Every record the controller writes must survive the generated codecs, as it will on its way
 * through the Raft log: encoded at the newest version and decoded back, it is the same record.
 */
import { expect, test } from 'vitest';
import { metadataRecordFor } from '../../../protocol/generated/metadata-record-table.ts';
import { Reader } from '../../../protocol/wire/reader.ts';
import { Writer } from '../../../protocol/wire/writer.ts';
import {
  decodeMetadataRecord,
  encodeMetadataRecord,
} from '../../../src/metadata/metadata-record.ts';
import { ControllerHarness } from './harness.ts';

test('the records of a cluster session round-trip through the generated codecs', () => {
  const h = new ControllerHarness(3);
  h.startBrokers([1, 2, 3], ['a', 'b', undefined]);
  h.createTopic('t', 3, 3, [['retention.ms', '60000']]);
  h.alterIsr('t', 0, [h.partition('t', 0).leader]);
  h.heartbeat(2, { wantShutDown: true });
  h.run(h.controller.allocateProducerIds({ brokerId: 1, brokerEpoch: 1 }));
  h.run(h.controller.deleteTopics([{ name: 't', topicId: null }]));
  const types = new Set(h.log.map((r) => r.type));
  expect(types.size).toBeGreaterThanOrEqual(9);
  for (const record of h.log) {
    const descriptor = metadataRecordFor(record.type);
    expect(descriptor, `type ${record.type}`).toBeDefined();
    if (!descriptor) continue;
    const writer = new Writer(64);
    descriptor.encode(writer, record.data, descriptor.maxVersion);
    const reader = new Reader(writer.finish());
    const decoded = descriptor.decode(reader, descriptor.maxVersion);
    expect(reader.ok && reader.remaining === 0, descriptor.name).toBe(true);
    expect(decoded, descriptor.name).toMatchObject(record.data as object);
  }
});

test('every record of a cluster session survives the metadata log framing', () => {
  const h = new ControllerHarness(5);
  h.startBrokers([1, 2, 3], ['a', 'b', undefined]);
  h.createTopic('framed', 2, 3, [['cleanup.policy', 'compact']]);
  h.alterIsr('framed', 1, [h.partition('framed', 1).leader]);
  h.heartbeat(3, { wantShutDown: true });
  h.run(h.controller.allocateProducerIds({ brokerId: 1, brokerEpoch: 1 }));
  for (const record of h.log) {
    // The runtime appends exactly these frames to the Raft log and replays their decoding.
    const decoded = decodeMetadataRecord(encodeMetadataRecord(record));
    expect(decoded.type, `type ${record.type}`).toBe(record.type);
    expect(decoded.data).toMatchObject(record.data as object);
  }
});
