/** The quorum-state file: Kafka's JSON format, atomic replacement across crashes. */
import { describe, expect, it } from 'vitest';
import {
  decodeQuorumState,
  encodeQuorumState,
  QuorumStateFile,
} from '../../../src/raft/quorum-state-file.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { mkdirDurably } from '../../../storage/io/atomic-file.ts';
import { MemoryFileSystem } from '../../../storage/io/memory-file-system.ts';

describe('quorum-state file', () => {
  it("writes Kafka's QuorumStateData v1 JSON", () => {
    const json = JSON.parse(
      encodeQuorumState({ epoch: 7, votedId: 2, leaderId: 3 }).toString('utf8'),
    );
    expect(json).toEqual({
      leaderId: 3,
      leaderEpoch: 7,
      votedId: 2,
      votedDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
      data_version: 1,
    });
  });

  it('reads a version 0 file as Kafka 3.x wrote it', () => {
    const v0 =
      '{"clusterId":"","leaderId":1,"leaderEpoch":4,"votedId":-1,"appliedOffset":0,' +
      '"currentVoters":[{"voterId":1},{"voterId":2}],"data_version":0}';
    expect(decodeQuorumState(Buffer.from(v0), 'qs')).toEqual({
      epoch: 4,
      votedId: -1,
      leaderId: 1,
    });
  });

  it('refuses damaged content with a BrokerError', () => {
    for (const text of ['{', '[]', '{"data_version":9}', '{"leaderEpoch":"x","data_version":1}']) {
      expect(() => decodeQuorumState(Buffer.from(text), 'qs')).toThrow(
        expect.objectContaining({ code: 'RAFT_QUORUM_STATE_CORRUPT' }),
      );
    }
  });

  it('survives crashes whole: the old state or the new, never a mix', async () => {
    for (let seed = 1; seed <= 50; seed++) {
      let fs = new MemoryFileSystem(new SeededRandom(seed));
      await mkdirDurably(fs, '/meta');
      const file = await QuorumStateFile.open(fs, '/meta');
      expect(file.read()).toBeUndefined();
      await file.write({ epoch: 1, votedId: 1, leaderId: -1 });
      const pending = file.write({ epoch: 2, votedId: -1, leaderId: 3 });
      // Crash while the second write may be anywhere in tmp/fsync/rename.
      const steps = seed % 6;
      for (let i = 0; i < steps; i++) await Promise.resolve();
      fs = fs.crash();
      await pending.catch(() => {});
      const reopened = await QuorumStateFile.open(fs, '/meta');
      expect([1, 2], `seed ${seed}`).toContain(reopened.read()?.epoch);
    }
  });
});
