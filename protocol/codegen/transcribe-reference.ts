/**
 * Writes protocol/schema/** from Kafka's JSON definitions: the facts (names, types, versions,
 * tags, defaults), none of the prose. Run once per reference update:
 *   node protocol/codegen/transcribe-reference.ts [../shared/kafka-protocol-reference]
 * The files it writes are then the project's own and are what `npm run gen` reads.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FieldSchema, MessageKind, MessageSchema, SchemaFile } from './model.ts';
import {
  defaultText,
  type ReferenceField,
  type ReferenceMessage,
  readReference,
} from './reference-json.ts';
import { formatSchemaFile } from './schema-yaml.ts';

const CONTROL_RECORDS = new Set([
  'KRaftVersionRecord',
  'LeaderChangeMessage',
  'SnapshotHeaderRecord',
  'SnapshotFooterRecord',
  'VotersRecord',
]);

export function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

function toField(f: ReferenceField): FieldSchema {
  const versions = f.versions ?? f.taggedVersions;
  if (versions === undefined) throw new Error(`field ${f.name} has no versions`);
  const d = defaultText(f.default);
  return {
    name: f.name,
    type: f.type,
    versions,
    ...(f.nullableVersions === undefined ? {} : { nullableVersions: f.nullableVersions }),
    ...(f.tag === undefined ? {} : { tag: Number(f.tag) }),
    ...(f.taggedVersions === undefined ? {} : { taggedVersions: f.taggedVersions }),
    ...(d === undefined ? {} : { default: d }),
    ignorable: f.ignorable === true,
    mapKey: f.mapKey === true,
    zeroCopy: f.zeroCopy === true,
    ...(f.flexibleVersions === undefined ? {} : { flexibleVersions: f.flexibleVersions }),
    ...(f.fields === undefined ? {} : { fields: f.fields.map(toField) }),
  };
}

export function toMessage(m: ReferenceMessage): MessageSchema {
  return {
    kind: m.type as MessageKind,
    name: m.name,
    ...(m.apiKey === undefined ? {} : { apiKey: m.apiKey }),
    ...(m.listeners === undefined ? {} : { listeners: m.listeners }),
    validVersions: m.validVersions,
    flexibleVersions: m.flexibleVersions,
    ...(m.deprecatedVersions === undefined ? {} : { deprecatedVersions: m.deprecatedVersions }),
    ...(m.latestVersionUnstable ? { latestVersionUnstable: true } : {}),
    fields: m.fields.map(toField),
    commonStructs: (m.commonStructs ?? []).map((s) => ({
      name: s.name,
      versions: s.versions,
      fields: s.fields.map(toField),
    })),
  };
}

/** Where each reference message goes under protocol/schema. */
function schemaPath(m: ReferenceMessage): string {
  if (m.folder === 'messages') {
    if (m.type === 'request' || m.type === 'response') {
      const base = m.name.replace(/(Request|Response)$/, '');
      return `apis/${String(m.apiKey).padStart(2, '0')}-${kebab(base)}.yaml`;
    }
    if (m.type === 'header') return 'headers.yaml';
    if (m.name.startsWith('ConsumerProtocol')) return 'consumer-protocol.yaml';
    if (CONTROL_RECORDS.has(m.name)) return `control-records/${kebab(m.name)}.yaml`;
    return `${kebab(m.name)}.yaml`;
  }
  if (m.folder === 'group-coordinator-records' || m.folder === 'transaction-records') {
    return `${m.folder}/${kebab(m.name.replace(/(Key|Value)$/, ''))}.yaml`;
  }
  return `${m.folder}/${kebab(m.name)}.yaml`;
}

const KIND_ORDER: Record<string, number> = { request: 0, response: 1 };

export function transcribe(referenceDir: string): SchemaFile[] {
  const byPath = new Map<string, MessageSchema[]>();
  for (const m of readReference(referenceDir)) {
    const path = schemaPath(m);
    const list = byPath.get(path) ?? [];
    list.push(toMessage(m));
    byPath.set(path, list);
  }
  return [...byPath.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, messages]) => ({
      path,
      messages: messages.sort(
        (a, b) =>
          (KIND_ORDER[a.kind] ?? 2) - (KIND_ORDER[b.kind] ?? 2) ||
          Number(a.name.endsWith('Value')) - Number(b.name.endsWith('Value')) ||
          a.name.localeCompare(b.name),
      ),
    }));
}

const HEADER = [
  'Brook protocol schema. Facts (names, types, versions, tags, defaults) transcribed from',
  "Apache Kafka's message definitions by protocol/codegen/transcribe-reference.ts;",
  'format: protocol/codegen/schema-yaml.ts. `npm run gen` turns this into protocol/generated.',
].join('\n');

function main(): void {
  const root = join(import.meta.dirname, '..', '..');
  const referenceDir = process.argv[2] ?? join(root, '..', 'shared', 'kafka-protocol-reference');
  const files = transcribe(referenceDir);
  for (const file of files) {
    const target = join(root, 'protocol', 'schema', file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, formatSchemaFile(file, HEADER));
  }
  console.log(`wrote ${files.length} schema files`);
}

if (import.meta.main) main();
