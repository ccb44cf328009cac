/**
 * The live driver with a real child process (node itself), and kcat's rebalance lines read
 * from its stderr: what the consumer-group interop tests rely on to see memberships.
 */
import { describe, expect, test } from 'vitest';
import { kcatLines } from './group-members.ts';
import { LiveDriver, untilAny } from './live-driver.ts';

/** A child that prints `lines` as JSON, then `bye` once its stdin ends. */
function echo(lines: readonly object[], label: string): LiveDriver {
  const script = `
    for (const l of ${JSON.stringify(lines)}) console.log(JSON.stringify(l));
    process.stdin.on('end', () => { console.log('{"type":"bye"}'); process.exit(0); });
    process.stdin.resume();`;
  return new LiveDriver(process.execPath, ['-e', script], { label });
}

describe('LiveDriver', () => {
  test('waits on lines, stops on end of stdin, and reports a kill', async () => {
    const a = echo([{ type: 'record', value: 'x' }], 'a');
    await a.until(() => a.lines.length === 1, 'one line');
    expect(a.lines).toEqual([{ type: 'record', value: 'x' }]);
    const exit = await a.stop();
    expect(exit.code).toBe(0);
    expect(a.lines.at(-1)).toEqual({ type: 'bye' });

    const b = echo([], 'b');
    const killed = await b.kill();
    expect(killed.signal).toBe('SIGKILL');
    await expect(b.until(() => false, 'never', 5_000)).rejects.toThrow(/b: exited/);
  });

  test('untilAny wakes on a line of any driver and fails once all have exited', async () => {
    const quiet = echo([], 'quiet');
    const talker = echo([{ type: 'assigned', partitions: [1] }], 'talker');
    await untilAny([quiet, talker], () => talker.lines.length > 0, 'a line of talker');
    await Promise.all([quiet.kill(), talker.kill()]);
    await expect(untilAny([quiet, talker], () => false, 'nothing')).rejects.toThrow(
      /every driver exited/,
    );
  });
});

describe('kcat rebalance lines', () => {
  test('eager and cooperative assignments and revocations', () => {
    const eager = '% Group g rebalanced (memberid rdkafka-1): assigned: t [0], t [3]';
    expect(kcatLines.stderrLine(eager, 5)).toEqual({ type: 'assigned', partitions: [0, 3], t: 5 });
    const revoked = '% Group g rebalanced (memberid rdkafka-1): revoked: t [2]';
    expect(kcatLines.stderrLine(revoked, 6)).toEqual({ type: 'revoked', partitions: [2], t: 6 });
    const cooperative =
      '% Group g rebalanced: incremental assignment of 2 partition(s) ' +
      '(memberid rdkafka-1, COOPERATIVE rebalance protocol): t [4], t [5]';
    expect(kcatLines.stderrLine(cooperative, 7)).toMatchObject({
      type: 'assigned',
      partitions: [4, 5],
    });
    const unassigned = cooperative.replace('incremental assignment', 'incremental unassignment');
    expect(kcatLines.stderrLine(unassigned, 8)).toMatchObject({
      type: 'revoked',
      partitions: [4, 5],
    });
    expect(kcatLines.stderrLine('% Reached end of topic t [1] at offset 3', 9)).toBeUndefined();
  });
});
