/**
 * What the cluster interop tests share: a three-node in-process cluster (startCluster: RF 3,
 * min.insync.replicas 2), replicated topics created through a real admin client, and the
 * checks that every acknowledged record comes back exactly once, in order per partition.
 */
import { Consumer } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { expect } from 'vitest';
import type { RunningBroker, RunningCluster } from '../../../src/index.ts';

export const replicationFactor = 3;
export const minInsync = 2;

/** Resolves once `holds` is true, polling every 25 ms; fails after `timeoutMs`. */
export async function eventually(
  holds: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await holds())) {
    if (Date.now() > deadline) throw new Error(`not reached in ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function kafkaOn(brokers: readonly string[], clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [...brokers], logLevel: logLevel.NOTHING });
}

/** The leader of `topic`-`partition` as `node`'s image has it; -1 when none or unknown. */
export function leaderOf(node: RunningBroker, topic: string, partition: number): number {
  return node.broker.metadata.topic(topic)?.partitions[partition]?.leaderId ?? -1;
}

/**
 * Creates `topic` (RF 3, min.insync.replicas 2) through kafkajs's admin on one node, and waits
 * until every node's image has a leader for each partition, so a client bootstrapping from any
 * node sees the whole topic. Returns the leader of each partition.
 */
export async function createReplicatedTopic(
  cluster: RunningCluster,
  topic: string,
  partitions: number,
): Promise<number[]> {
  const first = cluster.nodes[0];
  if (!first) throw new Error('empty cluster');
  const admin = kafkaOn([first.bootstrap], 'cluster-admin').admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: partitions,
          replicationFactor,
          configEntries: [{ name: 'min.insync.replicas', value: String(minInsync) }],
        },
      ],
    });
    expect(created).toBe(true);
  } finally {
    await admin.disconnect();
  }
  await eventually(
    () =>
      cluster.nodes.every((n) =>
        Array.from({ length: partitions }, (_, p) => leaderOf(n, topic, p)).every((l) => l > 0),
      ),
    `every node sees a leader for each partition of ${topic}`,
  );
  const leaders = Array.from({ length: partitions }, (_, p) => leaderOf(first, topic, p));
  for (let p = 0; p < partitions; p++) {
    const view = first.broker.metadata.topic(topic)?.partitions[p];
    expect([...(view?.replicaNodes ?? [])].sort()).toEqual([1, 2, 3]);
    expect([...(view?.isrNodes ?? [])].sort()).toEqual([1, 2, 3]);
  }
  return leaders;
}

/** How many nodes hold `topic`-`partition` up to at least `end` in their log. */
export function replicasHolding(
  cluster: RunningCluster,
  topic: string,
  partition: number,
  end: number,
): number {
  return cluster.nodes.filter(
    (n) => (n.broker.data.replicas.partition(topic, partition)?.log.logEndOffset ?? -1) >= end,
  ).length;
}

export interface Acked {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

export interface Read {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

/**
 * Checks a read-back against what was acknowledged (in the order the producer sent it):
 * every acknowledged record is read exactly once at the offset it was acknowledged at, offsets
 * of a partition are read in increasing order, and within a partition the producer's order is
 * the offset order. Records read but never acknowledged are allowed only in `unacked`.
 */
export function expectExactlyOnceInOrder(
  acked: readonly Acked[],
  read: readonly Read[],
  unacked: ReadonlySet<string> = new Set(),
): void {
  const byPartition = new Map<number, Read[]>();
  for (const r of read) {
    const list = byPartition.get(r.partition) ?? [];
    list.push(r);
    byPartition.set(r.partition, list);
  }
  for (const [partition, list] of byPartition) {
    const offsets = list.map((r) => r.offset);
    expect(offsets, `partition ${partition} read in offset order`).toEqual(
      [...offsets].sort((a, b) => a - b),
    );
    expect(new Set(offsets).size, `partition ${partition}: no offset twice`).toBe(offsets.length);
  }
  const values = read.map((r) => r.value);
  expect(new Set(values).size, 'no record read twice').toBe(values.length);
  const readAt = new Map(read.map((r) => [`${r.partition}/${r.offset}`, r.value]));
  for (const a of acked) {
    expect(
      readAt.get(`${a.partition}/${a.offset}`),
      `${a.value} at ${a.partition}/${a.offset}`,
    ).toBe(a.value);
  }
  const ackedValues = new Set(acked.map((a) => a.value));
  const extra = values.filter((v) => !ackedValues.has(v) && !unacked.has(v));
  expect(extra, 'records read that were never sent').toEqual([]);
  const lastOffset = new Map<number, number>();
  for (const a of acked) {
    const before = lastOffset.get(a.partition) ?? -1;
    expect(a.offset, `${a.value}: producer order is offset order`).toBeGreaterThan(before);
    lastOffset.set(a.partition, a.offset);
  }
}

/**
 * Reads every partition of `topic` from offset 0 up to its high watermark with
 * @platformatic/kafka's plain Fetch (no group: it must not depend on a group coordinator),
 * from each partition's leader as Metadata names it, bootstrapping from `bootstraps`.
 */
export async function readWithoutGroup(bootstraps: readonly string[], topic: string) {
  const consumer = new Consumer({
    groupId: 'unused-plain-fetch',
    clientId: 'cluster-plain-reader',
    bootstrapBrokers: [...bootstraps],
  });
  const read: Read[] = [];
  try {
    const metadata = await consumer.metadata({ topics: [topic], forceUpdate: true });
    const described = metadata.topics.get(topic);
    if (!described) throw new Error(`no metadata for ${topic}`);
    for (const [partition, p] of described.partitions.entries()) {
      let offset = 0n;
      for (;;) {
        const response = await consumer.fetch({
          node: p.leader,
          maxWaitTime: 10,
          topics: [
            {
              topicId: described.id,
              partitions: [
                {
                  partition,
                  currentLeaderEpoch: p.leaderEpoch,
                  fetchOffset: offset,
                  lastFetchedEpoch: -1,
                  partitionMaxBytes: 1 << 20,
                },
              ],
            },
          ],
        });
        const answer = response.responses[0]?.partitions[0];
        if (!answer) throw new Error(`no fetch answer for ${topic}-${partition}`);
        expect(answer.errorCode, `fetch ${topic}-${partition} at ${offset}`).toBe(0);
        for (const batch of answer.records ?? []) {
          for (const record of batch.records) {
            const at = batch.firstOffset + BigInt(record.offsetDelta);
            if (at < offset) continue;
            read.push({ partition, offset: Number(at), value: String(record.value) });
            offset = at + 1n;
          }
        }
        if (offset >= answer.highWatermark) break;
      }
    }
  } finally {
    await consumer.close(true);
  }
  return read;
}
