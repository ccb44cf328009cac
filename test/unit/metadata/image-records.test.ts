/**
 * Snapshots: an image written as records (imageRecords) and applied to the empty image gives
 * an equal image, over seeded random images built from random record sequences (brokers
 * registered, fenced, shut down, re-registered and unregistered; topics created, changed,
 * configured and removed; features; producer ids).
 */
import { expect, test } from 'vitest';
import { MetadataRecordType as T } from '../../../protocol/generated/metadata-record-table.ts';
import { imageRecords } from '../../../src/metadata/image-records.ts';
import { MetadataImage } from '../../../src/metadata/metadata-image.ts';
import {
  decodeMetadataRecord,
  encodeMetadataRecord,
  type MetadataRecord,
} from '../../../src/metadata/metadata-record.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import {
  change,
  config,
  feature,
  fence,
  partition,
  register,
  registrationChange,
  topic,
  unfence,
  unregister,
  uuid,
} from './records.ts';

/** Everything an image holds, as plain data. */
function shape(image: MetadataImage) {
  return {
    brokers: [...image.brokers()].map((b) => ({ ...b, endpoints: [...b.endpoints] })),
    topics: [...image.topics()].map((t) => ({
      ...t,
      partitions: t.partitions.map((p) => ({ ...p })),
      configs: [...t.configs],
    })),
    byId: [...image.topics()].map((t) => image.topicById(t.topicId)?.name),
    configs: [...image.configResources()].map((r) => ({ ...r, configs: [...r.configs] })),
    features: [...image.features],
    nextProducerId: image.nextProducerId,
  };
}

/** A random record sequence: mostly valid, some stale or naming unknown things. */
function randomRecords(random: SeededRandom, count: number): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  const epochs = new Map<number, number>();
  const topics = new Map<string, { name: string; partitions: number }>();
  let nextTopic = 0;
  const ids = (max: number): number[] => {
    const n = random.int(1, 3);
    return [...new Set(Array.from({ length: n }, () => random.int(1, max)))];
  };
  const someTopic = () => [...topics.entries()][random.int(0, topics.size - 1)];
  const epochOf = (id: number) => (random.chance(0.1) ? 999 : (epochs.get(id) ?? 0));
  while (records.length < count) {
    const offset = records.length;
    const brokerId = random.int(1, 5);
    switch (random.int(0, 11)) {
      case 0: {
        const fields = {
          fenced: random.chance(0.5),
          inControlledShutdown: random.chance(0.2),
          rack: random.chance(0.3) ? null : `r${random.int(0, 2)}`,
          logDirs: random.chance(0.3) ? [uuid(random.int(0, 255), 'D')] : [],
        };
        records.push(register(brokerId, offset, fields));
        epochs.set(brokerId, offset);
        break;
      }
      case 1:
        records.push(fence(brokerId, epochOf(brokerId)));
        break;
      case 2:
        records.push(unfence(brokerId, epochOf(brokerId)));
        break;
      case 3:
        records.push(
          registrationChange(brokerId, epochOf(brokerId), random.int(-1, 1), random.int(0, 1)),
        );
        break;
      case 4:
        if (random.chance(0.3)) records.push(unregister(brokerId, epochOf(brokerId)));
        break;
      case 5: {
        const name = `t${nextTopic}`;
        const topicId = uuid(nextTopic++ % 256, 'T');
        if (topics.has(topicId)) break;
        records.push(topic(name, topicId));
        const n = random.int(0, 4);
        for (let p = 0; p < n; p++) records.push(partition(topicId, p, ids(5)));
        topics.set(topicId, { name, partitions: n });
        break;
      }
      case 6:
      case 7: {
        if (topics.size === 0) break;
        const [topicId, t] = someTopic()!;
        const p = random.int(0, t.partitions);
        const fields = {
          isr: random.chance(0.5) ? ids(5) : null,
          leader: random.pick([-2, -2, -1, random.int(1, 5)]),
          replicas: random.chance(0.2) ? ids(6) : null,
          leaderRecoveryState: random.pick([-1, -1, 0, 1]),
          directories: random.chance(0.1) ? [uuid(random.int(0, 255), 'D')] : null,
          eligibleLeaderReplicas: random.chance(0.1) ? ids(5) : null,
          removingReplicas: random.chance(0.1) ? ids(5) : null,
        };
        records.push(change(topicId, p, fields));
        break;
      }
      case 8: {
        const value = random.chance(0.3) ? null : String(random.int(0, 99));
        const key = `k${random.int(0, 3)}`;
        if (topics.size > 0 && random.chance(0.6)) {
          records.push(config(2, someTopic()![1].name, key, value));
        } else {
          records.push(config(4, random.pick(['', '1', '2']), key, value));
        }
        break;
      }
      case 9:
        if (topics.size > 0 && random.chance(0.3)) {
          const [topicId] = someTopic()!;
          records.push({ type: T.RemoveTopicRecord, data: { topicId } });
          topics.delete(topicId);
        }
        break;
      case 10:
        records.push(feature(random.pick(['metadata.version', 'kraft.version']), random.int(0, 3)));
        break;
      default:
        records.push({
          type: T.ProducerIdsRecord,
          data: {
            brokerId,
            brokerEpoch: epochOf(brokerId),
            nextProducerId: random.int(0, 9) * 1000,
          },
        });
    }
  }
  return records;
}

test('imageRecords rebuilds an equal image, over seeded random images', () => {
  const base = 7_000;
  for (let seed = base; seed < base + 40; seed++) {
    const random = new SeededRandom(seed);
    const records = randomRecords(random, random.int(1, 300));
    let image = MetadataImage.EMPTY;
    for (let i = 0; i < records.length; ) {
      const batch = records.slice(i, i + random.int(1, 20));
      image = image.apply(batch, i + batch.length - 1);
      i += batch.length;
    }
    // Through bytes, as a snapshot file would carry them.
    const snapshot = imageRecords(image).map((r) => decodeMetadataRecord(encodeMetadataRecord(r)));
    const rebuilt = MetadataImage.EMPTY.apply(snapshot, image.offset);
    expect(shape(rebuilt), `seed ${seed}`).toEqual(shape(image));
    expect(rebuilt.offset).toBe(image.offset);
    // And a snapshot of the rebuilt image is the same snapshot.
    expect(imageRecords(rebuilt), `seed ${seed}`).toEqual(imageRecords(image));
  }
});

test('the snapshot of a small image, record by record', () => {
  const id = uuid(3);
  const image = MetadataImage.EMPTY.apply(
    [
      feature('metadata.version', 21),
      register(2, 1, { fenced: false, inControlledShutdown: true }),
      topic('t', id),
      config(2, 't', 'retention.ms', '5'),
      partition(id, 0, [2], { leaderRecoveryState: 1 }),
      config(4, '', 'log.retention.ms', '7'),
      { type: T.ProducerIdsRecord, data: { brokerId: 2, brokerEpoch: 1, nextProducerId: 2000 } },
    ],
    6,
  );
  expect(imageRecords(image).map((r) => r.type)).toEqual([
    T.FeatureLevelRecord,
    T.RegisterBrokerRecord,
    T.TopicRecord,
    T.ConfigRecord,
    T.PartitionRecord,
    T.ConfigRecord,
    T.ProducerIdsRecord,
  ]);
  expect(imageRecords(MetadataImage.EMPTY)).toEqual([]);
});
