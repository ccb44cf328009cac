/**
 * What the controller listener's handlers use: the quorum replica behind a RaftRpc. A KRaft
 * controller listens on its own listener with its own handler registry (index.ts), separate
 * from the broker's client-facing one.
 *
 * The dispatcher hands handlers `BrokerServices`; a controller node fills only the members its
 * handlers read (`nodeId`, `clock`, `apiVersions`) plus `raft`, and `raftOf` finds it. A node
 * running the KRaft controller also fills `controller` (the ControllerRuntime behind the
 * cluster-management APIs) and `config` (its BrokerConfig: topic-config defaults, the quorum's
 * voters); `withController` wraps those handlers, answering NOT_CONTROLLER unless active.
 */
import assert from 'node:assert';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { BrokerConfig } from '../../config/catalogue.ts';
import type { ControllerRuntime } from '../../controller/controller-runtime.ts';
import type { DescribeQuorumPartition, RaftRequest, RaftResponse } from '../../raft/messages.ts';
import type { BrokerServices, Handler, RequestContext } from '../handler.ts';

export interface ControllerRaft {
  /** Entries a follower's fetch may return at most. */
  readonly fetchMaxEntries: number;
  /** Hands a peer's request to the replica; its answer, or undefined when none came in time. */
  call(source: number, message: RaftRequest): Promise<RaftResponse | undefined>;
  describeQuorum(): DescribeQuorumPartition;
}

export type ControllerServices = Pick<BrokerServices, 'nodeId' | 'clock' | 'apiVersions'> & {
  readonly raft: ControllerRaft;
  /** The controller runtime; absent on a quorum member that runs none (src/raft-node.ts). */
  readonly controller?: ControllerRuntime;
  /** Required with `controller`. */
  readonly config?: BrokerConfig;
};

export function raftOf(ctx: RequestContext): ControllerRaft {
  const raft = (ctx.services as unknown as Partial<ControllerServices>).raft;
  assert.ok(raft, 'a controller handler runs only in a registry whose services carry raft');
  return raft;
}

export interface ControllerContext {
  readonly controller: ControllerRuntime;
  readonly config: BrokerConfig;
}

type WithErrorResponse<Req, Res> = Omit<Handler<Req, Res>, 'handle'> & {
  handle(
    ctx: RequestContext,
    request: Req,
    version: number,
    controller: ControllerContext,
  ): Res | Promise<Res>;
  errorResponse(request: Req, version: number, errorCode: number): Res;
};

/**
 * A cluster-management handler of the controller listener: it runs only on the active
 * controller; anywhere else (a standby, a node without a controller) the answer is
 * NOT_CONTROLLER wherever the API reports errors, and the sender retries on the active one.
 */
export function withController<Req, Res>(handler: WithErrorResponse<Req, Res>): Handler<Req, Res> {
  return {
    ...handler,
    handle(ctx, request, version) {
      const services = ctx.services as unknown as Partial<ControllerServices>;
      const controller = services.controller;
      if (!controller?.isActive) {
        return handler.errorResponse(request, version, ErrorCode.NOT_CONTROLLER);
      }
      assert.ok(services.config, 'a controller registry with a runtime also carries its config');
      return handler.handle(ctx, request, version, { controller, config: services.config });
    },
  };
}
