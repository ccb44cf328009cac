import { describe, expect, it } from 'vitest';
import type { RaftMessage } from '../../../src/raft/messages.ts';
import { Outbox } from '../../../src/raft/outbox.ts';

const ping: RaftMessage = {
  type: 'begin-quorum-epoch-response',
  errorCode: 0,
  leaderId: 1,
  leaderEpoch: 1,
};

describe('Outbox', () => {
  it('holds messages until the quorum state asked before them is durable', () => {
    const outbox = new Outbox(1, 10, { epoch: 0, votedId: -1, leaderId: -1 });
    outbox.request(2, ping);
    outbox.persist({ epoch: 1, votedId: 1, leaderId: -1 });
    outbox.request(3, ping);
    outbox.persist({ epoch: 2, votedId: -1, leaderId: -1 });
    outbox.request(4, ping);
    const first = outbox.take();
    expect(first.messages.map((m) => m.destination)).toEqual([2]);
    expect(first.storage.map((a) => a.kind === 'persist-quorum-state' && a.version)).toEqual([
      1, 2,
    ]);
    expect(outbox.persisted(1)).toBe(true);
    expect(outbox.take().messages.map((m) => m.destination)).toEqual([3]);
    expect(outbox.durableState.epoch).toBe(1);
    expect(outbox.persisted(2)).toBe(true);
    expect(outbox.take().messages.map((m) => m.destination)).toEqual([4]);
    expect(outbox.durableState.epoch).toBe(2);
  });

  it('ignores stale or unknown confirmations', () => {
    const outbox = new Outbox(1, 10, { epoch: 0, votedId: -1, leaderId: -1 });
    outbox.persist({ epoch: 1, votedId: -1, leaderId: -1 });
    expect(outbox.persisted(2)).toBe(false);
    expect(outbox.persisted(1)).toBe(true);
    expect(outbox.persisted(1)).toBe(false);
  });

  it('does not ask to write a state equal to the last one asked for', () => {
    const outbox = new Outbox(1, 10, { epoch: 3, votedId: 2, leaderId: -1 });
    outbox.persist({ epoch: 3, votedId: 2, leaderId: -1 });
    expect(outbox.take().storage).toEqual([]);
  });

  it('drops messages beyond its bound while a write is pending', () => {
    const outbox = new Outbox(1, 2, { epoch: 0, votedId: -1, leaderId: -1 });
    outbox.persist({ epoch: 1, votedId: -1, leaderId: -1 });
    for (let i = 0; i < 5; i++) outbox.request(2, ping);
    outbox.persisted(1);
    expect(outbox.take().messages).toHaveLength(2);
  });

  it('asks for one flush at a time, tagged with the truncation generation', () => {
    const outbox = new Outbox(1, 2, { epoch: 0, votedId: -1, leaderId: -1 });
    outbox.requestFlush(4);
    outbox.requestFlush(4);
    expect(outbox.take().storage).toEqual([{ kind: 'flush-log', generation: 4 }]);
    outbox.flushed();
    outbox.requestFlush(5);
    expect(outbox.take().storage).toEqual([{ kind: 'flush-log', generation: 5 }]);
  });

  it('gives responses the correlation id of their request', () => {
    const outbox = new Outbox(1, 2, { epoch: 0, votedId: -1, leaderId: -1 });
    const id = outbox.request(2, ping);
    outbox.respond({ source: 3, destination: 1, correlationId: 77, message: ping }, ping);
    expect(outbox.take().messages.map((m) => [m.destination, m.correlationId])).toEqual([
      [2, id],
      [3, 77],
    ]);
  });
});
