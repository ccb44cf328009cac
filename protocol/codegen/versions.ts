/**
 * Kafka version ranges as written in schemas: "3+", "0-7", "2", "none".
 * A range is inclusive at both ends; `max` is Infinity for an open range.
 */

export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

export const NO_VERSIONS: VersionRange = { min: 0, max: -1 };

export function parseVersions(text: string): VersionRange {
  const s = text.trim();
  if (s === 'none') return NO_VERSIONS;
  let match = /^(\d+)\+$/.exec(s);
  if (match) return { min: Number(match[1]), max: Number.POSITIVE_INFINITY };
  match = /^(\d+)-(\d+)$/.exec(s);
  if (match) return { min: Number(match[1]), max: Number(match[2]) };
  match = /^(\d+)$/.exec(s);
  if (match) return { min: Number(match[1]), max: Number(match[1]) };
  throw new Error(`bad version range ${JSON.stringify(text)}`);
}

export function isEmpty(range: VersionRange): boolean {
  return range.max < range.min;
}

export function intersect(a: VersionRange, b: VersionRange): VersionRange {
  const r = { min: Math.max(a.min, b.min), max: Math.min(a.max, b.max) };
  return isEmpty(r) ? NO_VERSIONS : r;
}

export function contains(range: VersionRange, version: number): boolean {
  return version >= range.min && version <= range.max;
}

/** True when every version in `inner` is in `outer`. */
export function covers(outer: VersionRange, inner: VersionRange): boolean {
  return isEmpty(inner) || (inner.min >= outer.min && inner.max <= outer.max);
}

export function formatVersions(range: VersionRange): string {
  if (isEmpty(range)) return 'none';
  if (range.max === Number.POSITIVE_INFINITY) return `${range.min}+`;
  if (range.min === range.max) return `${range.min}`;
  return `${range.min}-${range.max}`;
}
