/**
 * Kafka's listener notation: `NAME://host:port`, e.g. `PLAINTEXT://127.0.0.1:9092`. An empty
 * host binds every interface (Kafka's meaning); an IPv6 host is written in brackets.
 */

export interface Listener {
  readonly name: string;
  /** Empty string: every interface. */
  readonly host: string;
  readonly port: number;
}

const listenerPattern = /^([A-Za-z][A-Za-z0-9_-]*):\/\/(\[[0-9A-Fa-f:.]+\]|[^:[\]/\s]*):(\d{1,5})$/;

/** Parses one listener, or returns why it is not one. */
export function parseListener(text: string): Listener | string {
  const match = listenerPattern.exec(text.trim());
  if (!match) return `'${text}' is not NAME://host:port`;
  const [, name = '', rawHost = '', rawPort = ''] = match;
  const port = Number(rawPort);
  if (port > 65_535) return `'${text}' has port ${port} above 65535`;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  return { name: name.toUpperCase(), host, port };
}

export function formatListener(listener: Listener): string {
  const host = listener.host.includes(':') ? `[${listener.host}]` : listener.host;
  return `${listener.name}://${host}:${listener.port}`;
}

export function validateListeners(values: readonly string[]): string | undefined {
  if (values.length === 0) return 'must name at least one listener';
  const names = new Set<string>();
  for (const value of values) {
    const parsed = parseListener(value);
    if (typeof parsed === 'string') return parsed;
    if (names.has(parsed.name)) return `names listener ${parsed.name} twice`;
    names.add(parsed.name);
  }
  return undefined;
}

/** A `controller.quorum.voters` entry: `id@host:port`. */
export interface QuorumVoter {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

const voterPattern = /^(\d{1,10})@(\[[0-9A-Fa-f:.]+\]|[^:[\]/@\s]+):(\d{1,5})$/;

export function parseQuorumVoter(text: string): QuorumVoter | string {
  const match = voterPattern.exec(text.trim());
  if (!match) return `'${text}' is not id@host:port`;
  const [, rawId = '', rawHost = '', rawPort = ''] = match;
  const nodeId = Number(rawId);
  const port = Number(rawPort);
  if (nodeId > 2_147_483_647) return `'${text}' has a node id above 2147483647`;
  if (port > 65_535) return `'${text}' has port ${port} above 65535`;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  return { nodeId, host, port };
}

export function validateQuorumVoters(values: readonly string[]): string | undefined {
  for (const value of values) {
    const parsed = parseQuorumVoter(value);
    if (typeof parsed === 'string') return parsed;
  }
  return undefined;
}
