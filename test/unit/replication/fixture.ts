/**
 * A real data path (meta.properties, LogManager, metadata log, ReplicaManager) on a fresh
 * temporary directory, and a RequestContext over it, for handler and replication tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reader } from '../../../protocol/wire/reader.ts';
import { Writer } from '../../../protocol/wire/writer.ts';
import type { BrokerConfig } from '../../../src/config/catalogue.ts';
import { type ConfigOverrides, loadConfig } from '../../../src/config/load-config.ts';
import type { BrokerServices, Handler, RequestContext } from '../../../src/handlers/handler.ts';
import { builtinHandlers } from '../../../src/handlers/index.ts';
import { type DataPath, openDataPath } from '../../../src/replication/data-path.ts';
import { type Clock, SystemClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import type { FileSystem } from '../../../storage/io/file-system.ts';
import { NodeFileSystem } from '../../../storage/io/node-file-system.ts';
import { regionBytes } from '../storage/log-harness.ts';

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
      return testContext(apiKey, version, {
        config,
        nodeId: config['node.id'],
        clock,
        metadata: data.cluster,
        data,
        apiVersions: () => [],
      });
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

/** A request codec pair, as the generated API table has them. */
export interface Codec<Req, Res> {
  apiKey: number;
  encodeRequest(w: Writer, m: Req, v: number): void;
  decodeRequest(r: Reader, v: number): Req;
  encodeResponse(w: Writer, m: Res, v: number): void;
  decodeResponse(r: Reader, v: number): Res;
}

/** A request context as a client on `listenerName` reaches a handler with `services`. */
export function testContext(
  apiKey: number,
  version: number,
  services: BrokerServices,
  listenerName = 'PLAINTEXT',
): RequestContext {
  return {
    apiKey,
    version,
    correlationId: 1,
    clientId: 'test',
    listenerName,
    remoteAddress: '127.0.0.1',
    connectionId: 1,
    logger: silentLogger(),
    services,
  };
}

/**
 * Sends `request` through the real codecs as version `version` (encode, decode), calls the
 * handler, and returns its response encoded and decoded again at that version, so a field
 * the version cannot carry fails the test as it would fail on the wire.
 */
export function call<Req, Res>(
  fixture: Fixture,
  api: Codec<Req, Res>,
  handler: Handler,
  request: Req,
  version: number,
): Promise<Res | null> {
  const context = (apiKey: number) => fixture.context(apiKey, version);
  return callHandler(context, new NodeFileSystem(), api, handler, request, version);
}

/** `call` with any context; regions of the response are read back from `fs`. */
export async function callHandler<Req, Res>(
  context: (apiKey: number) => RequestContext,
  fs: FileSystem,
  api: Codec<Req, Res>,
  handler: Handler,
  request: Req,
  version: number,
): Promise<Res | null> {
  const w = new Writer();
  api.encodeRequest(w, request, version);
  const reader = new Reader(w.finish());
  const decoded = api.decodeRequest(reader, version);
  if (!reader.ok) throw reader.error;
  const response = (await handler.handle(context(api.apiKey), decoded, version)) as Res | null;
  if (response === null) return null;
  const out = new Writer();
  api.encodeResponse(out, response, version);
  const parts: Buffer[] = [];
  for (const chunk of out.chunks()) {
    parts.push(Buffer.isBuffer(chunk) ? chunk : await regionBytes(fs, chunk));
  }
  const responseReader = new Reader(Buffer.concat(parts));
  const result = api.decodeResponse(responseReader, version);
  if (!responseReader.ok) throw responseReader.error;
  return result;
}

/** The registered handler of an API key (as the broker serves it). */
export function handlerOf(apiKey: number): Handler {
  const handler = builtinHandlers.find((h) => h.apiKey === apiKey);
  if (!handler) throw new Error(`no built-in handler for API ${apiKey}`);
  return handler;
}
