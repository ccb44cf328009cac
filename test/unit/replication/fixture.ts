/**
 * A real data path (meta.properties, LogManager, metadata log, ReplicaManager) on a fresh
 * temporary directory, and a RequestContext over it, for handler and replication tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileRegion } from '../../../protocol/wire/file-region.ts';
import { Reader } from '../../../protocol/wire/reader.ts';
import { Writer } from '../../../protocol/wire/writer.ts';
import type { BrokerConfig } from '../../../src/config/catalogue.ts';
import { type ConfigOverrides, loadConfig } from '../../../src/config/load-config.ts';
import type { Handler, RequestContext } from '../../../src/handlers/handler.ts';
import { builtinHandlers } from '../../../src/handlers/index.ts';
import { type DataPath, openDataPath } from '../../../src/replication/data-path.ts';
import { type Clock, SystemClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { NodeFileSystem } from '../../../storage/io/node-file-system.ts';

export interface Fixture {
  readonly dir: string;
  readonly config: BrokerConfig;
  data: DataPath;
  context(apiKey: number, version: number): RequestContext;
  /** Closes and opens the data path again on the same directory. */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'brook-test-'));
}

export async function openFixture(
  options: { config?: ConfigOverrides; clock?: Clock; seed?: number; dir?: string } = {},
): Promise<Fixture> {
  const dir = options.dir ?? tempDir();
  const config = loadConfig({ dataDir: dir, overrides: options.config ?? {} });
  const clock = options.clock ?? new SystemClock();
  const random = new SeededRandom(options.seed ?? 1);
  const open = () =>
    openDataPath({
      config,
      fs: new NodeFileSystem(),
      clock,
      random,
      logger: silentLogger(),
      endpoints: () =>
        new Map([['PLAINTEXT', { nodeId: 1, host: '127.0.0.1', port: 9092, rack: null }]]),
    });
  const fixture: Fixture = {
    dir,
    config,
    data: await open(),
    context(apiKey, version) {
      const data = fixture.data;
      return {
        apiKey,
        version,
        correlationId: 1,
        clientId: 'test',
        listenerName: 'PLAINTEXT',
        remoteAddress: '127.0.0.1',
        connectionId: 1,
        logger: silentLogger(),
        services: {
          config,
          nodeId: config['node.id'],
          clock,
          metadata: data.cluster,
          data,
          apiVersions: () => [],
        },
      };
    },
    async reopen() {
      await fixture.data.close();
      fixture.data = await open();
    },
    async close() {
      await fixture.data.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/**
 * Sends `request` through the real codecs as version `version` (encode, decode), calls the
 * handler, and returns its response encoded and decoded again at that version, so a field
 * the version cannot carry fails the test as it would fail on the wire.
 */
export async function call<Req, Res>(
  fixture: Fixture,
  api: {
    apiKey: number;
    encodeRequest(w: Writer, m: Req, v: number): void;
    decodeRequest(r: Reader, v: number): Req;
    encodeResponse(w: Writer, m: Res, v: number): void;
    decodeResponse(r: Reader, v: number): Res;
  },
  handler: Handler,
  request: Req,
  version: number,
): Promise<Res | null> {
  const w = new Writer();
  api.encodeRequest(w, request, version);
  const reader = new Reader(w.finish());
  const decoded = api.decodeRequest(reader, version);
  if (!reader.ok) throw reader.error;
  const response = (await handler.handle(
    fixture.context(api.apiKey, version),
    decoded,
    version,
  )) as Res | null;
  if (response === null) return null;
  const out = new Writer();
  api.encodeResponse(out, response, version);
  const chunks = out.chunks();
  const bytes = Buffer.concat(
    await Promise.all(chunks.map((c) => (Buffer.isBuffer(c) ? c : regionBytes(c)))),
  );
  const responseReader = new Reader(bytes);
  const result = api.decodeResponse(responseReader, version);
  if (!responseReader.ok) throw responseReader.error;
  return result;
}

async function regionBytes(region: FileRegion): Promise<Buffer> {
  const fs = new NodeFileSystem();
  const buf = Buffer.alloc(region.length);
  let done = 0;
  while (done < region.length) {
    const n = await fs.read(region.fd, buf.subarray(done), region.position + done);
    if (n === 0) break;
    done += n;
  }
  region.release();
  return buf;
}

/** The registered handler of an API key (as the broker serves it). */
export function handlerOf(apiKey: number): Handler {
  const handler = builtinHandlers.find((h) => h.apiKey === apiKey);
  if (!handler) throw new Error(`no built-in handler for API ${apiKey}`);
  return handler;
}
