/**
 * Three real controller processes (`node src/raft-node.ts`) on loopback, each with its own
 * data directory, talking the Kafka protocol to each other:
 * - a leader is elected (found with DescribeQuorum over the wire);
 * - records appended at the leader (through the `--stdin-control` hook) commit;
 * - SIGKILL of the leader: the survivors elect a new leader within the election bound and
 *   still hold every committed record;
 * - the killed node restarts from its data directory and catches up;
 * - SIGSTOP of a follower: the other two keep committing; SIGCONT: it catches up.
 * - SIGTERM stops each process cleanly (exit code 0).
 * Every process is killed at the end, whatever happened.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ControllerProcess, freePorts } from './controller-process.ts';

const electionTimeoutMs = 300;
const fetchTimeoutMs = 800;
/**
 * A follower notices a dead leader after fetchTimeoutMs, pre-votes and votes within about two
 * election timeouts; the rest is slack for process scheduling on a loaded 2-core machine.
 */
const electionBoundMs = fetchTimeoutMs + 2 * electionTimeoutMs + 4_000;

const dataDir = mkdtempSync(join(tmpdir(), 'brook-raft-'));
const nodes: ControllerProcess[] = [];

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  rmSync(dataDir, { recursive: true, force: true });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls DescribeQuorum on `among` until one answers as leader (partition error 0). */
async function findLeader(among: readonly ControllerProcess[], timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    for (const node of among) {
      const answer = await node.describeQuorum();
      const partition = answer?.topics[0]?.partitions[0];
      if (partition?.errorCode === 0 && partition.leaderId === node.nodeId) {
        return { node, epoch: partition.leaderEpoch, partition };
      }
    }
    await sleep(50);
  }
  return undefined;
}

async function appendCommitted(leader: ControllerProcess, values: readonly string[]) {
  for (const value of values) {
    const appended = await leader.ask(`append ${value}`, 'appended');
    expect(appended.event, `append ${value} at node ${leader.nodeId}`).toBe('appended');
    const offset = appended.baseOffset as number;
    const committed = leader.next(
      (e) => e.event === 'commit' && (e.highWatermark as number) > offset,
      10_000,
    );
    // The commit may already have been printed: ask for the state too.
    const current = await leader.ask('read', 'entries');
    if ((current.highWatermark as number) <= offset) await committed;
    else committed.catch(() => {});
  }
}

async function eventuallyHolds(node: ControllerProcess, values: readonly string[]) {
  const deadline = performance.now() + 15_000;
  let seen: string[] = [];
  while (performance.now() < deadline) {
    seen = await node.committedValues();
    if (values.every((v) => seen.includes(v))) return seen;
    await sleep(100);
  }
  expect(seen, `node ${node.nodeId} committed values`).toEqual(expect.arrayContaining([...values]));
  return seen;
}

describe('three controller processes', () => {
  it('elect, commit, survive a killed leader and a stopped follower', async () => {
    const ports = await freePorts(3);
    const voters = ports.map((port, i) => `${i + 1}@127.0.0.1:${port}`).join(',');
    for (const [i, port] of ports.entries()) {
      const node = new ControllerProcess(i + 1, port, [
        ...['--node-id', String(i + 1), '--voters', voters, '--port', String(port)],
        ...['--data-dir', join(dataDir, `node-${i + 1}`), '--log-level', 'info'],
        ...['--election-timeout-ms', String(electionTimeoutMs)],
        ...['--fetch-timeout-ms', String(fetchTimeoutMs)],
      ]);
      nodes.push(node);
      node.start();
    }
    try {
      const first = await findLeader(nodes, 20_000);
      expect(first, 'a first leader').toBeDefined();
      const leader = (first as NonNullable<typeof first>).node;
      const before = ['a1', 'a2', 'a3', 'a4', 'a5'];
      await appendCommitted(leader, before);
      expect(await leader.committedValues()).toEqual(before);

      leader.signal('SIGKILL');
      const killedAtMs = performance.now();
      const survivors = nodes.filter((n) => n !== leader);
      const second = await findLeader(survivors, electionBoundMs);
      const electedInMs = performance.now() - killedAtMs;
      console.log(`new leader ${second?.node.nodeId} after ${electedInMs.toFixed(0)} ms`);
      expect(second, `a new leader within ${electionBoundMs} ms`).toBeDefined();
      const newLeader = (second as NonNullable<typeof second>).node;
      expect(second?.epoch).toBeGreaterThan(first?.epoch ?? 0);
      for (const node of survivors) await eventuallyHolds(node, before);

      // The killed node restarts from its disk and catches up.
      leader.start();
      const after = ['b1', 'b2'];
      await appendCommitted(newLeader, after);
      await eventuallyHolds(leader, [...before, ...after]);

      // With the restarted node, leader + one follower are a majority without the other.
      const follower = survivors.find((n) => n !== newLeader) as ControllerProcess;
      follower.signal('SIGSTOP');
      const whileStopped = ['c1', 'c2', 'c3'];
      await appendCommitted(newLeader, whileStopped);
      await eventuallyHolds(leader, whileStopped);
      follower.signal('SIGCONT');
      const all = [...before, ...after, ...whileStopped];
      expect(await eventuallyHolds(follower, all)).toEqual(all);
      expect(await newLeader.committedValues()).toEqual(all);
      for (const node of nodes) expect(await node.terminate(), `node ${node.nodeId} exit`).toBe(0);
    } catch (error) {
      for (const node of nodes) {
        console.error(`--- node ${node.nodeId} stderr (last lines)\n${node.stderr.join('\n')}`);
      }
      throw error;
    }
  });
});
