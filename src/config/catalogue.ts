/**
 * Every configuration property Brook knows, under Kafka's own names. Defaults make a
 * zero-config development broker (loopback listener, data in ./data, topics auto-created, no
 * group-join delay, internal topics with few partitions, replication factor 1); where that
 * differs from Kafka the doc line says "Kafka: ...". Anything not in this table is rejected.
 */
import { validateListeners, validateQuorumVoters } from './listeners.ts';
import { atLeast, between, eachOneOf, oneOf, prop } from './property.ts';

const int32Max = 2_147_483_647;
const mib = 1024 * 1024;
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const idPattern = /^[A-Za-z0-9_-]{1,64}$/;

export const catalogue = {
  // Identity and roles
  'node.id': prop.int(1, 'This node\u2019s id in the cluster. Kafka: required.', {
    validate: between(0, int32Max),
  }),
  'cluster.id': prop.optionalString(
    'Cluster id (22-char base64url in Kafka); unset: generated when the data dir is formatted.',
    { validate: (v) => (idPattern.test(v) ? undefined : 'must be 1-64 chars of [A-Za-z0-9_-]') },
  ),
  'process.roles': prop.list(['broker', 'controller'], 'Roles of this process.', {
    validate: (v) =>
      v.length === 0 ? 'must name at least one role' : eachOneOf(['broker', 'controller'])(v),
  }),
  'controller.quorum.voters': prop.list([], 'Voters as id@host:port; empty: this node alone.', {
    validate: validateQuorumVoters,
  }),
  'broker.rack': prop.optionalString('Rack of this broker, given to rack-aware clients.'),
  'controller.listener.names': prop.list(['CONTROLLER'], 'Listeners that serve the quorum.', {
    validate: (v) => (v.length === 0 ? 'must name at least one listener' : undefined),
  }),
  'inter.broker.listener.name': prop.optionalString(
    'Listener brokers reach each other on; unset: the first non-controller listener.',
  ),
  'controller.quorum.election.timeout.ms': prop.int(1000, 'Voter waits this long for a leader.', {
    validate: between(10, int32Max),
  }),
  'controller.quorum.fetch.timeout.ms': prop.int(2000, 'Follower without a fetch this long.', {
    validate: between(10, int32Max),
  }),
  'controller.quorum.request.timeout.ms': prop.int(2000, 'Timeout of a quorum request.', {
    validate: between(10, int32Max),
  }),
  'broker.heartbeat.interval.ms': prop.int(2000, 'Broker heartbeats to the controller.', {
    validate: between(10, int32Max),
  }),
  'broker.session.timeout.ms': prop.int(9000, 'Controller fences a silent broker after this.', {
    validate: between(10, int32Max),
  }),
  'controlled.shutdown.enable': prop.boolean(true, 'Hand leaderships over before stopping.'),
  'metadata.log.max.record.bytes.between.snapshots': prop.long(
    20 * mib,
    'Snapshot the metadata log after this many new bytes.',
    { validate: atLeast(1024) },
  ),
  'metadata.log.max.snapshot.interval.ms': prop.long(
    60 * 60 * 1000,
    'Snapshot the metadata log at least this often when records committed since; 0: never.',
    { validate: atLeast(0) },
  ),

  // Network
  listeners: prop.list(['PLAINTEXT://127.0.0.1:9092'], 'Where to listen: NAME://host:port,...', {
    validate: validateListeners,
    dynamic: true,
  }),
  'advertised.listeners': prop.optionalList('What clients are told; unset: `listeners`.', {
    validate: validateListeners,
    dynamic: true,
  }),
  'socket.request.max.bytes': prop.int(100 * mib, 'Largest request frame accepted.', {
    validate: atLeast(1024),
  }),
  'connections.max.idle.ms': prop.long(600_000, 'Close connections idle this long.', {
    validate: atLeast(1),
  }),
  'max.connections': prop.int(4096, 'Most client connections at once. Kafka: unlimited.', {
    validate: between(1, int32Max),
    dynamic: true,
  }),
  'queued.max.requests': prop.int(500, 'Requests in flight per connection before reading stops.', {
    validate: between(1, 100_000),
  }),

  // Topics and the log
  'log.dirs': prop.list(['./data'], 'Data directories.', {
    validate: (v) => (v.length === 0 ? 'must name at least one directory' : undefined),
  }),
  'num.partitions': prop.int(1, 'Partitions of an auto-created topic.', {
    validate: between(1, 100_000),
  }),
  'default.replication.factor': prop.int(1, 'Replicas of an auto-created topic.', {
    validate: between(1, 32_767),
  }),
  'auto.create.topics.enable': prop.boolean(true, 'Create a topic when a client names it.'),
  'delete.topic.enable': prop.boolean(true, 'Allow DeleteTopics.'),
  'min.insync.replicas': prop.int(1, 'In-sync replicas needed for acks=all.', {
    validate: atLeast(1),
    dynamic: true,
  }),
  'unclean.leader.election.enable': prop.boolean(false, 'Allow an out-of-sync leader.', {
    dynamic: true,
  }),
  'replica.lag.time.max.ms': prop.long(30_000, 'A follower behind this long leaves the ISR.', {
    validate: atLeast(1),
  }),
  'replica.fetch.max.bytes': prop.int(mib, 'Bytes a follower asks per partition.', {
    validate: atLeast(1024),
  }),
  'replica.fetch.response.max.bytes': prop.int(10 * mib, 'Bytes a follower asks per fetch.', {
    validate: atLeast(1024),
  }),
  'replica.fetch.wait.max.ms': prop.int(500, 'Longest a follower fetch waits at the leader.', {
    validate: between(0, int32Max),
  }),
  'replica.fetch.min.bytes': prop.int(1, 'Bytes a follower fetch waits for.', {
    validate: atLeast(1),
  }),
  'replica.fetch.backoff.ms': prop.int(1000, 'Pause after a failed follower fetch.', {
    validate: between(0, int32Max),
  }),
  'replica.socket.timeout.ms': prop.int(30_000, 'Timeout of a follower fetch request.', {
    validate: atLeast(1),
  }),
  'message.max.bytes': prop.int(1_048_588, 'Largest record batch accepted.', {
    validate: atLeast(0),
    dynamic: true,
  }),
  'compression.type': prop.string('producer', 'Codec batches are stored with.', {
    validate: oneOf(['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd']),
    dynamic: true,
  }),
  'log.message.timestamp.type': prop.string('CreateTime', 'Timestamp kept in batches.', {
    validate: oneOf(['CreateTime', 'LogAppendTime']),
    dynamic: true,
  }),
  'log.cleanup.policy': prop.list(['delete'], 'delete and/or compact.', {
    validate: eachOneOf(['delete', 'compact']),
    dynamic: true,
  }),
  'log.cleaner.enable': prop.boolean(true, 'Run the compaction cleaner.'),
  'log.cleaner.backoff.ms': prop.long(15_000, 'Pause between compaction runs.', {
    validate: atLeast(1),
  }),
  'log.retention.hours': prop.int(168, 'Keep data this many hours.', {
    validate: atLeast(-1),
  }),
  'log.retention.minutes': prop.optionalInt('Overrides log.retention.hours.', {
    validate: atLeast(-1),
  }),
  'log.retention.ms': prop.optionalLong('Overrides log.retention.minutes; -1: forever.', {
    validate: atLeast(-1),
    dynamic: true,
  }),
  'log.retention.bytes': prop.long(-1, 'Largest partition size kept; -1: no limit.', {
    validate: atLeast(-1),
    dynamic: true,
  }),
  'log.retention.check.interval.ms': prop.long(300_000, 'How often retention runs.', {
    validate: atLeast(1),
  }),
  'log.segment.bytes': prop.int(1024 * mib, 'Roll a segment at this size.', {
    validate: atLeast(14),
    dynamic: true,
  }),
  'log.roll.hours': prop.int(168, 'Roll a segment at this age.', { validate: atLeast(1) }),
  'log.roll.ms': prop.optionalLong('Overrides log.roll.hours.', {
    validate: atLeast(1),
    dynamic: true,
  }),
  'log.flush.interval.messages': prop.optionalLong('fsync after this many records; unset: never.', {
    validate: atLeast(1),
    dynamic: true,
  }),
  'log.flush.interval.ms': prop.optionalLong('fsync at this age; unset: never by time.', {
    validate: atLeast(0),
    dynamic: true,
  }),

  // Groups, offsets and transactions
  'group.initial.rebalance.delay.ms': prop.int(0, 'Wait for more members. Kafka: 3000.', {
    validate: atLeast(0),
  }),
  'group.min.session.timeout.ms': prop.int(6000, 'Shortest session timeout allowed.', {
    validate: atLeast(0),
  }),
  'group.max.session.timeout.ms': prop.int(1_800_000, 'Longest session timeout allowed.', {
    validate: atLeast(0),
  }),
  'offsets.topic.num.partitions': prop.int(3, 'Partitions of __consumer_offsets. Kafka: 50.', {
    validate: between(1, 10_000),
  }),
  'offsets.topic.replication.factor': prop.int(1, 'Replicas of __consumer_offsets. Kafka: 3.', {
    validate: between(1, 32_767),
  }),
  'offsets.retention.minutes': prop.int(10_080, 'Keep committed offsets of empty groups.', {
    validate: atLeast(1),
  }),
  'offsets.retention.check.interval.ms': prop.long(600_000, 'How often offsets expire.', {
    validate: atLeast(1),
  }),
  'offsets.commit.timeout.ms': prop.int(5000, 'How long a group write waits for the ISR.', {
    validate: atLeast(1),
  }),
  'offset.metadata.max.bytes': prop.int(4096, 'Longest metadata of a committed offset.', {
    validate: atLeast(0),
  }),
  'group.max.size': prop.int(int32Max, 'Most members in one consumer group.', {
    validate: atLeast(1),
  }),
  'transaction.state.log.num.partitions': prop.int(3, 'Partitions of __transaction_state.', {
    validate: between(1, 10_000),
  }),
  'transaction.state.log.replication.factor': prop.int(1, 'Replicas of __transaction_state.', {
    validate: between(1, 32_767),
  }),
  'transaction.state.log.min.isr': prop.int(1, 'min.insync.replicas of __transaction_state.', {
    validate: atLeast(1),
  }),

  // Brook's own (no Kafka equivalent: Kafka configures logging with log4j)
  'logger.level': prop.string('info', 'Brook log level: fatal..trace, or silent.', {
    validate: oneOf(logLevels),
    dynamic: true,
  }),
} as const;

export type PropertyName = keyof typeof catalogue;

type SpecOf<K extends PropertyName> = (typeof catalogue)[K];
type BaseValue<K extends PropertyName> = SpecOf<K>['type'] extends 'list'
  ? readonly string[]
  : SpecOf<K>['type'] extends 'boolean'
    ? boolean
    : SpecOf<K>['type'] extends 'string'
      ? string
      : number;

/** The value type of a property: nullable ones may be null (unset). */
export type PropertyValue<K extends PropertyName> = SpecOf<K>['nullable'] extends true
  ? BaseValue<K> | null
  : BaseValue<K>;

/** A complete, validated, frozen configuration, keyed by Kafka's property names. */
export type BrokerConfig = { readonly [K in PropertyName]: PropertyValue<K> };

export const propertyNames = Object.keys(catalogue) as PropertyName[];

export function isPropertyName(name: string): name is PropertyName {
  return Object.hasOwn(catalogue, name);
}
