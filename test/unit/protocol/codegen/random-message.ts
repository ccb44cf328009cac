/**
 * Seeded random values for any generated message at any version, driven by the schema at
 * test time (so a new schema is covered without touching the tests). Fields absent in the
 * version keep their defaults, as a decoder would produce them.
 */

import type {
  FieldDef,
  MessageDef,
  StructDef,
  ValueType,
} from '../../../../protocol/codegen/resolve.ts';
import { contains } from '../../../../protocol/codegen/versions.ts';
import * as generated from '../../../../protocol/generated/index.ts';
import type { TaggedField } from '../../../../protocol/wire/tagged-field.ts';
import type { SeededRandom } from '../../../../src/util/random.ts';

type Obj = Record<string, unknown>;
const codecs = generated as unknown as Record<string, unknown>;

export function codec<T>(name: string): T {
  const fn = codecs[name];
  if (typeof fn !== 'function') throw new Error(`generated code lacks ${name}`);
  return fn as T;
}

export interface RandomOptions {
  /** Upper bound on array lengths. */
  readonly arrayLengthMax: number;
  /** Chance that a records/bytes value is large enough to become its own Writer chunk. */
  readonly largeBytesChance: number;
  /** Chance that a field nullable in the version is null. */
  readonly nullChance: number;
  /** Whether known tagged fields get values (else they keep their defaults, unsent). */
  readonly taggedFields: boolean;
}

const DEFAULT_OPTIONS: RandomOptions = {
  arrayLengthMax: 3,
  largeBytesChance: 0.03,
  nullChance: 0.2,
  taggedFields: true,
};
const TEXT = 'abcxyzABC019-_.: é€𝄞';

function randomString(rnd: SeededRandom): string {
  const length = rnd.int(0, 12);
  let s = '';
  for (let i = 0; i < length; i++) s += rnd.pick([...TEXT]);
  return s;
}

function randomBytes(rnd: SeededRandom, options: RandomOptions): Buffer {
  const large = rnd.chance(options.largeBytesChance);
  const buf = Buffer.alloc(large ? rnd.int(4096, 9000) : rnd.int(0, 24));
  rnd.fill(buf);
  return buf;
}

const INT64_EDGES = [
  0,
  -1,
  1,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  2 ** 32,
  -(2 ** 31),
];

function randomScalar(kind: string, rnd: SeededRandom, options: RandomOptions): unknown {
  switch (kind) {
    case 'int8':
      return rnd.int(-128, 127);
    case 'int16':
      return rnd.int(-32768, 32767);
    case 'uint16':
      return rnd.int(0, 65535);
    case 'int32':
      return rnd.chance(0.2) ? rnd.pick([-1, 0, 2 ** 31 - 1, -(2 ** 31)]) : rnd.int(-1e6, 1e6);
    case 'uint32':
      return rnd.int(0, 2 ** 32 - 1);
    case 'int64':
      return rnd.chance(0.3) ? rnd.pick(INT64_EDGES) : rnd.int(-1e12, 1e12);
    case 'float64':
      return rnd.chance(0.2) ? rnd.pick([0.5, 1e300, -2.25]) : rnd.int(-1e6, 1e6) / 8;
    case 'bool':
      return rnd.chance(0.5);
    case 'uuid': {
      const b = Buffer.alloc(16);
      rnd.fill(b);
      return b.toString('base64url');
    }
    case 'string':
      return randomString(rnd);
    case 'bytes':
    case 'records':
      return randomBytes(rnd, options);
    default:
      throw new Error(`randomScalar: ${kind}`);
  }
}

interface Gen {
  readonly def: MessageDef;
  readonly version: number;
  readonly rnd: SeededRandom;
  readonly options: RandomOptions;
}

function randomValue(t: ValueType, g: Gen, depth: number): unknown {
  if (t.kind === 'struct') return randomStruct(t.struct, g, depth + 1);
  if (t.kind === 'array') {
    const length = depth > 4 ? 0 : g.rnd.int(0, g.options.arrayLengthMax);
    return Array.from({ length }, () => randomValue(t.element, g, depth));
  }
  return randomScalar(t.kind, g.rnd, g.options);
}

function fieldInVersion(f: FieldDef, version: number): boolean {
  return f.tag !== undefined ? contains(f.tagged, version) : contains(f.versions, version);
}

function randomUnknownTags(s: StructDef, rnd: SeededRandom): TaggedField[] {
  const known = new Set(s.fields.map((f) => f.tag));
  const tags = new Set<number>();
  const count = rnd.int(1, 3);
  while (tags.size < count) {
    const tag = rnd.chance(0.8) ? rnd.int(0, 12) : rnd.int(200, 20000);
    if (!known.has(tag)) tags.add(tag);
  }
  return [...tags]
    .sort((a, b) => a - b)
    .map((tag) => ({ tag, data: randomBytes(rnd, DEFAULT_OPTIONS) }));
}

function randomStruct(s: StructDef, g: Gen, depth: number): Obj {
  const obj = codec<() => Obj>(`new${s.tsName}`)();
  for (const f of s.fields) {
    if (!fieldInVersion(f, g.version) || g.rnd.chance(0.1)) continue;
    if (f.tag !== undefined && !g.options.taggedFields) continue;
    if (contains(f.nullable, g.version) && g.rnd.chance(g.options.nullChance)) obj[f.prop] = null;
    else obj[f.prop] = randomValue(f.type, g, depth);
  }
  if (contains(g.def.flexible, g.version) && g.rnd.chance(0.15)) {
    obj.unknownTaggedFields = randomUnknownTags(s, g.rnd);
  }
  return obj;
}

export function randomMessage(
  def: MessageDef,
  version: number,
  rnd: SeededRandom,
  options: Partial<RandomOptions> = {},
): Obj {
  return randomStruct(
    def.top,
    { def, version, rnd, options: { ...DEFAULT_OPTIONS, ...options } },
    0,
  );
}

/** Every version a message defines. */
export function versionsOf(def: MessageDef): number[] {
  const out: number[] = [];
  for (let v = def.valid.min; v <= def.valid.max; v++) out.push(v);
  return out;
}
