/**
 * The schema model that the YAML files describe and the generator consumes. Facts only:
 * names, types, version ranges, tags and defaults, as Kafka defines them.
 */

export type MessageKind = 'request' | 'response' | 'header' | 'data' | 'metadata';

export interface FieldSchema {
  readonly name: string;
  /** Kafka's type: int8 ... float64, string, bytes, records, uuid, a struct name, or []T. */
  readonly type: string;
  readonly versions: string;
  readonly nullableVersions?: string;
  readonly taggedVersions?: string;
  readonly tag?: number;
  /** The default as Kafka writes it ("-1", "null", "0x7fffffff", "true", ""). */
  readonly default?: string;
  readonly ignorable: boolean;
  readonly mapKey: boolean;
  readonly zeroCopy: boolean;
  /** Overrides the message's flexible versions for this field (only "none" occurs). */
  readonly flexibleVersions?: string;
  /** Present when the field defines its struct type inline. */
  readonly fields?: readonly FieldSchema[];
}

export interface StructSchema {
  readonly name: string;
  readonly versions: string;
  readonly fields: readonly FieldSchema[];
}

export interface MessageSchema {
  readonly kind: MessageKind;
  readonly name: string;
  readonly apiKey?: number;
  readonly listeners?: readonly string[];
  readonly validVersions: string;
  readonly flexibleVersions: string;
  readonly deprecatedVersions?: string;
  readonly latestVersionUnstable?: boolean;
  readonly fields: readonly FieldSchema[];
  readonly commonStructs: readonly StructSchema[];
}

/** One YAML file: an API (request + response) or a list of other messages. */
export interface SchemaFile {
  /** Path relative to protocol/schema, e.g. 'apis/00-produce.yaml'. */
  readonly path: string;
  readonly messages: readonly MessageSchema[];
}
