/**
 * A tiny benchmark harness: run a measurement several times and report the median, because
 * this 2-core machine is noisy. Every figure is printed with the ratio against a baseline
 * measured in the same process run, which survives noise better than an absolute number.
 */

export interface Sample {
  /** What was measured, e.g. 'append 1 KiB records, 64 KiB batches'. */
  readonly name: string;
  /** The unit of `value`, e.g. 'MB/s', 'ns/op', 'records/s'. */
  readonly unit: string;
  readonly value: number;
}

export interface Measurement {
  readonly name: string;
  readonly unit: string;
  readonly runs: readonly number[];
  readonly median: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Runs `once` `runs` times (after one untimed warm-up) and keeps the median. */
export async function measure(
  name: string,
  unit: string,
  runs: number,
  once: () => Promise<number> | number,
): Promise<Measurement> {
  await once();
  const values: number[] = [];
  for (let i = 0; i < runs; i++) values.push(await once());
  return { name, unit, runs: values, median: median(values) };
}

/** Throughput of `bytes` moved in `elapsedNs`, in MB/s (10^6 bytes). */
export function mbPerSecond(bytes: number, elapsedNs: bigint): number {
  return bytes / 1e6 / (Number(elapsedNs) / 1e9);
}

/** Times `fn` with the monotonic high-resolution clock. */
export async function timeNs(fn: () => Promise<void> | void): Promise<bigint> {
  const start = process.hrtime.bigint();
  await fn();
  return process.hrtime.bigint() - start;
}

function format(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Prints a Markdown table row set: name, median, unit, ratio to the baseline, all runs. */
export function report(
  title: string,
  rows: readonly Measurement[],
  baseline?: Measurement,
): string {
  const lines = [`### ${title}`, '', '| measurement | median | unit | vs baseline | runs |'];
  lines.push('| --- | ---: | --- | ---: | --- |');
  for (const row of rows) {
    const ratio = baseline ? `${(row.median / baseline.median).toFixed(2)}x` : '';
    const runs = row.runs.map(format).join(', ');
    lines.push(`| ${row.name} | ${format(row.median)} | ${row.unit} | ${ratio} | ${runs} |`);
  }
  const text = lines.join('\n');
  console.log(`${text}\n`);
  return text;
}
