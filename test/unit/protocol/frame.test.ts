import { describe, expect, test } from 'vitest';
import {
  encodeRequestFrame,
  encodeResponseFrame,
  FRAME_BYTES_MAX_DEFAULT,
  FrameDecoder,
  FrameSizeError,
  readRequestHeader,
  readResponseHeader,
  requestHeaderVersion,
} from '../../../protocol/frame.ts';
import { Apis } from '../../../protocol/generated/api-table.ts';
import { ProtocolDecodeError } from '../../../protocol/wire/decode-error.ts';
import { isFileRegion } from '../../../protocol/wire/file-region.ts';
import { Reader } from '../../../protocol/wire/reader.ts';
import type { Chunk } from '../../../protocol/wire/writer.ts';
import { SeededRandom } from '../../../src/util/random.ts';

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

function join(chunks: Chunk[]): Buffer {
  return Buffer.concat(chunks.map((c) => (isFileRegion(c) ? Buffer.alloc(0) : c)));
}

describe('FrameDecoder', () => {
  const bodies = [Buffer.from('first'), Buffer.alloc(0), Buffer.alloc(300, 9), Buffer.from('z')];
  const stream = Buffer.concat(bodies.map(frame));

  test('a frame inside one chunk comes out as a zero-copy view', () => {
    const d = new FrameDecoder();
    const out = d.push(stream);
    expect(out).toEqual(bodies);
    for (const f of out) expect(f.buffer).toBe(stream.buffer);
    expect(d.bufferedBytes).toBe(0);
  });

  test('every split of the stream into two chunks yields the same frames', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder();
      const out = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(out, `cut at ${cut}`).toEqual(bodies);
    }
  });

  test('random chunkings (seeded) and byte-at-a-time feeding yield the same frames', () => {
    const seed = 0xf4a3e;
    const rnd = new SeededRandom(seed);
    for (let round = 0; round < 200; round++) {
      const d = new FrameDecoder();
      const out: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const n = round === 0 ? 1 : rnd.int(1, 40);
        out.push(...d.push(stream.subarray(at, at + n)));
        at += n;
      }
      expect(out, `seed ${seed} round ${round}`).toEqual(bodies);
    }
  });

  test('a size above the maximum is rejected from its 4 size bytes, before any body', () => {
    const d = new FrameDecoder(1024);
    const ok = frame(Buffer.from('ok'));
    const bad = Buffer.alloc(4);
    bad.writeInt32BE(1025);
    expect(d.push(Buffer.concat([ok, bad]))).toEqual([Buffer.from('ok')]);
    expect(d.error).toBeInstanceOf(FrameSizeError);
    expect(d.error?.code).toBe('ERR_FRAME_SIZE');
    expect(d.error?.sizeBytes).toBe(1025);
    expect(d.bufferedBytes).toBe(0);
    expect(d.push(frame(Buffer.from('later')))).toEqual([]);
  });

  test('a negative size is rejected, also when its bytes arrive one at a time', () => {
    const d = new FrameDecoder();
    for (const b of [0xff, 0xff, 0xff]) expect(d.push(Buffer.from([b]))).toEqual([]);
    expect(d.error).toBeUndefined();
    d.push(Buffer.from([0xfe]));
    expect(d.error?.sizeBytes).toBe(-2);
  });

  test('a size of exactly the maximum is accepted and buffered until complete', () => {
    const d = new FrameDecoder(8);
    const f = frame(Buffer.alloc(8, 1));
    expect(d.push(f.subarray(0, 6))).toEqual([]);
    expect(d.bufferedBytes).toBe(6);
    expect(d.push(f.subarray(6))).toEqual([Buffer.alloc(8, 1)]);
    expect(new FrameDecoder().push(Buffer.alloc(0))).toEqual([]);
    expect(FRAME_BYTES_MAX_DEFAULT).toBe(100 * 1024 * 1024);
  });
});

describe('request headers', () => {
  test('header versions: v2 when flexible, v1 before, v0 for ControlledShutdown v0', () => {
    expect(requestHeaderVersion(Apis.Produce.apiKey, 8)).toBe(1);
    expect(requestHeaderVersion(Apis.Produce.apiKey, 9)).toBe(2);
    expect(requestHeaderVersion(Apis.ControlledShutdown.apiKey, 0)).toBe(0);
    expect(requestHeaderVersion(Apis.ControlledShutdown.apiKey, 1)).toBe(1);
    expect(requestHeaderVersion(Apis.ControlledShutdown.apiKey, 3)).toBe(2);
    expect(requestHeaderVersion(9999, 0)).toBe(1);
  });

  test('a ControlledShutdown v0 header has no client id', () => {
    const body = Buffer.from('0007 0000 0000002a 00000001'.replace(/ /g, ''), 'hex');
    const r = new Reader(body);
    const h = readRequestHeader(r, body);
    expect(h?.headerVersion).toBe(0);
    expect(h?.header.correlationId).toBe(42);
    expect(h?.header.clientId).toBe(''); // absent in v0: the schema default
    expect(r.int32()).toBe(1); // the body follows directly
  });

  test('a frame too short for a header, or a truncated client id, is a decode error', () => {
    for (const hex of ['0012', '0012000300000001', '001200030000000100ff']) {
      const body = Buffer.from(hex, 'hex');
      const r = new Reader(body);
      expect(readRequestHeader(r, body)).toBeUndefined();
      expect(r.error).toBeInstanceOf(ProtocolDecodeError);
    }
  });

  test('a request frame written by encodeRequestFrame reads back through FrameDecoder', () => {
    const m = Apis.Metadata.newRequest();
    m.topics = [
      { topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'orders', unknownTaggedFields: undefined },
    ];
    const bytes = join(encodeRequestFrame(Apis.Metadata, 12, 7, 'brook', m));
    const [body] = new FrameDecoder().push(bytes);
    const r = new Reader(body as Buffer);
    const h = readRequestHeader(r, body as Buffer);
    expect(h?.header).toMatchObject({ requestApiKey: 3, requestApiVersion: 12, correlationId: 7 });
    expect(h?.header.clientId).toBe('brook');
    expect(Apis.Metadata.decodeRequest(r, 12)).toEqual(m);
    expect(r.remaining).toBe(0);
  });
});

describe('response frames', () => {
  test('ApiVersions uses header v0 even in flexible versions', () => {
    const m = Apis.ApiVersions.newResponse();
    const bytes = join(encodeResponseFrame(Apis.ApiVersions, 3, 99, m));
    expect(bytes.readInt32BE(0)).toBe(bytes.length - 4);
    const r = new Reader(bytes, 4);
    expect(readResponseHeader(r, 0).correlationId).toBe(99);
    expect(Apis.ApiVersions.decodeResponse(r, 3)).toEqual(m);
    expect(r.remaining).toBe(0);
  });

  test('a flexible response carries header v1 (an empty tagged-field section)', () => {
    const m = Apis.Metadata.newResponse();
    const bytes = join(encodeResponseFrame(Apis.Metadata, 9, 5, m));
    expect(bytes.subarray(0, 9).toString('hex')).toBe(
      `${(bytes.length - 4).toString(16).padStart(8, '0')}0000000500`,
    );
    const v8 = join(encodeResponseFrame(Apis.Metadata, 8, 5, m));
    const r = new Reader(v8, 4);
    readResponseHeader(r, 0);
    expect(Apis.Metadata.decodeResponse(r, 8)).toEqual(m);
  });

  test('records as a FileRegion stay a chunk of their own in the frame', () => {
    const region = { kind: 'file-region', fd: 3, position: 0, length: 5000, release() {} } as const;
    const m = Apis.Fetch.newResponse();
    m.responses = [
      {
        topic: 't',
        topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
        partitions: [
          {
            partitionIndex: 0,
            errorCode: 0,
            highWatermark: 10,
            lastStableOffset: 10,
            logStartOffset: 0,
            divergingEpoch: { epoch: -1, endOffset: -1, unknownTaggedFields: undefined },
            currentLeader: { leaderId: -1, leaderEpoch: -1, unknownTaggedFields: undefined },
            snapshotId: { endOffset: -1, epoch: -1, unknownTaggedFields: undefined },
            abortedTransactions: null,
            preferredReadReplica: -1,
            records: region,
            unknownTaggedFields: undefined,
          },
        ],
        unknownTaggedFields: undefined,
      },
    ];
    const chunks = encodeResponseFrame(Apis.Fetch, 12, 1, m);
    expect(chunks.filter(isFileRegion)).toEqual([region]);
    const total = chunks.reduce((n, c) => n + c.length, 0);
    expect((chunks[0] as Buffer).readInt32BE(0)).toBe(total - 4);
  });
});
