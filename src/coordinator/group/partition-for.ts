/**
 * Which partition of __consumer_offsets holds a group: Kafka's
 * `Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions`. Every broker and every client
 * tool must agree on it, so it is Java's String.hashCode exactly: over UTF-16 code units (not
 * code points, not UTF-8 bytes), with 32-bit wrap-around.
 */
import assert from 'node:assert/strict';

/** Java's `String.hashCode()`: s[0]*31^(n-1) + ... + s[n-1], in int32 arithmetic. */
export function javaStringHashCode(value: string): number {
  let hash = 0;
  for (let i = 0; i < value.length; i++) {
    hash = (Math.imul(hash, 31) + value.charCodeAt(i)) | 0;
  }
  return hash;
}

/** Kafka's `Utils.abs`: like Math.abs, but Integer.MIN_VALUE maps to 0 instead of itself. */
export function kafkaAbs(value: number): number {
  return value === -0x8000_0000 ? 0 : Math.abs(value);
}

export function partitionForGroup(groupId: string, numPartitions: number): number {
  assert(Number.isSafeInteger(numPartitions) && numPartitions > 0, 'bad partition count');
  return kafkaAbs(javaStringHashCode(groupId)) % numPartitions;
}
