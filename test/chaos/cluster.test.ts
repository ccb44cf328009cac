/**
 * The chaos harness against one real Brook process (single-node mode, `bin/brook.js`): the
 * cluster starts behind its proxy and answers Metadata; the topic is created; records produced
 * through the proxy with an idempotent kafkajs producer come back from the final read and from
 * the replica dump (with the high watermark from the checkpoint); SIGSTOP makes the node
 * silent and SIGCONT brings it back; a cut proxy refuses clients while the node itself still
 * answers; SIGKILL and a restart keep every record; the nemesis logs what it did and leaves the
 * node serving. Set BROOK_CHAOS_ROOT to run the nodes from another checkout.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, test } from 'vitest';
import { Apis } from '../../protocol/generated/api-table.ts';
import { newApiVersionsRequest } from '../../protocol/generated/apis/18-api-versions.ts';
import { advertisedListenersOf, listenersOf, quorumVotersOf } from '../../src/config/derived.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { SeededRandom } from '../../src/util/random.ts';
import { ChaosCluster, newAdminClient, nodeConfig } from './cluster.ts';
import { Nemesis } from './nemesis.ts';
import { dumpReplicas, finalReads } from './workload.ts';

const dir = mkdtempSync(join(tmpdir(), 'brook-chaos-test-'));
let cluster: ChaosCluster | undefined;

afterAll(async () => {
  await cluster?.killAll();
  rmSync(dir, { recursive: true, force: true });
});

async function produce(c: ChaosCluster, values: readonly string[]): Promise<void> {
  const kafka = new Kafka({ brokers: c.bootstrap, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (const [i, value] of values.entries()) {
      await producer.send({ topic: 't', acks: -1, messages: [{ partition: i % 2, value }] });
    }
  } finally {
    await producer.disconnect();
  }
}

describe('node configs are valid Brook configs', () => {
  const load = (text: string) => loadConfig({ file: { path: 'node.yaml', text } });

  test('3 nodes: voters and advertised listeners point at the proxies', () => {
    const voters = ['1@127.0.0.1:9101', '2@127.0.0.1:9102', '3@127.0.0.1:9103'];
    for (const id of [1, 2, 3]) {
      const config = load(
        nodeConfig({
          ...{ id, port: 9000 + id, controllerPort: 9010 + id, advertisedPort: 9200 + id },
          ...{ dataDir: `/tmp/n${id}`, voters, options: { nodes: 3 }, clusterId: 'c1' },
        }),
      );
      expect(config['node.id']).toBe(id);
      expect(config['cluster.id']).toBe('c1');
      expect(config['process.roles']).toEqual(['broker', 'controller']);
      expect(quorumVotersOf(config).map((v) => v.port)).toEqual([9101, 9102, 9103]);
      expect(listenersOf(config).map((l) => `${l.name}:${l.port}`)).toEqual([
        `PLAINTEXT:${9000 + id}`,
        `CONTROLLER:${9010 + id}`,
      ]);
      expect(advertisedListenersOf(config).map((l) => l.port)).toEqual([9200 + id]);
      expect(config['default.replication.factor']).toBe(3);
      expect(config['min.insync.replicas']).toBe(2);
      expect(config['offsets.topic.replication.factor']).toBe(3);
      expect(config['broker.session.timeout.ms']).toBe(3000);
      expect(config['replica.lag.time.max.ms']).toBe(3000);
    }
  });

  test('1 node: no voters, replication factor 1, overrides win', () => {
    const config = load(
      nodeConfig({
        ...{ id: 1, port: 9001, controllerPort: undefined, advertisedPort: 9201 },
        ...{ dataDir: '/tmp/n1', voters: [], clusterId: 'c2' },
        options: { nodes: 1, overrides: { 'num.partitions': 4 } },
      }),
    );
    expect(config['controller.quorum.voters']).toEqual([]);
    expect(config['default.replication.factor']).toBe(1);
    expect(config['num.partitions']).toBe(4);
  });
});

describe('single-node chaos cluster', () => {
  test('starts, takes faults, keeps every record, dumps its replica', async () => {
    const c = await ChaosCluster.start({
      nodes: 1,
      dataDir: join(dir, 'data'),
      logDir: join(dir, 'logs'),
    });
    cluster = c;
    const node = c.node(1);
    expect(c.bootstrap).toEqual([`127.0.0.1:${node.proxy.port}`]);
    await c.createTopic('t', 2, {});
    const meta = await node.metadata(['t']);
    // Clients are told the proxy's port, so every client connection passes through it.
    expect(meta?.brokers).toEqual([expect.objectContaining({ nodeId: 1, port: node.proxy.port })]);
    await produce(c, ['a', 'b', 'c', 'd']);

    node.pause();
    expect(await node.metadata()).toBeUndefined();
    node.resume();
    await c.waitReady();

    node.proxy.cut();
    const viaProxy = newAdminClient(node.proxy.port, 500);
    const refused = viaProxy.request(Apis.ApiVersions, 0, newApiVersionsRequest());
    await expect(refused).rejects.toThrow();
    viaProxy.close();
    expect(await node.metadata()).toBeDefined(); // the node itself still serves
    node.proxy.heal();

    await node.kill();
    expect(node.running).toBe(false);
    node.start();
    await c.waitReady();
    await produce(c, ['e', 'f']);

    const events: string[] = [];
    const nemesis = new Nemesis({
      cluster: c,
      random: new SeededRandom(7),
      now: () => performance.now(),
      log: (line) => events.push(line),
      kinds: ['kill', 'pause'],
      quietMsMin: 100,
      quietMsMax: 200,
      faultMsMin: 200,
      faultMsMax: 300,
    });
    await nemesis.run(2_500);
    expect(nemesis.faults).toBeGreaterThan(0);
    expect(events.some((e) => e.includes('recovered'))).toBe(true);
    expect(node.running && !node.paused).toBe(true);

    const finals = await finalReads(c, 't', 2);
    const values = (p: number) => finals[p]?.records.map((r) => r.value);
    expect(values(0)).toEqual(['a', 'c', 'e']);
    expect(values(1)).toEqual(['b', 'd', 'f']);
    expect(finals.map((f) => f.endOffset)).toEqual([3, 3]);

    await c.stopAll();
    const dumps = dumpReplicas(c, 't', 2);
    expect(dumps.map((d) => [d.node, d.partition, d.highWatermark])).toEqual([
      [1, 0, 3],
      [1, 1, 3],
    ]);
    expect(dumps[0]?.records).toEqual(finals[0]?.records);
    expect(node.starts).toBeGreaterThanOrEqual(2);
    expect(readFileSync(node.logPath, 'utf8')).toContain('Brook listening on');
  }, 60_000);
});
