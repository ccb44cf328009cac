/**
 * Emits one message's TypeScript: an interface per struct, `newX()` with schema defaults,
 * `encodeX(w, m, version)` and `decodeX(r, version)` as straight-line version-gated code, and
 * `isDefaultX(m)` for structs that appear as single (non-array) fields, which tagged fields
 * and absent-field checks need.
 */

import type { FieldDef, MessageDef, StructDef, ValueType } from './resolve.ts';
import { covers, intersect, isEmpty, type VersionRange } from './versions.ts';

const FIXED_BYTES: Record<string, number> = {
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  float64: 8,
  bool: 1,
  uuid: 16,
};

/** A version condition as code, folded to 'true'/'false' where the valid range decides it. */
export function condition(range: VersionRange, valid: VersionRange): string {
  const r = intersect(range, valid);
  if (isEmpty(r)) return 'false';
  if (covers(r, valid)) return 'true';
  const parts: string[] = [];
  if (r.min > valid.min) parts.push(`version >= ${r.min}`);
  if (r.max < valid.max) parts.push(`version <= ${r.max}`);
  return parts.join(' && ');
}

function pick(cond: string, yes: string, no: string): string {
  if (cond === 'true') return yes;
  if (cond === 'false') return no;
  return `(${cond} ? ${yes} : ${no})`;
}

function not(cond: string): string {
  if (cond === 'true') return 'false';
  if (cond === 'false') return 'true';
  return `!(${cond})`;
}

function and(a: string, b: string): string {
  if (a === 'false' || b === 'false') return 'false';
  if (a === 'true') return b;
  if (b === 'true') return a;
  return `${a} && ${b}`;
}

function indent(lines: string[], by = '  '): string[] {
  return lines.map((l) => (l === '' ? l : by + l));
}

function nullableAnywhere(f: FieldDef): boolean {
  return !isEmpty(f.nullable) || f.schema.default === 'null';
}

// ---- types and defaults --------------------------------------------------------------------

function baseTsType(t: ValueType): string {
  switch (t.kind) {
    case 'bool':
      return 'boolean';
    case 'uuid':
    case 'string':
      return 'string';
    case 'bytes':
      return 'Buffer';
    case 'records':
      return 'RecordsData';
    case 'struct':
      return t.struct.tsName;
    case 'array':
      return `${baseTsType(t.element)}[]`;
    default:
      return 'number';
  }
}

export function tsType(f: FieldDef): string {
  return baseTsType(f.type) + (nullableAnywhere(f) ? ' | null' : '');
}

export function defaultValue(f: FieldDef): string {
  const d = f.schema.default;
  const t = f.type;
  if (d === 'null') return 'null';
  switch (t.kind) {
    case 'bool':
      return d === 'true' ? 'true' : 'false';
    case 'string':
      return JSON.stringify(d ?? '');
    case 'uuid':
      return d === undefined ? 'ZERO_UUID' : JSON.stringify(d);
    case 'bytes':
      return 'EMPTY_BYTES';
    case 'records':
      return nullableAnywhere(f) ? 'null' : 'EMPTY_BYTES';
    case 'struct':
      return `new${t.struct.tsName}()`;
    case 'array':
      return '[]';
    default: {
      const n = d === undefined || d === '' ? 0 : Number(d);
      if (!Number.isFinite(n)) throw new Error(`bad default ${d} for ${f.schema.name}`);
      return String(n);
    }
  }
}

/** Code that is true when `v` differs from the field's default. */
export function notDefault(f: FieldDef, v: string): string {
  const d = defaultValue(f);
  const t = f.type;
  if (d === 'null') return `${v} !== null`;
  const orNull = nullableAnywhere(f) ? `${v} === null || ` : '';
  switch (t.kind) {
    case 'bytes':
    case 'records':
    case 'array':
      return `${orNull}${v}.length !== 0`;
    case 'struct':
      return `${orNull}!isDefault${t.struct.tsName}(${v})`;
    default:
      return `${v} !== ${d}`;
  }
}

// ---- decoding ------------------------------------------------------------------------------

interface Ctx {
  readonly valid: VersionRange;
  readonly flexible: VersionRange;
  /** The flexible condition as code: 'true', 'false' or 'flexible'. */
  readonly flex: string;
}

/** The versions in which the field is on the wire: where conditions about it are decided. */
function scope(f: FieldDef, ctx: Ctx, tagged: boolean): VersionRange {
  return intersect(tagged ? f.tagged : f.versions, ctx.valid);
}

function compactCond(f: FieldDef, ctx: Ctx, tagged: boolean): string {
  if (!f.compactAllowed) return 'false';
  const c = condition(ctx.flexible, scope(f, ctx, tagged));
  return c === 'true' || c === 'false' ? c : 'flexible';
}

function nullableCond(f: FieldDef, ctx: Ctx, tagged: boolean): string {
  return condition(f.nullable, scope(f, ctx, tagged));
}

const READ_FIXED: Record<string, string> = {
  int8: 'r.int8()',
  int16: 'r.int16()',
  uint16: 'r.uint16()',
  int32: 'r.int32()',
  uint32: 'r.uint32()',
  int64: 'r.int64()',
  float64: 'r.float64()',
  bool: 'r.bool()',
  uuid: 'r.uuid()',
};

const VARIABLE_READERS: Record<string, [string, string, string, string]> = {
  // [plain, compact, plain nullable, compact nullable]
  string: ['r.string()', 'r.compactString()', 'r.nullableString()', 'r.compactNullableString()'],
  bytes: ['r.bytes()', 'r.compactBytes()', 'r.nullableBytes()', 'r.compactNullableBytes()'],
  records: ['r.bytes()', 'r.compactBytes()', 'r.records()', 'r.compactRecords()'],
};

function readScalar(t: ValueType, compact: string, nullable: string, tagged: boolean): string {
  const fixed = READ_FIXED[t.kind];
  if (fixed) return fixed;
  const variable = VARIABLE_READERS[t.kind];
  if (variable) {
    const [plain, cPlain, nul, cNul] = variable;
    return pick(nullable, pick(compact, cNul, nul), pick(compact, cPlain, plain));
  }
  if (t.kind === 'struct') {
    const read = `decode${t.struct.tsName}(r, version)`;
    if (nullable === 'false') return read;
    const marker = tagged ? 'r.unsignedVarint() === 0' : 'r.int8() < 0';
    return `(${and(nullable, marker)} ? null : ${read})`;
  }
  throw new Error(`readScalar: ${t.kind}`);
}

/** Statements that read field `f` into its local. */
function readField(f: FieldDef, ctx: Ctx, tagged: boolean): string[] {
  const compact = compactCond(f, ctx, tagged);
  const nullable = nullableCond(f, ctx, tagged);
  const t = f.type;
  if (t.kind !== 'array') return [`${f.local} = ${readScalar(t, compact, nullable, tagged)};`];
  const element = readScalar(t.element, compact, 'false', false);
  const fallback = `{ r.failNull('${f.prop}'); ${f.local} = ${defaultValue(f)}; }`;
  const onNull =
    nullable === 'false'
      ? [fallback]
      : nullable === 'true'
        ? [`${f.local} = null;`]
        : [`if (${nullable}) ${f.local} = null;`, `else ${fallback}`];
  return [
    `{`,
    `  const _n = ${pick(compact, 'r.compactArrayLength()', 'r.arrayLength()')};`,
    `  if (_n < 0) {`,
    ...indent(onNull, '    '),
    `  } else {`,
    `    const _a: ${baseTsType(t.element)}[] = [];`,
    `    for (let _i = 0; _i < _n && r.ok; _i++) _a.push(${element});`,
    `    ${f.local} = _a;`,
    `  }`,
    `}`,
  ];
}

function emitDecode(s: StructDef, ctx: Ctx, m: MessageDef): string[] {
  const regular = s.fields.filter((f) => f.tag === undefined);
  const tagged = s.fields.filter((f) => f.tag !== undefined);
  const body: string[] = [];
  if (s.isTopLevel) {
    const { min, max } = m.valid;
    const cond =
      max === Number.POSITIVE_INFINITY
        ? `version < ${min}`
        : `version < ${min} || version > ${max}`;
    body.push(`if (${cond}) r.fail(\`${s.tsName}: unsupported version \${version}\`);`);
  }
  if (ctx.flex === 'flexible') body.push(`const flexible = ${condition(m.flexible, m.valid)};`);
  for (const f of s.fields) {
    body.push(`let ${f.local}: ${tsType(f)}${f.tag !== undefined ? ` = ${defaultValue(f)}` : ''};`);
  }
  for (const f of regular) {
    const present = condition(f.versions, ctx.valid);
    const read = readField(f, ctx, false);
    if (present === 'true') body.push(...read);
    else if (present === 'false') body.push(`${f.local} = ${defaultValue(f)};`);
    else
      body.push(
        `if (${present}) {`,
        ...indent(read),
        `} else {`,
        `  ${f.local} = ${defaultValue(f)};`,
        `}`,
      );
  }
  const hasTags = ctx.flex !== 'false';
  if (hasTags) body.push('let unknownTaggedFields: TaggedField[] | undefined;');
  if (hasTags) body.push(...indentIf(ctx.flex, emitTaggedDecode(tagged, ctx)));
  const props = s.fields.map((f) => (f.local === f.prop ? f.prop : `${f.prop}: ${f.local}`));
  props.push(hasTags ? 'unknownTaggedFields' : 'unknownTaggedFields: undefined');
  body.push(`return { ${props.join(', ')} };`);
  return [
    `export function decode${s.tsName}(r: Reader, version: number): ${s.tsName} {`,
    ...indent(body),
    `}`,
  ];
}

function indentIf(cond: string, lines: string[]): string[] {
  if (cond === 'true') return lines;
  return [`if (${cond}) {`, ...indent(lines), `}`];
}

function emitTaggedDecode(tagged: FieldDef[], ctx: Ctx): string[] {
  const branches: string[] = [];
  for (const f of tagged) {
    const when = and(`_tag === ${f.tag}`, condition(f.tagged, ctx.valid));
    if (when === 'false') continue;
    branches.push(`${branches.length === 0 ? 'if' : '} else if'} (${when}) {`);
    branches.push(...indent(readField(f, ctx, true)));
    branches.push('  r.expectTaggedFieldEnd(_end, _tag);');
  }
  const unknown = '(unknownTaggedFields ??= []).push(r.unknownTaggedField(_tag, _size));';
  if (branches.length === 0) branches.push(unknown);
  else branches.push('} else {', `  ${unknown}`, '}');
  return [
    'const _count = r.taggedFieldCount();',
    'for (let _i = 0; _i < _count && r.ok; _i++) {',
    '  const _tag = r.unsignedVarint();',
    '  const _size = r.unsignedVarint();',
    ...(tagged.length > 0
      ? ['  const _end = r.taggedFieldEnd(_size);']
      : ['  r.taggedFieldEnd(_size);']),
    ...indent(branches),
    '}',
  ];
}

// ---- encoding ------------------------------------------------------------------------------

const WRITE_FIXED: Record<string, string> = {
  int8: 'int8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  float64: 'float64',
  bool: 'bool',
  uuid: 'uuid',
};

const VARIABLE_WRITERS: Record<string, [string, string, string, string]> = {
  string: ['string', 'compactString', 'nullableString', 'compactNullableString'],
  bytes: ['bytes', 'compactBytes', 'nullableBytes', 'compactNullableBytes'],
  records: ['records', 'compactRecords', 'records', 'compactRecords'],
};

function writeCall(w: string, method: string, v: string): string {
  return `${w}.${method}(${v});`;
}

/** Statements writing value `v` of type `t` (element writes pass nullable 'false'). */
function writeValue(
  t: ValueType,
  v: string,
  w: string,
  compact: string,
  nullable: string,
  typeNullable: boolean,
  where: string,
  tagged: boolean,
): string[] {
  const fixed = WRITE_FIXED[t.kind];
  if (fixed) return [writeCall(w, fixed, v)];
  const nullWhen = and(`${v} === null`, not(nullable));
  const nullCheck =
    typeNullable && nullable !== 'true' ? [`if (${nullWhen}) nullValue('${where}', version);`] : [];
  const variable = VARIABLE_WRITERS[t.kind];
  if (variable) {
    const [plain, cPlain, nul, cNul] = variable;
    const [a, b] = typeNullable ? [cNul, nul] : [cPlain, plain];
    if (compact === 'true' || compact === 'false') {
      return [...nullCheck, writeCall(w, compact === 'true' ? a : b, v)];
    }
    return [...nullCheck, `if (${compact}) ${writeCall(w, a, v)}`, `else ${writeCall(w, b, v)}`];
  }
  if (t.kind === 'struct') {
    const enc = `encode${t.struct.tsName}(${w}, ${v}, version);`;
    if (!typeNullable) return [enc];
    const marker = (on: boolean): string =>
      tagged ? `${w}.unsignedVarint(${on ? 1 : 0});` : `${w}.int8(${on ? 1 : -1});`;
    const withMarker = [
      `if (${v} === null) ${marker(false)}`,
      `else {`,
      `  ${marker(true)}`,
      `  ${enc}`,
      `}`,
    ];
    if (nullable === 'true') return withMarker;
    const without = [`if (${v} === null) nullValue('${where}', version);`, `else ${enc}`];
    if (nullable === 'false') return without;
    return [`if (${nullable}) {`, ...indent(withMarker), `} else {`, ...indent(without), `}`];
  }
  if (t.kind === 'array') {
    const len = (n: string): string =>
      pick(compact, `${w}.compactArrayLength(${n})`, `${w}.arrayLength(${n})`);
    const each = writeValue(t.element, '_e', w, compact, 'false', false, where, false);
    const nonNull = [`${len(`${v}.length`)};`, `for (const _e of ${v}) {`, ...indent(each), `}`];
    if (!typeNullable) return nonNull;
    return [...nullCheck, `if (${v} === null) ${len('-1')};`, `else {`, ...indent(nonNull), `}`];
  }
  throw new Error(`writeValue: ${t.kind}`);
}

function writeField(f: FieldDef, s: StructDef, ctx: Ctx, w: string, tagged: boolean): string[] {
  return writeValue(
    f.type,
    `m.${f.prop}`,
    w,
    compactCond(f, ctx, tagged),
    nullableCond(f, ctx, tagged),
    nullableAnywhere(f),
    `${s.tsName}.${f.prop}`,
    tagged,
  );
}

function absentCheck(f: FieldDef, s: StructDef): string {
  return `if (${notDefault(f, `m.${f.prop}`)}) absentValue('${s.tsName}.${f.prop}', version);`;
}

function emitEncode(s: StructDef, ctx: Ctx, m: MessageDef): string[] {
  const body: string[] = [];
  if (s.isTopLevel) {
    const { min, max } = m.valid;
    const cond =
      max === Number.POSITIVE_INFINITY
        ? `version < ${min}`
        : `version < ${min} || version > ${max}`;
    body.push(`if (${cond}) unsupportedVersion('${s.tsName}', version);`);
  }
  if (ctx.flex === 'flexible') body.push(`const flexible = ${condition(m.flexible, m.valid)};`);
  for (const f of s.fields.filter((x) => x.tag === undefined)) {
    const present = condition(f.versions, ctx.valid);
    const write = writeField(f, s, ctx, 'w', false);
    const absent = f.schema.ignorable ? [] : [absentCheck(f, s)];
    if (present === 'true') body.push(...write);
    else if (present === 'false') body.push(...absent);
    else {
      body.push(`if (${present}) {`, ...indent(write), '}');
      if (absent.length > 0) body.push('else {', ...indent(absent), '}');
    }
  }
  body.push(...emitTaggedEncode(s, ctx));
  return [
    `export function encode${s.tsName}(w: Writer, m: ${s.tsName}, version: number): void {`,
    ...indent(body),
    `}`,
  ];
}

function emitTaggedEncode(s: StructDef, ctx: Ctx): string[] {
  const tagged = s.fields
    .filter((f) => f.tag !== undefined)
    .sort((a, b) => (a.tag ?? 0) - (b.tag ?? 0));
  const out: string[] = [];
  const checks: string[] = [];
  for (const f of tagged) {
    const when = condition(f.tagged, ctx.valid);
    if (!f.schema.ignorable && when !== 'true') {
      const absent = and(not(when), notDefault(f, `m.${f.prop}`));
      checks.push(`if (${absent}) absentValue('${s.tsName}.${f.prop}', version);`);
    }
  }
  out.push(...checks);
  if (ctx.flex === 'false') {
    out.push(`if (m.unknownTaggedFields !== undefined && m.unknownTaggedFields.length > 0) {`);
    out.push(`  absentValue('${s.tsName}.unknownTaggedFields', version);`);
    out.push(`}`);
    return out;
  }
  const inner: string[] = [
    'const _unknown = m.unknownTaggedFields ?? NO_TAGGED_FIELDS;',
    'let _tagged = _unknown.length;',
  ];
  const present = (f: FieldDef): string =>
    and(condition(f.tagged, ctx.valid), notDefault(f, `m.${f.prop}`));
  for (const f of tagged) {
    if (present(f) !== 'false') inner.push(`if (${present(f)}) _tagged++;`);
  }
  inner.push('w.unsignedVarint(_tagged);');
  if (tagged.length > 0) inner.push('let _u = 0;');
  for (const f of tagged) {
    if (present(f) === 'false') continue;
    inner.push(`_u = w.unknownTaggedFields(_unknown, _u, ${f.tag});`);
    inner.push(`if (${present(f)}) {`);
    inner.push(`  w.unsignedVarint(${f.tag});`);
    const fixed = FIXED_BYTES[f.type.kind];
    if (fixed !== undefined) {
      inner.push(`  w.unsignedVarint(${fixed});`, ...indent(writeField(f, s, ctx, 'w', true)));
    } else {
      inner.push('  const _t = new Writer(64);', ...indent(writeField(f, s, ctx, '_t', true)));
      inner.push('  w.unsignedVarint(_t.length);', '  w.append(_t);');
    }
    inner.push('}');
  }
  inner.push(
    `w.unknownTaggedFields(_unknown, ${tagged.length > 0 ? '_u' : '0'}, Number.POSITIVE_INFINITY);`,
  );
  out.push(...indentIf(ctx.flex, inner));
  if (ctx.flex !== 'true') {
    out.push(`else if (m.unknownTaggedFields !== undefined && m.unknownTaggedFields.length > 0) {`);
    out.push(`  absentValue('${s.tsName}.unknownTaggedFields', version);`);
    out.push(`}`);
  }
  return out;
}

// ---- interface, new, isDefault -------------------------------------------------------------

function emitInterface(s: StructDef): string[] {
  return [
    `export interface ${s.tsName} {`,
    ...s.fields.map((f) => `  ${f.prop}: ${tsType(f)};`),
    '  unknownTaggedFields?: TaggedField[] | undefined;',
    '}',
  ];
}

function emitNew(s: StructDef): string[] {
  return [
    `export function new${s.tsName}(): ${s.tsName} {`,
    '  return {',
    ...s.fields.map((f) => `    ${f.prop}: ${defaultValue(f)},`),
    '    unknownTaggedFields: undefined,',
    '  };',
    '}',
  ];
}

function emitIsDefault(s: StructDef): string[] {
  return [
    `export function isDefault${s.tsName}(m: ${s.tsName}): boolean {`,
    ...s.fields.map((f) => `  if (${notDefault(f, `m.${f.prop}`)}) return false;`),
    '  return m.unknownTaggedFields === undefined || m.unknownTaggedFields.length === 0;',
    '}',
  ];
}

/** Structs used as a single (non-array) field somewhere: they need isDefaultX(). */
function singleStructs(m: MessageDef): Set<StructDef> {
  const out = new Set<StructDef>();
  for (const s of m.structs) {
    for (const f of s.fields) if (f.type.kind === 'struct') out.add(f.type.struct);
  }
  return out;
}

export function emitMessage(m: MessageDef): string[] {
  const flex = isEmpty(m.flexible) ? 'false' : covers(m.flexible, m.valid) ? 'true' : 'flexible';
  const ctx: Ctx = { valid: m.valid, flexible: m.flexible, flex };
  const needDefault = singleStructs(m);
  const out: string[] = [];
  for (const s of m.structs) {
    out.push('', ...emitInterface(s), '', ...emitNew(s));
    if (needDefault.has(s)) out.push('', ...emitIsDefault(s));
    out.push('', ...emitEncode(s, ctx, m), '', ...emitDecode(s, ctx, m));
  }
  return out;
}
