/**
 * Producing to a replicated topic with the load generator (bench/load/pipeline.ts and
 * requests.ts): a client sends each partition to its leader, so a run opens one pipelined
 * connection per leader, each carrying a Produce frame of that leader's partitions; and the
 * failover probe, a producer at a steady rate that follows the leadership of one partition
 * across a SIGKILL.
 */
import { Apis } from '../../protocol/generated/api-table.ts';
import {
  newProduceRequest,
  type ProduceResponse,
} from '../../protocol/generated/apis/00-produce.ts';
import { type BenchCluster, type BenchNode, metadata, sleep } from './cluster-nodes.ts';
import { PipelinedConnection } from './pipeline.ts';
import {
  checkProduceResponse,
  decodeResponse,
  produceVersion,
  recordBatch,
  requestFrame,
} from './requests.ts';

/** A Produce frame carrying `batch` to each of `partitions` of `topic`. */
export function produceFrameFor(
  topic: string,
  partitions: readonly number[],
  batch: Buffer,
  acks: number,
  timeoutMs = 30_000,
): Buffer {
  const request = newProduceRequest();
  request.acks = acks;
  request.timeoutMs = timeoutMs;
  request.topicData = [
    { name: topic, partitionData: partitions.map((index) => ({ index, records: batch })) },
  ];
  return requestFrame(Apis.Produce, produceVersion, 1, request);
}

/** The error code of every partition of a Produce response (0 = acknowledged). */
export function produceErrors(frame: Buffer): number[] {
  const response: ProduceResponse = decodeResponse(Apis.Produce, produceVersion, frame);
  return response.responses.flatMap((t) => t.partitionResponses.map((p) => p.errorCode));
}

export interface SpreadWorkload {
  /** Per leader port: its frame and how many times to send it. */
  readonly legs: readonly { port: number; frame: Buffer; requests: number; records: number }[];
}

/**
 * `bytes` of `batch` to every partition of `topic`, split by leader: each leader gets a frame
 * with its partitions and a share of the requests proportional to how many it leads.
 */
export async function spreadWorkload(
  cluster: BenchCluster,
  topic: string,
  batch: Buffer,
  recordsPerBatch: number,
  acks: number,
  bytes: number,
): Promise<SpreadWorkload> {
  const leaders = await cluster.leaders(topic);
  if (!leaders || leaders.some((l) => l < 0)) throw new Error(`${topic}: no leaders`);
  const byLeader = new Map<number, number[]>();
  leaders.forEach((leader, partition) => {
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition]);
  });
  const batchesTotal = Math.ceil(bytes / batch.length);
  const legs = [...byLeader].map(([leader, partitions]) => {
    const requests = Math.max(1, Math.round(batchesTotal / leaders.length));
    return {
      port: cluster.node(leader).port,
      frame: produceFrameFor(topic, partitions, batch, acks),
      requests,
      records: requests * partitions.length * recordsPerBatch,
    };
  });
  return { legs };
}

/** Records/s of one run: every leg at once, each with `inFlight` requests outstanding. */
export async function produceSpread(w: SpreadWorkload, inFlight: number): Promise<number> {
  const connections = await Promise.all(w.legs.map((leg) => PipelinedConnection.open(leg.port)));
  try {
    const start = process.hrtime.bigint();
    const results = await Promise.all(
      w.legs.map((leg, i) =>
        (connections[i] as PipelinedConnection).run(leg.requests, inFlight, () => leg.frame),
      ),
    );
    const elapsedNs = process.hrtime.bigint() - start;
    results.forEach((result, i) => {
      try {
        checkProduceResponse(result.first);
        checkProduceResponse(result.last);
      } catch (error) {
        throw new Error(`to the leader at port ${w.legs[i]?.port}`, { cause: error });
      }
    });
    const records = w.legs.reduce((sum, leg) => sum + leg.records, 0);
    return records / (Number(elapsedNs) / 1e9);
  } finally {
    for (const connection of connections) connection.close();
  }
}

export interface FailoverResult {
  readonly killedId: number;
  readonly newLeaderId: number;
  /** SIGKILL -> the first acks=-1 answer with no error from the new leader. */
  readonly failoverMs: number;
  /** SIGKILL -> the first Metadata answer (from a live node) naming another leader. */
  readonly leaderKnownMs: number;
  /** Acknowledged writes before the kill (the producer was running steadily). */
  readonly ackedBefore: number;
  /** Failed attempts between the kill and the first acknowledged write. */
  readonly failedAttempts: number;
}

/**
 * Runs a producer of `recordsPerSend` 1 KiB records every `intervalMs` (one send in flight,
 * acks -1) to partition `partition` of `topic`; after `warmupMs` SIGKILLs its leader and
 * measures until the first write the new leader acknowledges. The producer looks the leader up
 * again after every failure, waiting `retryMs` between attempts, as a client with
 * retry.backoff.ms = `retryMs` would (small, so the broker bounds the figure, not the client).
 */
export async function measureFailover(
  cluster: BenchCluster,
  topic: string,
  partition: number,
  opts: {
    intervalMs: number;
    recordsPerSend: number;
    warmupMs: number;
    retryMs: number;
    /** Throws if no write is acknowledged this long after the kill. */
    giveUpMs: number;
  },
): Promise<FailoverResult> {
  const frame = produceFrameFor(
    topic,
    [partition],
    recordBatch(opts.recordsPerSend, 1024, Date.now()),
    -1,
    10_000,
  );
  const leaderOf = async (askPort: number): Promise<number> => {
    const t = (await metadata(askPort, [topic]))?.topics[0];
    const p = t?.partitions.find((x) => x.partitionIndex === partition);
    return p && p.errorCode === 0 ? p.leaderId : -1;
  };
  const first = await leaderOf((cluster.running[0] as BenchNode).port);
  if (first < 0) throw new Error(`${topic}-${partition}: no leader`);
  const killed = cluster.node(first);
  const survivors = cluster.nodes.filter((n) => n.id !== first);

  let leader = first;
  let connection: PipelinedConnection | undefined;
  let killAt: bigint | undefined;
  let leaderKnownAt: bigint | undefined;
  let ackedBefore = 0;
  let failedAttempts = 0;
  let lastFailure = '';
  const started = performance.now();
  const msSinceKill = (t: bigint): number => Number(t - (killAt as bigint)) / 1e6;
  for (;;) {
    if (killAt === undefined && performance.now() - started >= opts.warmupMs) {
      killAt = killed.kill().sentAt;
    }
    const sendAt = performance.now();
    let ok = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      connection ??= await PipelinedConnection.open(cluster.node(leader).port);
      const open = connection;
      // The request's own timeout is 10 s; a broker that never answers fails the attempt.
      timer = setTimeout(() => open.close(), 15_000);
      const result = await connection.run(1, 1, () => frame);
      const codes = produceErrors(result.first!);
      ok = codes.every((code) => code === 0);
      if (!ok) lastFailure = `error ${codes.join(',')} from node ${leader}`;
    } catch (error) {
      lastFailure = `${error instanceof Error ? error.message : error} (node ${leader})`;
      connection?.close();
      connection = undefined;
    } finally {
      clearTimeout(timer);
    }
    const now = process.hrtime.bigint();
    if (ok && killAt === undefined) ackedBefore++;
    if (ok && killAt !== undefined && leader !== first) {
      connection?.close();
      return {
        killedId: first,
        newLeaderId: leader,
        failoverMs: msSinceKill(now),
        leaderKnownMs: msSinceKill(leaderKnownAt ?? now),
        ackedBefore,
        failedAttempts,
      };
    }
    if (ok) {
      await sleep(Math.max(0, opts.intervalMs - (performance.now() - sendAt)));
      continue;
    }
    if (killAt !== undefined) failedAttempts++;
    if (killAt !== undefined && msSinceKill(now) > opts.giveUpMs) {
      throw new Error(
        `${topic}-${partition}: no acknowledged write ${opts.giveUpMs} ms after the kill; ` +
          `last failure: ${lastFailure}`,
      );
    }
    // A failure: ask a live node who leads now (the dead one is still named until fenced).
    await sleep(opts.retryMs);
    for (const node of survivors) {
      const seen = await leaderOf(node.port);
      if (seen >= 0 && seen !== leader) {
        connection?.close();
        connection = undefined;
        leader = seen;
        if (seen !== first && killAt !== undefined) leaderKnownAt ??= process.hrtime.bigint();
      }
      if (seen >= 0) break;
    }
  }
}
