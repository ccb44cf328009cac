/**
 * The nemesis: a seeded schedule of faults on the cluster's nodes, one at a time, so at most
 * one node is down or cut off at any moment (a single failure must not lose acknowledged
 * data). Each round waits a random quiet interval, injects one fault on one node, holds it for
 * a random interval, then recovers (restart, SIGCONT, heal) and waits until the node answers
 * again. Every fault is logged with its time (ms since the history began) and kept.
 *
 * Faults: kill (SIGKILL, then start on the same data), restart (SIGTERM, then start), pause
 * (SIGSTOP ... SIGCONT), cut and blackhole (the node's proxies), delay (its proxies, 20-300 ms).
 */
import type { SeededRandom } from '../../src/util/random.ts';
import { type ChaosCluster, type ChaosNode, sleep } from './cluster.ts';

export const faultKinds = ['kill', 'restart', 'pause', 'cut', 'blackhole', 'delay'] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface FaultEvent {
  readonly timeMs: number;
  readonly kind: FaultKind;
  readonly node: number;
  readonly phase: 'start' | 'end';
  readonly detail?: string;
}

export interface NemesisOptions {
  readonly cluster: ChaosCluster;
  readonly random: SeededRandom;
  /** Milliseconds on the history's clock. */
  readonly now: () => number;
  readonly log: (line: string) => void;
  readonly kinds?: readonly FaultKind[];
  /**
   * Awaited after each recovery, before the next fault: with replication, until every replica
   * is back in sync, so two faults in a row never amount to two failures at once.
   */
  readonly settle?: () => Promise<boolean>;
  /**
   * The nodes leading some partition now: half the faults go to one of them (faults on
   * leaders are the ones that exercise failover), the rest to any node.
   */
  readonly leaders?: () => Promise<readonly number[]>;
  readonly quietMsMin?: number;
  readonly quietMsMax?: number;
  readonly faultMsMin?: number;
  readonly faultMsMax?: number;
}

export class Nemesis {
  readonly #options: NemesisOptions;
  readonly events: FaultEvent[] = [];
  #stopped = false;

  constructor(options: NemesisOptions) {
    this.#options = options;
  }

  /** Faults injected (each also recovered). */
  get faults(): number {
    return this.events.filter((e) => e.phase === 'start').length;
  }

  stop(): void {
    this.#stopped = true;
  }

  /** Injects faults until `durationMs` passed or stop(); returns with every fault recovered. */
  async run(durationMs: number): Promise<void> {
    const { random, cluster } = this.#options;
    const kinds = this.#options.kinds ?? faultKinds;
    const deadline = performance.now() + durationMs;
    const quiet = (): number =>
      random.int(this.#options.quietMsMin ?? 500, this.#options.quietMsMax ?? 2_500);
    const hold = (): number =>
      random.int(this.#options.faultMsMin ?? 1_000, this.#options.faultMsMax ?? 4_000);
    while (!this.#stopped) {
      const quietMs = quiet();
      const kind = random.pick(kinds);
      const anyNode = random.pick(cluster.nodes);
      // Drawn every round, so the schedule's later draws do not depend on who leads.
      const aimAtLeader = random.chance(0.5);
      const leaderDraw = random.next();
      const holdMs = hold();
      const delayMs = random.int(20, 300);
      if (performance.now() + quietMs + holdMs > deadline) {
        await this.#sleep(Math.max(0, deadline - performance.now()));
        return;
      }
      await this.#sleep(quietMs);
      if (this.#stopped) return;
      const leaders = aimAtLeader ? ((await this.#options.leaders?.()) ?? []) : [];
      const leader = leaders[Math.floor(leaderDraw * leaders.length)];
      const node = leader === undefined ? anyNode : cluster.node(leader);
      await this.#inject(kind, node, holdMs, delayMs);
    }
  }

  async #inject(kind: FaultKind, node: ChaosNode, holdMs: number, delayMs: number): Promise<void> {
    const proxies = [node.proxy, ...(node.controllerProxy ? [node.controllerProxy] : [])];
    switch (kind) {
      case 'kill':
        this.#event(kind, node, 'start', 'SIGKILL');
        await node.kill();
        await sleep(holdMs);
        node.start();
        break;
      case 'restart':
        this.#event(kind, node, 'start', 'SIGTERM');
        await node.stop();
        holdMs = Math.min(holdMs, 1_000);
        await sleep(holdMs);
        node.start();
        break;
      case 'pause':
        this.#event(kind, node, 'start', 'SIGSTOP');
        node.pause();
        await sleep(holdMs);
        node.resume();
        break;
      case 'cut':
        this.#event(kind, node, 'start');
        for (const proxy of proxies) proxy.cut();
        await sleep(holdMs);
        for (const proxy of proxies) proxy.heal();
        break;
      case 'blackhole':
        this.#event(kind, node, 'start');
        for (const proxy of proxies) proxy.blackhole();
        await sleep(holdMs);
        for (const proxy of proxies) proxy.heal();
        break;
      case 'delay':
        this.#event(kind, node, 'start', `${delayMs} ms`);
        for (const proxy of proxies) proxy.delay(delayMs);
        await sleep(holdMs);
        for (const proxy of proxies) proxy.heal();
        break;
    }
    // The next fault waits until this node serves again, so faults never overlap.
    await node.waitReady(this.#options.cluster.brokerIds);
    const settled = (await this.#options.settle?.()) ?? true;
    this.#event(kind, node, 'end', `held ${holdMs} ms${settled ? '' : ', NOT settled'}`);
  }

  #event(kind: FaultKind, node: ChaosNode, phase: 'start' | 'end', detail?: string): void {
    const event: FaultEvent = {
      timeMs: this.#options.now(),
      kind,
      node: node.id,
      phase,
      ...(detail ? { detail } : {}),
    };
    this.events.push(event);
    const seconds = (event.timeMs / 1000).toFixed(3).padStart(8);
    const what = `${phase === 'start' ? 'fault' : 'recovered'} ${kind} node ${node.id}`;
    this.#options.log(`[${seconds} s] ${what}${detail ? ` (${detail})` : ''}`);
  }

  async #sleep(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (!this.#stopped && performance.now() < until) {
      await sleep(Math.min(100, until - performance.now()));
    }
  }
}
