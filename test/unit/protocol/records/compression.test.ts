import { createRequire } from 'node:module';
import {
  lz4Compress as wasmLz4Compress,
  lz4Decompress as wasmLz4Decompress,
} from '@platformatic/wasm-utils';
import { describe, expect, test } from 'vitest';
import { Compression, type CompressionCodec } from '../../../../protocol/records/batch.ts';
import {
  compress,
  decompress,
  toCompressionCodec,
} from '../../../../protocol/records/compression/codecs.ts';
import { lz4Compress, lz4Decompress } from '../../../../protocol/records/compression/lz4-frame.ts';
import {
  snappyCompressRaw,
  snappyCompressXerial,
  snappyDecompress,
} from '../../../../protocol/records/compression/snappy.ts';
import { xxh32Short } from '../../../../protocol/records/compression/xxh32.ts';
import { RecordFormatError } from '../../../../protocol/records/record-error.ts';
import { SeededRandom } from '../../../../src/util/random.ts';

const require = createRequire(import.meta.url);
const codecs = [
  Compression.none,
  Compression.gzip,
  Compression.snappy,
  Compression.lz4,
  Compression.zstd,
] as const;
const compressed = codecs.filter((c) => c !== Compression.none);
const SEED = 0x5eed_c0de;

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof RecordFormatError)) throw error;
    return error.code;
  }
  throw new Error('expected a RecordFormatError');
}

function jsonText(bytes: number, random: SeededRandom): Buffer {
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const line = JSON.stringify({
      id: random.int(0, 1e9),
      user: `user-${random.int(0, 500)}`,
      action: random.pick(['view', 'click', 'buy', 'search']),
      at: 1_763_800_000_000 + random.int(0, 1e6),
    });
    parts.push(line);
    size += line.length + 1;
  }
  return Buffer.from(parts.join('\n')).subarray(0, bytes);
}

function randomBytes(bytes: number, random: SeededRandom): Buffer {
  const buf = Buffer.alloc(bytes);
  random.fill(buf);
  return buf;
}

describe('every codec round-trips', () => {
  const random = new SeededRandom(SEED);
  const inputs: Record<string, Buffer> = {
    empty: Buffer.alloc(0),
    'one byte': Buffer.from([42]),
    'json 256 KiB': jsonText(256 * 1024, random),
    'random 200 KiB': randomBytes(200 * 1024, random),
    'zeros 64 KiB': Buffer.alloc(64 * 1024),
    'json 64 KiB + 1': jsonText(64 * 1024 + 1, random),
  };
  for (const codec of codecs) {
    for (const [name, data] of Object.entries(inputs)) {
      test(`codec ${codec}: ${name} (seed ${SEED})`, () => {
        const packed = compress(codec, data);
        const unpacked = decompress(codec, packed, data.length);
        expect(unpacked.equals(data)).toBe(true);
      });
    }
  }

  test('compressible data shrinks with every codec', () => {
    const data = inputs['json 256 KiB'] as Buffer;
    for (const codec of compressed) {
      expect(compress(codec, data).length).toBeLessThan(data.length / 2);
    }
  });
});

describe('decompression is bounded', () => {
  const data = jsonText(100_000, new SeededRandom(SEED));
  for (const codec of compressed) {
    test(`codec ${codec}: exactly maxBytes passes, one byte less fails`, () => {
      const packed = compress(codec, data);
      expect(decompress(codec, packed, data.length).length).toBe(data.length);
      expect(problem(() => decompress(codec, packed, data.length - 1))).toBe(
        'decompressed-too-large',
      );
    });

    test(`codec ${codec}: a 32 MiB bomb stops at a 1 MiB limit`, () => {
      const bomb = compress(codec, Buffer.alloc(32 << 20));
      // Snappy's best ratio is about 21:1, the others' far higher.
      expect(bomb.length).toBeLessThan((32 << 20) / 16);
      expect(problem(() => decompress(codec, bomb, 1 << 20))).toBe('decompressed-too-large');
    });
  }

  test('a snappy block that declares a huge length is refused before decoding', () => {
    // Preamble: 2^32 - 1 as an unsigned varint, then garbage.
    const lie = Buffer.from('ffffffff0f0000', 'hex');
    expect(problem(() => snappyDecompress(lie, 1 << 20))).toBe('decompressed-too-large');
  });
});

describe('codec ids', () => {
  test('ids 5 to 7 are unsupported', () => {
    for (const bits of [5, 6, 7])
      expect(problem(() => toCompressionCodec(bits))).toBe('unsupported-codec');
    for (const codec of codecs) expect(toCompressionCodec(codec)).toBe(codec);
  });

  test('garbage is corrupt-compressed-data for every codec', () => {
    const garbage = Buffer.from('this is not compressed data at all, not even close');
    for (const codec of compressed) {
      expect(problem(() => decompress(codec as CompressionCodec, garbage, 1 << 20))).toBe(
        'corrupt-compressed-data',
      );
    }
  });
});

describe('snappy framings', () => {
  const data = jsonText(150_000, new SeededRandom(SEED + 1));
  const kafkajsSnappy = (
    require('kafkajs-snappy') as () => {
      decompress(buf: Buffer): Promise<Buffer>;
    }
  )();

  test('xerial output has Java framing and decodes here and in kafkajs-snappy', async () => {
    const xerial = snappyCompressXerial(data);
    expect(xerial.subarray(0, 16).toString('hex')).toBe('82534e41505059000000000100000001');
    expect(snappyDecompress(xerial, data.length).equals(data)).toBe(true);
    expect((await kafkajsSnappy.decompress(xerial)).equals(data)).toBe(true);
  });

  test('raw output (what Brook writes) decodes in kafkajs-snappy', async () => {
    const raw = snappyCompressRaw(data);
    expect((await kafkajsSnappy.decompress(raw)).equals(data)).toBe(true);
  });

  test('concatenated xerial streams decode as one', () => {
    const a = data.subarray(0, 70_000);
    const b = data.subarray(70_000);
    const both = Buffer.concat([snappyCompressXerial(a), snappyCompressXerial(b)]);
    expect(snappyDecompress(both, data.length).equals(data)).toBe(true);
  });

  test('a xerial block length past the end is corrupt', () => {
    const xerial = snappyCompressXerial(data);
    expect(problem(() => snappyDecompress(xerial.subarray(0, xerial.length - 3), 1 << 20))).toBe(
      'corrupt-compressed-data',
    );
  });
});

function frame(flg: number, bd: number, extra: Buffer, blocks: Buffer[]): Buffer {
  const descriptor = Buffer.concat([Buffer.from([flg, bd]), extra]);
  const hc = (xxh32Short(descriptor, 0, descriptor.length) >>> 8) & 0xff;
  const magic = Buffer.from('04224d18', 'hex');
  return Buffer.concat([magic, descriptor, Buffer.from([hc]), ...blocks, Buffer.alloc(4)]);
}

function block(payload: Buffer, uncompressed = false): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32LE((payload.length | (uncompressed ? 0x8000_0000 : 0)) >>> 0);
  return Buffer.concat([size, payload]);
}

describe('lz4 frames', () => {
  const data = jsonText(300_000, new SeededRandom(SEED + 2));

  test('xxh32 matches the reference vectors', () => {
    expect(xxh32Short(Buffer.alloc(0), 0, 0)).toBe(0x02cc5d05);
    expect(xxh32Short(Buffer.from('a'), 0, 1)).toBe(0x550d7456);
    expect(xxh32Short(Buffer.from('abc'), 0, 3)).toBe(0x32d153ff);
  });

  test('frames written by @platformatic/kafka (lz4_flex) decode', () => {
    const theirs = wasmLz4Compress(data);
    expect(lz4Decompress(theirs, data.length).equals(data)).toBe(true);
  });

  test('frames Brook writes decode in @platformatic/kafka', () => {
    const ours = lz4Compress(data);
    expect(ours.subarray(0, 7).toString('hex')).toBe(
      `04224d186040${((xxh32Short(Buffer.from([0x60, 0x40]), 0, 2) >>> 8) & 0xff).toString(16)}`,
    );
    expect(Buffer.from(wasmLz4Decompress(ours)).equals(data)).toBe(true);
  });

  test('linked blocks may reach into the previous block; independent ones may not', () => {
    const first = Buffer.from([0x80, ...Buffer.from('abcdefgh')]);
    // Match of 8 bytes at offset 8 (token low nibble 4), then one literal 'x'.
    const second = Buffer.from([0x04, 0x08, 0x00, 0x10, 0x78]);
    const linked = frame(0x40, 0x40, Buffer.alloc(0), [block(first), block(second)]);
    expect(lz4Decompress(linked, 100).toString()).toBe('abcdefghabcdefghx');
    const independent = frame(0x60, 0x40, Buffer.alloc(0), [block(first), block(second)]);
    expect(problem(() => lz4Decompress(independent, 100))).toBe('corrupt-compressed-data');
  });

  test('stored blocks, checksums, content size and skippable frames are handled', () => {
    const payload = Buffer.from('stored block payload');
    const checksum = Buffer.alloc(4, 0xaa);
    const size = Buffer.alloc(8);
    size.writeUInt32LE(payload.length, 0);
    // Block checksum + content size + content checksum flags: 0x60 | 0x10 | 0x08 | 0x04.
    const flagged = Buffer.concat([
      frame(0x7c, 0x40, size, [Buffer.concat([block(payload, true), checksum])]),
      checksum,
    ]);
    const skippable = Buffer.from('502a4d1803000000010203', 'hex');
    const input = Buffer.concat([skippable, flagged]);
    expect(lz4Decompress(input, 100).equals(payload)).toBe(true);
    size.writeUInt32LE(payload.length + 1, 0);
    const lying = frame(0x68, 0x40, size, [block(payload, true)]);
    expect(problem(() => lz4Decompress(lying, 100))).toBe('corrupt-compressed-data');
  });

  test('a content size beyond the limit is refused up front', () => {
    const size = Buffer.alloc(8);
    size.writeUInt32LE(0xffff_ffff, 0);
    size.writeUInt32LE(0xffff_ffff, 4);
    const huge = frame(0x68, 0x40, size, []);
    expect(problem(() => lz4Decompress(huge, 1 << 20))).toBe('decompressed-too-large');
  });

  test('a bad header checksum, version or block size id is corrupt', () => {
    const ours = lz4Compress(data);
    const badChecksum = Buffer.from(ours);
    badChecksum[6] = (badChecksum[6] as number) ^ 0xff;
    const badVersion = frame(0x20, 0x40, Buffer.alloc(0), []);
    const badBlockSize = frame(0x60, 0x30, Buffer.alloc(0), []);
    for (const bad of [badChecksum, badVersion, badBlockSize, Buffer.alloc(0)]) {
      expect(problem(() => lz4Decompress(bad, 1 << 20))).toBe('corrupt-compressed-data');
    }
  });
});
