/**
 * The topics a "consumer" protocol member subscribes to, read from the opaque metadata it sent
 * in JoinGroup (ConsumerProtocolSubscription: int16 version, then topics as an int32 count of
 * int16 strings in every version). The coordinator needs only the topics: to keep offsets of
 * subscribed topics from expiring and to refuse OffsetDelete on them.
 */
import { Reader } from '../../../protocol/wire/reader.ts';

export const consumerProtocolType = 'consumer';

/** The subscribed topics, or undefined when the metadata cannot be parsed (Kafka: unknown). */
export function subscribedTopicsOf(metadata: Buffer): string[] | undefined {
  const r = new Reader(metadata);
  const version = r.int16();
  if (!r.ok || version < 0) return undefined;
  const count = r.arrayLength();
  if (count < 0) return undefined;
  const topics: string[] = [];
  for (let i = 0; i < count && r.ok; i++) topics.push(r.string());
  return r.ok ? topics : undefined;
}
