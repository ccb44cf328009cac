/**
 * Values computed from several properties, with Kafka's precedence rules in one place so no
 * caller re-implements them (e.g. log.retention.ms > .minutes > .hours).
 */
import type { BrokerConfig } from './catalogue.ts';
import { type Listener, parseListener, parseQuorumVoter, type QuorumVoter } from './listeners.ts';

const msPerMinute = 60_000;
const msPerHour = 60 * msPerMinute;

function parsed<T>(value: T | string): T {
  // Values were validated when the config was built, so a parse failure here is our bug.
  if (typeof value === 'string') throw new Error(`config validated but unparsable: ${value}`);
  return value;
}

export function listenersOf(config: BrokerConfig): Listener[] {
  return config.listeners.map((text) => parsed(parseListener(text)));
}

/** What clients are told: `advertised.listeners`, else `listeners`. */
export function advertisedListenersOf(config: BrokerConfig): Listener[] {
  const texts = config['advertised.listeners'] ?? config.listeners;
  return texts.map((text) => parsed(parseListener(text)));
}

export function quorumVotersOf(config: BrokerConfig): QuorumVoter[] {
  return config['controller.quorum.voters'].map((text) => parsed(parseQuorumVoter(text)));
}

/** Retention in ms; -1 means keep forever. */
export function retentionMs(config: BrokerConfig): number {
  const ms = config['log.retention.ms'];
  if (ms !== null) return ms;
  const minutes = config['log.retention.minutes'];
  if (minutes !== null) return minutes < 0 ? -1 : minutes * msPerMinute;
  const hours = config['log.retention.hours'];
  return hours < 0 ? -1 : hours * msPerHour;
}

/** Segment roll age in ms. */
export function rollMs(config: BrokerConfig): number {
  return config['log.roll.ms'] ?? config['log.roll.hours'] * msPerHour;
}
