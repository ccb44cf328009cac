/**
 * DescribeConfigs, IncrementalAlterConfigs and AlterConfigs through the real codecs at every
 * served version, with changes stored in the metadata log and applied to produce checks.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../../protocol/errors.ts';
import { Apis } from '../../../protocol/generated/api-table.ts';
import {
  newAlterConfigsRequest,
  newDescribeConfigsRequest,
  newIncrementalAlterConfigsRequest,
} from '../../../protocol/generated/index.ts';
import { describeConfigsHandler } from '../../../src/handlers/32-describe-configs.ts';
import { alterConfigsHandler } from '../../../src/handlers/33-alter-configs.ts';
import { call, type Fixture, handlerOf, openFixture } from '../replication/fixture.ts';

const incrementalAlterConfigsHandler = handlerOf(Apis.IncrementalAlterConfigs.apiKey);

let fixture: Fixture;
afterEach(async () => {
  await fixture?.close();
});

const TOPIC = 2;
const BROKER = 4;

async function setup(): Promise<void> {
  fixture = await openFixture();
  await fixture.data.cluster.createTopic({
    name: 't',
    numPartitions: 1,
    replicationFactor: 1,
    configs: new Map([['retention.ms', '1000']]),
    assignments: [],
  });
}

async function describeTopic(version = 4, keys: string[] | null = null) {
  const request = newDescribeConfigsRequest();
  request.resources = [
    { resourceType: TOPIC, resourceName: 't', configurationKeys: keys },
    { resourceType: TOPIC, resourceName: 'missing', configurationKeys: null },
    { resourceType: BROKER, resourceName: '1', configurationKeys: ['num.partitions'] },
  ];
  return (await call(fixture, Apis.DescribeConfigs, describeConfigsHandler, request, version))
    ?.results;
}

async function incremental(
  configs: { name: string; configOperation: number; value: string | null }[],
) {
  const request = newIncrementalAlterConfigsRequest();
  request.resources = [{ resourceType: TOPIC, resourceName: 't', configs }];
  const response = await call(
    fixture,
    Apis.IncrementalAlterConfigs,
    incrementalAlterConfigsHandler,
    request,
    1,
  );
  return response?.responses[0];
}

describe('DescribeConfigs', () => {
  test('topic values and sources at every version; broker; unknown topic', async () => {
    await setup();
    for (let version = 1; version <= 4; version++) {
      const [topic, missing, broker] = (await describeTopic(version)) ?? [];
      expect(topic?.errorCode).toBe(0);
      const retention = topic?.configs.find((c) => c.name === 'retention.ms');
      expect(retention).toMatchObject({ value: '1000', configSource: 1 });
      const policy = topic?.configs.find((c) => c.name === 'cleanup.policy');
      expect(policy).toMatchObject({ value: 'delete', configSource: 5 });
      if (version >= 3) expect(policy?.configType).toBe(7);
      expect(missing?.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      expect(broker?.configs).toMatchObject([{ name: 'num.partitions', value: '1' }]);
    }
    const [only] = (await describeTopic(4, ['segment.bytes'])) ?? [];
    expect(only?.configs.map((c) => c.name)).toEqual(['segment.bytes']);
  });
});

describe('IncrementalAlterConfigs and AlterConfigs', () => {
  test('set, delete, append, subtract; refusals; changes survive a restart', async () => {
    await setup();
    expect(
      await incremental([
        { name: 'max.message.bytes', configOperation: 0, value: '100' },
        { name: 'retention.ms', configOperation: 1, value: null },
        { name: 'cleanup.policy', configOperation: 2, value: 'compact' },
      ]),
    ).toMatchObject({ errorCode: 0 });
    const configs = fixture.data.cluster.topic('t')?.configs;
    expect(configs?.get('max.message.bytes')).toBe('100');
    expect(configs?.has('retention.ms')).toBe(false);
    expect(configs?.get('cleanup.policy')).toBe('delete,compact');
    expect(fixture.data.replicas.partition('t', 0)?.config.maxMessageBytes).toBe(100);
    expect(
      await incremental([{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }]),
    ).toMatchObject({ errorCode: 0 });
    expect(fixture.data.cluster.topic('t')?.configs.get('cleanup.policy')).toBe('compact');
    const bad = await incremental([{ name: 'retention.ms', configOperation: 0, value: 'x' }]);
    expect(bad?.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    const notList = await incremental([{ name: 'retention.ms', configOperation: 2, value: '1' }]);
    expect(notList?.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    const twice = await incremental([
      { name: 'retention.ms', configOperation: 0, value: '1' },
      { name: 'retention.ms', configOperation: 1, value: null },
    ]);
    expect(twice?.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    await fixture.reopen();
    expect(fixture.data.cluster.topic('t')?.configs.get('max.message.bytes')).toBe('100');

    for (let version = 0; version <= 2; version++) {
      const request = newAlterConfigsRequest();
      request.resources = [
        {
          resourceType: TOPIC,
          resourceName: 't',
          configs: [{ name: 'segment.ms', value: String(1000 + version) }],
        },
      ];
      const response = await call(
        fixture,
        Apis.AlterConfigs,
        alterConfigsHandler,
        request,
        version,
      );
      expect(response?.responses[0]?.errorCode).toBe(0);
      expect([...(fixture.data.cluster.topic('t')?.configs ?? [])]).toEqual([
        ['segment.ms', String(1000 + version)],
      ]);
    }
  });
});
