/**
 * "Did you mean" for misspelt property names: the catalogue name at the smallest edit
 * distance, offered only when it is close enough to be a plausible typo.
 */
import { type PropertyName, propertyNames } from './catalogue.ts';

/** Names longer than this are not compared: the distance table would be needlessly large. */
const nameLengthMax = 128;

export function suggestProperty(name: string): PropertyName | undefined {
  if (name.length > nameLengthMax) return undefined;
  let best: PropertyName | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of propertyNames) {
    const distance = editDistance(name.toLowerCase(), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A third of the name may differ: 'log.retention.sm' matches, 'foo' matches nothing.
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Levenshtein distance with two rolling rows. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        substitution,
      );
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length] as number;
}
