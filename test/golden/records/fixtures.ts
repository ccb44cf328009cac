/**
 * The records every golden batch under test/golden/records/ carries, shared by the generator
 * (generate.ts) and the tests that decode the committed .bin files. Changing a fixture makes
 * the committed batches disagree with it: regenerate them in the same change.
 */

export interface FixtureHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

export interface FixtureRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly FixtureHeader[];
  readonly timestamp: number;
}

/** A fixed time so regenerated batches only differ where a library changed. */
export const FIXTURE_TIME_MS = 1_763_800_000_000;

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

/** About 100 KiB of JSON-ish text: spans two 64 KiB LZ4 blocks and many snappy blocks. */
function bigValue(): Buffer {
  const lines: string[] = [];
  for (let i = 0; lines.join('\n').length < 100 * 1024; i++) {
    lines.push(JSON.stringify({ id: i, user: `user-${i % 37}`, event: 'click', score: i * 7 }));
  }
  return utf8(lines.join('\n'));
}

function allBytes(): Buffer {
  return Buffer.from(Array.from({ length: 256 }, (_, i) => i));
}

function records(withNullHeaderValue: boolean): FixtureRecord[] {
  const t = FIXTURE_TIME_MS;
  const firstHeaders: FixtureHeader[] = [
    { key: 'trace', value: utf8('abc-123') },
    { key: 'empty', value: Buffer.alloc(0) },
  ];
  if (withNullHeaderValue) firstHeaders.push({ key: 'null-value', value: null });
  return [
    { key: utf8('user-1'), value: utf8('{"n":1}'), headers: firstHeaders, timestamp: t },
    { key: null, value: utf8('no key'), headers: [], timestamp: t + 5 },
    { key: utf8('tombstone'), value: null, headers: [], timestamp: t + 3 },
    { key: Buffer.alloc(0), value: Buffer.alloc(0), headers: [], timestamp: t + 10 },
    {
      key: utf8('ключ'),
      value: utf8('значение ✓'),
      headers: [{ key: 'ü-header', value: utf8('ü') }],
      timestamp: t + 7,
    },
    { key: utf8('big'), value: bigValue(), headers: [], timestamp: t + 8 },
    {
      key: utf8('binary'),
      value: allBytes(),
      headers: [
        { key: 'dup', value: utf8('1') },
        { key: 'dup', value: utf8('2') },
      ],
      timestamp: t + 9,
    },
  ];
}

/** kafkajs cannot encode a null header value (it measures it with Buffer.byteLength). */
export const kafkajsFixture: readonly FixtureRecord[] = records(false);
export const platformaticFixture: readonly FixtureRecord[] = records(true);

/**
 * What the kcat command in librdkafka/README.md produces. kcat stamps the current time, so
 * entries using this fixture set `checkTimestamps: false`.
 */
export const kcatFixture: readonly FixtureRecord[] = [
  ['user-1', '{"n":1}'],
  ['user-2', 'значение ✓'],
  ['user-3', 'x'.repeat(3000)],
].map(([key, value]) => ({
  key: utf8(key as string),
  value: utf8(value as string),
  headers: [{ key: 'trace', value: utf8('abc-123') }],
  timestamp: 0,
}));

export const fixtures = {
  kafkajs: kafkajsFixture,
  platformatic: platformaticFixture,
  kcat: kcatFixture,
} as const;
export type FixtureName = keyof typeof fixtures;

/** One committed golden batch, as listed in manifest.json. */
export interface GoldenEntry {
  readonly file: string;
  readonly library: string;
  readonly libraryVersion: string;
  /** Brook's Compression id. */
  readonly codec: number;
  /** Which fixture's records it holds; librdkafka captures name their own in README.md. */
  readonly fixture: FixtureName;
  /** Header fields to check; a hand capture may leave them out. */
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly transactional?: boolean;
  /** false when the producer stamped its own clock (kcat). */
  readonly checkTimestamps?: boolean;
}
