/** The raft node's command line: voters, ports, defaults, and refusals naming the flag. */
import { describe, expect, it } from 'vitest';
import { parseRaftNodeArgs, parseVoters } from '../../../src/raft-node.ts';

describe('raft node arguments', () => {
  it('parses voters and takes the own port from them unless given', () => {
    const voters = '1@127.0.0.1:19091,2@localhost:19092,3@10.0.0.3:19093';
    const args = parseRaftNodeArgs(['--node-id', '2', '--voters', voters, '--data-dir', '/d']);
    expect([...args.voters.entries()]).toEqual([
      [1, { host: '127.0.0.1', port: 19091 }],
      [2, { host: 'localhost', port: 19092 }],
      [3, { host: '10.0.0.3', port: 19093 }],
    ]);
    expect(args.port).toBe(19092);
    expect(args.stdinControl).toBe(false);
    const explicit = parseRaftNodeArgs([
      ...['--node-id', '1', '--voters', voters, '--data-dir', '/d', '--port', '0'],
      ...['--election-timeout-ms', '300', '--stdin-control'],
    ]);
    expect(explicit.port).toBe(0);
    expect(explicit.electionTimeoutMs).toBe(300);
    expect(explicit.stdinControl).toBe(true);
  });

  it('refuses what it cannot run with, naming the flag', () => {
    const voters = '1@127.0.0.1:1,2@127.0.0.1:2';
    const refuse = (argv: string[], flag: RegExp) =>
      expect(() => parseRaftNodeArgs(argv)).toThrow(flag);
    refuse(['--node-id', '3', '--voters', voters, '--data-dir', '/d'], /--voters must list/);
    refuse(['--node-id', '1', '--voters', voters], /--data-dir/);
    refuse(['--node-id', 'x', '--voters', voters, '--data-dir', '/d'], /--node-id/);
    refuse(
      ['--node-id', '1', '--voters', voters, '--data-dir', '/d', '--log-level', 'loud'],
      /log-level/,
    );
    expect(() => parseVoters('1@nohostport')).toThrow(/bad entry/);
  });
});
