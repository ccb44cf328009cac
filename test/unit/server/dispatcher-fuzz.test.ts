/**
 * Hostile input never becomes an exception: seeded mutations of valid requests (bit flips,
 * truncation, random bytes, extreme lengths) all end as a response or a clean close.
 */
import { describe, expect, test } from 'vitest';
import { ApiKey } from '../../../protocol/generated/api-table.ts';
import { newMetadataRequest } from '../../../protocol/generated/apis/03-metadata.ts';
import { newApiVersionsRequest } from '../../../protocol/generated/apis/18-api-versions.ts';
import { newDescribeClusterRequest } from '../../../protocol/generated/apis/60-describe-cluster.ts';
import { Broker } from '../../../src/broker.ts';
import { loadConfig } from '../../../src/config/load-config.ts';
import type { ConnectionInfo, Reply } from '../../../src/server/connection.ts';
import { RequestDispatcher } from '../../../src/server/request-dispatcher.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { SeededRandom } from '../../../src/util/random.ts';
import { KafkaTestClient } from './kafka-client.ts';

function seeds(): Buffer[] {
  const frames: Buffer[] = [];
  const topics = [
    { topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'orders' },
    { topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'a.b-c_d' },
  ];
  for (let v = 0; v <= 12; v++) {
    const byId = v >= 12 ? [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', name: null }] : [];
    const body = { ...newMetadataRequest(), topics: [...topics, ...byId] };
    frames.push(KafkaTestClient.encodeRequest(ApiKey.Metadata, v, body, v));
  }
  for (let v = 0; v <= 4; v++) {
    const body = {
      ...newApiVersionsRequest(),
      clientSoftwareName: 'x',
      clientSoftwareVersion: '1',
    };
    frames.push(KafkaTestClient.encodeRequest(ApiKey.ApiVersions, v, body, v));
  }
  for (let v = 0; v <= 1; v++) {
    frames.push(KafkaTestClient.encodeRequest(60, v, newDescribeClusterRequest(), v));
  }
  return frames;
}

function mutate(frame: Buffer, random: SeededRandom): Buffer {
  const out = Buffer.from(frame);
  switch (random.int(0, 4)) {
    case 0:
      for (let i = random.int(1, 4); i > 0; i--) {
        const at = random.int(0, out.length - 1);
        out[at] = (out[at] as number) ^ (1 << random.int(0, 7));
      }
      return out;
    case 1:
      return out.subarray(0, random.int(8, out.length));
    case 2: {
      const at = random.int(8, Math.max(8, out.length - 4));
      if (at + 4 <= out.length) out.writeInt32BE(random.pick([-1, 0, 0x7fffffff, 65535]), at);
      return out;
    }
    case 3: {
      random.fill(out.subarray(random.int(8, out.length)));
      return out;
    }
    default: {
      const extra = Buffer.alloc(random.int(1, 64));
      random.fill(extra);
      return Buffer.concat([out, extra]);
    }
  }
}

describe('dispatcher under hostile input', () => {
  test('20,000 mutated requests: each is answered or closes cleanly', async () => {
    const seed = Date.now() >>> 0;
    const random = new SeededRandom(seed);
    const broker = new Broker({ config: loadConfig({ port: 0 }) });
    await broker.start();
    try {
      const dispatcher = new RequestDispatcher({
        registry: broker.registry,
        controls: broker.controls,
        services: {
          config: broker.config,
          nodeId: broker.nodeId,
          clock: broker.clock,
          metadata: broker.metadata,
          apiVersions: () => broker.registry.apiVersions(),
        },
        clock: broker.clock,
        logger: silentLogger(),
      });
      const connection: ConnectionInfo = {
        id: 1,
        remoteAddress: '127.0.0.1',
        remotePort: 1,
        listenerName: 'PLAINTEXT',
        logger: silentLogger(),
      };
      const valid = seeds();
      const kinds = { respond: 0, close: 0, silent: 0 };
      for (let i = 0; i < 20_000; i++) {
        const frame = mutate(random.pick(valid), random);
        let reply: Reply;
        try {
          reply = await dispatcher.process(frame, connection);
        } catch (error) {
          throw new Error(`seed ${seed}, case ${i}, frame ${frame.toString('hex')}`, {
            cause: error,
          });
        }
        kinds[reply.kind]++;
      }
      expect(kinds.respond, `seed ${seed}`).toBeGreaterThan(1000);
      expect(kinds.close, `seed ${seed}`).toBeGreaterThan(1000);
    } finally {
      await broker.stop();
    }
  });
});
