/**
 * Resolves a message schema into the shapes the emitter needs: every struct with its
 * TypeScript name (prefixed by the message name so the barrel has no collisions) and every
 * field with its kind, parsed version ranges and local names.
 */

import type { FieldSchema, MessageSchema, StructSchema } from './model.ts';
import { intersect, NO_VERSIONS, parseVersions, type VersionRange } from './versions.ts';

export const PRIMITIVES = [
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'bool',
  'uuid',
  'string',
  'bytes',
  'records',
] as const;

export type Primitive = (typeof PRIMITIVES)[number];

export type ValueType =
  | { readonly kind: Primitive }
  | { readonly kind: 'struct'; readonly struct: StructDef }
  | { readonly kind: 'array'; readonly element: ValueType };

export interface FieldDef {
  readonly schema: FieldSchema;
  /** Property name: Kafka's name in camelCase. */
  readonly prop: string;
  /** Local variable name in decoders (prop unless that would clash). */
  readonly local: string;
  readonly type: ValueType;
  readonly versions: VersionRange;
  readonly nullable: VersionRange;
  readonly tagged: VersionRange;
  readonly tag: number | undefined;
  /** False when the field is never compact-encoded (RequestHeader's ClientId). */
  readonly compactAllowed: boolean;
}

export interface StructDef {
  readonly tsName: string;
  readonly schemaName: string;
  readonly fields: FieldDef[];
  readonly isTopLevel: boolean;
}

export interface MessageDef {
  readonly schema: MessageSchema;
  readonly valid: VersionRange;
  readonly flexible: VersionRange;
  /** Top-level struct first, then nested structs in definition order. */
  readonly structs: StructDef[];
  readonly top: StructDef;
}

const RESERVED = new Set(
  [
    'break case catch class const continue debugger default delete do else enum export extends',
    'false finally for function if import in instanceof new null return super switch this throw',
    'true try typeof var void while with yield let static implements interface package private',
    'protected public await version flexible r w m unknownTaggedFields',
  ].flatMap((s) => s.split(' ')),
);

export function camelCase(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function isPrimitive(type: string): type is Primitive {
  return (PRIMITIVES as readonly string[]).includes(type);
}

export function resolveMessage(schema: MessageSchema): MessageDef {
  const valid = parseVersions(schema.validVersions);
  const flexible = intersect(parseVersions(schema.flexibleVersions), valid);
  const structs: StructDef[] = [];
  const byName = new Map<string, StructDef>();
  const common = new Map<string, StructSchema>(schema.commonStructs.map((s) => [s.name, s]));

  const defineStruct = (name: string, fields: readonly FieldSchema[], top: boolean): StructDef => {
    const def: StructDef = {
      tsName: top ? schema.name : `${schema.name}${name}`,
      schemaName: name,
      fields: [],
      isTopLevel: top,
    };
    if (!top) byName.set(name, def);
    structs.push(def);
    for (const f of fields) def.fields.push(resolveField(f));
    return def;
  };

  const structFor = (name: string, f: FieldSchema): StructDef => {
    if (f.fields !== undefined) {
      if (byName.has(name)) throw new Error(`${schema.name}: struct ${name} defined twice`);
      return defineStruct(name, f.fields, false);
    }
    const known = byName.get(name);
    if (known) return known;
    const c = common.get(name);
    if (!c) throw new Error(`${schema.name}: unknown type ${name} of field ${f.name}`);
    return defineStruct(name, c.fields, false);
  };

  const typeOf = (type: string, f: FieldSchema): ValueType => {
    if (type.startsWith('[]')) return { kind: 'array', element: typeOf(type.slice(2), f) };
    if (isPrimitive(type)) return { kind: type };
    return { kind: 'struct', struct: structFor(type, f) };
  };

  function resolveField(f: FieldSchema): FieldDef {
    const prop = camelCase(f.name);
    return {
      schema: f,
      prop,
      local: RESERVED.has(prop) ? `${prop}_` : prop,
      type: typeOf(f.type, f),
      versions: intersect(parseVersions(f.versions), valid),
      nullable: f.nullableVersions
        ? intersect(parseVersions(f.nullableVersions), valid)
        : NO_VERSIONS,
      tagged: f.taggedVersions ? intersect(parseVersions(f.taggedVersions), valid) : NO_VERSIONS,
      tag: f.tag,
      compactAllowed: f.flexibleVersions !== 'none',
    };
  }

  const top = defineStruct(schema.name, schema.fields, true);
  return { schema, valid, flexible, structs, top };
}
