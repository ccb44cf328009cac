/**
 * Drives one fuzzing connection and judges what the broker did with it. The connection sends
 * its frames, then a valid ApiVersions "probe"; it ends when the probe is answered or the
 * broker closes. Then:
 * - every response must answer a request sent, in request order (matched by correlation id),
 *   and decode exactly with that request's API and version;
 * - if the probe was answered, every unanswered request before it must be one that gets no
 *   answer (Produce with acks=0);
 * - a connection still waiting at the deadline may only be waiting on a Fetch (a long poll).
 * Anything else is a finding, reported with the seed frame and mutation that caused it.
 */
import { ApiKey, apiFor } from '../../protocol/generated/api-table.ts';
import type { ProduceRequest } from '../../protocol/generated/apis/00-produce.ts';
import { newApiVersionsRequest } from '../../protocol/generated/apis/18-api-versions.ts';
import { decodeRequestHeader } from '../../protocol/generated/headers.ts';
import { Reader } from '../../protocol/wire/reader.ts';
import type { SeededRandom } from '../../src/util/random.ts';
import { FuzzConnection, sized } from './fuzz-connection.ts';
import { decodeResponse, encodeRequest } from './kafka-wire.ts';

export interface SentFrame {
  readonly bytes: Buffer;
  /** What it is, for a finding's message: seed frame and mutation. */
  readonly label: string;
}

export type Outcome = 'answered' | 'closed' | 'held';

export interface RunResult {
  readonly outcome: Outcome;
  readonly localPort: number;
  readonly responses: number;
  /** Empty when the broker behaved. */
  readonly findings: string[];
}

/**
 * Past this a connection counts as held. Only a Fetch may be (a long poll whose maxWaitMs a
 * mutation raised, up to the broker's cap); anything else that slow is a finding. A connection
 * without a Fetch gets longer: a single bit flip turns CreateTopics' 1 partition into 4,097,
 * whose logs (each created durably) take the node seconds to make, and metadata operations of
 * other connections queue behind them. That is slow work, not a hang; a hang never answers.
 */
const fetchHeldDeadlineMs = 3_000;
const heldDeadlineMs = 20_000;

export function probeFrame(correlationId: number): Buffer {
  const body = {
    ...newApiVersionsRequest(),
    clientSoftwareName: 'probe',
    clientSoftwareVersion: '1',
  };
  return encodeRequest(ApiKey.ApiVersions, 3, body, correlationId);
}

/** Sends `frames` (whole, or cut at random points) and a probe, then judges the result. */
export async function runConnection(
  port: number,
  frames: readonly SentFrame[],
  probeId: number,
  random: SeededRandom,
): Promise<RunResult> {
  const connection = await FuzzConnection.open(port);
  const all = [...frames, { bytes: probeFrame(probeId), label: 'probe' }];
  const stream = Buffer.concat(all.map((f) => sized(f.bytes)));
  let held = false;
  // At the short deadline, a connection still waiting on a Fetch is a long poll: held, fine.
  // One waiting on anything else gets the long deadline (slow work is not a hang).
  let timer = setTimeout(() => {
    if (waitingOnFetch(connection, all)) {
      held = true;
      connection.close();
      return;
    }
    timer = setTimeout(() => {
      held = true;
      connection.close();
    }, heldDeadlineMs - fetchHeldDeadlineMs);
  }, fetchHeldDeadlineMs);
  try {
    for (const piece of cut(stream, random)) await connection.write(piece);
    await connection.waitForFrame((f) => f.length >= 4 && f.readInt32BE(0) === probeId);
  } finally {
    clearTimeout(timer);
  }
  const findings = judge(connection, all, held);
  const answered = connection.frames.some((f) => f.length >= 4 && f.readInt32BE(0) === probeId);
  connection.close();
  const outcome: Outcome = held ? 'held' : answered ? 'answered' : 'closed';
  if (outcome === 'closed' && !connection.closedByBroker)
    findings.push('closed, not by the broker');
  return {
    outcome,
    localPort: connection.localPort,
    responses: connection.frames.length,
    findings,
  };
}

/** Whole most of the time; else cut into a few pieces written one after another. */
function cut(stream: Buffer, random: SeededRandom): Buffer[] {
  if (random.chance(0.6) || stream.length < 2) return [stream];
  const points = new Set<number>();
  for (let i = random.int(1, 6); i > 0; i--) points.add(random.int(1, stream.length - 1));
  const sorted = [...points].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const at of [...sorted, stream.length]) {
    pieces.push(stream.subarray(from, at));
    from = at;
  }
  return pieces;
}

function correlationIdOf(bytes: Buffer): number | undefined {
  return bytes.length >= 8 ? bytes.readInt32BE(4) : undefined;
}

/** Whether a Fetch this connection sent has no response yet. */
function waitingOnFetch(connection: FuzzConnection, sent: readonly SentFrame[]): boolean {
  const answered = new Set(
    connection.frames.map((f) => (f.length >= 4 ? f.readInt32BE(0) : undefined)),
  );
  return sent.some(
    (f) =>
      f.bytes.length >= 8 &&
      f.bytes.readInt16BE(0) === ApiKey.Fetch &&
      !answered.has(correlationIdOf(f.bytes)),
  );
}

function judge(connection: FuzzConnection, sent: readonly SentFrame[], held: boolean): string[] {
  const findings: string[] = [];
  if (connection.badFrame) findings.push(connection.badFrame);
  const answered = new Set<number>();
  let next = 0;
  for (const response of connection.frames) {
    const id = response.length >= 4 ? response.readInt32BE(0) : undefined;
    let index = next;
    while (index < sent.length && correlationIdOf((sent[index] as SentFrame).bytes) !== id) index++;
    const request = sent[index];
    if (request === undefined) {
      findings.push(`a response (correlation id ${id}) answers no request, or is out of order`);
      break;
    }
    answered.add(index);
    next = index + 1;
    const problem = responseProblem(response, request.bytes);
    if (problem) findings.push(`${request.label}: ${problem}`);
  }
  const probeAnswered = answered.has(sent.length - 1);
  for (let i = 0; i < sent.length - 1; i++) {
    const request = sent[i] as SentFrame;
    if (answered.has(i)) continue;
    if (probeAnswered && !isAcksZeroProduce(request.bytes)) {
      findings.push(`${request.label}: skipped without an answer, yet the connection went on`);
    }
  }
  if (held && !sent.some((f, i) => !answered.has(i) && f.bytes.readInt16BE(0) === ApiKey.Fetch)) {
    const waiting = sent.filter((_, i) => !answered.has(i)).map((f) => f.label);
    findings.push(`held past ${heldDeadlineMs} ms with no Fetch waiting (${waiting.join(', ')})`);
  }
  return findings;
}

function responseProblem(response: Buffer, request: Buffer): string | undefined {
  const apiKey = request.readInt16BE(0);
  const version = request.readInt16BE(2);
  if (!apiFor(apiKey)) return `answered an unknown API key ${apiKey}`;
  try {
    decodeResponse(response, apiKey, version);
    return undefined;
  } catch (error) {
    return `response does not decode: ${(error as Error).message}`;
  }
}

/** A request that decodes as a Produce with acks=0: the one request never answered. */
function isAcksZeroProduce(bytes: Buffer): boolean {
  if (bytes.length < 8 || bytes.readInt16BE(0) !== ApiKey.Produce) return false;
  const api = apiFor(ApiKey.Produce);
  const version = bytes.readInt16BE(2);
  if (!api || version < api.minVersion || version > api.maxVersion) return false;
  const reader = new Reader(bytes);
  decodeRequestHeader(reader, api.requestHeaderVersion(version));
  const request = api.decodeRequest(reader, version) as ProduceRequest;
  return reader.ok && request.acks === 0;
}

/** Hex of a frame's start, for a finding's message. */
export function hexOf(bytes: Buffer): string {
  const shown = bytes.subarray(0, 48).toString('hex');
  return bytes.length > 48 ? `${shown}... (${bytes.length} bytes)` : shown;
}
