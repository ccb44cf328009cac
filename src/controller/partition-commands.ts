/**
 * AlterPartition (a leader shrinking or expanding its ISR, or reporting recovery) and
 * ElectLeaders (preferred or unclean elections on request), after Kafka's
 * ReplicationControlManager.
 *
 * AlterPartition is checked in Kafka's order: the sender's broker epoch (STALE_BROKER_EPOCH),
 * then per partition its leader epoch (FENCED_LEADER_EPOCH), that the sender leads it
 * (INVALID_REQUEST), the partition epoch (INVALID_UPDATE_VERSION: the leader decided on an old
 * ISR), the shape of the new ISR (INVALID_REQUEST) and that every new member is registered,
 * unfenced, not shutting down and, when epochs are sent, at that broker epoch
 * (INELIGIBLE_REPLICA).
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { newElectLeadersResponse } from '../../protocol/generated/apis/43-elect-leaders.ts';
import {
  newAlterPartitionResponse,
  newAlterPartitionResponsePartitionData,
} from '../../protocol/generated/apis/56-alter-partition.ts';
import type {
  AlterPartitionRequest,
  AlterPartitionRequestPartitionData,
  AlterPartitionResponse,
  AlterPartitionResponsePartitionData,
  ElectLeadersRequest,
  ElectLeadersResponse,
  ElectLeadersResponsePartitionResult,
} from '../../protocol/generated/index.ts';
import { ZERO_UUID } from '../../protocol/wire/codec-support.ts';
import { LeaderRecoveryState, NO_LEADER } from './controller-record.ts';
import type { PartitionState, TopicState } from './controller-state.ts';
import { changePartition, type Decision, uncleanAllowed } from './decision.ts';
import { Election } from './partition-change.ts';

export function alterPartition(
  decision: Decision,
  request: AlterPartitionRequest,
): AlterPartitionResponse {
  const response = newAlterPartitionResponse();
  const broker = decision.state.broker(request.brokerId);
  if (!broker || broker.epoch !== request.brokerEpoch) {
    response.errorCode = ErrorCode.STALE_BROKER_EPOCH;
    return response;
  }
  for (const topicData of request.topics) {
    const byId = topicData.topicId !== ZERO_UUID;
    const topic = byId
      ? decision.state.topic(topicData.topicId)
      : decision.state.topicByName(topicData.topicName);
    const partitions = topicData.partitions.map((data) => {
      if (!topic) {
        const missing = newAlterPartitionResponsePartitionData();
        missing.partitionIndex = data.partitionIndex;
        missing.errorCode = byId
          ? ErrorCode.UNKNOWN_TOPIC_ID
          : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        return missing;
      }
      return alterOne(decision, request.brokerId, topic, data);
    });
    response.topics.push({
      topicName: topicData.topicName,
      topicId: topicData.topicId,
      partitions,
    });
  }
  return response;
}

function alterOne(
  decision: Decision,
  brokerId: number,
  topic: TopicState,
  data: AlterPartitionRequestPartitionData,
): AlterPartitionResponsePartitionData {
  const out = newAlterPartitionResponsePartitionData();
  out.partitionIndex = data.partitionIndex;
  const partition = topic.partitions[data.partitionIndex];
  if (!partition) {
    out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return out;
  }
  const newIsr =
    data.newIsrWithEpochs.length > 0 ? data.newIsrWithEpochs.map((b) => b.brokerId) : data.newIsr;
  out.errorCode = alterProblem(decision, brokerId, partition, data, newIsr);
  if (out.errorCode !== ErrorCode.NONE) return out;
  changePartition(decision, partition, {
    isr: newIsr,
    uncleanAllowed: false,
    leaderRecoveryState: data.leaderRecoveryState,
  });
  const after = decision.state.partition(partition.topicId, partition.partitionId) ?? partition;
  out.leaderId = after.leader;
  out.leaderEpoch = after.leaderEpoch;
  out.isr = [...after.isr];
  out.leaderRecoveryState = after.leaderRecoveryState;
  out.partitionEpoch = after.partitionEpoch;
  return out;
}

function alterProblem(
  decision: Decision,
  brokerId: number,
  partition: PartitionState,
  data: AlterPartitionRequestPartitionData,
  newIsr: readonly number[],
): number {
  if (data.leaderEpoch !== partition.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  if (partition.leader !== brokerId) return ErrorCode.INVALID_REQUEST;
  if (data.partitionEpoch !== partition.partitionEpoch) return ErrorCode.INVALID_UPDATE_VERSION;
  const recovery = data.leaderRecoveryState;
  if (recovery !== LeaderRecoveryState.RECOVERED && recovery !== LeaderRecoveryState.RECOVERING) {
    return ErrorCode.INVALID_REQUEST;
  }
  // A recovered leader cannot go back to recovering, nor a recovering one grow its ISR.
  if (recovery === LeaderRecoveryState.RECOVERING) {
    if (partition.leaderRecoveryState === LeaderRecoveryState.RECOVERED) {
      return ErrorCode.INVALID_REQUEST;
    }
    if (newIsr.length > 1) return ErrorCode.INVALID_REQUEST;
  }
  if (new Set(newIsr).size !== newIsr.length || !newIsr.includes(brokerId)) {
    return ErrorCode.INVALID_REQUEST;
  }
  if (newIsr.some((id) => !partition.replicas.includes(id))) return ErrorCode.INVALID_REQUEST;
  for (const id of newIsr) {
    if (!decision.state.isActive(id)) return ErrorCode.INELIGIBLE_REPLICA;
    const sent = data.newIsrWithEpochs.find((b) => b.brokerId === id);
    if (sent && sent.brokerEpoch !== -1 && sent.brokerEpoch !== decision.state.broker(id)?.epoch) {
      return ErrorCode.INELIGIBLE_REPLICA;
    }
  }
  return ErrorCode.NONE;
}

/** Kafka's ElectionType. */
export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

export function electLeaders(
  decision: Decision,
  request: ElectLeadersRequest,
): ElectLeadersResponse {
  const response = newElectLeadersResponse();
  if (
    request.electionType !== ElectionType.PREFERRED &&
    request.electionType !== ElectionType.UNCLEAN
  ) {
    response.errorCode = ErrorCode.INVALID_REQUEST;
    return response;
  }
  const all = request.topicPartitions === null;
  const wanted =
    request.topicPartitions ??
    [...decision.state.topics()].map((t) => ({
      topic: t.name,
      partitions: t.partitions.map((p) => p.partitionId),
    }));
  for (const { topic: name, partitions } of wanted) {
    const topic = decision.state.topicByName(name);
    const results: ElectLeadersResponsePartitionResult[] = [];
    for (const partitionId of partitions) {
      const errorCode = electOne(decision, request.electionType, topic, partitionId);
      // Asked for everything, Kafka reports only what it elected or failed to.
      if (all && errorCode === ErrorCode.ELECTION_NOT_NEEDED) continue;
      results.push({ partitionId, errorCode, errorMessage: null });
    }
    if (results.length > 0) {
      response.replicaElectionResults.push({ topic: name, partitionResult: results });
    }
  }
  return response;
}

function electOne(
  decision: Decision,
  electionType: number,
  topic: TopicState | undefined,
  partitionId: number,
): number {
  const partition = topic?.partitions[partitionId];
  if (!topic || !partition) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  if (electionType === ElectionType.PREFERRED) {
    const preferred = partition.replicas[0];
    if (partition.leader === preferred) return ErrorCode.ELECTION_NOT_NEEDED;
    if (
      preferred === undefined ||
      !partition.isr.includes(preferred) ||
      !decision.state.isActive(preferred)
    ) {
      return ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE;
    }
    changePartition(decision, partition, {
      election: Election.PREFERRED,
      uncleanAllowed: uncleanAllowed(decision, topic.name),
    });
    return ErrorCode.NONE;
  }
  if (partition.leader !== NO_LEADER) return ErrorCode.ELECTION_NOT_NEEDED;
  changePartition(decision, partition, { uncleanAllowed: true });
  const after = decision.state.partition(partition.topicId, partitionId);
  return after?.leader === NO_LEADER ? ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE : ErrorCode.NONE;
}
