import { describe, expect, test } from 'vitest';
import { catalogue, propertyNames } from '../../../src/config/catalogue.ts';
import { parseCliArgs } from '../../../src/config/cli-args.ts';
import { ConfigError } from '../../../src/config/config-error.ts';
import { advertisedListenersOf, listenersOf, retentionMs } from '../../../src/config/derived.ts';
import { envNameOf, loadConfig } from '../../../src/config/load-config.ts';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  test('defaults make a dev broker', () => {
    const config = loadConfig();
    expect(config.listeners).toEqual(['PLAINTEXT://127.0.0.1:9092']);
    expect(config['log.dirs']).toEqual(['./data']);
    expect(config['auto.create.topics.enable']).toBe(true);
    expect(config['group.initial.rebalance.delay.ms']).toBe(0);
    expect(config['offsets.topic.replication.factor']).toBe(1);
    expect(config['default.replication.factor']).toBe(1);
    expect(config['offsets.topic.num.partitions']).toBeLessThanOrEqual(5);
    expect(config['cluster.id']).toBeNull();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.listeners)).toBe(true);
    expect(Object.keys(config).sort()).toEqual([...propertyNames].sort());
  });

  test('precedence: file < env < --set < --port/--data-dir', () => {
    const file = {
      path: 'brook.yaml',
      text: [
        'log.retention.ms: 1000',
        'num.partitions: 3',
        'message.max.bytes: 500',
        'node.id: 7',
        'log:',
        '  segment:',
        '    bytes: 4096',
      ].join('\n'),
    };
    const env = {
      BROOK_NUM_PARTITIONS: '4',
      BROOK_MESSAGE_MAX_BYTES: '600',
      HOME: '/root',
    };
    const config = loadConfig({
      file,
      env,
      sets: ['message.max.bytes=700', 'log.dirs=/a,/b'],
      port: 0,
      dataDir: '/data/x',
    });
    expect(config['node.id']).toBe(7);
    expect(config['log.segment.bytes']).toBe(4096);
    expect(config['log.retention.ms']).toBe(1000);
    expect(config['num.partitions']).toBe(4);
    expect(config['message.max.bytes']).toBe(700);
    expect(config['log.dirs']).toEqual(['/data/x']);
    expect(config.listeners).toEqual(['PLAINTEXT://127.0.0.1:0']);
  });

  test('env names: BROOK_ + upper case, dots to underscores', () => {
    expect(envNameOf('log.retention.ms')).toBe('BROOK_LOG_RETENTION_MS');
    const config = loadConfig({ env: { BROOK_AUTO_CREATE_TOPICS_ENABLE: 'FALSE' } });
    expect(config['auto.create.topics.enable']).toBe(false);
  });

  test('an unknown property is an error naming it, from every source', () => {
    const fromSet = configError(() => loadConfig({ sets: ['log.retention.sm=5'] }));
    expect(fromSet.code).toBe('ERR_CONFIG_UNKNOWN_PROPERTY');
    expect(fromSet.property).toBe('log.retention.sm');
    expect(fromSet.message).toContain("'log.retention.sm' (from --set)");
    expect(fromSet.message).toContain("did you mean 'log.retention.ms'");
    const fromFile = configError(() =>
      loadConfig({ file: { path: 'b.yaml', text: 'bogus.thing: 1' } }),
    );
    expect(fromFile.message).toContain("'bogus.thing' (from file b.yaml)");
    const fromEnv = configError(() => loadConfig({ env: { BROOK_NUM_PARTITION: '1' } }));
    expect(fromEnv.code).toBe('ERR_CONFIG_UNKNOWN_PROPERTY');
    expect(fromEnv.message).toContain('BROOK_NUM_PARTITION');
    expect(fromEnv.message).toContain('BROOK_NUM_PARTITIONS');
  });

  test('a BROOK_* variable far from every property is another switch: warned, not fatal', () => {
    const warnings: string[] = [];
    const config = loadConfig({
      env: { BROOK_DISABLE_SENDFILE: '1', BROOK_NODE_ID: '3' },
      onWarning: (m) => warnings.push(m),
    });
    expect(config['node.id']).toBe(3);
    expect(warnings).toEqual([
      'environment variable BROOK_DISABLE_SENDFILE names no configuration property; ignored',
    ]);
  });

  test('an invalid value is an error naming the property and source', () => {
    const cases: [() => unknown, string, string][] = [
      [() => loadConfig({ sets: ['num.partitions=0'] }), 'num.partitions', '0 must be in [1,'],
      [() => loadConfig({ sets: ['num.partitions=abc'] }), 'num.partitions', 'not an integer'],
      [() => loadConfig({ env: { BROOK_NODE_ID: '-1' } }), 'node.id', 'env BROOK_NODE_ID'],
      [() => loadConfig({ sets: ['listeners=127.0.0.1:9092'] }), 'listeners', 'NAME://host'],
      [() => loadConfig({ sets: ['log.dirs='] }), 'log.dirs', 'at least one'],
      [() => loadConfig({ sets: ['compression.type=brotli'] }), 'compression.type', 'one of'],
      [
        () => loadConfig({ sets: ['socket.request.max.bytes=3000000000'] }),
        'socket.request.max.bytes',
        '32 bits',
      ],
      [
        () => loadConfig({ sets: ['auto.create.topics.enable=yes'] }),
        'auto.create.topics.enable',
        'true or false',
      ],
      [() => loadConfig({ sets: ['node.id='] }), 'node.id', "'' is not an integer"],
      [
        () => loadConfig({ file: { path: 'f.yaml', text: 'log.retention.bytes: [1, 2]' } }),
        'log.retention.bytes',
        'not an integer',
      ],
    ];
    for (const [fn, property, text] of cases) {
      const error = configError(fn);
      expect(error.code).toBe('ERR_CONFIG_INVALID_VALUE');
      expect(error.message).toContain(property);
      expect(error.message).toContain(text);
      expect(error.property).toBe(property);
    }
  });

  test('a file that is not a YAML mapping is ERR_CONFIG_FILE', () => {
    expect(configError(() => loadConfig({ file: { path: 'x', text: '- a\n- b' } })).code).toBe(
      'ERR_CONFIG_FILE',
    );
    expect(configError(() => loadConfig({ file: { path: 'x', text: 'a: [' } })).code).toBe(
      'ERR_CONFIG_FILE',
    );
    expect(loadConfig({ file: { path: 'x', text: '# nothing\n' } })['node.id']).toBe(1);
  });

  test('contradictions are ERR_CONFIG_CONFLICT', () => {
    const error = configError(() =>
      loadConfig({ sets: ['advertised.listeners=EXTERNAL://example.com:9092'] }),
    );
    expect(error.code).toBe('ERR_CONFIG_CONFLICT');
    expect(error.property).toBe('advertised.listeners');
  });

  test('nullable properties unset with an empty value; lists from YAML sequences', () => {
    const config = loadConfig({
      file: { path: 'f', text: 'log.retention.ms: 5\nlog.dirs: [/x, /y]\ncluster.id: abc' },
      sets: ['log.retention.ms='],
    });
    expect(config['log.retention.ms']).toBeNull();
    expect(config['log.dirs']).toEqual(['/x', '/y']);
    expect(config['cluster.id']).toBe('abc');
  });

  test('derived values follow Kafka precedence', () => {
    expect(retentionMs(loadConfig())).toBe(168 * 3_600_000);
    expect(retentionMs(loadConfig({ sets: ['log.retention.minutes=2'] }))).toBe(120_000);
    expect(
      retentionMs(loadConfig({ sets: ['log.retention.minutes=2', 'log.retention.ms=-1'] })),
    ).toBe(-1);
    const config = loadConfig({
      sets: [
        'listeners=PLAINTEXT://:9092,INTERNAL://[::1]:9093',
        'advertised.listeners=PLAINTEXT://broker.example:9092',
      ],
    });
    expect(listenersOf(config)).toEqual([
      { name: 'PLAINTEXT', host: '', port: 9092 },
      { name: 'INTERNAL', host: '::1', port: 9093 },
    ]);
    expect(advertisedListenersOf(config)).toEqual([
      { name: 'PLAINTEXT', host: 'broker.example', port: 9092 },
    ]);
  });

  test('cluster mode: roles, voters and controller listeners must agree', () => {
    const voters = 'controller.quorum.voters=1@127.0.0.1:9093,2@127.0.0.1:9095';
    const both = 'listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093';
    const ok = loadConfig({ sets: [voters, both, 'node.id=1'] });
    expect(ok['process.roles']).toEqual(['broker', 'controller']);
    const refused = (sets: string[]): ConfigError => {
      try {
        loadConfig({ sets });
      } catch (error) {
        return error as ConfigError;
      }
      throw new Error(`accepted: ${sets.join(' ')}`);
    };
    expect(refused([voters, both, 'node.id=3']).property).toBe('node.id');
    expect(refused([voters, 'node.id=1']).property).toBe('controller.listener.names');
    expect(refused([voters, both, 'node.id=1', 'process.roles=broker']).property).toBe(
      'process.roles',
    );
    expect(refused([voters, 'listeners=CONTROLLER://127.0.0.1:9093', 'node.id=1']).property).toBe(
      'listeners',
    );
    // A broker-only node outside the voter set; a controller-only voter.
    expect(loadConfig({ sets: [voters, 'node.id=4', 'process.roles=broker'] })['node.id']).toBe(4);
    const controllerOnly = ['listeners=CONTROLLER://127.0.0.1:9093', 'process.roles=controller'];
    expect(loadConfig({ sets: [voters, 'node.id=1', ...controllerOnly] })['node.id']).toBe(1);
  });

  test('every catalogue default passes its own validator', () => {
    for (const name of propertyNames) {
      const spec = catalogue[name] as unknown as {
        default: unknown;
        validate?: (v: unknown) => string | undefined;
      };
      if (spec.default !== null) expect(spec.validate?.(spec.default), name).toBeUndefined();
    }
  });
});

describe('parseCliArgs', () => {
  test('reads flags', () => {
    const args = parseCliArgs([
      '--config',
      'b.yaml',
      '--port',
      '9093',
      '--data-dir',
      '/tmp/d',
      '--set',
      'a=1',
      '-s',
      'b=2',
    ]);
    expect(args).toEqual({
      help: false,
      configPath: 'b.yaml',
      port: 9093,
      dataDir: '/tmp/d',
      sets: ['a=1', 'b=2'],
    });
    expect(parseCliArgs(['--help']).help).toBe(true);
  });

  test('rejects unknown flags, stray arguments and bad ports clearly', () => {
    expect(configError(() => parseCliArgs(['--prot', '1'])).message).toContain('--prot');
    expect(configError(() => parseCliArgs(['serve'])).message).toContain("'serve'");
    const port = configError(() => parseCliArgs(['--port', '70000']));
    expect(port.code).toBe('ERR_CLI_ARGUMENT');
    expect(port.message).toContain('70000');
  });
});
