/**
 * Consumer-group members of every client, each its own process (so a test can SIGKILL one),
 * all speaking the same JSON lines: `assigned` / `revoked` {partitions, t} (incremental: a
 * member holds what it was assigned and not revoked since), `record` {partition, offset,
 * value, t} once the record is processed and its offset committed, `error`, and `closed` after
 * a clean leave, which each does when its stdin ends. `t` is wall-clock milliseconds.
 */
import { join } from 'node:path';
import { type ClientName, interopDir, pythonBin, pythonDir, requireClient, saramaBin } from './clients.ts';
import { LiveDriver } from './live-driver.ts';

export const groupClients = [
  'kafkajs',
  'platformatic',
  'confluent-js',
  'confluent-python',
  'kafka-python',
  'sarama',
] as const;
export type GroupClient = (typeof groupClients)[number];

/** Assignors by their Kafka protocol names; which client offers which is `assignorsOf`. */
export type Assignor = 'range' | 'roundrobin' | 'cooperative-sticky';

export const assignorsOf: Record<GroupClient, readonly Assignor[]> = {
  kafkajs: ['roundrobin'],
  // @platformatic/kafka's only built-in assignor is a round-robin one.
  platformatic: ['roundrobin'],
  'confluent-js': ['range', 'roundrobin', 'cooperative-sticky'],
  'confluent-python': ['range', 'roundrobin', 'cooperative-sticky'],
  'kafka-python': ['range', 'roundrobin'],
  // sarama 1.22.1 (Debian's) has no sticky strategy yet.
  sarama: ['range', 'roundrobin'],
};

/** The installed client each member needs, for `skipWithout`. */
export const clientOfMember: Record<GroupClient, ClientName | undefined> = {
  kafkajs: undefined,
  platformatic: undefined,
  'confluent-js': 'confluent-js',
  'confluent-python': 'confluent-python',
  'kafka-python': 'kafka-python',
  sarama: 'sarama',
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
      const script = join(pythonDir, client === 'kafka-python' ? 'kafka_python.py' : 'confluent.py');
      const flags = ['group-member', '--bootstrap', o.bootstrap, '--topic', o.topic];
      const more = ['--group', o.group, '--strategy', o.assignor, '--session-timeout-ms', session];
      return [pythonBin, [script, ...flags, ...more, '--timeout-ms', lifetimeMs]];
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
  });
}
