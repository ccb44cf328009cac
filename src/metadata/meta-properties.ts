/**
 * `meta.properties` in the first log dir, Kafka's format (`key=value` lines, `#` comments):
 * `version=1`, `cluster.id`, `node.id`. Written atomically the first time a data dir is used,
 * so the cluster id survives restarts; a configured `cluster.id` that disagrees with the
 * stored one is refused (the data belongs to another cluster), as Kafka refuses it.
 */
import { join } from 'node:path';
import { readFileFully, writeFileAtomic } from '../../storage/io/atomic-file.ts';
import type { FileSystem } from '../../storage/io/file-system.ts';
import { BrokerError } from '../util/errors.ts';
import type { Random } from '../util/random.ts';

export const META_PROPERTIES = 'meta.properties';
const FILE_BYTES_MAX = 64 * 1024;

export interface MetaProperties {
  readonly clusterId: string;
  readonly nodeId: number;
}

export function parseMetaProperties(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq > 0) values.set(trimmed.slice(0, eq).trim(), trimmed.slice(eq + 1).trim());
  }
  return values;
}

/** 16 random bytes in base64url (Kafka's Uuid form), never the zero uuid. */
export function randomUuid(random: Random): string {
  const bytes = new Uint8Array(16);
  do random.fill(bytes);
  while (bytes.every((b) => b === 0));
  return Buffer.from(bytes).toString('base64url');
}

/** Reads meta.properties, or writes it (with a new cluster id unless configured). */
export async function loadOrFormat(
  fs: FileSystem,
  logDir: string,
  options: { clusterId: string | null; nodeId: number; random: Random },
): Promise<MetaProperties> {
  const path = join(logDir, META_PROPERTIES);
  const existing = await readFileFully(fs, path, FILE_BYTES_MAX);
  if (existing) {
    const values = parseMetaProperties(existing.toString('utf8'));
    const clusterId = values.get('cluster.id');
    if (!clusterId) throw new BrokerError('meta-properties-invalid', `${path} has no cluster.id`);
    if (options.clusterId !== null && options.clusterId !== clusterId) {
      throw new BrokerError(
        'cluster-id-mismatch',
        `cluster.id ${options.clusterId} is configured but ${path} holds ${clusterId}`,
      );
    }
    const storedNode = Number(values.get('node.id'));
    if (Number.isInteger(storedNode) && storedNode !== options.nodeId) {
      throw new BrokerError(
        'node-id-mismatch',
        `node.id ${options.nodeId} is configured but ${path} holds ${storedNode}`,
      );
    }
    return { clusterId, nodeId: options.nodeId };
  }
  const clusterId = options.clusterId ?? randomUuid(options.random);
  const text = `#\nversion=1\ncluster.id=${clusterId}\nnode.id=${options.nodeId}\n`;
  await writeFileAtomic(fs, path, Buffer.from(text, 'utf8'));
  return { clusterId, nodeId: options.nodeId };
}
