/**
 * confluent-python members join, leave cleanly and are SIGKILLed in one group, once per
 * assignor the client offers; rebalance-scenario.ts says what is checked.
 */
import { describeRebalances } from './rebalance-scenario.ts';

describeRebalances('confluent-python');
