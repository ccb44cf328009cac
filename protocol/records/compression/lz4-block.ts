/**
 * The LZ4 block format in JavaScript: a bounds-checked decoder and a greedy compressor.
 *
 * Why not the `lz4` package's native binding: it is compiled against the headers of the Node
 * that ran `npm install` and does not load on another major version (on this machine it was
 * built for Node 20 and fails on Node 24 with "Module did not self-register"). A pure
 * JavaScript codec always loads, and the decoder here is written for hostile input: every
 * read is checked against the block's end and every write against a caller-given limit.
 *
 * A sequence is: token (high nibble literal length, low nibble match length - 4, 15 = more
 * bytes follow, each 255 = continue), literals, little-endian uint16 offset, extra match
 * length bytes. The last sequence of a block has literals only.
 */

const MIN_MATCH_BYTES = 4;
/** The format requires the last 5 bytes to be literals and the last match to start 12 before. */
const LAST_LITERALS_BYTES = 5;
const MATCH_FIND_LIMIT_BYTES = 12;
const WINDOW_BYTES = 65_535;
const HASH_LOG = 16;
/** Misses before the compressor starts skipping ahead, as in the reference implementation. */
const SKIP_TRIGGER_LOG = 6;

/** The decoder wanted to write past `dstLimit`. */
export const LZ4_OVERFLOW = -1;
/** The block is malformed. */
export const LZ4_CORRUPT = -2;

/** Copies shorter than this go byte by byte: cheaper than a native call's overhead. */
const SHORT_COPY_BYTES = 32;

/**
 * Decodes `src[s, sEnd)` into `dst` from `d`, never writing at or past `dstLimit`. Matches may
 * reach back to `historyStart` (the block's own start for independent blocks, the frame's
 * output start for linked blocks). Returns the position after the output, or LZ4_OVERFLOW /
 * LZ4_CORRUPT.
 */
export function decodeLz4Block(
  src: Uint8Array,
  s: number,
  sEnd: number,
  dst: Uint8Array,
  d: number,
  dstLimit: number,
  historyStart: number,
): number {
  for (;;) {
    if (s >= sEnd) return LZ4_CORRUPT;
    const token = src[s++] as number;
    let literals = token >>> 4;
    if (literals === 15) {
      let b = 255;
      while (b === 255) {
        if (s >= sEnd) return LZ4_CORRUPT;
        b = src[s++] as number;
        literals += b;
      }
    }
    if (literals > sEnd - s) return LZ4_CORRUPT;
    if (literals > dstLimit - d) return LZ4_OVERFLOW;
    if (literals < SHORT_COPY_BYTES) {
      for (let i = 0; i < literals; i++) dst[d++] = src[s++] as number;
    } else {
      dst.set(src.subarray(s, s + literals), d);
      s += literals;
      d += literals;
    }
    if (s === sEnd) return d;
    if (sEnd - s < 2) return LZ4_CORRUPT;
    const offset = (src[s] as number) | ((src[s + 1] as number) << 8);
    s += 2;
    if (offset === 0 || offset > d - historyStart) return LZ4_CORRUPT;
    let match = (token & 15) + MIN_MATCH_BYTES;
    if ((token & 15) === 15) {
      let b = 255;
      while (b === 255) {
        if (s >= sEnd) return LZ4_CORRUPT;
        b = src[s++] as number;
        match += b;
      }
    }
    if (match > dstLimit - d) return LZ4_OVERFLOW;
    let from = d - offset;
    if (match < SHORT_COPY_BYTES || offset < match) {
      // Also the overlapping case: it repeats the last `offset` bytes, so byte by byte.
      for (let i = 0; i < match; i++) dst[d++] = dst[from++] as number;
    } else {
      dst.copyWithin(d, from, from + match);
      d += match;
    }
  }
}

/** Worst-case compressed size of `length` input bytes (LZ4_compressBound). */
export function lz4BlockBound(length: number): number {
  return length + Math.floor(length / 255) + 16;
}

function writeLength(dst: Uint8Array, d: number, rest: number): number {
  while (rest >= 255) {
    dst[d++] = 255;
    rest -= 255;
  }
  dst[d++] = rest;
  return d;
}

function writeSequence(
  dst: Uint8Array,
  d: number,
  src: Uint8Array,
  literalStart: number,
  literalEnd: number,
  offset: number,
  match: number,
): number {
  const literals = literalEnd - literalStart;
  const tokenAt = d++;
  let token = literals >= 15 ? 0xf0 : literals << 4;
  if (literals >= 15) d = writeLength(dst, d, literals - 15);
  dst.set(src.subarray(literalStart, literalEnd), d);
  d += literals;
  if (match === 0) {
    dst[tokenAt] = token;
    return d;
  }
  dst[d++] = offset & 0xff;
  dst[d++] = offset >>> 8;
  const extra = match - MIN_MATCH_BYTES;
  token |= Math.min(extra, 15);
  if (extra >= 15) d = writeLength(dst, d, extra - 15);
  dst[tokenAt] = token;
  return d;
}

function read32(src: Uint8Array, at: number): number {
  return (
    ((src[at] as number) |
      ((src[at + 1] as number) << 8) |
      ((src[at + 2] as number) << 16) |
      ((src[at + 3] as number) << 24)) >>>
    0
  );
}

/**
 * Hash table entries are `generation + position`; an entry below the current generation
 * belongs to an earlier call and is ignored, which avoids clearing 256 KiB per block.
 */
const table = new Int32Array(1 << HASH_LOG);
let generation = 0;
const GENERATION_RESET = 1 << 30;

/** Compresses `src[sStart, sEnd)` into `dst` from `d` (room: lz4BlockBound); returns the end. */
export function encodeLz4Block(
  src: Uint8Array,
  sStart: number,
  sEnd: number,
  dst: Uint8Array,
  d: number,
): number {
  if (generation + (sEnd - sStart) + 1 >= GENERATION_RESET) {
    table.fill(0);
    generation = 0;
  }
  const base = generation - sStart + 1;
  generation += sEnd - sStart + 1;
  let anchor = sStart;
  let s = sStart;
  const findLimit = sEnd - MATCH_FIND_LIMIT_BYTES;
  const matchLimit = sEnd - LAST_LITERALS_BYTES;
  let misses = 1 << SKIP_TRIGGER_LOG;
  while (s < findLimit) {
    const sequence = read32(src, s);
    const hash = Math.imul(sequence, 2654435761) >>> (32 - HASH_LOG);
    const ref = (table[hash] as number) - base;
    table[hash] = s + base;
    if (ref < sStart || s - ref > WINDOW_BYTES || read32(src, ref) !== sequence) {
      s += misses++ >>> SKIP_TRIGGER_LOG;
      continue;
    }
    misses = 1 << SKIP_TRIGGER_LOG;
    let end = s + MIN_MATCH_BYTES;
    let from = ref + MIN_MATCH_BYTES;
    while (end < matchLimit && src[end] === src[from]) {
      end++;
      from++;
    }
    d = writeSequence(dst, d, src, anchor, s, s - ref, end - s);
    s = end;
    anchor = s;
  }
  return writeSequence(dst, d, src, anchor, sEnd, 0, 0);
}
