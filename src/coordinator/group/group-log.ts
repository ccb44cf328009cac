/**
 * Turns group and offset changes into __consumer_offsets records and appends them through the
 * GroupStore, mapping an append failure to the error Kafka answers for it.
 */
import assert from 'node:assert/strict';
import type { ClassicGroup, CommittedOffset } from './classic-group.ts';
import { appendErrorCode, type GroupStore, groupAppendError } from './group-store.ts';
import { partitionForGroup } from './partition-for.ts';
import {
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupRecord,
  groupMetadataValueVersion,
  offsetCommitValueVersion,
} from './records.ts';

export class GroupLog {
  readonly #store: GroupStore;
  readonly #numPartitions: number;

  constructor(store: GroupStore, numPartitions: number) {
    this.#store = store;
    this.#numPartitions = numPartitions;
  }

  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.#numPartitions);
  }

  /** Appends; resolves to the log's Kafka error code (0 on success), never rejects. */
  async append(groupId: string, records: readonly GroupRecord[]): Promise<number> {
    try {
      await this.#store.append(this.partitionFor(groupId), records);
      return 0;
    } catch (reason) {
      return appendErrorCode(reason);
    }
  }

  /** Writes the group's metadata with `assignment`; resolves to the JoinGroup/SyncGroup error. */
  async storeGroup(group: ClassicGroup, assignment: ReadonlyMap<string, Buffer>): Promise<number> {
    const record = groupMetadataRecord(group, assignment);
    return groupAppendError(await this.append(group.groupId, [record]));
  }
}

export function groupMetadataRecord(
  group: ClassicGroup,
  assignment: ReadonlyMap<string, Buffer>,
): GroupRecord {
  const protocol = group.protocolName ?? null;
  assert(group.size === 0 || protocol !== null, 'non-empty group metadata needs a protocol');
  const members = [...group.members.values()].map((m) => ({
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    rebalanceTimeout: m.rebalanceTimeoutMs,
    sessionTimeout: m.sessionTimeoutMs,
    subscription: m.metadata(protocol as string),
    assignment: assignment.get(m.memberId) ?? Buffer.alloc(0),
  }));
  const value = encodeGroupMetadataValue(
    {
      protocolType: group.protocolType ?? '',
      generation: group.generationId,
      protocol,
      leader: group.leaderId ?? null,
      currentStateTimestamp: group.currentStateTimestampMs ?? -1,
      members,
    },
    groupMetadataValueVersion,
  );
  return { key: encodeGroupMetadataKey(group.groupId), value };
}

export function offsetCommitRecord(
  groupId: string,
  topic: string,
  partition: number,
  committed: CommittedOffset,
): GroupRecord {
  // Kafka writes value version 1 only to carry an explicit expire timestamp.
  const version = committed.expireTimestampMs >= 0 ? 1 : offsetCommitValueVersion;
  const value = encodeOffsetCommitValue(
    {
      offset: committed.offset,
      leaderEpoch: committed.leaderEpoch,
      metadata: committed.metadata,
      commitTimestamp: committed.commitTimestampMs,
      expireTimestamp: committed.expireTimestampMs,
    },
    version,
  );
  return { key: encodeOffsetCommitKey(groupId, topic, partition), value };
}

export function offsetTombstone(groupId: string, topic: string, partition: number): GroupRecord {
  return { key: encodeOffsetCommitKey(groupId, topic, partition), value: null };
}

export function groupTombstone(groupId: string): GroupRecord {
  return { key: encodeGroupMetadataKey(groupId), value: null };
}
