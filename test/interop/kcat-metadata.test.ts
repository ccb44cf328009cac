/**
 * The first real conversation: librdkafka's kcat asks an in-process Brook for metadata
 * (ApiVersions, then Metadata) and prints the broker, as it would against Kafka.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningBroker, startBroker } from '../../src/index.ts';
import { runKcat, runKcatJson, skipWithout } from './harness/index.ts';

describe.skipIf(skipWithout('kcat'))('kcat -L', () => {
  let broker: RunningBroker;

  beforeAll(async () => {
    broker = await startBroker({ config: { 'node.id': 7, 'auto.create.topics.enable': false } });
  });

  afterAll(async () => {
    await broker.stop();
  });

  test('lists the broker as the controller and no topics', async () => {
    const result = await runKcat(['-L', '-b', broker.bootstrap, '-m', '10']);
    expect(result.stdout).toContain(`from broker 7: 127.0.0.1:${broker.port}/7`);
    expect(result.stdout).toContain(`broker 7 at 127.0.0.1:${broker.port} (controller)`);
    expect(result.stdout).toContain(' 0 topics:');
  });

  test('-J gives the same facts as JSON', async () => {
    const [metadata] = await runKcatJson(['-L', '-b', broker.bootstrap, '-m', '10']);
    expect(metadata).toMatchObject({
      controllerid: 7,
      brokers: [{ id: 7, name: `127.0.0.1:${broker.port}` }],
      topics: [],
    });
  });

  test('a missing topic is reported as unknown when auto-creation is off', async () => {
    const result = await runKcat(['-L', '-b', broker.bootstrap, '-t', 'nope', '-m', '10']);
    expect(result.stdout).toContain(
      'topic "nope" with 0 partitions: Broker: Unknown topic or partition',
    );
  });

  test('negotiates API versions with the broker (debug trace shows ApiVersions v3)', async () => {
    const result = await runKcat(['-L', '-b', broker.bootstrap, '-d', 'protocol', '-m', '10']);
    const trace = result.stderr;
    expect(trace).toMatch(/Sent ApiVersionRequest \(v3/);
    expect(trace).toMatch(/Received ApiVersionResponse \(v3/);
    expect(trace).toMatch(/Sent MetadataRequest \(v\d+/);
  });
});
