/**
 * Inputs a hostile or broken client can send that must come back as Kafka errors, never as
 * assertion failures: strings too long for the int16-length fields of the group records.
 */
import { expect, test } from 'vitest';
import { ErrorCode } from '../../../../protocol/errors.ts';
import { GroupState } from '../../../../src/coordinator/group/index.ts';
import { harness, joinRequest, syncRequest, track } from './harness.ts';

const tooLong = 'x'.repeat(40_000);

test('a group id or instance id too long to store is INVALID_GROUP_ID', async () => {
  const h = await harness();
  expect((await h.coordinator.join(joinRequest(tooLong))).errorCode).toBe(
    ErrorCode.INVALID_GROUP_ID,
  );
  const instance = await h.coordinator.join(joinRequest('g', { groupInstanceId: tooLong }));
  expect(instance.errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
  const commit = await h.coordinator.commitOffsets({
    groupId: tooLong,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      {
        name: 't',
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: 1,
            committedLeaderEpoch: -1,
            committedMetadata: '',
          },
        ],
      },
    ],
    apiVersion: 8,
  });
  expect(commit.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
  // Read-only APIs answer as for any group that does not exist.
  expect(h.coordinator.describeGroups([tooLong])[0]?.groupState).toBe('Dead');
  expect(h.store.all()).toEqual([]);
});

test('protocol names or type too long are INCONSISTENT_GROUP_PROTOCOL', async () => {
  const h = await harness();
  const name = await h.coordinator.join(
    joinRequest('g', { protocols: [{ name: tooLong, metadata: Buffer.alloc(0) }] }),
  );
  expect(name.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const type = await h.coordinator.join(joinRequest('g', { protocolType: tooLong }));
  expect(type.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
});

test('a maximal client id still yields a member id the record can hold', async () => {
  const h = await harness();
  const clientId = '\u00e9'.repeat(0x7fff / 2 - 1); // two UTF-8 bytes each: just fits
  const join = track(h.coordinator.join(joinRequest('g', { clientId, apiVersion: 3 })));
  h.clock.advance(0);
  const joined = await join.promise;
  expect(joined.errorCode).toBe(ErrorCode.NONE);
  expect(Buffer.byteLength(joined.memberId)).toBeLessThanOrEqual(0x7fff);
  expect(joined.memberId).toMatch(/^\u00e9+-[0-9a-f-]{36}$/);
  const sync = await h.coordinator.sync(syncRequest('g', joined.memberId, 1));
  expect(sync.errorCode).toBe(ErrorCode.NONE);
  expect(h.coordinator.groupState('g')).toBe(GroupState.Stable);
});

test('metadata and topic names too long for the record fail their partition', async () => {
  const h = await harness({ 'offset.metadata.max.bytes': 100_000 });
  const partition = (committedMetadata: string) => ({
    partitionIndex: 0,
    committedOffset: 1,
    committedLeaderEpoch: -1,
    committedMetadata,
  });
  const r = await h.coordinator.commitOffsets({
    groupId: 'g',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      { name: 'a', partitions: [partition(tooLong)] },
      { name: tooLong, partitions: [partition('')] },
      { name: 'b', partitions: [partition('ok')] },
    ],
    apiVersion: 8,
  });
  expect(r.topics.map((t) => t.partitions[0]?.errorCode)).toEqual([
    ErrorCode.OFFSET_METADATA_TOO_LARGE,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.NONE,
  ]);
});
