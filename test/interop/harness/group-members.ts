/**
 * Consumer-group members of every client, each its own process (so a test can SIGKILL one),
 * all speaking the same JSON lines: `assigned` / `revoked` {partitions, t} (incremental: a
 * member holds what it was assigned and not revoked since), `record` {partition, offset,
 * value, t} once the record is processed and its offset committed, `error`, and `closed` after
 * a clean leave, which each does when its stdin ends. `t` is wall-clock milliseconds.
 */
import { join } from 'node:path';
import {
  type ClientName,
  interopDir,
  pythonBin,
  pythonDir,
  requireClient,
  saramaBin,
} from './clients.ts';
import type { JsonLine } from './json-lines.ts';
import { LiveDriver } from './live-driver.ts';

export const groupClients = [
  'kafkajs',
  'platformatic',
  'confluent-js',
  'confluent-python',
  'kafka-python',
  'sarama',
  'kcat',
] as const;
export type GroupClient = (typeof groupClients)[number];

/**
 * Assignors by their protocol names ('sticky' is the eager sticky assignor); which client
 * offers which is `assignorsOf`.
 */
export type Assignor = 'range' | 'roundrobin' | 'sticky' | 'cooperative-sticky';

export const assignorsOf: Record<GroupClient, readonly Assignor[]> = {
  kafkajs: ['roundrobin'],
  // @platformatic/kafka's only built-in assignor is a round-robin one.
  platformatic: ['roundrobin'],
  'confluent-js': ['range', 'roundrobin', 'cooperative-sticky'],
  'confluent-python': ['range', 'roundrobin', 'cooperative-sticky'],
  // kafka-python 2.0.2's sticky assignor crashes the client when a member rejoins.
  'kafka-python': ['range', 'roundrobin'],
  // sarama 1.22.1 (Debian's) has no sticky strategy yet.
  sarama: ['range', 'roundrobin'],
  // kcat commits every 5 s whatever auto.commit.interval.ms says, so each batch waits that
  // long for its commits: one eager and one cooperative run keep the suite short.
  kcat: ['range', 'cooperative-sticky'],
};

/** The installed client each member needs, for `skipWithout`. */
export const clientOfMember: Record<GroupClient, ClientName | undefined> = {
  kafkajs: undefined,
  platformatic: undefined,
  'confluent-js': 'confluent-js',
  'confluent-python': 'confluent-python',
  'kafka-python': 'kafka-python',
  sarama: 'sarama',
  kcat: 'kcat',
};

export interface GroupMemberOptions {
  readonly bootstrap: string;
  readonly topic: string;
  readonly group: string;
  readonly assignor: Assignor;
  readonly sessionTimeoutMs: number;
  readonly label?: string;
  readonly lifetimeMsMax?: number;
}

const nodeMember = join(interopDir, 'groups', 'node-member.ts');

function commandOf(client: GroupClient, o: GroupMemberOptions): [string, string[]] {
  const session = String(o.sessionTimeoutMs);
  const lifetimeMs = String(o.lifetimeMsMax ?? 120_000);
  switch (client) {
    case 'kafkajs':
    case 'platformatic':
    case 'confluent-js': {
      const flags = ['--client', client, '--bootstrap', o.bootstrap, '--topic', o.topic];
      const more = ['--group', o.group, '--strategy', o.assignor, '--session-timeout-ms', session];
      return [process.execPath, [nodeMember, ...flags, ...more]];
    }
    case 'confluent-python':
    case 'kafka-python': {
      const script = join(
        pythonDir,
        client === 'kafka-python' ? 'kafka_python.py' : 'confluent.py',
      );
      const flags = ['group-member', '--bootstrap', o.bootstrap, '--topic', o.topic];
      const more = ['--group', o.group, '--strategy', o.assignor, '--session-timeout-ms', session];
      return [pythonBin, [script, ...flags, ...more, '--timeout-ms', lifetimeMs]];
    }
    case 'kcat': {
      const flags = ['-b', o.bootstrap, '-G', o.group, '-J', '-u'];
      const settings = {
        'auto.offset.reset': 'earliest',
        'partition.assignment.strategy': o.assignor,
        'session.timeout.ms': session,
        'heartbeat.interval.ms': String(Math.max(100, Math.floor(o.sessionTimeoutMs / 10))),
        // kcat commits automatically (also when partitions are revoked): often, here.
        'auto.commit.interval.ms': '100',
      };
      const sets = Object.entries(settings).flatMap(([k, v]) => ['-X', `${k}=${v}`]);
      return ['kcat', [...flags, ...sets, o.topic]];
    }
    case 'sarama': {
      const flags = ['group-member', '-brokers', o.bootstrap, '-topic', o.topic, '-group', o.group];
      const more = ['-strategy', o.assignor, '-session-timeout-ms', session];
      return [saramaBin, [...flags, ...more, '-timeout-ms', lifetimeMs]];
    }
  }
}

/** Starts one member; it runs until `stop()` (clean leave) or `kill()` (SIGKILL). */
export function startGroupMember(client: GroupClient, options: GroupMemberOptions): LiveDriver {
  const needs = clientOfMember[client];
  if (needs !== undefined) requireClient(needs);
  const [command, args] = commandOf(client, options);
  return new LiveDriver(command, args, {
    label: options.label ?? `${client} member`,
    lifetimeMsMax: options.lifetimeMsMax ?? 120_000,
    env: { PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
    ...(client === 'kcat' ? kcatLines : {}),
  });
}

/**
 * kcat -G prints records as -J JSON on stdout (no arrival time: the line's arrival stands
 * in) and its rebalances only on stderr. It stops on SIGTERM.
 */
export const kcatLines = {
  mapLine: (line: JsonLine, arrivedMs: number): JsonLine => ({
    type: 'record',
    partition: line['partition'] ?? -1,
    offset: line['offset'] ?? -1,
    value: line['payload'] ?? null,
    t: arrivedMs,
  }),
  stderrLine: (text: string, arrivedMs: number): JsonLine | undefined => {
    // Eager: `rebalanced (memberid m): assigned: t [0], t [1]`; cooperative: `rebalanced:
    // incremental assignment of 2 partition(s) (memberid m, COOPERATIVE ...): t [0], t [1]`.
    if (!text.startsWith('% Group ') || !text.includes(' rebalanced')) return undefined;
    const head = text.slice(0, text.lastIndexOf('): '));
    const list = text.slice(head.length);
    const type = /revoke|unassign/.test(head + list.slice(0, 12)) ? 'revoked' : 'assigned';
    const partitions = [...list.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]));
    return { type, partitions, t: arrivedMs };
  },
  stopSignal: 'SIGTERM',
} as const;
