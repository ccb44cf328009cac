/**
 * Reads Kafka's JSON message definitions (which carry // comments) from the reference folder.
 * Used by the transcriber and by the conformance test; never at run time.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const REFERENCE_FOLDERS = [
  'messages',
  'metadata-records',
  'group-coordinator-records',
  'transaction-records',
  'raft-records',
  'storage-records',
] as const;

export type ReferenceFolder = (typeof REFERENCE_FOLDERS)[number];

export interface ReferenceField {
  readonly name: string;
  readonly type: string;
  readonly versions?: string;
  readonly nullableVersions?: string;
  readonly taggedVersions?: string;
  readonly tag?: number;
  readonly default?: string | number | boolean | null;
  readonly ignorable?: boolean;
  readonly mapKey?: boolean;
  readonly zeroCopy?: boolean;
  readonly flexibleVersions?: string;
  readonly fields?: readonly ReferenceField[];
}

export interface ReferenceMessage {
  readonly folder: ReferenceFolder;
  readonly file: string;
  readonly type: string;
  readonly name: string;
  readonly apiKey?: number;
  readonly listeners?: readonly string[];
  readonly validVersions: string;
  readonly flexibleVersions: string;
  readonly deprecatedVersions?: string;
  readonly latestVersionUnstable?: boolean;
  readonly fields: readonly ReferenceField[];
  readonly commonStructs?: readonly {
    name: string;
    versions: string;
    fields: readonly ReferenceField[];
  }[];
}

/** Removes // comments outside string literals, line by line. */
export function stripJsonComments(source: string): string {
  return source
    .split('\n')
    .map((line) => {
      let inString = false;
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === '"' && line[i - 1] !== '\\') inString = !inString;
        else if (!inString && c === '/' && line[i + 1] === '/') return line.slice(0, i);
      }
      return line;
    })
    .join('\n');
}

export function readReference(dir: string): ReferenceMessage[] {
  const out: ReferenceMessage[] = [];
  for (const folder of REFERENCE_FOLDERS) {
    for (const file of readdirSync(join(dir, folder)).sort()) {
      if (!file.endsWith('.json')) continue;
      const json = JSON.parse(stripJsonComments(readFileSync(join(dir, folder, file), 'utf8')));
      out.push({ ...json, folder, file });
    }
  }
  return out;
}

/** The default as the schema writes it: numbers and booleans as text, null as "null". */
export function defaultText(value: ReferenceField['default']): string | undefined {
  if (value === undefined) return undefined;
  if (value === null) return 'null';
  return String(value);
}
