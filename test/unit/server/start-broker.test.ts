/**
 * startBroker(): the in-process broker other tests build on.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ApiKey } from '../../../protocol/generated/api-table.ts';
import {
  type ApiVersionsResponse,
  newApiVersionsRequest,
} from '../../../protocol/generated/apis/18-api-versions.ts';
import { startBroker } from '../../../src/index.ts';
import { NodeFileSystem } from '../../../storage/io/node-file-system.ts';
import { KafkaTestClient } from './kafka-client.ts';

async function apiVersionsOk(port: number): Promise<boolean> {
  const c = await KafkaTestClient.connect(port);
  const r = await c.call<ApiVersionsResponse>(ApiKey.ApiVersions, 0, newApiVersionsRequest());
  c.close();
  return r.errorCode === 0;
}

describe('startBroker', () => {
  test('many brokers run side by side, each on its own port and temporary data dir', async () => {
    const brokers = await Promise.all([startBroker(), startBroker(), startBroker()]);
    expect(new Set(brokers.map((b) => b.port)).size).toBe(3);
    expect(new Set(brokers.map((b) => b.dataDir)).size).toBe(3);
    for (const b of brokers) {
      expect(b.bootstrap).toBe(`127.0.0.1:${b.port}`);
      expect(existsSync(b.dataDir)).toBe(true);
      expect(b.config['log.dirs']).toEqual([b.dataDir]);
      expect(await apiVersionsOk(b.port)).toBe(true);
    }
    await Promise.all(brokers.map((b) => b.stop()));
    for (const b of brokers) expect(existsSync(b.dataDir)).toBe(false);
  });

  test('a given data dir is kept; stop is idempotent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brook-kept-'));
    try {
      const b = await startBroker({ dataDir: dir });
      await Promise.all([b.stop(), b.stop()]);
      await b.stop();
      expect(existsSync(dir)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('configured listeners are honoured, including several at once', async () => {
    const b = await startBroker({
      config: { listeners: ['PLAINTEXT://127.0.0.1:0', 'INTERNAL://127.0.0.1:0'] },
    });
    try {
      expect(b.broker.listeners.map((l) => l.name)).toEqual(['PLAINTEXT', 'INTERNAL']);
      for (const l of b.broker.listeners) expect(await apiVersionsOk(l.port)).toBe(true);
    } finally {
      await b.stop();
    }
  });

  test('a bad property fails the start and leaves no temporary directory', async () => {
    const made: string[] = [];
    const fileSystem = new (class extends NodeFileSystem {
      override async mkdir(path: string): Promise<void> {
        made.push(path);
        await super.mkdir(path);
      }
    })();
    await expect(startBroker({ sets: ['num.partitions=0'], fileSystem })).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID_VALUE',
      property: 'num.partitions',
    });
    expect(made).toHaveLength(1);
    expect(existsSync(made[0] as string)).toBe(false);
  });
});
