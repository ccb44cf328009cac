/**
 * The history of one chaos run, in the spirit of Jepsen's Kafka queue workload: every client
 * operation as an invocation and its completion, per process, with monotonic timestamps; then
 * the final read of the committed log and a dump of every replica.
 *
 * Completions: `ok` (it happened), `fail` (it definitely did not happen), `info` (unknown: a
 * send that timed out may or may not have landed). A `seek` marks where a consumer moved its
 * position by itself (start, reset after an error): offsets may go backwards only across one.
 *
 * The history is plain data (JSON-serialisable) so a failing run can be saved and re-checked.
 */

/** One record as a consumer or a dump saw it. */
export interface ReadRecord {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

export type Op =
  | {
      readonly process: string;
      readonly timeMs: number;
      readonly type: 'invoke';
      readonly f: 'send';
      readonly value: string;
      readonly partition: number;
    }
  | {
      readonly process: string;
      readonly timeMs: number;
      readonly type: 'ok';
      readonly f: 'send';
      readonly value: string;
      readonly partition: number;
      readonly offset: number;
    }
  | {
      readonly process: string;
      readonly timeMs: number;
      readonly type: 'fail' | 'info';
      readonly f: 'send';
      readonly value: string;
      readonly error: string;
    }
  | {
      readonly process: string;
      readonly timeMs: number;
      readonly type: 'ok';
      readonly f: 'poll';
      readonly records: readonly ReadRecord[];
    }
  | {
      readonly process: string;
      readonly timeMs: number;
      readonly type: 'fail' | 'info';
      readonly f: 'poll';
      readonly error: string;
    }
  | {
      readonly process: string;
      readonly timeMs: number;
      readonly type: 'ok';
      readonly f: 'seek';
      readonly partition: number;
      readonly offset: number;
    };

/** The committed log of one partition as read at the end: every record below `endOffset`. */
export interface FinalRead {
  readonly partition: number;
  /** First offset read (the log start). */
  readonly startOffset: number;
  /** The high watermark the read went up to (exclusive). */
  readonly endOffset: number;
  readonly records: readonly { readonly offset: number; readonly value: string }[];
}

/** One replica of one partition, read from a node's log directory after it stopped. */
export interface ReplicaDump {
  readonly node: number;
  readonly partition: number;
  /** The replica's high watermark (its checkpoint): records below it are committed. */
  readonly highWatermark: number;
  readonly records: readonly { readonly offset: number; readonly value: string }[];
}

export interface History {
  readonly ops: readonly Op[];
  readonly finalReads: readonly FinalRead[];
  readonly replicas: readonly ReplicaDump[];
}

/** Collects ops as they happen; timestamps come from one monotonic clock. */
export class HistoryRecorder {
  readonly ops: Op[] = [];
  readonly #startMs = performance.now();

  now(): number {
    return Math.round((performance.now() - this.#startMs) * 1000) / 1000;
  }

  /** Adds an op stamped now (the caller gives everything but the time). */
  add(op: DistributiveOmit<Op, 'timeMs'>): void {
    this.ops.push({ ...op, timeMs: this.now() } as Op);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
