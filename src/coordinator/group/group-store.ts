/**
 * The durability seam: the coordinator writes its records to a partition of the compacted
 * topic __consumer_offsets through this interface and answers a commit or a sync only once
 * the append has resolved. The broker implements it over its replicated log; tests use an
 * in-memory store that can fail on demand.
 */

import { ErrorCode } from '../../../protocol/errors.ts';
import { BrokerError } from '../../util/errors.ts';
import type { GroupRecord } from './records.ts';

export interface GroupStore {
  /**
   * Appends `records` to partition `partition` of __consumer_offsets, in order, and resolves
   * once they are as durable as the log promises. Rejects with a GroupStoreError carrying the
   * Kafka error the log answered (e.g. NOT_LEADER_OR_FOLLOWER); any other rejection is taken
   * as KAFKA_STORAGE_ERROR.
   */
  append(partition: number, records: readonly GroupRecord[]): Promise<void>;
}

export class GroupStoreError extends BrokerError {
  /** The Kafka error code the log's append failed with. */
  readonly errorCode: number;

  constructor(errorCode: number, message: string, options?: { cause?: unknown }) {
    super('GROUP_STORE_APPEND_FAILED', message, options);
    this.errorCode = errorCode;
  }
}

export function appendErrorCode(reason: unknown): number {
  return reason instanceof GroupStoreError ? reason.errorCode : ErrorCode.KAFKA_STORAGE_ERROR;
}

/**
 * The error a JoinGroup/SyncGroup sees when writing group metadata failed: Kafka 4's mapping
 * (GroupMetadataManager.appendGroupMetadataErrorToResponseError). A write that was not
 * replicated in time (REQUEST_TIMED_OUT) or could not be (NOT_ENOUGH_REPLICAS) sends the
 * client to FindCoordinator again, as a lost leadership does.
 */
export function groupAppendError(logError: number): number {
  switch (logError) {
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return logError;
  }
}

/**
 * The error an OffsetCommit partition sees when writing its offset failed: Kafka's mapping,
 * with Kafka 4's REQUEST_TIMED_OUT -> COORDINATOR_NOT_AVAILABLE (the commit was not
 * replicated within offsets.commit.timeout.ms; the client finds the coordinator and retries).
 */
export function offsetAppendError(logError: number): number {
  switch (logError) {
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    default:
      return logError;
  }
}
