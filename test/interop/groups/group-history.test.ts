/**
 * The checks of the rebalance scenarios catch what they exist for: a partition held by two
 * members at once, a record consumed twice, a record consumed by a member not holding it.
 */
import { describe, expect, test } from 'vitest';
import { LiveDriver } from '../harness/live-driver.ts';
import {
  type Consumed,
  duplicates,
  heldBy,
  outsideOwnership,
  overlaps,
  ownerships,
} from './group-history.ts';

function member(label: string, lines: readonly object[]): LiveDriver {
  const script = `for (const l of ${JSON.stringify(lines)}) console.log(JSON.stringify(l));
    process.stdin.resume();`;
  return new LiveDriver(process.execPath, ['-e', script], { label });
}

const record = (m: string, partition: number, value: string, atMs: number): Consumed => ({
  member: m,
  partition,
  offset: 0,
  value,
  atMs,
});

describe('group history checks', () => {
  test('ownership intervals from assigned/revoked lines, and their overlaps', async () => {
    const a = member('a', [
      { type: 'assigned', partitions: [0, 1], t: 100 },
      { type: 'revoked', partitions: [1], t: 200 },
    ]);
    const b = member('b', [{ type: 'assigned', partitions: [1], t: 150 }]);
    await a.until(() => a.lines.length === 2, 'a lines');
    await b.until(() => b.lines.length === 1, 'b lines');
    expect([...heldBy(a)]).toEqual([0]);
    const exitB = await b.kill();
    const owned = ownerships([a, b], new Map([[b, exitB.atMs]]));
    expect(owned).toContainEqual({ member: 'a', partition: 1, fromMs: 100, untilMs: 200 });
    expect(owned).toContainEqual({ member: 'b', partition: 1, fromMs: 150, untilMs: exitB.atMs });
    expect(overlaps(owned)).toHaveLength(1);
    expect(overlaps(owned.filter((o) => o.member === 'a'))).toEqual([]);
    await a.kill();

    const consumed = [
      record('a', 1, 'v1', 120),
      record('a', 1, 'v2', 250),
      record('b', 1, 'v1', 160),
    ];
    expect(outsideOwnership(consumed, owned).map((c) => c.value)).toEqual(['v2']);
    expect(duplicates(consumed)).toEqual(['v1@a:1/0 v1@b:1/0']);
  });
});
