/**
 * Member ids as Kafka makes them: `<clientId>-<uuid>` for dynamic members and
 * `<groupInstanceId>-<uuid>` for static ones, the UUID (version 4) drawn from the injected
 * Random so a seeded run hands out the same ids every time.
 */
import type { Random } from '../../util/random.ts';
import { recordStringBytesMax } from './records.ts';

const uuidChars = 36;

export function randomUuid(random: Random): string {
  const bytes = new Uint8Array(16);
  random.fill(bytes);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = Buffer.from(bytes).toString('hex');
  const parts = [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20)];
  return `${parts.join('-')}-${hex.slice(20)}`;
}

/**
 * The id must fit the int16-length string of the group metadata record, so an extreme prefix
 * is cut (Kafka would fail to write the record instead). A cut never splits a UTF-16 pair.
 */
export function generateMemberId(
  random: Random,
  clientId: string,
  groupInstanceId: string | null,
): string {
  let prefix = groupInstanceId ?? clientId;
  const prefixBytesMax = recordStringBytesMax - uuidChars - 1;
  while (Buffer.byteLength(prefix) > prefixBytesMax) {
    const cut =
      prefix.length - Math.max(1, Math.ceil((Buffer.byteLength(prefix) - prefixBytesMax) / 3));
    const safeCut = /[\uD800-\uDBFF]/.test(prefix[cut - 1] ?? '') ? cut - 1 : cut;
    prefix = prefix.slice(0, safeCut);
  }
  return `${prefix}-${randomUuid(random)}`;
}
