/**
 * The quorum's messages survive a trip through the generated Kafka codecs: our type -> wire
 * object -> bytes at each listed version -> wire object -> our type.
 */
import { describe, expect, it } from 'vitest';
import * as wire from '../../../protocol/generated/index.ts';
import { Reader } from '../../../protocol/wire/reader.ts';
import { Writer } from '../../../protocol/wire/writer.ts';
import type { FetchResponse, RaftEntry } from '../../../src/raft/messages.ts';
import * as codec from '../../../src/raft/transport-codec.ts';

function viaBytes<T>(
  message: T,
  version: number,
  encode: (w: Writer, m: T, v: number) => void,
  decode: (r: Reader, v: number) => T,
): T {
  const writer = new Writer();
  encode(writer, message, version);
  const reader = new Reader(writer.finish());
  const decoded = decode(reader, version);
  expect(reader.ok).toBe(true);
  expect(reader.remaining).toBe(0);
  return decoded;
}

const entries: RaftEntry[] = [
  { offset: 10, epoch: 3, kind: 'data', data: new Uint8Array([1, 2]) },
  { offset: 11, epoch: 3, kind: 'data', data: new Uint8Array([3]) },
  { offset: 12, epoch: 4, kind: 'leader-change', data: new Uint8Array(0) },
  { offset: 13, epoch: 4, kind: 'data', data: new Uint8Array([4]) },
];

describe('raft transport codec', () => {
  it('round-trips Vote at v0, v1 and v2, pre-votes only at v2', () => {
    const request = {
      type: 'vote-request' as const,
      clusterId: 'c',
      voterId: 2,
      candidateEpoch: 5,
      candidateId: 1,
      lastOffsetEpoch: 4,
      lastOffset: 99,
      preVote: false,
    };
    const onWire = codec.voteRequestToWire(request);
    const back = viaBytes(onWire, 1, wire.encodeVoteRequest, wire.decodeVoteRequest);
    expect(codec.voteRequestFromWire(back)).toEqual(request);
    const v0 = viaBytes(onWire, 0, wire.encodeVoteRequest, wire.decodeVoteRequest);
    expect(codec.voteRequestFromWire(v0)).toEqual({ ...request, voterId: -1 });
    const pre = { ...request, preVote: true };
    const v2 = viaBytes(
      codec.voteRequestToWire(pre),
      2,
      wire.encodeVoteRequest,
      wire.decodeVoteRequest,
    );
    expect(codec.voteRequestFromWire(v2)).toEqual(pre);
    // v1 cannot carry PreVote: encoding a pre-vote there is our bug, not a silent downgrade.
    expect(() =>
      viaBytes(codec.voteRequestToWire(pre), 1, wire.encodeVoteRequest, wire.decodeVoteRequest),
    ).toThrow();
    const response = {
      type: 'vote-response' as const,
      errorCode: 0 as const,
      leaderId: -1,
      leaderEpoch: 5,
      voteGranted: true,
      preVote: false,
    };
    const r = viaBytes(
      codec.voteResponseToWire(response),
      1,
      wire.encodeVoteResponse,
      wire.decodeVoteResponse,
    );
    expect(codec.voteResponseFromWire(r)).toEqual(response);
    expect(codec.voteResponseFromWire(r, true)).toEqual({ ...response, preVote: true });
  });

  it('round-trips BeginQuorumEpoch and EndQuorumEpoch with preferred successors', () => {
    const begin = {
      type: 'begin-quorum-epoch-request' as const,
      clusterId: 'c',
      voterId: 3,
      leaderId: 1,
      leaderEpoch: 7,
    };
    const b = viaBytes(
      codec.beginQuorumEpochToWire(begin),
      1,
      wire.encodeBeginQuorumEpochRequest,
      wire.decodeBeginQuorumEpochRequest,
    );
    expect(codec.beginQuorumEpochFromWire(b)).toEqual(begin);
    const end = {
      type: 'end-quorum-epoch-request' as const,
      clusterId: 'c',
      leaderId: 1,
      leaderEpoch: 7,
      preferredSuccessors: [3, 2],
    };
    for (const version of [0, 1]) {
      const e = viaBytes(
        codec.endQuorumEpochToWire(end),
        version,
        wire.encodeEndQuorumEpochRequest,
        wire.decodeEndQuorumEpochRequest,
      );
      expect(codec.endQuorumEpochFromWire(e)).toEqual(end);
    }
    const answer = { errorCode: 74 as const, leaderId: 2, leaderEpoch: 8 };
    const a = viaBytes(
      codec.quorumEpochResponseToWire(answer),
      1,
      wire.encodeEndQuorumEpochResponse,
      wire.decodeEndQuorumEpochResponse,
    );
    expect(codec.quorumEpochResponseFromWire('end-quorum-epoch-response', a)).toEqual({
      type: 'end-quorum-epoch-response',
      ...answer,
    });
  });

  it('round-trips Fetch at v17, entries as record batches with a control leader-change', () => {
    const request = {
      type: 'fetch-request' as const,
      clusterId: 'c',
      replicaId: 2,
      currentLeaderEpoch: 4,
      fetchOffset: 10,
      lastFetchedEpoch: 3,
      maxEntries: 50,
    };
    for (const version of [13, 17]) {
      const q = viaBytes(
        codec.fetchRequestToWire(request, 500, version),
        version,
        wire.encodeFetchRequest,
        wire.decodeFetchRequest,
      );
      expect(codec.fetchRequestFromWire(q, 50)).toEqual(request);
    }
    const response: FetchResponse = {
      type: 'fetch-response',
      errorCode: 0,
      highWatermark: 12,
      logStartOffset: 0,
      divergingEpoch: null,
      leaderId: 1,
      leaderEpoch: 4,
      snapshotId: null,
      records: entries,
    };
    const r = viaBytes(
      codec.fetchResponseToWire(response),
      17,
      wire.encodeFetchResponse,
      wire.decodeFetchResponse,
    );
    expect(codec.fetchResponseFromWire(r)).toEqual(response);
    const diverging = { ...response, records: [], divergingEpoch: { epoch: 3, endOffset: 8 } };
    const d = viaBytes(
      codec.fetchResponseToWire(diverging),
      17,
      wire.encodeFetchResponse,
      wire.decodeFetchResponse,
    );
    expect(codec.fetchResponseFromWire(d)).toEqual(diverging);
  });

  it('round-trips FetchSnapshot and maps DescribeQuorum', () => {
    const request = {
      type: 'fetch-snapshot-request' as const,
      clusterId: 'c',
      replicaId: 2,
      currentLeaderEpoch: 4,
      snapshotId: { endOffset: 100, epoch: 3 },
      position: 64,
      maxBytes: 1024,
    };
    const q = viaBytes(
      codec.fetchSnapshotRequestToWire(request),
      1,
      wire.encodeFetchSnapshotRequest,
      wire.decodeFetchSnapshotRequest,
    );
    expect(codec.fetchSnapshotRequestFromWire(q)).toEqual(request);
    const response = {
      type: 'fetch-snapshot-response' as const,
      errorCode: 0 as const,
      snapshotId: { endOffset: 100, epoch: 3 },
      leaderId: 1,
      leaderEpoch: 4,
      size: 3,
      position: 1,
      unalignedRecords: Buffer.from([8, 9]),
    };
    const r = viaBytes(
      codec.fetchSnapshotResponseToWire(response),
      1,
      wire.encodeFetchSnapshotResponse,
      wire.decodeFetchSnapshotResponse,
    );
    expect(codec.fetchSnapshotResponseFromWire(r)).toEqual(response);
    const quorum = codec.describeQuorumResponseToWire({
      errorCode: 0,
      leaderId: 1,
      leaderEpoch: 4,
      highWatermark: 12,
      currentVoters: [
        { replicaId: 1, logEndOffset: 13, lastFetchTimestamp: 5, lastCaughtUpTimestamp: 5 },
      ],
      observers: [],
    });
    const back = viaBytes(
      quorum,
      2,
      wire.encodeDescribeQuorumResponse,
      wire.decodeDescribeQuorumResponse,
    );
    expect(back.topics[0]?.partitions[0]?.currentVoters[0]?.logEndOffset).toBe(13);
  });

  it('rejects wire messages for another partition and damaged record batches', () => {
    const wrong = codec.beginQuorumEpochToWire({
      type: 'begin-quorum-epoch-request',
      clusterId: 'c',
      voterId: 3,
      leaderId: 1,
      leaderEpoch: 7,
    });
    const partition = wrong.topics[0]?.partitions[0];
    if (partition) partition.partitionIndex = 1;
    expect(codec.beginQuorumEpochFromWire(wrong)).toBeUndefined();
    const bytes = codec.encodeEntries(entries);
    expect(codec.decodeEntries(bytes)).toEqual(entries);
    const damaged = Buffer.from(bytes);
    damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 0xff, damaged.length - 1);
    expect(codec.decodeEntries(damaged)).toBeUndefined();
    expect(codec.decodeEntries(bytes.subarray(0, bytes.length - 3))).toBeUndefined();
  });
});
