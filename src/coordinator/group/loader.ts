/**
 * Rebuilds groups and offsets from the records of one __consumer_offsets partition, replayed
 * in log order: the last record of a key wins and a tombstone erases it, which is the state
 * compaction converges to. A group with members comes back Stable (its members must then
 * heartbeat within their session timeout), one without comes back Empty; offsets whose group
 * has no metadata record belong to a simple group (no protocol type).
 */
import { BrokerError } from '../../util/errors.ts';
import { ClassicGroup, type CommittedOffset } from './classic-group.ts';
import { GroupState } from './group-state.ts';
import { GroupMember } from './member.ts';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeRecordKey,
  type GroupMetadataValue,
  type GroupRecord,
} from './records.ts';

export interface ReplayResult {
  readonly groups: ClassicGroup[];
  /** Records with key versions this coordinator does not know (KIP-848 groups), skipped. */
  readonly unknownRecords: number;
}

type OffsetsByTopic = Map<string, Map<number, CommittedOffset>>;

export async function replayRecords(
  records: Iterable<GroupRecord> | AsyncIterable<GroupRecord>,
  nowMs: number,
): Promise<ReplayResult> {
  const metadata = new Map<string, GroupMetadataValue>();
  const offsets = new Map<string, OffsetsByTopic>();
  let unknownRecords = 0;
  for await (const record of records) {
    const key = decodeRecordKey(record.key);
    if (key.kind === 'unknown') {
      unknownRecords++;
    } else if (key.kind === 'group') {
      if (record.value === null) metadata.delete(key.group);
      else metadata.set(key.group, decodeGroupMetadataValue(record.value));
    } else {
      let byTopic = offsets.get(key.group);
      if (byTopic === undefined) offsets.set(key.group, (byTopic = new Map()));
      let byPartition = byTopic.get(key.topic);
      if (byPartition === undefined) byTopic.set(key.topic, (byPartition = new Map()));
      if (record.value === null) {
        byPartition.delete(key.partition);
        if (byPartition.size === 0) byTopic.delete(key.topic);
      } else {
        const v = decodeOffsetCommitValue(record.value);
        byPartition.set(key.partition, {
          offset: v.offset,
          leaderEpoch: v.leaderEpoch,
          metadata: v.metadata,
          commitTimestampMs: v.commitTimestamp,
          expireTimestampMs: v.expireTimestamp,
          logSequence: 0,
        });
      }
    }
  }
  const groups: ClassicGroup[] = [];
  for (const [groupId, value] of metadata) groups.push(groupFromMetadata(groupId, value, nowMs));
  for (const groupId of offsets.keys()) {
    if (!metadata.has(groupId)) groups.push(new ClassicGroup(groupId, GroupState.Empty, nowMs));
  }
  for (const group of groups) {
    for (const [topic, byPartition] of offsets.get(group.groupId) ?? []) {
      for (const [partition, committed] of byPartition)
        group.setOffset(topic, partition, committed);
    }
  }
  return { groups, unknownRecords };
}

function groupFromMetadata(
  groupId: string,
  value: GroupMetadataValue,
  nowMs: number,
): ClassicGroup {
  const state = value.members.length > 0 ? GroupState.Stable : GroupState.Empty;
  if (state === GroupState.Stable && value.protocol === null) {
    throw new BrokerError('GROUP_RECORD_CORRUPT', `group ${groupId}: members but no protocol`);
  }
  const group = new ClassicGroup(groupId, state, nowMs);
  group.generationId = value.generation;
  group.protocolType = value.protocolType === '' ? undefined : value.protocolType;
  group.protocolName = value.protocol ?? undefined;
  group.leaderId = value.leader ?? undefined;
  group.currentStateTimestampMs =
    value.currentStateTimestamp === -1 ? undefined : value.currentStateTimestamp;
  const seen = new Set<string>();
  for (const m of value.members) {
    // A hostile or damaged log must not break the group's invariants.
    if (seen.has(m.memberId)) {
      throw new BrokerError('GROUP_RECORD_CORRUPT', `group ${groupId}: duplicate member id`);
    }
    seen.add(m.memberId);
    const member = new GroupMember({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeout,
      sessionTimeoutMs: m.sessionTimeout,
      protocolType: value.protocolType,
      protocols: [{ name: value.protocol as string, metadata: m.subscription }],
      assignment: m.assignment,
    });
    group.add(member);
  }
  if (group.leaderId !== undefined && !group.has(group.leaderId) && group.size > 0) {
    group.leaderId = group.members.keys().next().value;
  }
  group.subscribedTopics = group.computeSubscribedTopics();
  return group;
}
