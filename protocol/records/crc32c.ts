/**
 * CRC-32C (Castagnoli), the checksum of RecordBatch v2.
 *
 * Two implementations: @node-rs/crc32 (SIMD, native, shipped as a prebuilt optional
 * dependency) and crc-32's table-driven JavaScript. bench/crc32c.bench.ts measures both;
 * the faster (native) is used when it loads, the other is the fallback so Brook still runs
 * where no prebuilt binary exists for the platform.
 */
import { createRequire } from 'node:module';

type Crc32cFn = (data: Uint8Array, initial?: number) => number;

const require = createRequire(import.meta.url);

function loadJs(): Crc32cFn {
  const lib = require('crc-32/crc32c') as {
    buf: (data: Uint8Array, seed?: number) => number;
  };
  return (data, initial = 0) => lib.buf(data, initial) >>> 0;
}

function loadNative(): Crc32cFn | undefined {
  try {
    const lib = require('@node-rs/crc32') as {
      crc32c: (data: Uint8Array | string, initial?: number) => number;
    };
    return (data, initial = 0) => lib.crc32c(data, initial) >>> 0;
  } catch {
    return undefined;
  }
}

/** The table-driven JavaScript implementation (always available). */
export const crc32cJs: Crc32cFn = loadJs();
/** The native SIMD implementation, when its prebuilt binary loads on this platform. */
export const crc32cNative: Crc32cFn | undefined = loadNative();
/** Which implementation `crc32c` uses. */
export const crc32cImplementation: 'native' | 'js' = crc32cNative ? 'native' : 'js';

/** CRC-32C of `data`, continuing from `initial` (0 for a fresh checksum). Unsigned 32-bit. */
export const crc32c: Crc32cFn = crc32cNative ?? crc32cJs;
