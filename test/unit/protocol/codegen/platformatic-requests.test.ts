/**
 * Requests as a real client writes them (@platformatic/kafka's own request builders, the
 * flexible versions it negotiates), decoded by Brook's generated decoders: every byte must be
 * consumed and the values must be the ones the client was given.
 */

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { apiFor } from '../../../../protocol/generated/api-table.ts';
import { Reader } from '../../../../protocol/wire/reader.ts';

const require = createRequire(import.meta.url);
const clientDir = join(require.resolve('@platformatic/kafka'), '..', 'apis');

interface ClientModule {
  readonly api: { readonly key: number; readonly version: number };
  createRequest(...args: unknown[]): { readonly buffer: Buffer };
}

const TOPIC_ID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const TOPIC_ID_KAFKA = Buffer.from(TOPIC_ID.replaceAll('-', ''), 'hex').toString('base64url');

const cases: [string, unknown[], Record<string, unknown>][] = [
  ['metadata/api-versions-v4.js', ['plt', '1.2.3'], { clientSoftwareName: 'plt' }],
  [
    'metadata/metadata-v12.js',
    [['orders', 'audit'], true, false],
    {
      topics: [
        { topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'orders', unknownTaggedFields: undefined },
        { topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'audit', unknownTaggedFields: undefined },
      ],
      allowAutoTopicCreation: true,
      includeTopicAuthorizedOperations: false,
    },
  ],
  [
    'metadata/find-coordinator-v6.js',
    [0, ['g1', 'g2']],
    { keyType: 0, coordinatorKeys: ['g1', 'g2'] },
  ],
  [
    'consumer/join-group-v9.js',
    [
      'g',
      45000,
      300000,
      '',
      null,
      'consumer',
      [{ name: 'range', metadata: Buffer.from([1, 2]) }],
      null,
    ],
    {
      groupId: 'g',
      sessionTimeoutMs: 45000,
      rebalanceTimeoutMs: 300000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from([1, 2]), unknownTaggedFields: undefined }],
      reason: null,
    },
  ],
  [
    'consumer/sync-group-v5.js',
    ['g', 3, 'm-1', null, 'consumer', 'range', [{ memberId: 'm-1', assignment: Buffer.from([9]) }]],
    {
      generationId: 3,
      protocolName: 'range',
      assignments: [
        { memberId: 'm-1', assignment: Buffer.from([9]), unknownTaggedFields: undefined },
      ],
    },
  ],
  [
    'consumer/heartbeat-v4.js',
    ['g', 3, 'm-1', null],
    { groupId: 'g', generationId: 3, memberId: 'm-1' },
  ],
  [
    'consumer/offset-commit-v9.js',
    [
      'g',
      3,
      'm-1',
      null,
      [
        {
          name: 't',
          partitions: [
            {
              partitionIndex: 2,
              committedOffset: 42n,
              committedLeaderEpoch: 5,
              committedMetadata: 'md',
            },
          ],
        },
      ],
    ],
    {
      generationIdOrMemberEpoch: 3,
      topics: [
        {
          name: 't',
          partitions: [
            {
              partitionIndex: 2,
              committedOffset: 42,
              committedLeaderEpoch: 5,
              commitTimestamp: -1,
              committedMetadata: 'md',
              unknownTaggedFields: undefined,
            },
          ],
          unknownTaggedFields: undefined,
        },
      ],
    },
  ],
  [
    'consumer/offset-fetch-v9.js',
    [
      [
        {
          groupId: 'g',
          memberId: 'm',
          memberEpoch: 7,
          topics: [{ name: 't', partitionIndexes: [0, 1] }],
        },
      ],
      true,
    ],
    { requireStable: true },
  ],
  [
    'consumer/list-offsets-v9.js',
    [
      -1,
      1,
      [{ name: 't', partitions: [{ partitionIndex: 0, currentLeaderEpoch: 4, timestamp: -1n }] }],
    ],
    { replicaId: -1, isolationLevel: 1 },
  ],
  [
    'producer/init-producer-id-v5.js',
    ['tx', 60000, -1n, -1],
    { transactionalId: 'tx', transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 },
  ],
  [
    'consumer/consumer-group-heartbeat-v1.js',
    [
      'g',
      'm',
      0,
      null,
      null,
      300000,
      ['t'],
      null,
      'uniform',
      [{ topicId: TOPIC_ID, partitions: [0, 3] }],
    ],
    {
      groupId: 'g',
      memberEpoch: 0,
      rebalanceTimeoutMs: 300000,
      subscribedTopicNames: ['t'],
      serverAssignor: 'uniform',
      topicPartitions: [
        { topicId: TOPIC_ID_KAFKA, partitions: [0, 3], unknownTaggedFields: undefined },
      ],
    },
  ],
  [
    'consumer/fetch-v17.js',
    [
      500,
      1,
      52428800,
      0,
      0,
      -1,
      [
        {
          topicId: TOPIC_ID,
          partitions: [
            {
              partition: 1,
              currentLeaderEpoch: 2,
              fetchOffset: 100n,
              lastFetchedEpoch: -1,
              partitionMaxBytes: 1048576,
            },
          ],
        },
      ],
      [],
      'rack-a',
    ],
    { maxWaitMs: 500, minBytes: 1, maxBytes: 52428800, sessionEpoch: -1, rackId: 'rack-a' },
  ],
];

describe('Brook decodes requests written by @platformatic/kafka', () => {
  test.each(cases)('%s', async (path, args, expected) => {
    const mod = (await import(join(clientDir, path))) as ClientModule;
    const { key, version } = mod.api;
    const api = apiFor(key);
    expect(api, `api key ${key}`).toBeDefined();
    const bytes = mod.createRequest(...args).buffer;
    const r = new Reader(bytes);
    const decoded = api?.decodeRequest(r, version);
    expect(r.error).toBeUndefined();
    expect(r.remaining).toBe(0);
    expect(decoded).toMatchObject(expected);
  });

  test('a Fetch v17 request carries the topic id and partition fields in place', async () => {
    const mod = (await import(join(clientDir, 'consumer/fetch-v17.js'))) as ClientModule;
    const partition = {
      partition: 1,
      currentLeaderEpoch: 2,
      fetchOffset: 100n,
      lastFetchedEpoch: -1,
      partitionMaxBytes: 1048576,
    };
    const bytes = mod.createRequest(
      500,
      1,
      1,
      0,
      0,
      -1,
      [{ topicId: TOPIC_ID, partitions: [partition] }],
      [],
      '',
    ).buffer;
    const m = apiFor(1)?.decodeRequest(new Reader(bytes), 17) as {
      topics: { topicId: string; partitions: Record<string, unknown>[] }[];
    };
    expect(m.topics[0]?.topicId).toBe(TOPIC_ID_KAFKA);
    expect(m.topics[0]?.partitions[0]).toMatchObject({
      partition: 1,
      currentLeaderEpoch: 2,
      fetchOffset: 100,
      lastFetchedEpoch: -1,
      logStartOffset: -1,
      partitionMaxBytes: 1048576,
    });
  });

  test('Produce v11: client-built record batches come out as zero-copy views', async () => {
    const mod = (await import(join(clientDir, 'producer/produce-v11.js'))) as ClientModule;
    const messages = [
      { topic: 't', partition: 0, key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1n },
      {
        topic: 't',
        partition: 2,
        key: Buffer.from('k2'),
        value: Buffer.alloc(100, 1),
        timestamp: 2n,
      },
    ];
    const bytes = mod.createRequest(-1, 30000, messages, {}).buffer;
    const r = new Reader(bytes);
    const m = apiFor(0)?.decodeRequest(r, 11) as {
      acks: number;
      topicData: { name: string; partitionData: { index: number; records: Buffer | null }[] }[];
    };
    expect(r.remaining).toBe(0);
    expect(m.acks).toBe(-1);
    expect(m.topicData[0]?.name).toBe('t');
    const partitions = m.topicData[0]?.partitionData ?? [];
    expect(partitions.map((p) => p.index)).toEqual([0, 2]);
    for (const p of partitions) {
      expect(p.records?.buffer).toBe(bytes.buffer);
      expect(p.records?.readInt8(16)).toBe(2); // record batch magic v2
    }
  });
});
