/**
 * confluent-js members join, leave cleanly and are SIGKILLed in one group; rebalance-scenario.ts
 * says what is checked. Its librdkafka offers round-robin too, run with confluent-python's
 * librdkafka already: the suite stays short.
 */
import { describeRebalances } from './rebalance-scenario.ts';

describeRebalances('confluent-js', ['range', 'cooperative-sticky']);
