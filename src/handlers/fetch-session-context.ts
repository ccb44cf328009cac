/**
 * How one Fetch request uses the incremental fetch sessions of replication/fetch-sessions.ts
 * (Kafka's FetchManager.newContext): which partitions it reads, under which session, and which
 * partitions its response carries.
 *
 * - epoch -1: sessionless full fetch; a named session is closed first.
 * - epoch 0: full fetch that opens a session (a named one is replaced); when no slot is free
 *   or it names too many partitions, it runs sessionless (answer id 0).
 * - epoch > 0: incremental: the session must exist (else FETCH_SESSION_ID_NOT_FOUND) and
 *   expect this epoch (else INVALID_FETCH_SESSION_EPOCH); the request's partitions are added
 *   or updated, its forgotten ones removed, and every session partition is read. The answer
 *   lists only partitions with records, an error, a divergence (KIP-320), or a high watermark
 *   / log start offset that differs from what the client was last told. A follower's
 *   lastFetchedEpoch and logStartOffset are kept with its session partitions, so one it
 *   leaves out of an incremental request is still checked for divergence.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import type { FetchRequest, FetchResponse } from '../../protocol/generated/apis/01-fetch.ts';
import { isFileRegion } from '../../protocol/wire/file-region.ts';
import {
  FETCH_SESSION_PARTITIONS_MAX,
  type FetchSession,
  type FetchSessionCache,
  type SessionPartition,
  sessionKey,
} from '../replication/fetch-sessions.ts';

type RequestTopic = FetchRequest['topics'][number];
type PartitionData = FetchResponse['responses'][number]['partitions'][number];

/**
 * What a follower's session partition also carries (KIP-320's lastFetchedEpoch, its log start),
 * kept beside the cache's entry so a partition left out of an incremental request is still
 * checked for divergence with the epoch it last named.
 */
const replicaFields = new WeakMap<
  SessionPartition,
  { lastFetchedEpoch: number; logStartOffset: number }
>();

const FINAL_EPOCH = -1;
const INITIAL_EPOCH = 0;

export type FetchContext =
  | { readonly kind: 'error'; readonly errorCode: number }
  | {
      readonly kind: 'fetch';
      /** The partitions to read, grouped by topic in request (or session) order. */
      readonly topics: readonly RequestTopic[];
      readonly session: FetchSession | undefined;
      readonly incremental: boolean;
    };

export function fetchContext(
  sessions: FetchSessionCache,
  request: FetchRequest,
  version: number,
): FetchContext {
  const { sessionId, sessionEpoch } = request;
  const byId = version >= 13;
  if (sessionEpoch === FINAL_EPOCH || sessionEpoch === INITIAL_EPOCH) {
    if (sessionId !== 0) sessions.remove(sessionId);
    if (sessionEpoch === FINAL_EPOCH) {
      return { kind: 'fetch', topics: request.topics, session: undefined, incremental: false };
    }
    const count = request.topics.reduce((n, t) => n + t.partitions.length, 0);
    const session = count <= FETCH_SESSION_PARTITIONS_MAX ? sessions.create() : undefined;
    if (session) addPartitions(session, request.topics, byId);
    return { kind: 'fetch', topics: request.topics, session, incremental: false };
  }
  const session = sessions.get(sessionId);
  if (!session) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
  if (session.nextEpoch !== sessionEpoch) {
    return { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
  }
  addPartitions(session, request.topics, byId);
  for (const forgotten of request.forgottenTopicsData) {
    for (const partition of forgotten.partitions) {
      session.partitions.delete(sessionKey(byId, forgotten.topic, forgotten.topicId, partition));
    }
  }
  if (session.partitions.size > FETCH_SESSION_PARTITIONS_MAX) {
    sessions.remove(session.id);
    return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
  }
  session.advanceEpoch(sessions.nowMs());
  return { kind: 'fetch', topics: topicsOf(session), session, incremental: true };
}

function addPartitions(session: FetchSession, topics: readonly RequestTopic[], byId: boolean) {
  for (const t of topics) {
    for (const p of t.partitions) {
      const key = sessionKey(byId, t.topic, t.topicId, p.partition);
      const known = session.partitions.get(key);
      const fields = { lastFetchedEpoch: p.lastFetchedEpoch, logStartOffset: p.logStartOffset };
      if (known) {
        known.fetchOffset = p.fetchOffset;
        known.partitionMaxBytes = p.partitionMaxBytes;
        known.currentLeaderEpoch = p.currentLeaderEpoch;
        replicaFields.set(known, fields);
        continue;
      }
      const added: SessionPartition = {
        topic: t.topic,
        topicId: t.topicId,
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        partitionMaxBytes: p.partitionMaxBytes,
        currentLeaderEpoch: p.currentLeaderEpoch,
        sentHighWatermark: -1,
        sentLogStartOffset: -1,
      };
      session.partitions.set(key, added);
      replicaFields.set(added, fields);
    }
  }
}

/** The session's partitions as request topics (consecutive partitions of a topic grouped). */
function topicsOf(session: FetchSession): RequestTopic[] {
  const out: RequestTopic[] = [];
  for (const p of session.partitions.values()) {
    let last = out.at(-1);
    if (!last || last.topic !== p.topic || last.topicId !== p.topicId) {
      last = { topic: p.topic, topicId: p.topicId, partitions: [] };
      out.push(last);
    }
    const fields = replicaFields.get(p);
    last.partitions.push({
      partition: p.partition,
      currentLeaderEpoch: p.currentLeaderEpoch,
      fetchOffset: p.fetchOffset,
      lastFetchedEpoch: fields?.lastFetchedEpoch ?? -1,
      logStartOffset: fields?.logStartOffset ?? -1,
      partitionMaxBytes: p.partitionMaxBytes,
      replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
    });
  }
  return out;
}

/**
 * Stamps the session id on the response, keeps only partitions with news when incremental,
 * and remembers what the client was told.
 */
export function finishResponse(
  context: Extract<FetchContext, { kind: 'fetch' }>,
  response: FetchResponse,
  version: number,
): FetchResponse {
  const { session } = context;
  response.sessionId = session?.id ?? 0;
  if (!session) return response;
  const byId = version >= 13;
  for (const topic of response.responses) {
    topic.partitions = topic.partitions.filter((data) => {
      const key = sessionKey(byId, topic.topic, topic.topicId, data.partitionIndex);
      const known = session.partitions.get(key);
      const news = !context.incremental || !known || hasNews(known, data);
      if (news && known) {
        known.sentHighWatermark = data.highWatermark;
        known.sentLogStartOffset = data.logStartOffset;
      }
      return news;
    });
  }
  response.responses = response.responses.filter((t) => t.partitions.length > 0);
  return response;
}

function hasNews(known: SessionPartition, data: PartitionData): boolean {
  const records = data.records;
  const size = records === null ? 0 : isFileRegion(records) ? records.length : records.length;
  const diverged = data.divergingEpoch.epoch >= 0 || data.divergingEpoch.endOffset >= 0;
  return (
    size > 0 ||
    data.errorCode !== ErrorCode.NONE ||
    diverged ||
    data.highWatermark !== known.sentHighWatermark ||
    data.logStartOffset !== known.sentLogStartOffset
  );
}
