/**
 * The keys and values the group coordinator writes to the compacted topic __consumer_offsets,
 * in Kafka's own formats, so a log written by Brook reads like Kafka's and back.
 *
 * Every key and value starts with an int16 version. Key versions 0 and 1 are OffsetCommitKey
 * (group, topic, partition: the same layout), key version 2 is GroupMetadataKey (group); later
 * key versions belong to KIP-848 groups and are reported as unknown. A null value is a
 * tombstone: compaction then drops the key's older records.
 *
 * OffsetCommitValue: offset int64, leaderEpoch int32 (v3+), metadata string,
 * commitTimestamp int64, expireTimestamp int64 (v1 only); v4+ is flexible (compact strings,
 * tagged fields).
 * GroupMetadataValue: protocolType string, generation int32, protocol string?, leader string?,
 * currentStateTimestamp int64 (v2+), members[]: memberId, groupInstanceId? (v3+), clientId,
 * clientHost, rebalanceTimeout int32 (v1+), sessionTimeout int32, subscription bytes,
 * assignment bytes; v4+ is flexible.
 *
 * Versions above the newest we know are read as the newest: from v4 on, Kafka only adds
 * tagged fields, which a reader may skip (KIP-915). The field codecs are the generated ones
 * (protocol/generated/group-coordinator-records); this module adds the version prefix, the
 * key dispatch, tombstones, and turns malformed bytes into a BrokerError.
 */
import {
  decodeGroupMetadataKey as readGroupMetadataKey,
  decodeGroupMetadataValue as readGroupMetadataValue,
  encodeGroupMetadataKey as writeGroupMetadataKey,
  encodeGroupMetadataValue as writeGroupMetadataValue,
} from '../../../protocol/generated/group-coordinator-records/group-metadata.ts';
import {
  decodeOffsetCommitKey as readOffsetCommitKey,
  decodeOffsetCommitValue as readOffsetCommitValue,
  encodeOffsetCommitKey as writeOffsetCommitKey,
  encodeOffsetCommitValue as writeOffsetCommitValue,
} from '../../../protocol/generated/group-coordinator-records/offset-commit.ts';
import { Reader } from '../../../protocol/wire/reader.ts';
import { Writer } from '../../../protocol/wire/writer.ts';
import { BrokerError } from '../../util/errors.ts';

export interface GroupRecord {
  readonly key: Buffer;
  /** null is a tombstone. */
  readonly value: Buffer | null;
}

export interface OffsetCommitValue {
  readonly offset: number;
  /** -1 when unknown. */
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestamp: number;
  /** -1 unless the commit asked for an explicit retention (value version 1). */
  readonly expireTimestamp: number;
}

export interface GroupMetadataMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeout: number;
  readonly sessionTimeout: number;
  readonly subscription: Buffer;
  readonly assignment: Buffer;
}

export interface GroupMetadataValue {
  readonly protocolType: string;
  readonly generation: number;
  readonly protocol: string | null;
  readonly leader: string | null;
  /** -1 when unknown (value versions 0 and 1). */
  readonly currentStateTimestamp: number;
  readonly members: readonly GroupMetadataMember[];
}

export type GroupRecordKey =
  | {
      readonly kind: 'offset';
      readonly group: string;
      readonly topic: string;
      readonly partition: number;
    }
  | { readonly kind: 'group'; readonly group: string }
  | { readonly kind: 'unknown'; readonly version: number };

export const offsetCommitKeyVersion = 1;
export const groupMetadataKeyVersion = 2;
/** What Kafka writes today: v3 (v1 when the commit carries an explicit expire timestamp). */
export const offsetCommitValueVersion = 3;
export const groupMetadataValueVersion = 3;
const newestValueVersion = 4;
/** Longest string a non-flexible record field can hold (int16 length, UTF-8 bytes). */
export const recordStringBytesMax = 0x7fff;

export function fitsRecordString(value: string): boolean {
  return (
    value.length <= recordStringBytesMax / 3 || Buffer.byteLength(value) <= recordStringBytesMax
  );
}

function corrupt(what: string, reader: Reader): never {
  throw new BrokerError(
    'GROUP_RECORD_CORRUPT',
    `${what}: ${reader.error?.message ?? 'malformed'}`,
    {
      cause: reader.error,
    },
  );
}

export function encodeOffsetCommitKey(group: string, topic: string, partition: number): Buffer {
  const w = new Writer(64);
  w.int16(offsetCommitKeyVersion);
  writeOffsetCommitKey(w, { group, topic, partition }, offsetCommitKeyVersion);
  return Buffer.from(w.finish());
}

export function encodeGroupMetadataKey(group: string): Buffer {
  const w = new Writer(32);
  w.int16(groupMetadataKeyVersion);
  writeGroupMetadataKey(w, { group }, groupMetadataKeyVersion);
  return Buffer.from(w.finish());
}

export function decodeRecordKey(key: Buffer): GroupRecordKey {
  const r = new Reader(key);
  const version = r.int16();
  if (!r.ok) corrupt('record key', r);
  if (version === 0 || version === 1) {
    const { group, topic, partition } = readOffsetCommitKey(r, version);
    if (!r.ok) corrupt('offset commit key', r);
    return { kind: 'offset', group, topic, partition };
  }
  if (version === groupMetadataKeyVersion) {
    const { group } = readGroupMetadataKey(r, version);
    if (!r.ok) corrupt('group metadata key', r);
    return { kind: 'group', group };
  }
  return { kind: 'unknown', version };
}

/** Reads the value's version prefix; versions beyond the newest are read as the newest. */
function valueVersion(r: Reader): number {
  const version = r.int16();
  if (r.ok && version < 0) r.fail(`negative value version ${version}`);
  return Math.min(version, newestValueVersion);
}

export function encodeOffsetCommitValue(value: OffsetCommitValue, version: number): Buffer {
  const w = new Writer(64 + value.metadata.length);
  w.int16(version);
  writeOffsetCommitValue(w, { ...value }, version);
  return Buffer.from(w.finish());
}

export function decodeOffsetCommitValue(buf: Buffer): OffsetCommitValue {
  const r = new Reader(buf);
  const version = valueVersion(r);
  const v = readOffsetCommitValue(r, version);
  if (!r.ok) corrupt('offset commit value', r);
  return {
    offset: v.offset,
    leaderEpoch: v.leaderEpoch,
    metadata: v.metadata,
    commitTimestamp: v.commitTimestamp,
    expireTimestamp: v.expireTimestamp,
  };
}

export function encodeGroupMetadataValue(value: GroupMetadataValue, version: number): Buffer {
  const w = new Writer(256);
  w.int16(version);
  const members = value.members.map((m) => ({ ...m }));
  writeGroupMetadataValue(w, { ...value, members }, version);
  return Buffer.from(w.finish());
}

export function decodeGroupMetadataValue(buf: Buffer): GroupMetadataValue {
  const r = new Reader(buf);
  const version = valueVersion(r);
  const v = readGroupMetadataValue(r, version);
  if (!r.ok) corrupt('group metadata value', r);
  const members = v.members.map((m) => ({
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    // Version 0 had no rebalance timeout: Kafka uses the session timeout in its place.
    rebalanceTimeout: version === 0 ? m.sessionTimeout : m.rebalanceTimeout,
    sessionTimeout: m.sessionTimeout,
    // Copies: the loader's input buffers may be reused once replay moves on.
    subscription: Buffer.from(m.subscription),
    assignment: Buffer.from(m.assignment),
  }));
  return {
    protocolType: v.protocolType,
    generation: v.generation,
    protocol: v.protocol,
    leader: v.leader,
    currentStateTimestamp: v.currentStateTimestamp,
    members,
  };
}
