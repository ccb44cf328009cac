/**
 * Brook's compact YAML schema format, read by the generator and written by the transcriber.
 *
 * One line per field: `Name type vVERSIONS [options]`, options being `null:R` (nullable
 * versions), `tag:N` with `tagged:R`, `default:X`, `ignorable`, `mapKey`, `zeroCopy` and
 * `flexible:R` (a per-field override of the flexible versions). A field that defines its struct
 * inline is a one-key map from that line to the struct's field list. An API file holds
 * `apiKey`, `listeners`, `request` and `response`; any other file holds a `messages` list.
 */

import YAML from 'yaml';
import type { FieldSchema, MessageKind, MessageSchema, SchemaFile, StructSchema } from './model.ts';

type Yaml = Record<string, unknown>;

function fail(path: string, message: string): never {
  throw new Error(`${path}: ${message}`);
}

function text(value: unknown, path: string, what: string): string {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') fail(path, `${what} must be a string`);
  return value;
}

export function parseFieldLine(line: string, path: string, children?: unknown): FieldSchema {
  const tokens = line.trim().split(/\s+/);
  const [name, type, versionsToken, ...options] = tokens;
  if (!name || !type || !versionsToken?.startsWith('v')) fail(path, `bad field line: ${line}`);
  const field: {
    -readonly [K in keyof FieldSchema]: FieldSchema[K];
  } = {
    name,
    type,
    versions: versionsToken.slice(1),
    ignorable: false,
    mapKey: false,
    zeroCopy: false,
  };
  for (const option of options) {
    const colon = option.indexOf(':');
    const key = colon < 0 ? option : option.slice(0, colon);
    const value = colon < 0 ? '' : option.slice(colon + 1);
    if (key === 'null') field.nullableVersions = value;
    else if (key === 'tag') field.tag = Number(value);
    else if (key === 'tagged') field.taggedVersions = value;
    else if (key === 'default') field.default = value === '""' ? '' : value;
    else if (key === 'flexible') field.flexibleVersions = value;
    else if (key === 'ignorable' || key === 'mapKey' || key === 'zeroCopy') field[key] = true;
    else fail(path, `unknown option ${option} in: ${line}`);
  }
  if (children !== undefined) field.fields = parseFields(children, `${path} > ${name}`);
  return field;
}

function parseFields(value: unknown, path: string): FieldSchema[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) fail(path, 'fields must be a list');
  return value.map((item: unknown) => {
    if (typeof item === 'string') return parseFieldLine(item, path);
    if (typeof item === 'object' && item !== null) {
      const entries = Object.entries(item as Yaml);
      if (entries.length !== 1) fail(path, 'a struct field is a one-key map');
      const [line, children] = entries[0] as [string, unknown];
      return parseFieldLine(line, path, children);
    }
    return fail(path, `bad field entry ${JSON.stringify(item)}`);
  });
}

function parseCommonStructs(value: unknown, path: string): StructSchema[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(path, 'commonStructs must be a list');
  return value.map((item: unknown) => {
    const entries = Object.entries(item as Yaml);
    const [line, children] = entries[0] as [string, unknown];
    const [name, versions] = line.split(/\s+/);
    if (!name || !versions?.startsWith('v')) fail(path, `bad common struct line: ${line}`);
    return {
      name,
      versions: versions.slice(1),
      fields: parseFields(children, `${path} > ${name}`),
    };
  });
}

function parseMessage(raw: Yaml, kind: MessageKind, path: string, api?: Yaml): MessageSchema {
  const name = text(raw.name, path, 'name');
  const where = `${path} > ${name}`;
  const apiKey = api?.apiKey ?? raw.apiKey;
  const listeners = kind === 'request' ? api?.listeners : undefined;
  return {
    kind,
    name,
    ...(apiKey === undefined ? {} : { apiKey: Number(apiKey) }),
    ...(listeners === undefined ? {} : { listeners: listeners as string[] }),
    validVersions: text(raw.validVersions, where, 'validVersions'),
    flexibleVersions: text(raw.flexibleVersions, where, 'flexibleVersions'),
    ...(raw.deprecatedVersions === undefined
      ? {}
      : { deprecatedVersions: text(raw.deprecatedVersions, where, 'deprecatedVersions') }),
    ...(raw.latestVersionUnstable === true ? { latestVersionUnstable: true } : {}),
    fields: parseFields(raw.fields, where),
    commonStructs: parseCommonStructs(raw.commonStructs, where),
  };
}

export function parseSchemaFile(path: string, source: string): SchemaFile {
  const doc = YAML.parse(source) as Yaml;
  if (doc.request !== undefined) {
    const request = parseMessage(doc.request as Yaml, 'request', path, doc);
    const response = parseMessage(doc.response as Yaml, 'response', path, doc);
    return { path, messages: [request, response] };
  }
  if (!Array.isArray(doc.messages)) fail(path, 'expected request/response or messages');
  const messages = (doc.messages as Yaml[]).map((raw) =>
    parseMessage(raw, text(raw.type, path, 'type') as MessageKind, path),
  );
  return { path, messages };
}

// ---- writing -------------------------------------------------------------------------------

export function formatFieldLine(field: FieldSchema): string {
  const parts = [field.name, field.type, `v${field.versions}`];
  if (field.nullableVersions !== undefined) parts.push(`null:${field.nullableVersions}`);
  if (field.tag !== undefined) parts.push(`tag:${field.tag}`);
  if (field.taggedVersions !== undefined) parts.push(`tagged:${field.taggedVersions}`);
  if (field.default !== undefined) {
    if (/\s/.test(field.default)) throw new Error(`default with spaces: ${field.name}`);
    parts.push(`default:${field.default === '' ? '""' : field.default}`);
  }
  if (field.ignorable) parts.push('ignorable');
  if (field.mapKey) parts.push('mapKey');
  if (field.zeroCopy) parts.push('zeroCopy');
  if (field.flexibleVersions !== undefined) parts.push(`flexible:${field.flexibleVersions}`);
  return parts.join(' ');
}

function formatFields(fields: readonly FieldSchema[], indent: string, out: string[]): void {
  for (const field of fields) {
    const line = formatFieldLine(field);
    if (field.fields === undefined) {
      out.push(`${indent}- ${line}`);
    } else {
      out.push(`${indent}- ${line}:`);
      formatFields(field.fields, `${indent}    `, out);
    }
  }
}

function formatMessage(m: MessageSchema, indent: string, withType: boolean, out: string[]): void {
  out.push(`${indent}name: ${m.name}`);
  if (withType) out.push(`${indent}type: ${m.kind}`);
  if (withType && m.apiKey !== undefined) out.push(`${indent}apiKey: ${m.apiKey}`);
  out.push(`${indent}validVersions: "${m.validVersions}"`);
  if (m.deprecatedVersions !== undefined) {
    out.push(`${indent}deprecatedVersions: "${m.deprecatedVersions}"`);
  }
  out.push(`${indent}flexibleVersions: "${m.flexibleVersions}"`);
  if (m.latestVersionUnstable) out.push(`${indent}latestVersionUnstable: true`);
  out.push(`${indent}fields:`);
  formatFields(m.fields, `${indent}  `, out);
  if (m.commonStructs.length > 0) {
    out.push(`${indent}commonStructs:`);
    for (const s of m.commonStructs) {
      out.push(`${indent}  - ${s.name} v${s.versions}:`);
      formatFields(s.fields, `${indent}      `, out);
    }
  }
}

export function formatSchemaFile(file: SchemaFile, header: string): string {
  const out = header.split('\n').map((line) => `# ${line}`.trimEnd());
  const [first] = file.messages;
  if (first?.kind === 'request') {
    const [request, response] = file.messages as [MessageSchema, MessageSchema];
    out.push(`apiKey: ${request.apiKey}`);
    out.push(`listeners: [${(request.listeners ?? []).join(', ')}]`);
    out.push('request:');
    formatMessage(request, '  ', false, out);
    out.push('response:');
    formatMessage(response, '  ', false, out);
  } else {
    out.push('messages:');
    for (const m of file.messages) {
      out.push('  -');
      formatMessage(m, '    ', true, out);
    }
  }
  return `${out.join('\n')}\n`;
}
