/**
 * The history checker on hand-made histories: each anomaly kind is reported when present, and
 * clean histories (with indeterminate sends that did and did not land, replicas behind or
 * diverging only above their high watermark, consumers that seek back) raise nothing.
 */
import { describe, expect, test } from 'vitest';
import { type AnomalyKind, anomalyKinds, type CheckReport, checkHistory } from './checker.ts';
import type { FinalRead, History, Op, ReplicaDump } from './history.ts';

let clock = 0;
const t = (): number => ++clock;

function send(process: string, value: string, partition: number, offset: number): Op[] {
  return [
    { process, timeMs: t(), type: 'invoke', f: 'send', value, partition },
    { process, timeMs: t(), type: 'ok', f: 'send', value, partition, offset },
  ];
}

function sendInfo(process: string, value: string, partition: number): Op[] {
  return [
    { process, timeMs: t(), type: 'invoke', f: 'send', value, partition },
    { process, timeMs: t(), type: 'info', f: 'send', value, error: 'request timed out' },
  ];
}

function poll(process: string, records: [number, number, string][]): Op {
  const list = records.map(([partition, offset, value]) => ({ partition, offset, value }));
  return { process, timeMs: t(), type: 'ok', f: 'poll', records: list };
}

function seek(process: string, partition: number, offset: number): Op {
  return { process, timeMs: t(), type: 'ok', f: 'seek', partition, offset };
}

function final(partition: number, values: string[], startOffset = 0): FinalRead {
  const records = values.map((value, i) => ({ offset: startOffset + i, value }));
  return { partition, startOffset, endOffset: startOffset + values.length, records };
}

function replica(node: number, partition: number, values: string[], hw: number): ReplicaDump {
  const records = values.map((value, offset) => ({ offset, value }));
  return { node, partition, highWatermark: hw, records };
}

/** A clean base: two producers on two partitions, a consumer reading everything. */
function base(): { ops: Op[]; finalReads: FinalRead[]; replicas: ReplicaDump[] } {
  const ops = [
    ...send('p1', 'p1-0', 0, 0),
    ...send('p2', 'p2-0', 0, 1),
    ...send('p1', 'p1-1', 1, 0),
    ...send('p1', 'p1-2', 0, 2),
    poll('c1', [
      [0, 0, 'p1-0'],
      [0, 1, 'p2-0'],
    ]),
    poll('c1', [
      [0, 2, 'p1-2'],
      [1, 0, 'p1-1'],
    ]),
  ];
  const finalReads = [final(0, ['p1-0', 'p2-0', 'p1-2']), final(1, ['p1-1'])];
  const replicas = [
    replica(1, 0, ['p1-0', 'p2-0', 'p1-2'], 3),
    replica(2, 0, ['p1-0', 'p2-0', 'p1-2'], 3),
    replica(1, 1, ['p1-1'], 1),
  ];
  return { ops, finalReads, replicas };
}

function expectOnly(report: CheckReport, kind: AnomalyKind): void {
  expect(report.counts[kind], JSON.stringify(report.anomalies)).toBeGreaterThan(0);
  for (const other of anomalyKinds) {
    if (other !== kind) expect(report.counts[other], `${other} in ${kind}`).toBe(0);
  }
  expect(report.anomalies.some((a) => a.kind === kind)).toBe(true);
}

describe('clean histories raise nothing', () => {
  test('the base history', () => {
    const report = checkHistory(base());
    expect(report.anomalies).toEqual([]);
    expect(report).toMatchObject({ sends: 4, acked: 4, polls: 2, recordsPolled: 4 });
    expect(report.finalRecords).toBe(4);
    expect(report.replicaRecordsChecked).toBe(7);
    expect(report.positionsChecked).toBe(4);
  });

  test('indeterminate sends that landed and that did not', () => {
    const h = base();
    h.ops.push(...sendInfo('p2', 'p2-1', 1), ...sendInfo('p2', 'p2-2', 1));
    const finalReads = [h.finalReads[0] as FinalRead, final(1, ['p1-1', 'p2-2'])];
    const report = checkHistory({ ...h, finalReads });
    expect(report.anomalies).toEqual([]);
    expect(report).toMatchObject({ indeterminate: 2, indeterminateLanded: 1 });
  });

  test('replicas may lag, or differ above their high watermark', () => {
    const h = base();
    const replicas = [
      replica(1, 0, ['p1-0', 'p2-0', 'p1-2'], 3),
      replica(2, 0, ['p1-0'], 1), // behind: fine
      replica(3, 0, ['p1-0', 'p2-0', 'zombie'], 2), // differs above its HW: uncommitted
    ];
    expect(checkHistory({ ...h, replicas }).anomalies).toEqual([]);
  });

  test('a consumer may read an offset again after a seek', () => {
    const h = base();
    h.ops.push(seek('c1', 0, 1), poll('c1', [[0, 1, 'p2-0']]));
    expect(checkHistory(h).anomalies).toEqual([]);
  });

  test('records below the log start are not counted lost', () => {
    const ops = [...send('p1', 'a', 0, 0), ...send('p1', 'b', 0, 1)];
    const report = checkHistory({ ops, finalReads: [final(0, ['b'], 1)], replicas: [] });
    expect(report.anomalies).toEqual([]);
  });
});

describe('each anomaly is reported', () => {
  test('lost: an acked value missing from the committed log', () => {
    const h = base();
    h.ops.push(...send('p2', 'p2-9', 1, 1));
    const report = checkHistory(h);
    expectOnly(report, 'lost');
    expect(report.anomalies[0]?.message).toContain('p2-9');
  });

  test('lost: a replica lacks a record below its high watermark', () => {
    const h = base();
    const replicas = [replica(2, 0, ['p1-0'], 3)];
    const report = checkHistory({ ...h, replicas });
    expectOnly(report, 'lost');
    expect(report.counts.lost).toBe(2);
  });

  test('duplicate: one value at two offsets', () => {
    const h = base();
    const finalReads = [final(0, ['p1-0', 'p2-0', 'p1-2', 'p2-0']), h.finalReads[1] as FinalRead];
    const report = checkHistory({ ...h, finalReads });
    expectOnly(report, 'duplicate');
    expect(report.anomalies[0]?.message).toContain('0:1');
    expect(report.anomalies[0]?.message).toContain('0:3');
  });

  test('duplicate: an indeterminate send that landed twice', () => {
    const h = base();
    h.ops.push(...sendInfo('p2', 'p2-5', 1));
    const finalReads = [h.finalReads[0] as FinalRead, final(1, ['p1-1', 'p2-5', 'p2-5'])];
    expectOnly(checkHistory({ ...h, finalReads }), 'duplicate');
  });

  test('inconsistent-offset: a replica differs below its high watermark', () => {
    const h = base();
    const replicas = [replica(3, 0, ['p1-0', 'p2-0', 'p1-2'], 3), replica(2, 1, ['p2-0'], 1)];
    const report = checkHistory({ ...h, replicas });
    // p2-0 also stands at two positions, which is a duplicate by definition.
    expect(report.counts['inconsistent-offset']).toBe(1);
    expect(report.anomalies.find((a) => a.kind === 'inconsistent-offset')?.message).toContain(
      'replica on node 2',
    );
  });

  test('inconsistent-offset: a replica commits an offset the committed log lacks', () => {
    const h = base();
    h.ops.push(...sendInfo('p2', 'p2-8', 1));
    const replicas = [replica(2, 1, ['p1-1', 'p2-8'], 2)];
    const report = checkHistory({ ...h, replicas });
    expectOnly(report, 'inconsistent-offset');
    expect(report.anomalies[0]?.message).toContain('nothing there');
  });

  test('inconsistent-offset: an ack for an offset that holds another value', () => {
    const h = base();
    h.ops.push(...sendInfo('p2', 'p2-7', 1));
    // p2-7 landed at 1:1, but the ack of p1-1 said 1:0 and 1:0 holds p2-7.
    const finalReads = [h.finalReads[0] as FinalRead, final(1, ['p2-7', 'p1-1'])];
    const report = checkHistory({ ...h, finalReads, replicas: [] });
    expect(report.counts['inconsistent-offset']).toBeGreaterThan(0);
  });

  test('reorder: a consumer goes back with no seek', () => {
    const h = base();
    h.ops.push(poll('c1', [[0, 1, 'p2-0']]));
    const report = checkHistory(h);
    expectOnly(report, 'reorder');
    expect(report.anomalies[0]?.message).toContain('offset 1 after 2');
  });

  test('reorder: one producer acked in order, stored out of order', () => {
    const ops = [...send('p1', 'a', 0, 1), ...send('p1', 'b', 0, 0)];
    const report = checkHistory({ ops, finalReads: [final(0, ['b', 'a'])], replicas: [] });
    expectOnly(report, 'reorder');
  });

  test('phantom-read: a consumer read data that disappeared from the log', () => {
    const h = base();
    h.ops.push(...sendInfo('p2', 'p2-3', 1), poll('c2', [[1, 1, 'p2-3']]));
    const report = checkHistory(h);
    expectOnly(report, 'phantom-read');
    expect(report.anomalies[0]?.message).toContain('c2 read p2-3 at 1:1');
  });

  test('unexpected: a value never sent', () => {
    const h = base();
    const finalReads = [h.finalReads[0] as FinalRead, final(1, ['p1-1', 'ghost'])];
    const report = checkHistory({ ...h, finalReads });
    expectOnly(report, 'unexpected');
    expect(report.anomalies[0]?.message).toContain('ghost');
  });

  test('unexpected: a send that failed definitely yet landed', () => {
    const h = base();
    h.ops.push(
      { process: 'p2', timeMs: t(), type: 'invoke', f: 'send', value: 'p2-4', partition: 1 },
      { process: 'p2', timeMs: t(), type: 'fail', f: 'send', value: 'p2-4', error: 'refused' },
    );
    const finalReads = [h.finalReads[0] as FinalRead, final(1, ['p1-1', 'p2-4'])];
    expectOnly(checkHistory({ ...h, finalReads }), 'unexpected');
  });

  test('many anomalies are all counted, a few kept as examples', () => {
    const ops: Op[] = [];
    for (let i = 0; i < 100; i++) ops.push(...send('p1', `v${i}`, 0, i));
    const report = checkHistory({ ops, finalReads: [final(0, [])], replicas: [] });
    expect(report.counts.lost).toBe(100);
    expect(report.anomalyCount).toBe(100);
    expect(report.anomalies.length).toBeLessThan(100);
  });
});

test('a history survives JSON (a saved run can be re-checked)', () => {
  const h: History = base();
  expect(checkHistory(JSON.parse(JSON.stringify(h)) as History)).toEqual(checkHistory(h));
});
