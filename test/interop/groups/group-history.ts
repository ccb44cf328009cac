/**
 * What the members of one group reported, and the two properties a consumer group owes its
 * users: a partition is held by at most one member at any time, and with a synchronous commit
 * after each record no record is consumed twice (nor lost) across rebalances.
 */
import type { LiveDriver } from '../harness/live-driver.ts';

export interface Ownership {
  readonly member: string;
  readonly partition: number;
  readonly fromMs: number;
  /** When the member gave it up, left, or died; Infinity while it still holds it. */
  readonly untilMs: number;
}

export interface Consumed {
  readonly member: string;
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
  readonly atMs: number;
}

function partitionsOf(line: Readonly<Record<string, unknown>>): number[] {
  const partitions = line['partitions'];
  return Array.isArray(partitions) ? partitions.map(Number) : [];
}

/** The partitions a member holds after the lines seen so far. */
export function heldBy(member: LiveDriver): Set<number> {
  const held = new Set<number>();
  if (!member.running) return held;
  for (const line of member.lines) {
    if (line.type === 'assigned') for (const p of partitionsOf(line)) held.add(p);
    if (line.type === 'revoked') for (const p of partitionsOf(line)) held.delete(p);
  }
  return held;
}

/** Each member's holding intervals; a member that exited held nothing after its exit. */
export function ownerships(members: readonly LiveDriver[], exitMs: Map<LiveDriver, number>) {
  const out: Ownership[] = [];
  for (const member of members) {
    const since = new Map<number, number>();
    for (const line of member.lines) {
      const t = Number(line['t']);
      if (line.type === 'assigned') for (const p of partitionsOf(line)) since.set(p, t);
      if (line.type !== 'revoked') continue;
      for (const p of partitionsOf(line)) {
        const fromMs = since.get(p);
        if (fromMs !== undefined)
          out.push({ member: member.label, partition: p, fromMs, untilMs: t });
        since.delete(p);
      }
    }
    const endMs = exitMs.get(member) ?? Number.POSITIVE_INFINITY;
    for (const [partition, fromMs] of since) {
      out.push({ member: member.label, partition, fromMs, untilMs: endMs });
    }
  }
  return out;
}

/** Pairs of intervals of one partition held by two members at once. */
export function overlaps(owned: readonly Ownership[]): string[] {
  const problems: string[] = [];
  for (const [i, a] of owned.entries()) {
    for (const b of owned.slice(i + 1)) {
      if (a.partition !== b.partition || a.member === b.member) continue;
      if (a.fromMs < b.untilMs && b.fromMs < a.untilMs) {
        problems.push(`partition ${a.partition}: ${describe(a)} and ${describe(b)}`);
      }
    }
  }
  return problems;
}

function describe(o: Ownership): string {
  return `${o.member} [${o.fromMs}, ${o.untilMs}]`;
}

export function consumedBy(members: readonly LiveDriver[]): Consumed[] {
  return members.flatMap((member) =>
    member.lines
      .filter((line) => line.type === 'record')
      .map((line) => ({
        member: member.label,
        partition: Number(line['partition']),
        offset: Number(line['offset']),
        value: String(line['value']),
        atMs: Number(line['t']),
      })),
  );
}

/** Records a member consumed while it did not hold their partition. */
export function outsideOwnership(consumed: readonly Consumed[], owned: readonly Ownership[]) {
  return consumed.filter(
    (c) =>
      !owned.some(
        (o) =>
          o.member === c.member &&
          o.partition === c.partition &&
          o.fromMs <= c.atMs &&
          c.atMs <= o.untilMs,
      ),
  );
}

/** Values consumed more than once, with who consumed them. */
export function duplicates(consumed: readonly Consumed[]): string[] {
  const byValue = new Map<string, Consumed[]>();
  for (const c of consumed) byValue.set(c.value, [...(byValue.get(c.value) ?? []), c]);
  return [...byValue.values()]
    .filter((list) => list.length > 1)
    .map((list) => list.map((c) => `${c.value}@${c.member}:${c.partition}/${c.offset}`).join(' '));
}
