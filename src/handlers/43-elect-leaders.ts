/**
 * ElectLeaders (key 43) on the broker listener, versions 0-2 (kafka-leader-election.sh,
 * AdminClient.electLeaders).
 *
 * Behavior:
 * - Cluster mode: forwarded as it came to the active controller (ElectLeaders v2 through the
 *   broker's controller channel, src/node), whose answer waits for the commit of the new
 *   leaders (src/handlers/controller/43-elect-leaders.ts); a channel that gives up (no
 *   controller before its deadline) is REQUEST_TIMED_OUT.
 * - Single node: this node is every partition's only replica, so its preferred leader and
 *   already its leader: ELECTION_NOT_NEEDED per named partition (PREFERRED and UNCLEAN
 *   alike, as Kafka's controller answers a partition whose leader is the one it would pick);
 *   an unknown topic or partition UNKNOWN_TOPIC_OR_PARTITION. Asked for every partition
 *   (topicPartitions null), Kafka reports only what it elected or failed to: here nothing.
 * - An election type other than PREFERRED (0) or UNCLEAN (1): INVALID_REQUEST.
 *
 * Version notes: v0 preferred only and no top-level error (a refusal is reported per
 * partition); v1 electionType and the top-level error; v2 flexible.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/api-catalogue.ts';
import { Apis } from '../../protocol/generated/api-table.ts';
import {
  type ElectLeadersRequest,
  type ElectLeadersResponse,
  type ElectLeadersResponsePartitionResult,
  newElectLeadersResponse,
} from '../../protocol/generated/apis/43-elect-leaders.ts';
import type { ClusterMetadata, ControllerRequester } from '../metadata/cluster-metadata.ts';
import { refusedElections } from './controller/topic-requests.ts';
import { dataOf, withDataPath } from './data-path-handler.ts';
import { defineHandler, type RequestContext } from './handler.ts';

/** Kafka's ElectionType. */
const PREFERRED = 0;
const UNCLEAN = 1;
/** The version sent to the controller: the one with a top-level error to read. */
const FORWARD_VERSION = 2;

/**
 * ClusterMetadata's channel to the active controller (its `forwardToController` getter, in
 * cluster mode only). Read structurally so this file compiles against a ClusterMetadata
 * without the getter, which then counts as having no channel.
 */
interface ControllerForwarding {
  readonly forwardToController?: ControllerRequester | undefined;
}

export function controllerChannelOf(cluster: ClusterMetadata): ControllerRequester | undefined {
  return (cluster as ControllerForwarding).forwardToController;
}

export async function handleElectLeaders(
  ctx: RequestContext,
  request: ElectLeadersRequest,
  version: number,
): Promise<ElectLeadersResponse> {
  const cluster = dataOf(ctx).cluster;
  if (!cluster.isClusterMode) return electOnSingleNode(cluster, request, version);
  const channel = controllerChannelOf(cluster);
  if (!channel) return refusedElections(request, version, ErrorCode.NOT_CONTROLLER);
  let response: ElectLeadersResponse;
  try {
    // v0 decodes with electionType 0, PREFERRED, which is what v0 means: v2 carries it.
    response = await channel.send(Apis.ElectLeaders, FORWARD_VERSION, request);
  } catch (error) {
    ctx.logger.warn({ err: error }, 'ElectLeaders: no answer from the controller');
    return refusedElections(request, version, ErrorCode.REQUEST_TIMED_OUT);
  }
  if (response.errorCode !== ErrorCode.NONE)
    return refusedElections(request, version, response.errorCode);
  return response;
}

function electOnSingleNode(
  cluster: ClusterMetadata,
  request: ElectLeadersRequest,
  version: number,
): ElectLeadersResponse {
  if (request.electionType !== PREFERRED && request.electionType !== UNCLEAN) {
    return refusedElections(request, version, ErrorCode.INVALID_REQUEST);
  }
  const response = newElectLeadersResponse();
  // Every partition here has one replica, this node, and it leads: nothing to elect, and
  // asked for every partition the answer leaves out those that needed no election.
  for (const { topic: name, partitions } of request.topicPartitions ?? []) {
    const topic = cluster.topic(name);
    const partitionResult: ElectLeadersResponsePartitionResult[] = partitions.map((partitionId) => {
      const partition = topic?.partitions[partitionId];
      const errorCode = !partition
        ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        : electionNeeded(request.electionType, partition);
      return { partitionId, errorCode, errorMessage: null };
    });
    response.replicaElectionResults.push({ topic: name, partitionResult });
  }
  return response;
}

/** What the controller would answer for a partition it cannot change (one replica). */
function electionNeeded(
  electionType: number,
  partition: { readonly leaderId: number; readonly replicaNodes: readonly number[] },
): number {
  if (electionType === PREFERRED) {
    return partition.leaderId === partition.replicaNodes[0]
      ? ErrorCode.ELECTION_NOT_NEEDED
      : ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE;
  }
  return partition.leaderId >= 0
    ? ErrorCode.ELECTION_NOT_NEEDED
    : ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE;
}

export const electLeadersHandler = defineHandler<ElectLeadersRequest, ElectLeadersResponse>(
  withDataPath({
    apiKey: ApiKey.ElectLeaders,
    minVersion: 0,
    maxVersion: 2,
    handle: handleElectLeaders,
    errorResponse: refusedElections,
  }),
);
