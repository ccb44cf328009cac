/**
 * XXH32 for inputs shorter than 16 bytes: all the LZ4 frame descriptor checksum needs
 * (at most 14 bytes). Longer inputs take a different path in XXH32 that Brook never needs.
 */
import assert from 'node:assert';

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;
const SHORT_BYTES_MAX = 15;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** XXH32 with seed 0 of `data[start, end)`, unsigned. */
export function xxh32Short(data: Uint8Array, start: number, end: number): number {
  const length = end - start;
  assert(length >= 0 && length <= SHORT_BYTES_MAX, 'xxh32Short takes at most 15 bytes');
  let h = (PRIME5 + length) | 0;
  let p = start;
  for (; p + 4 <= end; p += 4) {
    const word =
      (data[p] as number) |
      ((data[p + 1] as number) << 8) |
      ((data[p + 2] as number) << 16) |
      ((data[p + 3] as number) << 24);
    h = (h + Math.imul(word, PRIME3)) | 0;
    h = Math.imul(rotl(h, 17), PRIME4);
  }
  for (; p < end; p++) {
    h = (h + Math.imul(data[p] as number, PRIME5)) | 0;
    h = Math.imul(rotl(h, 11), PRIME1);
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3);
  h ^= h >>> 16;
  return h >>> 0;
}
