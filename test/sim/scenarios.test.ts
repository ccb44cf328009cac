/**
 * Raft behaviour told as stories, on a calm network where each step is awaited as an event
 * ("run until a leader exists"), with every safety invariant checked after each event.
 */
import { describe, expect, it } from 'vitest';
import { RoleName } from '../../src/raft/roles.ts';
import { SimCluster, type SimNode } from './cluster.ts';

function calmCluster(seed: number, voters: number, observers = 0): SimCluster {
  return new SimCluster({
    seed,
    voters,
    observers,
    network: { dropProbability: 0, duplicateProbability: 0, delayMsMin: 1, delayMsMax: 5 },
    storageLatencyMsMax: 2,
    snapshotEveryEntries: 8,
    fetchMaxEntries: 4,
  });
}

function runUntilLeader(cluster: SimCluster): SimNode {
  expect(cluster.runUntil(() => cluster.leader() !== undefined, 10_000)).toBe(true);
  return cluster.leader() as SimNode;
}

function appendUntil(cluster: SimCluster, endOffset: number): void {
  const reached = cluster.runUntil(() => {
    const leader = cluster.leader();
    if (leader && leader.log.endOffset() < endOffset) cluster.appendToLeader(1);
    return (leader?.log.endOffset() ?? 0) >= endOffset;
  }, 20_000);
  expect(reached).toBe(true);
}

function runUntilAllReach(cluster: SimCluster, offset: number, nodes = cluster.nodes): void {
  const live = nodes.filter((n) => n.replica);
  const reached = cluster.runUntil(
    () => live.every((n) => (n.replica?.highWatermark ?? 0) >= offset),
    20_000,
  );
  expect(reached).toBe(true);
}

describe('raft scenarios', () => {
  it('elects a leader, loses it to a crash, and the rest reach offset 20', () => {
    const cluster = calmCluster(1, 3);
    const first = runUntilLeader(cluster);
    appendUntil(cluster, 6);
    runUntilAllReach(cluster, 6);
    const firstEpoch = first.replica?.epoch ?? -1;
    cluster.crash(first.id);
    const second = runUntilLeader(cluster);
    expect(second.id).not.toBe(first.id);
    expect(second.replica?.epoch).toBeGreaterThan(firstEpoch);
    appendUntil(cluster, 20);
    runUntilAllReach(cluster, 20);
    cluster.restart(first.id);
    runUntilAllReach(cluster, 20);
    expect(cluster.checker.committedLength).toBeGreaterThanOrEqual(20);
  });

  it('a partitioned leader resigns by check-quorum and loses its uncommitted entries', () => {
    const cluster = calmCluster(2, 3);
    const old = runUntilLeader(cluster);
    appendUntil(cluster, 4);
    runUntilAllReach(cluster, 4);
    const others = cluster.nodes.filter((n) => n !== old).map((n) => n.id);
    cluster.partition([[old.id], others]);
    old.replica?.append([new Uint8Array([1]), new Uint8Array([2])]);
    const uncommittedEnd = old.log.endOffset();
    const resigned = cluster.runUntil(() => old.replica?.role.name !== RoleName.leader, 5_000);
    expect(resigned).toBe(true);
    const successor = runUntilLeader(cluster);
    expect(others).toContain(successor.id);
    appendUntil(cluster, uncommittedEnd + 3);
    cluster.healNetwork();
    runUntilAllReach(cluster, uncommittedEnd + 3);
    // The old leader's tail was replaced by the new leader's entries.
    const end = uncommittedEnd + 2;
    expect(old.log.hashAt(end)).toBe(successor.log.hashAt(end));
    expect(old.log.epochAt(uncommittedEnd - 1)).toBe(successor.replica?.epoch);
  });

  it('a graceful resignation hands over faster than any election timeout', () => {
    const cluster = calmCluster(3, 5);
    const old = runUntilLeader(cluster);
    appendUntil(cluster, 5);
    runUntilAllReach(cluster, 5);
    const resignedAtMs = cluster.nowMs;
    expect(cluster.resign(old.id)).toBe(true);
    const handedOver = cluster.runUntil(() => {
      const leader = cluster.leader();
      return leader !== undefined && leader !== old;
    }, 5_000);
    expect(handedOver).toBe(true);
    // Followers would wait their 600 ms fetch timeout without EndQuorumEpoch.
    expect(cluster.nowMs - resignedAtMs).toBeLessThan(300);
  });

  it('a follower behind the leader log start installs a snapshot', () => {
    const cluster = calmCluster(4, 3);
    const leader = runUntilLeader(cluster);
    const lagging = cluster.nodes.find((n) => n !== leader) as SimNode;
    cluster.crash(lagging.id);
    appendUntil(cluster, 30);
    runUntilAllReach(cluster, 30);
    cluster.maybeSnapshot(leader.id);
    expect(leader.log.startOffset()).toBeGreaterThan(20);
    cluster.restart(lagging.id);
    runUntilAllReach(cluster, 30);
    expect(lagging.log.latestSnapshot()?.id.endOffset).toBe(leader.log.startOffset());
    expect(lagging.appliedOffset).toBeGreaterThanOrEqual(30);
  });

  it('an observer follows committed entries and never votes', () => {
    const cluster = calmCluster(5, 3, 1);
    runUntilLeader(cluster);
    appendUntil(cluster, 10);
    const observer = cluster.node(4);
    runUntilAllReach(cluster, 10);
    expect(observer.store.read()?.votedId ?? -1).toBe(-1);
    const quorum = cluster.leader()?.replica?.describeQuorum();
    expect(quorum?.currentVoters.map((v) => v.replicaId).sort()).toEqual([1, 2, 3]);
    expect(quorum?.observers.map((o) => o.replicaId)).toEqual([4]);
  });

  it('a voter cut off one way from the leader cannot unseat it (pre-vote)', () => {
    const cluster = calmCluster(6, 3);
    const leader = runUntilLeader(cluster);
    appendUntil(cluster, 5);
    runUntilAllReach(cluster, 5);
    const epoch = leader.replica?.epoch;
    const cutOff = cluster.nodes.find((n) => n !== leader) as SimNode;
    // Its log is as long as anyone's, so only pre-vote's "I still hear the leader" rule stops it.
    cluster.block(leader.id, cutOff.id);
    cluster.runFor(5_000);
    expect(cluster.leader()).toBe(leader);
    expect(leader.replica?.epoch).toBe(epoch);
    expect(cutOff.replica?.epoch).toBe(epoch);
  });
});
