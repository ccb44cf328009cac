/**
 * Metadata snapshots on real quorums over TCP on 127.0.0.1, each node on its own
 * MemoryFileSystem.
 *
 * Three controller-only NodeRuntimes (`metadata.log.max.record.bytes.between.snapshots`=1024,
 * 4 KiB metadata segments): brokers registered and topics created through the active
 * controller commit enough bytes that every node snapshots its log: the snapshot file is
 * there, the Raft log starts at its end and the segments below it are gone. A follower
 * restarted on its disk rebuilds, from the snapshot and the tail, the image and the
 * controller state it had. A broker-only node and a voter on empty disks catch up through
 * FetchSnapshot and hold the same image and controller state as the others. Three
 * broker+controller nodes (ClusterMetadata and BrokerLifecycleManager as the data path wires
 * them): a broker restarted from its snapshot rebuilds the same broker image and is unfenced
 * again. On a plain quorum: the time bound snapshots a few records that the byte bound never
 * would, and an image encoded a few records per turn is stored exactly.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import {
  newBrokerHeartbeatRequest,
  newBrokerRegistrationRequest,
} from '../../../protocol/generated/index.ts';
import { MetadataRecordType } from '../../../protocol/generated/metadata-record-table.ts';
import { loadConfig } from '../../../src/config/load-config.ts';
import type { ControllerState } from '../../../src/controller/controller-state.ts';
import type { ClusterMetadata } from '../../../src/metadata/cluster-metadata.ts';
import { imageRecords } from '../../../src/metadata/image-records.ts';
import { MetadataImage } from '../../../src/metadata/metadata-image.ts';
import { encodeMetadataRecord } from '../../../src/metadata/metadata-record.ts';
import type { BrokerLifecycleManager } from '../../../src/node/broker-lifecycle.ts';
import { METADATA_LOG_DIR_NAME } from '../../../src/node/metadata-quorum.ts';
import { applyBatch, MetadataSnapshotGenerator } from '../../../src/node/metadata-snapshots.ts';
import { NodeRuntime } from '../../../src/node/node-runtime.ts';
import { listSnapshots } from '../../../src/raft/snapshot-files.ts';
import { freePorts } from '../../../src/server/free-ports.ts';
import { SystemClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';
import { startBrokerNode } from './broker-node.ts';
import {
  Collector,
  clusterId,
  startCluster,
  type TestCluster,
  timeouts,
  until,
} from './quorum-harness.ts';

const seed = Number(process.env.BROOK_SEED ?? 43);
console.log(`metadata-snapshots seed ${seed}`);

const clock = new SystemClock();
const logger = silentLogger();
const MAX_BYTES = 1024;
const SEGMENT_BYTES = 4096;

interface Node {
  readonly id: number;
  fs: MemoryFileSystem;
  config: ReturnType<typeof loadConfig>;
  runtime: NodeRuntime;
  /** Every committed batch this node's quorum delivered since its (re)start. */
  collector: Collector;
  /** The image after each committed record since the (re)start, in offset order. */
  history: { offset: number; image: MetadataImage }[];
}

const nodes: Node[] = [];
let plain: TestCluster | undefined;

/** A broker+controller node: the runtime, its broker image and its lifecycle. */
interface BrokerNode {
  readonly id: number;
  readonly fs: MemoryFileSystem;
  readonly config: ReturnType<typeof loadConfig>;
  readonly runtime: NodeRuntime;
  readonly metadata: ClusterMetadata;
  readonly lifecycle: BrokerLifecycleManager;
  readonly collector: Collector;
}

const brokers: BrokerNode[] = [];

afterAll(async () => {
  for (const n of nodes) await n.runtime.stop();
  for (const b of brokers) b.lifecycle.close();
  for (const b of brokers) await b.runtime.stop();
  await plain?.stop();
});

function configOf(id: number, roles: string[], listener: string | string[], voters: string[]) {
  return loadConfig({
    overrides: {
      'node.id': id,
      'process.roles': roles,
      'controller.quorum.voters': voters,
      listeners: Array.isArray(listener) ? listener : [listener],
      'broker.heartbeat.interval.ms': 100,
      'log.dirs': [`/node${id}`],
      'metadata.log.max.record.bytes.between.snapshots': MAX_BYTES,
      // The test's brokers heartbeat once: they must not be fenced while it runs.
      'broker.session.timeout.ms': 600_000,
      ...timeouts,
    },
  });
}

async function start(node: Omit<Node, 'runtime' | 'collector' | 'history'>): Promise<Node> {
  const runtime = await NodeRuntime.start({
    config: node.config,
    fs: node.fs,
    clock,
    random: new SeededRandom(seed * 7 + node.id),
    logger,
    clusterId,
    metadataSegmentBytes: SEGMENT_BYTES,
  });
  const collector = new Collector();
  runtime.quorum.addListener(collector);
  const history: Node['history'] = [];
  let image = MetadataImage.EMPTY;
  runtime.quorum.addListener({
    onCommitted: (batch) => {
      if (batch.snapshot) {
        image = applyBatch(MetadataImage.EMPTY, batch);
        history.push({ offset: batch.lastOffset, image });
        return;
      }
      // Record by record, so the state at any offset can be looked up.
      for (const record of batch.records) {
        image = applyBatch(image, { records: [record], lastOffset: record.offset });
        history.push({ offset: record.offset, image });
      }
    },
  });
  return { ...node, runtime, collector, history };
}

/** The image a node held at `offset` (after every record up to it). */
function imageAt(n: Node, offset: number): MetadataImage {
  const found = n.history.filter((h) => h.offset <= offset).at(-1);
  if (!found) throw new Error(`node ${n.id} has no image at ${offset}`);
  return found.image;
}

function node(id: number): Node {
  const found = nodes.find((n) => n.id === id);
  if (!found) throw new Error(`no node ${id}`);
  return found;
}

/** Runs a command on the active controller, again on another one while it moves. */
async function onActive<T>(
  run: (n: NodeRuntime) => Promise<T>,
  moved: (r: T) => boolean,
  among: () => readonly { runtime: NodeRuntime }[] = () => nodes,
) {
  for (;;) {
    const active = () => among().find((n) => n.runtime.controller?.isActive);
    await until('an active controller', () => active() !== undefined);
    const result = await run((active() as { runtime: NodeRuntime }).runtime);
    if (!moved(result)) return result;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const notController = (code: number) => code === ErrorCode.NOT_CONTROLLER;

async function registerBrokers(ids: readonly number[]): Promise<void> {
  for (const brokerId of ids) {
    const request = newBrokerRegistrationRequest();
    request.brokerId = brokerId;
    request.clusterId = clusterId;
    const incarnation = Buffer.alloc(16);
    incarnation.writeInt32BE(brokerId, 0);
    request.incarnationId = incarnation.toString('base64url');
    request.rack = `rack-${brokerId % 2}`;
    request.listeners = [
      { name: 'PLAINTEXT', host: '127.0.0.1', port: 9000 + brokerId, securityProtocol: 0 },
    ];
    const registered = await onActive(
      (rt) => (rt.controller as NonNullable<NodeRuntime['controller']>).registerBroker(request),
      (r) => notController(r.errorCode),
    );
    expect(registered.errorCode, `register ${brokerId}`).toBe(ErrorCode.NONE);
    const heartbeat = newBrokerHeartbeatRequest();
    heartbeat.brokerId = brokerId;
    heartbeat.brokerEpoch = Number(registered.brokerEpoch);
    heartbeat.currentMetadataOffset = Number(registered.brokerEpoch);
    const beat = await onActive(
      (rt) => (rt.controller as NonNullable<NodeRuntime['controller']>).brokerHeartbeat(heartbeat),
      (r) => notController(r.errorCode),
    );
    expect(beat.errorCode, `heartbeat ${brokerId}`).toBe(ErrorCode.NONE);
  }
}

async function createTopics(
  prefix: string,
  count: number,
  among: () => readonly { runtime: NodeRuntime }[] = () => nodes,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const topic = {
      name: `${prefix}-${i}`,
      numPartitions: 3,
      replicationFactor: 3,
      configs: new Map([['retention.ms', String(60_000 + i)]]),
      assignments: [],
    };
    const [result] = await onActive(
      (rt) => (rt.controller as NonNullable<NodeRuntime['controller']>).createTopics([topic]),
      (r) => r.some((t) => notController(t.errorCode)),
      among,
    );
    expect(result?.errorCode, topic.name).toBe(ErrorCode.NONE);
  }
}

/** An image as its snapshot records (hex), in the order the snapshot writes them. */
function imageContent(image: MetadataImage): string[] {
  return imageRecords(image).map((r) => encodeMetadataRecord(r).toString('hex'));
}

/** What the controller knows, in a form `toEqual` compares. */
function controllerContent(state: ControllerState) {
  return {
    offset: state.offset,
    brokers: [...state.brokers()].sort((a, b) => a.brokerId - b.brokerId),
    topics: [...state.topics()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((t) => ({ ...t, configs: [...state.configs(2, t.name)] })),
    features: [...state.features()].sort(),
    nextProducerId: state.nextProducerId,
  };
}

function controllerOf(n: Node): ControllerState {
  const controller = n.runtime.controller;
  if (!controller) throw new Error(`node ${n.id} runs no controller`);
  return controller.committed;
}

/** Waits until every node's generator image ends at the first node's high watermark. */
async function allAtSameOffset(of: readonly Node[]): Promise<number> {
  await until('one offset everywhere', () => {
    const offsets = new Set(of.map((n) => n.runtime.snapshots.image.offset));
    const hw = of[0]?.runtime.quorum.highWatermark ?? 0;
    return offsets.size === 1 && of[0]?.runtime.snapshots.image.offset === hw - 1;
  });
  return of[0]?.runtime.snapshots.image.offset as number;
}

async function logSegmentBases(fs: MemoryFileSystem, id: number): Promise<number[]> {
  const names = await fs.readdir(`/node${id}/${METADATA_LOG_DIR_NAME}`);
  return names
    .filter((name) => name.endsWith('.log'))
    .map((name) => Number(name.slice(0, -4)))
    .sort((a, b) => a - b);
}

describe('metadata snapshots on three controllers', () => {
  it('snapshots every node once enough bytes commit; the log start advances', async () => {
    const ports = await freePorts(3);
    const voters = [1, 2, 3].map((id) => `${id}@127.0.0.1:${ports[id - 1]}`);
    const started = await Promise.all(
      [1, 2, 3].map((id) =>
        start({
          id,
          fs: new MemoryFileSystem(new SeededRandom(seed + id)),
          config: configOf(id, ['controller'], `CONTROLLER://127.0.0.1:${ports[id - 1]}`, voters),
        }),
      ),
    );
    nodes.push(...started);
    await registerBrokers([101, 102, 103]);
    await createTopics('t', 30);
    const offset = await allAtSameOffset(nodes);
    for (const n of nodes) {
      const { snapshots, quorum } = n.runtime;
      await until(`node ${n.id} snapshot`, () => snapshots.writtenCount >= 1);
      expect(snapshots.writtenCount, `node ${n.id} wrote several`).toBeGreaterThan(1);
      const last = snapshots.lastWritten;
      const start = quorum.logStartOffset;
      expect(start, `node ${n.id} log start`).toBeGreaterThan(0);
      expect(quorum.latestSnapshotId?.endOffset).toBe(start);
      expect(start).toBeLessThanOrEqual(offset + 1);
      expect(last?.id.endOffset).toBe(snapshots.snapshotEndOffset);
      // The records not yet in a snapshot are fewer than the bound.
      expect(snapshots.bytesSinceSnapshot).toBeLessThan(MAX_BYTES);
      await quorum.settled();
      const files = await listSnapshots(n.fs, `/node${n.id}/${METADATA_LOG_DIR_NAME}`);
      expect(files).toEqual([quorum.latestSnapshotId]);
      // The segments wholly below the snapshot are gone from the disk.
      const bases = await logSegmentBases(n.fs, n.id);
      expect(bases[0], `node ${n.id} first segment`).toBeGreaterThan(0);
      expect(bases[0]).toBeLessThanOrEqual(start);
      // Every node's image says the same: three brokers, thirty topics.
      expect(snapshots.image.brokerCount).toBe(3);
      expect(snapshots.image.topicCount).toBe(30);
      expect(imageContent(snapshots.image)).toEqual(imageContent(node(1).runtime.snapshots.image));
    }
  });

  it('a restarted follower rebuilds the same state from snapshot + tail', async () => {
    const offset = await allAtSameOffset(nodes);
    const follower = nodes.find((n) => !n.runtime.controller?.isActive) as Node;
    const image = imageContent(follower.runtime.snapshots.image);
    const controller = controllerContent(controllerOf(follower));
    expect(controller.topics).toHaveLength(30);
    const snapshotEnd = follower.runtime.quorum.logStartOffset;
    await follower.runtime.stop();
    const restarted = await start(follower);
    nodes.splice(nodes.indexOf(follower), 1, restarted);
    await until('restarted node replayed', () => restarted.collector.lastOffset >= offset);
    // It was given the snapshot first, then the tail above it.
    const first = restarted.collector.batches[0];
    expect(first?.snapshot).toBe(true);
    expect(first?.lastOffset).toBe(snapshotEnd - 1);
    // It holds exactly the state at its end: every record below it, none at or above.
    const held = first?.records.map((r) => r.data.toString('hex'));
    expect(held).toEqual(imageContent(imageAt(follower, snapshotEnd - 1)));
    expect(restarted.collector.errors).toEqual([]);
    await until(
      'image at the old offset',
      () => restarted.runtime.snapshots.image.offset >= offset,
    );
    expect(restarted.runtime.snapshots.image.offset).toBe(offset);
    expect(imageContent(restarted.runtime.snapshots.image)).toEqual(image);
    await until('controller replayed', () => controllerOf(restarted).offset >= controller.offset);
    expect(controllerContent(controllerOf(restarted))).toEqual(controller);

    // The quorum goes on: more records reach every node, the restarted one included.
    await createTopics('u', 10);
    const after = await allAtSameOffset(nodes);
    expect(after).toBeGreaterThan(offset);
    const expected = imageContent(node(1).runtime.snapshots.image);
    const expectedController = controllerContent(controllerOf(node(1)));
    expect(expectedController.topics).toHaveLength(40);
    for (const n of nodes) {
      expect(imageContent(n.runtime.snapshots.image), `node ${n.id}`).toEqual(expected);
      await until(`node ${n.id} controller`, () => controllerOf(n).offset >= after);
      expect(controllerContent(controllerOf(n)), `node ${n.id}`).toEqual(expectedController);
    }
  });

  it('nodes on empty disks catch up through FetchSnapshot', async () => {
    const voters = nodes[0]?.config['controller.quorum.voters'] as string[];
    const [port] = await freePorts(1);
    const observer = await start({
      id: 4,
      fs: new MemoryFileSystem(new SeededRandom(seed + 4)),
      config: configOf(4, ['broker'], `PLAINTEXT://127.0.0.1:${port}`, voters),
    });
    nodes.push(observer);
    // A voter too: a follower's disk is lost, and it starts again empty.
    const lost = nodes.find((n) => n.id !== 4 && !n.runtime.controller?.isActive) as Node;
    await lost.runtime.stop();
    const fresh = await start({ ...lost, fs: new MemoryFileSystem(new SeededRandom(seed + 40)) });
    nodes.splice(nodes.indexOf(lost), 1, fresh);
    await createTopics('v', 2);
    const offset = await allAtSameOffset(nodes);
    const leader = nodes.find((n) => n.runtime.controller?.isActive) as Node;
    const expected = imageContent(leader.runtime.snapshots.image);
    for (const n of [observer, fresh]) {
      const first = n.collector.batches[0];
      expect(first?.snapshot, `node ${n.id} installed a snapshot`).toBe(true);
      expect(n.runtime.quorum.latestSnapshotId).toBeDefined();
      expect(n.collector.errors).toEqual([]);
      expect(imageContent(n.runtime.snapshots.image), `node ${n.id}`).toEqual(expected);
      expect(n.runtime.snapshots.image.topicCount).toBe(42);
    }
    await until('fresh controller replayed', () => controllerOf(fresh).offset >= offset);
    expect(controllerContent(controllerOf(fresh))).toEqual(controllerContent(controllerOf(leader)));
  });
});

/** A broker+controller node as the data path composes it: ClusterMetadata and lifecycle. */
async function startBroker(id: number, fs: MemoryFileSystem, config: BrokerNode['config']) {
  const collector = new Collector();
  const parts = await startBrokerNode({
    id,
    config,
    fs,
    random: new SeededRandom(seed * 11 + id),
    metadataRandom: new SeededRandom(seed + 60 + id),
    onApplyError: (error) => collector.errors.push(`node ${id} could not apply: ${String(error)}`),
    listeners: [collector],
    metadataSegmentBytes: SEGMENT_BYTES,
  });
  const node: BrokerNode = { id, fs, config, ...parts, collector };
  return node;
}

describe('metadata snapshots under brokers', () => {
  it('a broker restarted from a snapshot rebuilds its image and is unfenced again', async () => {
    const ports = await freePorts(6);
    const voters = [1, 2, 3].map((id) => `${id}@127.0.0.1:${ports[2 * id - 1]}`);
    for (const id of [1, 2, 3]) {
      const listeners = [
        `PLAINTEXT://127.0.0.1:${ports[2 * id - 2]}`,
        `CONTROLLER://127.0.0.1:${ports[2 * id - 1]}`,
      ];
      const config = configOf(id, ['broker', 'controller'], listeners, voters);
      const fs = new MemoryFileSystem(new SeededRandom(seed + 70 + id));
      brokers.push(await startBroker(id, fs, config));
    }
    await Promise.all(brokers.map((b) => b.lifecycle.whenUnfenced()));
    await createTopics('b', 20, () => brokers);
    for (const b of brokers) {
      await until(`node ${b.id} snapshot`, () => b.runtime.snapshots.writtenCount >= 1);
    }
    const restarting = brokers.find((b) => !b.runtime.controller?.isActive) as BrokerNode;
    const epochBefore = restarting.lifecycle.brokerEpoch;
    // A clean stop: fenced by the controller, so the next incarnation may register at once.
    await restarting.lifecycle.controlledShutdown(10_000);
    restarting.lifecycle.close();
    await restarting.runtime.stop();
    const restarted = await startBroker(restarting.id, restarting.fs, restarting.config);
    brokers.splice(brokers.indexOf(restarting), 1, restarted);
    expect(restarted.runtime.quorum.logStartOffset).toBeGreaterThan(0);
    await restarted.lifecycle.whenUnfenced();
    // A new registration: a new broker epoch, above the one before.
    expect(restarted.lifecycle.brokerEpoch).toBeGreaterThan(epochBefore);
    expect(restarted.collector.batches[0]?.snapshot).toBe(true);
    expect(restarted.collector.errors).toEqual([]);
    // Every broker's image (and the generators' images) says the same at the same offset.
    await until('one offset everywhere', () => {
      const hw = brokers[0]?.runtime.quorum.highWatermark ?? 0;
      return brokers.every(
        (b) =>
          b.metadata.image.offset === hw - 1 &&
          b.runtime.snapshots.image.offset === hw - 1 &&
          b.runtime.quorum.highWatermark === hw,
      );
    });
    const expected = imageContent(brokers[0]?.metadata.image as MetadataImage);
    for (const b of brokers) {
      expect(imageContent(b.metadata.image), `node ${b.id}`).toEqual(expected);
      expect(imageContent(b.runtime.snapshots.image), `node ${b.id}`).toEqual(expected);
      expect(b.metadata.image.topicCount).toBe(20);
      expect(b.metadata.image.broker(restarted.id)?.fenced).toBe(false);
    }
  });
});

describe('a generator on a plain quorum', () => {
  it('snapshots records that never reach the byte bound once the interval passed', async () => {
    plain = await startCluster(3, 0, seed);
    const c = plain;
    const quorum = c.node(1).quorum;
    if (!quorum) throw new Error('no quorum');
    const timed = new MetadataSnapshotGenerator({
      quorum,
      clock,
      logger,
      maxBytesBetweenSnapshots: 1 << 30,
      maxIntervalMs: 300,
    });
    const untimed = new MetadataSnapshotGenerator({
      quorum,
      clock,
      logger,
      maxBytesBetweenSnapshots: 1 << 30,
      maxIntervalMs: 0,
    });
    const feature = encodeMetadataRecord({
      type: MetadataRecordType.FeatureLevelRecord,
      data: { name: 'metadata.version', featureLevel: 21 },
    });
    const startedMs = Date.now();
    await until(
      'a ready leader',
      () => c.readyLeader()?.quorum?.append([feature])?.kind === 'appended',
    );
    await until('time-bound snapshot', () => timed.writtenCount >= 1, 5_000);
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(250);
    expect(untimed.writtenCount).toBe(0);
    expect(quorum.logStartOffset).toBe(timed.lastWritten?.id.endOffset);
    expect(timed.image.features.get('metadata.version')).toBe(21);
    timed.close();
    untimed.close();
  });

  it('encodes a large image a slice at a time and stores exactly that image', async () => {
    const c = plain as TestCluster;
    const quorum = c.node(2).quorum;
    if (!quorum) throw new Error('no quorum');
    const sliced = new MetadataSnapshotGenerator({
      quorum,
      clock,
      logger,
      maxBytesBetweenSnapshots: 400,
      maxIntervalMs: 0,
      sliceRecords: 3,
    });
    // Forty features, each its own record in the image: 14 slices of 3.
    const features = Array.from({ length: 40 }, (_, i) =>
      encodeMetadataRecord({
        type: MetadataRecordType.FeatureLevelRecord,
        data: { name: `test.feature.${i}`, featureLevel: i + 1 },
      }),
    );
    await until(
      'a ready leader',
      () => c.readyLeader()?.quorum?.append(features)?.kind === 'appended',
    );
    await until('sliced snapshot', () => sliced.image.features.size >= 41);
    await until('sliced snapshot', () => sliced.snapshotEndOffset > sliced.image.offset);
    const written = sliced.lastWritten;
    expect(written?.records).toBe(41);
    expect(written?.id.endOffset).toBe(sliced.image.offset + 1);
    expect(sliced.bytesSinceSnapshot).toBe(0);
    // A listener added now is given the snapshot: the image's records, in its order.
    const fresh = new Collector();
    quorum.addListener(fresh);
    await until('snapshot delivered', () => fresh.batches.length >= 1);
    expect(fresh.batches[0]?.snapshot).toBe(true);
    const held = fresh.batches[0]?.records.map((r) => r.data.toString('hex'));
    expect(held).toEqual(imageContent(sliced.image));
    sliced.close();
  });
});
