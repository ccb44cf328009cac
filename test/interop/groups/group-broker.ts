/** The broker settings the group interop tests share. */

/**
 * Members use a 6 s session so a SIGKILLed one is noticed quickly; Kafka's floor is 6 s, set
 * lower here so clients that derive other timeouts from it are not refused.
 */
export const groupBrokerConfig = {
  'offsets.topic.num.partitions': 2,
  'group.min.session.timeout.ms': 1000,
  'group.initial.rebalance.delay.ms': 0,
} as const;

/** One join/leave/kill scenario: five settles, a session timeout, and some slack. */
export const scenarioTimeoutMs = 120_000;
