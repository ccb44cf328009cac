/**
 * Emits the lookup tables over all generated messages: the API catalogue the server dispatches
 * by (codecs loaded on demand), the API table (every codec loaded), the KRaft metadata record
 * table, and the barrel `index.ts`.
 */

import type { MessageDef } from './resolve.ts';
import { isEmpty } from './versions.ts';

export interface EmittedFile {
  /** Path relative to protocol/generated, e.g. 'apis/00-produce.ts'. */
  readonly path: string;
  readonly messages: readonly MessageDef[];
}

function importPath(from: string, to: string): string {
  const depth = from.split('/').length - 1;
  return `${depth === 0 ? './' : '../'.repeat(depth)}${to}`;
}

function maxVersion(m: MessageDef): number {
  return m.valid.max;
}

function headerVersionFns(request: MessageDef, apiKey: number): string[] {
  const flexMin = isEmpty(request.flexible) ? -1 : request.flexible.min;
  const req = flexMin < 0 ? 'return 1;' : `return version >= ${flexMin} ? 2 : 1;`;
  // ControlledShutdown v0 predates the client id in the header (request header v0).
  const reqBody = apiKey === 7 ? `if (version === 0) return 0;\n      ${req}` : req;
  // ApiVersions responses always use header v0 so that a client that sent a version the
  // broker does not know can still read the error code.
  const res = apiKey === 18 || flexMin < 0 ? 'return 0;' : `return version >= ${flexMin} ? 1 : 0;`;
  return [
    `    requestHeaderVersion(version: number): number {`,
    `      ${reqBody}`,
    `    },`,
    `    responseHeaderVersion(${res === 'return 0;' ? '_version' : 'version'}: number): number {`,
    `      ${res}`,
    `    },`,
  ];
}

interface ApiMessages {
  readonly file: EmittedFile;
  readonly request: MessageDef;
  readonly response: MessageDef;
}

function apisOf(files: readonly EmittedFile[]): ApiMessages[] {
  const apis: ApiMessages[] = [];
  for (const file of files) {
    const [request, response] = file.messages;
    if (request?.schema.kind === 'request' && response) apis.push({ file, request, response });
  }
  return apis.sort((a, b) => (a.request.schema.apiKey ?? 0) - (b.request.schema.apiKey ?? 0));
}

/**
 * What the broker needs of every API without its codecs (keys, versions, header versions),
 * and `loadApi` to import one API's codecs on demand: a broker serves about a third of the
 * APIs, and the codec modules of the rest would cost megabytes of memory for nothing.
 */
export function emitApiCatalogue(files: readonly EmittedFile[], banner: string): string {
  const apis = apisOf(files);
  const lines: string[] = [banner];
  lines.push("import type { Reader } from '../wire/reader.ts';");
  lines.push("import type { Writer } from '../wire/writer.ts';");
  // Types only: erased, so they load nothing.
  for (const { file, request, response } of apis) {
    const names = `${request.schema.name}, ${response.schema.name}`;
    lines.push(`import type { ${names} } from '${importPath('api-catalogue.ts', file.path)}';`);
  }
  lines.push('', 'export const ApiKey = {');
  for (const { request } of apis) {
    lines.push(`  ${apiName(request)}: ${request.schema.apiKey},`);
  }
  lines.push('} as const;', '', 'export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];', '');
  lines.push(...API_DESCRIPTOR, '', 'export const ApiInfos = {');
  for (const { request } of apis) lines.push(...apiInfoEntry(request));
  lines.push('} as const;', '');
  lines.push(
    'const infoTable: (ApiInfo | undefined)[] = [];',
    'for (const info of Object.values(ApiInfos)) infoTable[info.apiKey] = info;',
    '',
    'export function apiInfoFor(apiKey: number): ApiInfo | undefined {',
    '  return infoTable[apiKey];',
    '}',
    '',
    'const loaders: Record<number, () => Promise<AnyApi>> = {',
  );
  for (const { file, request, response } of apis)
    lines.push(...loaderEntry(file, request, response));
  lines.push(
    '};',
    '',
    'const loading: (Promise<AnyApi> | undefined)[] = [];',
    '',
    '/** The codecs of an API, imported once; undefined for a key no schema defines. */',
    'export function loadApi(apiKey: number): Promise<AnyApi> | undefined {',
    '  const loader = infoTable[apiKey] ? loaders[apiKey] : undefined;',
    '  if (!loader) return undefined;',
    '  loading[apiKey] ??= loader();',
    '  return loading[apiKey];',
    '}',
    '',
  );
  return lines.join('\n');
}

function loaderEntry(file: EmittedFile, request: MessageDef, response: MessageDef): string[] {
  const req = request.schema.name;
  const res = response.schema.name;
  return [
    `  ${request.schema.apiKey}: async () => {`,
    `    const m = await import('${importPath('api-catalogue.ts', file.path)}');`,
    '    return {',
    `      ...ApiInfos.${apiName(request)},`,
    ...codecFields(req, res, 'm.').map((line) => `  ${line}`),
    `    } satisfies ApiDescriptor<${req}, ${res}>;`,
    '  },',
  ];
}

function codecFields(req: string, res: string, prefix: string): string[] {
  return [
    `  newRequest: ${prefix}new${req},`,
    `  decodeRequest: ${prefix}decode${req},`,
    `  encodeRequest: ${prefix}encode${req},`,
    `  newResponse: ${prefix}new${res},`,
    `  decodeResponse: ${prefix}decode${res},`,
    `  encodeResponse: ${prefix}encode${res},`,
  ].map((line) => `  ${line}`);
}

/** Every API with its codecs loaded up front: for clients, tools and tests. */
export function emitApiTable(files: readonly EmittedFile[], banner: string): string {
  const apis = apisOf(files);
  const lines: string[] = [banner];
  lines.push("import { type AnyApi, type ApiDescriptor, ApiInfos } from './api-catalogue.ts';");
  for (const { file, request, response } of apis) {
    const names = [request, response].flatMap((m) => {
      const n = m.schema.name;
      return [`type ${n}`, `new${n}`, `encode${n}`, `decode${n}`];
    });
    lines.push(`import { ${names.join(', ')} } from '${importPath('api-table.ts', file.path)}';`);
  }
  lines.push('', "export * from './api-catalogue.ts';", '');
  lines.push('/** Request and response types by API name. */', 'export interface ApiTypes {');
  for (const { request, response } of apis) {
    const types = `request: ${request.schema.name}; response: ${response.schema.name}`;
    lines.push(`  ${apiName(request)}: { ${types} };`);
  }
  lines.push('}', '', 'export const Apis = {');
  for (const { request, response } of apis) {
    const req = request.schema.name;
    const res = response.schema.name;
    lines.push(
      `  ${apiName(request)}: {`,
      `    ...ApiInfos.${apiName(request)},`,
      ...codecFields(req, res, ''),
      `  } satisfies ApiDescriptor<${req}, ${res}>,`,
    );
  }
  lines.push('} as const;', '');
  lines.push(
    'const table: (AnyApi | undefined)[] = [];',
    'for (const api of Object.values(Apis)) table[api.apiKey] = api;',
    '',
    '/** Every API indexed by key; undefined for keys no schema defines. */',
    'export const apiTable: readonly (AnyApi | undefined)[] = Array.from(table, (api) => api);',
    '',
    'export function apiFor(apiKey: number): AnyApi | undefined {',
    '  return apiTable[apiKey];',
    '}',
    '',
  );
  return lines.join('\n');
}

function apiName(request: MessageDef): string {
  return request.schema.name.replace(/Request$/, '');
}

const API_DESCRIPTOR = [
  '/** What is known of an API without loading its codecs. */',
  'export interface ApiInfo {',
  '  readonly apiKey: number;',
  '  readonly name: string;',
  '  readonly minVersion: number;',
  '  readonly maxVersion: number;',
  '  /** The first flexible version (compact encodings, tagged fields); -1 when none. */',
  '  readonly flexibleMinVersion: number;',
  '  /** The highest deprecated version; -1 when none. */',
  '  readonly deprecatedMaxVersion: number;',
  '  /** True when maxVersion is still unstable in Kafka (not advertised by default). */',
  '  readonly latestVersionUnstable: boolean;',
  '  /** Which listeners serve it: broker, controller, zkBroker. */',
  '  readonly listeners: readonly string[];',
  '  requestHeaderVersion(version: number): number;',
  '  responseHeaderVersion(version: number): number;',
  '}',
  '',
  'export interface ApiDescriptor<Req, Res> extends ApiInfo {',
  '  newRequest(): Req;',
  '  decodeRequest(r: Reader, version: number): Req;',
  '  encodeRequest(w: Writer, m: Req, version: number): void;',
  '  newResponse(): Res;',
  '  decodeResponse(r: Reader, version: number): Res;',
  '  encodeResponse(w: Writer, m: Res, version: number): void;',
  '}',
  '',
  '/** An API of unknown message types, for dispatch by key. */',
  'export type AnyApi = ApiDescriptor<unknown, unknown>;',
];

function apiInfoEntry(request: MessageDef): string[] {
  const key = request.schema.apiKey ?? -1;
  const deprecated = request.schema.deprecatedVersions;
  const deprecatedMax = deprecated ? Number(deprecated.split('-').at(-1)) : -1;
  return [
    `  ${apiName(request)}: {`,
    `    apiKey: ${key},`,
    `    name: '${apiName(request)}',`,
    `    minVersion: ${request.valid.min},`,
    `    maxVersion: ${maxVersion(request)},`,
    `    flexibleMinVersion: ${isEmpty(request.flexible) ? -1 : request.flexible.min},`,
    `    deprecatedMaxVersion: ${deprecatedMax},`,
    `    latestVersionUnstable: ${request.schema.latestVersionUnstable === true},`,
    `    listeners: ${JSON.stringify(request.schema.listeners ?? [])},`,
    ...headerVersionFns(request, key),
    '  } satisfies ApiInfo,',
  ];
}

export function emitMetadataRecordTable(files: readonly EmittedFile[], banner: string): string {
  const records = files
    .filter((f) => f.path.startsWith('metadata-records/'))
    .flatMap((f) => f.messages.map((m) => ({ file: f, m })))
    .sort((a, b) => (a.m.schema.apiKey ?? 0) - (b.m.schema.apiKey ?? 0));
  const lines = [banner, "import type { Reader } from '../wire/reader.ts';"];
  lines.push("import type { Writer } from '../wire/writer.ts';");
  for (const { file, m } of records) {
    const n = m.schema.name;
    lines.push(`import { type ${n}, new${n}, encode${n}, decode${n} } from './${file.path}';`);
  }
  lines.push('', '/** The record type id each KRaft metadata record carries in its frame. */');
  lines.push('export const MetadataRecordType = {');
  for (const { m } of records) lines.push(`  ${m.schema.name}: ${m.schema.apiKey},`);
  lines.push('} as const;', '');
  lines.push(
    'export interface MetadataRecordDescriptor<T> {',
    '  readonly type: number;',
    '  readonly name: string;',
    '  readonly minVersion: number;',
    '  readonly maxVersion: number;',
    '  /** The first flexible version; -1 when none. */',
    '  readonly flexibleMinVersion: number;',
    '  newRecord(): T;',
    '  decode(r: Reader, version: number): T;',
    '  encode(w: Writer, m: T, version: number): void;',
    '}',
    '',
    'export type AnyMetadataRecord = MetadataRecordDescriptor<unknown>;',
    '',
    'export const MetadataRecords = {',
  );
  for (const { m } of records) {
    const n = m.schema.name;
    lines.push(
      `  ${n}: {`,
      `    type: ${m.schema.apiKey},`,
      `    name: '${n}',`,
      `    minVersion: ${m.valid.min},`,
      `    maxVersion: ${m.valid.max},`,
      `    flexibleMinVersion: ${isEmpty(m.flexible) ? -1 : m.flexible.min},`,
      `    newRecord: new${n},`,
      `    decode: decode${n},`,
      `    encode: encode${n},`,
      `  } satisfies MetadataRecordDescriptor<${n}>,`,
    );
  }
  lines.push(
    '} as const;',
    '',
    'const table: (AnyMetadataRecord | undefined)[] = [];',
    'for (const record of Object.values(MetadataRecords)) table[record.type] = record;',
    '',
    'export function metadataRecordFor(type: number): AnyMetadataRecord | undefined {',
    '  return table[type];',
    '}',
    '',
  );
  return lines.join('\n');
}

/**
 * The records of __consumer_offsets and __transaction_state: each key starts with an int16
 * version that also says which record it is (OffsetCommitKey 0-1, GroupMetadataKey 2, ...),
 * so the table maps a key version to the key and value codecs.
 */
export function emitCoordinatorRecordTable(files: readonly EmittedFile[], banner: string): string {
  const pairs = files
    .filter((f) => /^(group-coordinator|transaction)-records\//.test(f.path))
    .map((f) => {
      const key = f.messages.find((m) => m.schema.name.endsWith('Key'));
      const value = f.messages.find((m) => m.schema.name.endsWith('Value'));
      if (!key || !value) throw new Error(`${f.path}: expected a Key and a Value`);
      return { file: f, key, value, name: key.schema.name.replace(/Key$/, '') };
    })
    .sort((a, b) => a.key.valid.min - b.key.valid.min || a.file.path.localeCompare(b.file.path));
  const lines = [banner, "import type { Reader } from '../wire/reader.ts';"];
  lines.push("import type { Writer } from '../wire/writer.ts';");
  for (const { file, key, value } of pairs) {
    const names = [key, value].flatMap((m) => {
      const n = m.schema.name;
      return [`type ${n}`, `new${n}`, `encode${n}`, `decode${n}`];
    });
    lines.push(`import { ${names.join(', ')} } from './${file.path}';`);
  }
  lines.push('', ...COORDINATOR_DESCRIPTOR, '', 'export const CoordinatorRecords = {');
  for (const { key, value, name } of pairs) {
    const k = key.schema.name;
    const v = value.schema.name;
    const log = k.startsWith('TransactionLog') ? '__transaction_state' : '__consumer_offsets';
    lines.push(
      `  ${name}: {`,
      `    name: '${name}',`,
      `    log: '${log}',`,
      `    keyMinVersion: ${key.valid.min},`,
      `    keyMaxVersion: ${key.valid.max},`,
      `    valueMinVersion: ${value.valid.min},`,
      `    valueMaxVersion: ${value.valid.max},`,
      `    newKey: new${k},`,
      `    decodeKey: decode${k},`,
      `    encodeKey: encode${k},`,
      `    newValue: new${v},`,
      `    decodeValue: decode${v},`,
      `    encodeValue: encode${v},`,
      `  } satisfies CoordinatorRecordDescriptor<${k}, ${v}>,`,
    );
  }
  lines.push(
    '} as const;',
    '',
    'const records: readonly AnyCoordinatorRecord[] = Object.values(CoordinatorRecords);',
    '',
    '/** The __consumer_offsets record whose key carries this version; undefined if unknown. */',
    'export function consumerOffsetsRecordFor(',
    '  keyVersion: number,',
    '): AnyCoordinatorRecord | undefined {',
    '  return records.find(',
    '    (record) =>',
    "      record.log === '__consumer_offsets' &&",
    '      keyVersion >= record.keyMinVersion &&',
    '      keyVersion <= record.keyMaxVersion,',
    '  );',
    '}',
    '',
  );
  return lines.join('\n');
}

const COORDINATOR_DESCRIPTOR = [
  'export interface CoordinatorRecordDescriptor<Key, Value> {',
  '  readonly name: string;',
  "  readonly log: '__consumer_offsets' | '__transaction_state';",
  '  /** Key versions name the record type; each key is framed as int16 version + fields. */',
  '  readonly keyMinVersion: number;',
  '  readonly keyMaxVersion: number;',
  '  readonly valueMinVersion: number;',
  '  readonly valueMaxVersion: number;',
  '  newKey(): Key;',
  '  decodeKey(r: Reader, version: number): Key;',
  '  encodeKey(w: Writer, m: Key, version: number): void;',
  '  newValue(): Value;',
  '  decodeValue(r: Reader, version: number): Value;',
  '  encodeValue(w: Writer, m: Value, version: number): void;',
  '}',
  '',
  'export type AnyCoordinatorRecord = CoordinatorRecordDescriptor<unknown, unknown>;',
];

export function emitIndex(files: readonly EmittedFile[], banner: string): string {
  const lines = [banner];
  for (const f of files) lines.push(`export * from './${f.path}';`);
  lines.push(
    "export * from './api-table.ts';",
    "export * from './coordinator-record-table.ts';",
    "export * from './metadata-record-table.ts';",
    '',
  );
  return lines.join('\n');
}
