/**
 * Requests as kafkajs writes them (its own request encoders, the non-flexible versions it
 * speaks), decoded by Brook's generated decoders: every byte consumed, values as given.
 */

import { createRequire } from 'node:module';
import { describe, expect, test } from 'vitest';
import { apiFor } from '../../../../protocol/generated/api-table.ts';
import { Reader } from '../../../../protocol/wire/reader.ts';

const require = createRequire(import.meta.url);

interface KafkajsRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  encode(): Promise<{ readonly buffer: Buffer }>;
}

function request(path: string, args?: unknown): KafkajsRequest {
  const build = require(`kafkajs/src/protocol/requests/${path}/request`) as (
    a?: unknown,
  ) => KafkajsRequest;
  return build(args);
}

const topics = [{ topic: 't', partitions: [{ partition: 3, offset: '42' }] }];

const cases: [string, unknown, Record<string, unknown>][] = [
  ['apiVersions/v2', undefined, {}],
  [
    'metadata/v6',
    { topics: ['a', 'b'], allowAutoTopicCreation: false },
    { allowAutoTopicCreation: false },
  ],
  ['findCoordinator/v2', { coordinatorKey: 'g', coordinatorType: 0 }, { key: 'g', keyType: 0 }],
  [
    'joinGroup/v5',
    {
      groupId: 'g',
      sessionTimeout: 30000,
      rebalanceTimeout: 60000,
      memberId: '',
      protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1]) }],
    },
    {
      groupId: 'g',
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: 60000,
      groupInstanceId: null,
      protocols: [
        {
          name: 'RoundRobinAssigner',
          metadata: Buffer.from([0, 1]),
          unknownTaggedFields: undefined,
        },
      ],
    },
  ],
  [
    'syncGroup/v3',
    {
      groupId: 'g',
      generationId: 2,
      memberId: 'm',
      groupAssignment: [{ memberId: 'm', memberAssignment: Buffer.from([7]) }],
    },
    {
      generationId: 2,
      assignments: [
        { memberId: 'm', assignment: Buffer.from([7]), unknownTaggedFields: undefined },
      ],
    },
  ],
  [
    'heartbeat/v3',
    { groupId: 'g', groupGenerationId: 2, memberId: 'm', groupInstanceId: null },
    { groupId: 'g', generationId: 2, memberId: 'm', groupInstanceId: null },
  ],
  [
    'offsetCommit/v5',
    { groupId: 'g', groupGenerationId: 2, memberId: 'm', topics },
    {
      generationIdOrMemberEpoch: 2,
      topics: [
        {
          name: 't',
          partitions: [
            {
              partitionIndex: 3,
              committedOffset: 42,
              committedLeaderEpoch: -1,
              commitTimestamp: -1,
              committedMetadata: null,
              unknownTaggedFields: undefined,
            },
          ],
          unknownTaggedFields: undefined,
        },
      ],
    },
  ],
  [
    'offsetFetch/v4',
    { groupId: 'g', topics: [{ topic: 't', partitions: [{ partition: 0 }, { partition: 1 }] }] },
    {
      groupId: 'g',
      topics: [{ name: 't', partitionIndexes: [0, 1], unknownTaggedFields: undefined }],
    },
  ],
  [
    'listOffsets/v3',
    {
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ topic: 't', partitions: [{ partition: 0, timestamp: -1 }] }],
    },
    { replicaId: -1, isolationLevel: 1 },
  ],
  [
    'fetch/v11',
    {
      replicaId: -1,
      maxWaitTime: 500,
      minBytes: 1,
      maxBytes: 10485760,
      topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: '7', maxBytes: 1048576 }] }],
      rackId: 'r1',
    },
    {
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      sessionEpoch: -1,
      rackId: 'r1',
    },
  ],
  [
    'initProducerId/v1',
    { transactionalId: 'tx', transactionTimeout: 60000 },
    { transactionalId: 'tx', transactionTimeoutMs: 60000 },
  ],
  [
    'leaveGroup/v3',
    { groupId: 'g', members: [{ memberId: 'm' }] },
    {
      groupId: 'g',
      members: [
        { memberId: 'm', groupInstanceId: null, reason: null, unknownTaggedFields: undefined },
      ],
    },
  ],
];

describe('Brook decodes requests written by kafkajs', () => {
  test.each(cases)('%s', async (path, args, expected) => {
    const req = request(path, args);
    const bytes = (await req.encode()).buffer;
    const r = new Reader(bytes);
    const decoded = apiFor(req.apiKey)?.decodeRequest(r, req.apiVersion);
    expect(r.error).toBeUndefined();
    expect(r.remaining).toBe(0);
    expect(decoded).toMatchObject(expected);
  });

  test('produce/v7: the record batch kafkajs built is kept whole, as a view', async () => {
    const req = request('produce/v7', {
      acks: -1,
      timeout: 30000,
      topicData: [
        {
          topic: 't',
          partitions: [{ partition: 1, messages: [{ key: 'k', value: 'v', timestamp: 1 }] }],
        },
      ],
    });
    const bytes = (await req.encode()).buffer;
    const r = new Reader(bytes);
    const m = apiFor(0)?.decodeRequest(r, 7) as {
      transactionalId: string | null;
      topicData: { name: string; partitionData: { index: number; records: Buffer }[] }[];
    };
    expect(r.remaining).toBe(0);
    expect(m.transactionalId).toBeNull();
    const records = m.topicData[0]?.partitionData[0]?.records as Buffer;
    expect(records.buffer).toBe(bytes.buffer);
    expect(records.readInt8(16)).toBe(2); // magic v2
    expect(records.readInt32BE(8) + 12).toBe(records.length); // batchLength covers the rest
  });
});
