/**
 * Replica placement for new partitions. Each partition's leader goes to the active broker
 * leading the fewest partitions, its followers to the active brokers holding the fewest
 * replicas, preferring racks the partition does not use yet; counts include the partitions
 * that already exist, so topics created one after another stay balanced. Ties go round from a
 * random start, as Kafka's placer does, so that equal clusters do not all load broker 0.
 * A broker without a rack counts as a rack of its own.
 */
import assert from 'node:assert/strict';
import type { Random } from '../util/random.ts';
import type { ControllerState } from './controller-state.ts';

export interface PlacementBroker {
  readonly brokerId: number;
  readonly rack: string | null;
}

export class ReplicaPlacer {
  readonly #brokers: readonly PlacementBroker[];
  readonly #leaders = new Map<number, number>();
  readonly #replicas = new Map<number, number>();
  #turn: number;

  /** `brokers`: the active brokers, in broker id order. */
  constructor(state: ControllerState, brokers: readonly PlacementBroker[], random: Random) {
    this.#brokers = brokers;
    for (const { brokerId } of brokers) {
      this.#leaders.set(brokerId, 0);
      this.#replicas.set(brokerId, 0);
    }
    for (const partition of state.partitions()) {
      bump(this.#leaders, partition.leader);
      for (const id of partition.replicas) bump(this.#replicas, id);
    }
    this.#turn = brokers.length === 0 ? 0 : random.int(0, brokers.length - 1);
  }

  /** `factor` distinct brokers, leader first; the caller has checked factor <= broker count. */
  place(factor: number): number[] {
    const chosen: PlacementBroker[] = [];
    const leader = this.#least(chosen, (b) => [this.#leaders.get(b.brokerId) ?? 0]);
    chosen.push(leader);
    while (chosen.length < factor) {
      const racks = new Set(chosen.map(rackOf));
      chosen.push(this.#least(chosen, (b) => [racks.has(rackOf(b)) ? 1 : 0]));
    }
    this.#turn++;
    bump(this.#leaders, leader.brokerId);
    for (const b of chosen) bump(this.#replicas, b.brokerId);
    return chosen.map((b) => b.brokerId);
  }

  /** The unchosen broker with the smallest (key..., replica count, turn distance). */
  #least(chosen: readonly PlacementBroker[], key: (b: PlacementBroker) => number[]) {
    const count = this.#brokers.length;
    let best: PlacementBroker | undefined;
    let bestKey: number[] = [];
    for (let i = 0; i < count; i++) {
      const broker = this.#brokers[(this.#turn + i) % count] as PlacementBroker;
      if (chosen.includes(broker)) continue;
      const k = [...key(broker), this.#replicas.get(broker.brokerId) ?? 0];
      if (best === undefined || lessThan(k, bestKey)) {
        best = broker;
        bestKey = k;
      }
    }
    assert(best !== undefined, 'placement asked for more replicas than active brokers');
    return best;
  }
}

function rackOf(broker: PlacementBroker): string {
  return broker.rack ?? `\u0000${broker.brokerId}`;
}

function bump(counts: Map<number, number>, brokerId: number): void {
  const current = counts.get(brokerId);
  if (current !== undefined) counts.set(brokerId, current + 1);
}

function lessThan(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}
