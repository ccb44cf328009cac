/**
 * The group coordinator's settings, under Kafka's property names, with Kafka's defaults where
 * Brook does not choose otherwise (the broker config passes its own values in).
 */

export interface GroupCoordinatorConfig {
  readonly 'group.initial.rebalance.delay.ms': number;
  readonly 'group.min.session.timeout.ms': number;
  readonly 'group.max.session.timeout.ms': number;
  readonly 'group.max.size': number;
  readonly 'offsets.topic.num.partitions': number;
  readonly 'offsets.retention.minutes': number;
  readonly 'offsets.retention.check.interval.ms': number;
  readonly 'offset.metadata.max.bytes': number;
  /**
   * Brook's own bound: members given an id by MEMBER_ID_REQUIRED that have not joined yet,
   * per group. Kafka leaves them unbounded until their session timeout; a client that loops
   * on first joins must not grow memory without limit.
   */
  readonly 'group.max.pending.members': number;
}

export const defaultGroupCoordinatorConfig: GroupCoordinatorConfig = {
  'group.initial.rebalance.delay.ms': 3000,
  'group.min.session.timeout.ms': 6000,
  'group.max.session.timeout.ms': 1_800_000,
  'group.max.size': 2_147_483_647,
  'offsets.topic.num.partitions': 50,
  'offsets.retention.minutes': 10_080,
  'offsets.retention.check.interval.ms': 600_000,
  'offset.metadata.max.bytes': 4096,
  'group.max.pending.members': 10_000,
};

/** A new member's JoinGroup is held at most this long (Kafka's NewMemberJoinTimeoutMs). */
export const newMemberJoinTimeoutMs = 5 * 60 * 1000;
