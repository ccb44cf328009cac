/**
 * kcat -G (librdkafka's balanced consumer, auto-committing) members join, leave cleanly and
 * are SIGKILLed in one group, once per assignor; rebalance-scenario.ts says what is checked.
 */
import { describeRebalances } from './rebalance-scenario.ts';

describeRebalances('kcat');
