import { describe, expect, test } from 'vitest';
import { createLogger, silentLogger } from '../../../src/util/logger.ts';

function capture(isTTY: boolean): { lines: string[]; write: (l: string) => void; isTTY: boolean } {
  const lines: string[] = [];
  return { lines, isTTY, write: (line: string) => lines.push(line) };
}

describe('logger', () => {
  test('JSON lines when the destination is not a TTY, with child bindings', () => {
    const out = capture(false);
    const logger = createLogger({ level: 'info', destination: out, bindings: { nodeId: 1 } });
    logger.child({ conn: 7 }).info({ apiKey: 3 }, 'hello');
    logger.debug('not at info');
    expect(out.lines).toHaveLength(1);
    expect(JSON.parse(out.lines[0] as string)).toMatchObject({
      level: 30,
      nodeId: 1,
      conn: 7,
      apiKey: 3,
      msg: 'hello',
    });
  });

  test('pretty text on a TTY', () => {
    const out = capture(true);
    createLogger({ level: 'debug', destination: out }).debug('pretty please');
    const text = out.lines.join('');
    expect(text).toContain('pretty please');
    expect(() => JSON.parse(text)).toThrow();
  });

  test('silent writes nothing', () => {
    const out = capture(false);
    createLogger({ level: 'silent', destination: out }).error('nothing');
    silentLogger().fatal('nothing either');
    expect(out.lines).toEqual([]);
  });
});
