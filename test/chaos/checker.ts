/**
 * Checks a chaos run's history (history.ts) for the anomalies a replicated, idempotent log must
 * never show, after Jepsen's Kafka queue workload:
 *
 * - lost: an acknowledged send whose value is not in the final read of the committed log; or a
 *   replica missing a record below its own high watermark that the committed log holds.
 * - duplicate: one value at two (partition, offset) places (idempotence must prevent it).
 * - inconsistent-offset: one offset holding two values across acks, reads, the final read and
 *   the replicas (a replica only below its high watermark: above it, data is uncommitted and
 *   may differ).
 * - reorder: a consumer saw one partition's offsets go backwards (or repeat) with no seek in
 *   between; or one producer's values acked in order to one partition stand out of order.
 * - phantom-read: a consumer read a record that the committed log does not hold at that
 *   offset: it read above the high watermark, and the data went away.
 * - unexpected: a value that was never sent, or whose send definitely failed.
 *
 * Indeterminate sends (`info`) may or may not land; either is fine, but landing twice is a
 * duplicate like any other.
 */
import type { History, Op } from './history.ts';

export type AnomalyKind =
  | 'lost'
  | 'duplicate'
  | 'inconsistent-offset'
  | 'reorder'
  | 'phantom-read'
  | 'unexpected';

export const anomalyKinds: readonly AnomalyKind[] = [
  'lost',
  'duplicate',
  'inconsistent-offset',
  'reorder',
  'phantom-read',
  'unexpected',
];

export interface Anomaly {
  readonly kind: AnomalyKind;
  readonly message: string;
}

export interface CheckReport {
  readonly sends: number;
  readonly acked: number;
  readonly failed: number;
  readonly indeterminate: number;
  /** Indeterminate sends found in the committed log. */
  readonly indeterminateLanded: number;
  readonly polls: number;
  readonly recordsPolled: number;
  readonly finalRecords: number;
  /** Replica records below their high watermark compared with the committed log. */
  readonly replicaRecordsChecked: number;
  /** Distinct (partition, offset) positions cross-checked across every source. */
  readonly positionsChecked: number;
  /** Anomalies by kind (all of them). */
  readonly counts: Readonly<Record<AnomalyKind, number>>;
  readonly anomalyCount: number;
  /** The first `anomaliesPerKindMax` of each kind, for the report. */
  readonly anomalies: readonly Anomaly[];
}

/** Enough examples to debug with; a broken run can produce millions. */
const anomaliesPerKindMax = 20;

type Position = string; // `${partition}:${offset}`

const at = (partition: number, offset: number): Position => `${partition}:${offset}`;

class Findings {
  readonly counts: Record<AnomalyKind, number> = {
    lost: 0,
    duplicate: 0,
    'inconsistent-offset': 0,
    reorder: 0,
    'phantom-read': 0,
    unexpected: 0,
  };
  readonly list: Anomaly[] = [];

  add(kind: AnomalyKind, message: string): void {
    this.counts[kind] += 1;
    if (this.counts[kind] <= anomaliesPerKindMax) this.list.push({ kind, message });
  }
}

/** Every value seen at each position, and every position of each value, with who saw it. */
class Observations {
  readonly valuesAt = new Map<Position, Map<string, string>>();
  readonly positionsOf = new Map<string, Map<Position, string>>();

  add(partition: number, offset: number, value: string, source: string): void {
    const position = at(partition, offset);
    let values = this.valuesAt.get(position);
    if (!values) this.valuesAt.set(position, (values = new Map()));
    if (!values.has(value)) values.set(value, source);
    let positions = this.positionsOf.get(value);
    if (!positions) this.positionsOf.set(value, (positions = new Map()));
    if (!positions.has(position)) positions.set(position, source);
  }
}

interface FinalLog {
  readonly startOffset: number;
  readonly endOffset: number;
  readonly valueAt: Map<number, string>;
}

type SendOk = Extract<Op, { f: 'send'; type: 'ok' }>;

export function checkHistory(history: History): CheckReport {
  const findings = new Findings();
  const observations = new Observations();
  const invoked = new Map<string, string>();
  const acked = new Map<string, SendOk>();
  const failed = new Set<string>();
  const indeterminate = new Set<string>();
  let polls = 0;
  let recordsPolled = 0;

  for (const op of history.ops) {
    if (op.f === 'send') {
      if (op.type === 'invoke') invoked.set(op.value, op.process);
      else if (op.type === 'ok') {
        acked.set(op.value, op);
        observations.add(op.partition, op.offset, op.value, `ack to ${op.process}`);
      } else if (op.type === 'fail') failed.add(op.value);
      else indeterminate.add(op.value);
    } else if (op.f === 'poll' && op.type === 'ok') {
      polls += 1;
      recordsPolled += op.records.length;
      for (const r of op.records) {
        observations.add(r.partition, r.offset, r.value, `poll by ${op.process}`);
      }
    }
  }

  const finals = new Map<number, FinalLog>();
  let finalRecords = 0;
  for (const read of history.finalReads) {
    const valueAt = new Map<number, string>();
    for (const r of read.records) {
      valueAt.set(r.offset, r.value);
      observations.add(read.partition, r.offset, r.value, 'final read');
    }
    finalRecords += read.records.length;
    finals.set(read.partition, { ...read, valueAt });
  }
  const replicaRecordsChecked = checkReplicas(history, finals, observations, findings);

  checkOffsets(observations, findings);
  checkValues(observations, invoked, failed, findings);
  checkLost(acked, finals, findings);
  checkPhantoms(history.ops, finals, findings);
  checkConsumerOrder(history.ops, findings);
  checkProducerOrder(acked, finals, findings);

  let indeterminateLanded = 0;
  for (const value of indeterminate) {
    if (observations.positionsOf.has(value)) indeterminateLanded += 1;
  }
  const anomalyCount = Object.values(findings.counts).reduce((a, b) => a + b, 0);
  return {
    sends: invoked.size,
    acked: acked.size,
    failed: failed.size,
    indeterminate: indeterminate.size,
    indeterminateLanded,
    polls,
    recordsPolled,
    finalRecords,
    replicaRecordsChecked,
    positionsChecked: observations.valuesAt.size,
    counts: findings.counts,
    anomalyCount,
    anomalies: findings.list,
  };
}

/**
 * Replica records below the replica's high watermark join the observations (so a mismatch is
 * an inconsistent offset); a committed offset the replica lacks is a lost record on it.
 */
function checkReplicas(
  history: History,
  finals: ReadonlyMap<number, FinalLog>,
  observations: Observations,
  findings: Findings,
): number {
  let checked = 0;
  for (const replica of history.replicas) {
    const source = `replica on node ${replica.node}`;
    const held = new Set<number>();
    for (const r of replica.records) {
      if (r.offset >= replica.highWatermark) continue;
      held.add(r.offset);
      checked += 1;
      observations.add(replica.partition, r.offset, r.value, source);
      const final = finals.get(replica.partition);
      if (final && r.offset >= final.startOffset && !final.valueAt.has(r.offset)) {
        findings.add(
          'inconsistent-offset',
          `${source} holds ${r.value} at ${at(replica.partition, r.offset)} below its high ` +
            `watermark ${replica.highWatermark}; the committed log (end ${final.endOffset}) has ` +
            'nothing there',
        );
      }
    }
    const final = finals.get(replica.partition);
    if (!final) continue;
    const end = Math.min(replica.highWatermark, final.endOffset);
    for (let offset = final.startOffset; offset < end; offset++) {
      const value = final.valueAt.get(offset);
      if (value !== undefined && !held.has(offset)) {
        findings.add(
          'lost',
          `${source} lacks committed ${value} at ${at(replica.partition, offset)} ` +
            `below its high watermark ${replica.highWatermark}`,
        );
      }
    }
  }
  return checked;
}

function checkOffsets(observations: Observations, findings: Findings): void {
  for (const [position, values] of observations.valuesAt) {
    if (values.size < 2) continue;
    const seen = [...values].map(([value, source]) => `${value} (${source})`).join(', ');
    findings.add('inconsistent-offset', `offset ${position} holds ${values.size} values: ${seen}`);
  }
}

function checkValues(
  observations: Observations,
  invoked: ReadonlyMap<string, string>,
  failed: ReadonlySet<string>,
  findings: Findings,
): void {
  for (const [value, positions] of observations.positionsOf) {
    const where = [...positions].map(([position, source]) => `${position} (${source})`);
    if (!invoked.has(value)) findings.add('unexpected', `${value} was never sent: ${where[0]}`);
    else if (failed.has(value)) {
      findings.add('unexpected', `${value}'s send failed definitely, yet it is at ${where[0]}`);
    }
    if (positions.size > 1) {
      findings.add('duplicate', `${value} at ${positions.size} places: ${where.join(', ')}`);
    }
  }
}

function checkLost(
  acked: ReadonlyMap<string, SendOk>,
  finals: ReadonlyMap<number, FinalLog>,
  findings: Findings,
): void {
  const present = new Set<string>();
  for (const final of finals.values())
    for (const value of final.valueAt.values()) present.add(value);
  const unread = new Set<number>();
  for (const [value, ok] of acked) {
    const final = finals.get(ok.partition);
    if (!final) {
      if (!unread.has(ok.partition)) {
        unread.add(ok.partition);
        findings.add('lost', `partition ${ok.partition} has acked records but no final read`);
      }
      continue;
    }
    if (ok.offset < final.startOffset) continue; // Below the log start: retention, not loss.
    if (!present.has(value)) {
      findings.add(
        'lost',
        `${value} acked to ${ok.process} at ${at(ok.partition, ok.offset)} (t=${ok.timeMs} ms) ` +
          'is not in the committed log',
      );
    }
  }
}

function checkPhantoms(
  ops: readonly Op[],
  finals: ReadonlyMap<number, FinalLog>,
  findings: Findings,
): void {
  for (const op of ops) {
    if (op.f !== 'poll' || op.type !== 'ok') continue;
    for (const r of op.records) {
      const final = finals.get(r.partition);
      if (!final || r.offset < final.startOffset) continue;
      if (final.valueAt.has(r.offset)) continue; // A different value there: inconsistent-offset.
      findings.add(
        'phantom-read',
        `${op.process} read ${r.value} at ${at(r.partition, r.offset)} (t=${op.timeMs} ms), ` +
          `not in the committed log (end ${final.endOffset})`,
      );
    }
  }
}

function checkConsumerOrder(ops: readonly Op[], findings: Findings): void {
  const last = new Map<string, number>(); // `${process}/${partition}` -> last offset read
  for (const op of ops) {
    if (op.f === 'seek') last.delete(`${op.process}/${op.partition}`);
    if (op.f !== 'poll' || op.type !== 'ok') continue;
    for (const r of op.records) {
      const key = `${op.process}/${r.partition}`;
      const previous = last.get(key);
      if (previous !== undefined && r.offset <= previous) {
        findings.add(
          'reorder',
          `${op.process} read partition ${r.partition} offset ${r.offset} after ${previous} ` +
            `with no seek (t=${op.timeMs} ms)`,
        );
      }
      last.set(key, r.offset);
    }
  }
}

/** One producer's acked values to one partition stand in the log in the order they were acked. */
function checkProducerOrder(
  acked: ReadonlyMap<string, SendOk>,
  finals: ReadonlyMap<number, FinalLog>,
  findings: Findings,
): void {
  const offsetInFinal = new Map<string, number>();
  for (const [partition, final] of finals) {
    for (const [offset, value] of final.valueAt) offsetInFinal.set(`${partition}/${value}`, offset);
  }
  const byProducer = new Map<string, SendOk[]>();
  for (const ok of acked.values()) {
    const key = `${ok.process}/${ok.partition}`;
    const list = byProducer.get(key) ?? [];
    list.push(ok);
    byProducer.set(key, list);
  }
  for (const list of byProducer.values()) {
    list.sort((a, b) => a.timeMs - b.timeMs);
    let previous: { value: string; offset: number } | undefined;
    for (const ok of list) {
      const offset = offsetInFinal.get(`${ok.partition}/${ok.value}`) ?? ok.offset;
      if (previous && offset <= previous.offset) {
        findings.add(
          'reorder',
          `${ok.process} acked ${previous.value} then ${ok.value} to partition ${ok.partition}, ` +
            `but they stand at offsets ${previous.offset} and ${offset}`,
        );
      }
      previous = { value: ok.value, offset };
    }
  }
}

/** One line for the run summary. */
export function summarise(report: CheckReport): string {
  const kinds = anomalyKinds
    .filter((k) => report.counts[k] > 0)
    .map((k) => `${k}=${report.counts[k]}`);
  return (
    `acked=${report.acked} checked=${report.positionsChecked} ` +
    `sends=${report.sends} indeterminate=${report.indeterminate} ` +
    `(landed ${report.indeterminateLanded}) polled=${report.recordsPolled} ` +
    `final=${report.finalRecords} replica-checked=${report.replicaRecordsChecked} ` +
    `anomalies=${report.anomalyCount}${kinds.length > 0 ? ` (${kinds.join(' ')})` : ''}`
  );
}
