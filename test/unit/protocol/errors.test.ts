import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  allErrors,
  ErrorCode,
  errorInfo,
  errorName,
  isRetriable,
} from '../../../protocol/errors.ts';

const tsv = join(
  import.meta.dirname,
  '../../../../shared/kafka-protocol-reference/error-codes.tsv',
);

describe('error codes', () => {
  test('well-known codes, names and retriability', () => {
    expect(ErrorCode.NONE).toBe(0);
    expect(ErrorCode.UNKNOWN_SERVER_ERROR).toBe(-1);
    expect(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).toBe(3);
    expect(ErrorCode.NOT_LEADER_OR_FOLLOWER).toBe(6);
    expect(ErrorCode.UNSUPPORTED_VERSION).toBe(35);
    expect(isRetriable(ErrorCode.NOT_LEADER_OR_FOLLOWER)).toBe(true);
    expect(isRetriable(ErrorCode.TOPIC_AUTHORIZATION_FAILED)).toBe(false);
    expect(errorInfo(3)).toEqual({
      code: 3,
      name: 'UNKNOWN_TOPIC_OR_PARTITION',
      retriable: true,
      description: 'unknown topic or partition',
    });
    expect(errorName(12345)).toBe('UNKNOWN(12345)');
    expect(errorInfo(12345)).toBeUndefined();
  });

  test('codes are unique and ordered', () => {
    const codes = allErrors().map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes).toEqual([...codes].sort((a, b) => a - b));
  });

  test.skipIf(!existsSync(tsv))('the table equals the reference error list', () => {
    const rows = readFileSync(tsv, 'utf8').trim().split('\n').slice(1);
    const reference = rows.map((line) => {
      const [code, name, retriable] = line.split('\t');
      return { code: Number(code), name, retriable: retriable === 'yes' };
    });
    expect(allErrors().map(({ code, name, retriable }) => ({ code, name, retriable }))).toEqual(
      reference,
    );
  });
});
