/**
 * What the controller listener's handlers use: the quorum replica behind a RaftRpc. A KRaft
 * controller listens on its own listener with its own handler registry (index.ts), separate
 * from the broker's client-facing one.
 *
 * The dispatcher hands handlers `BrokerServices`; a controller node fills only the members its
 * handlers read (`nodeId`, `clock`, `apiVersions`) plus `raft`, and `raftOf` finds it.
 */
import assert from 'node:assert';
import type { DescribeQuorumPartition, RaftRequest, RaftResponse } from '../../raft/messages.ts';
import type { BrokerServices, RequestContext } from '../handler.ts';

export interface ControllerRaft {
  /** Entries a follower's fetch may return at most. */
  readonly fetchMaxEntries: number;
  /** Hands a peer's request to the replica; its answer, or undefined when none came in time. */
  call(source: number, message: RaftRequest): Promise<RaftResponse | undefined>;
  describeQuorum(): DescribeQuorumPartition;
}

export type ControllerServices = Pick<BrokerServices, 'nodeId' | 'clock' | 'apiVersions'> & {
  readonly raft: ControllerRaft;
};

export function raftOf(ctx: RequestContext): ControllerRaft {
  const raft = (ctx.services as unknown as Partial<ControllerServices>).raft;
  assert.ok(raft, 'a controller handler runs only in a registry whose services carry raft');
  return raft;
}
