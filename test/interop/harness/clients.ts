/**
 * Which real Kafka clients this machine has, and the policy for a missing one: under CI
 * (`CI` set) a missing client fails its tests, because .ci/run installs every client; locally
 * the tests that need it are skipped with the reason printed.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';

export const interopDir = join(import.meta.dirname, '..');
export const pythonBin = '/usr/bin/python3';
export const pythonDir = join(interopDir, 'python');
export const saramaBin = join(interopDir, 'sarama', 'bin', 'brook-sarama');
export const saramaBuildScript = join(interopDir, 'sarama', 'build.sh');
export const clientsDir = join(interopDir, 'clients');
export const confluentJsDir = join(clientsDir, 'node_modules', '@confluentinc', 'kafka-javascript');

export const goBin = '/usr/lib/go-1.19/bin/go';
export const saramaSourceDir = '/usr/share/gocode/src/github.com/Shopify/sarama';

/** 'sarama-build' is the toolchain that builds the sarama driver, not a client itself. */
export const clientNames = [
  'kcat',
  'confluent-python',
  'kafka-python',
  'sarama',
  'sarama-build',
  'confluent-js',
] as const;
export type ClientName = (typeof clientNames)[number];

export interface ClientStatus {
  readonly available: boolean;
  /** Why the client is missing, and how to install it; empty when available. */
  readonly reason: string;
}

const probeTimeoutMs = 10_000;
const setup = 'bash .ci/setup-interop (npm run interop:setup) installs every client';
const saramaSourceFix = `needs golang-github-shopify-sarama-dev; ${setup}`;

function probe(command: string, args: readonly string[], fix: string): ClientStatus {
  const run = spawnSync(command, [...args], { timeout: probeTimeoutMs, encoding: 'utf8' });
  if (run.error === undefined && run.status === 0) return { available: true, reason: '' };
  const why = run.error?.message ?? (run.stderr.trim().split('\n').at(-1) || `exit ${run.status}`);
  return { available: false, reason: `${command} ${args.join(' ')} failed (${why}); ${fix}` };
}

function executable(path: string, fix: string): ClientStatus {
  try {
    accessSync(path, constants.X_OK);
    return { available: true, reason: '' };
  } catch {
    return { available: false, reason: `${path} is missing; ${fix}` };
  }
}

const probes: Record<ClientName, () => ClientStatus> = {
  kcat: () => probe('kcat', ['-V'], `needs Debian's kcat; ${setup}`),
  'confluent-python': () =>
    probe(pythonBin, ['-c', 'import confluent_kafka'], `needs python3-confluent-kafka; ${setup}`),
  'kafka-python': () => probe(pythonBin, ['-c', 'import kafka'], `needs python3-kafka; ${setup}`),
  sarama: () => executable(saramaBin, `build it with bash ${saramaBuildScript}; or ${setup}`),
  'sarama-build': () =>
    existsSync(saramaSourceDir)
      ? executable(goBin, `needs golang-1.19-go; ${setup}`)
      : { available: false, reason: `${saramaSourceDir} is missing; ${saramaSourceFix}` },
  'confluent-js': () => {
    const addon = join(confluentJsDir, 'build', 'Release', 'confluent-kafka-javascript.node');
    if (existsSync(addon)) return { available: true, reason: '' };
    return { available: false, reason: `${addon} is missing; ${setup}` };
  },
};

const known = new Map<ClientName, ClientStatus>();

/** Whether `name` is installed here, probed once per process. */
export function clientStatus(name: ClientName): ClientStatus {
  let status = known.get(name);
  if (status === undefined) {
    status = probes[name]();
    known.set(name, status);
  }
  return status;
}

export function clientAvailable(name: ClientName): boolean {
  return clientStatus(name).available;
}

export function underCi(): boolean {
  const ci = process.env['CI'];
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

/**
 * For `describe.skipIf(skipWithout('kcat'))(...)`: true (skip) only when the client is missing
 * and this is not CI. Under CI the tests run, and `requireClient` makes each of them fail.
 */
export function skipWithout(...names: ClientName[]): boolean {
  const missing = names.filter((name) => !clientAvailable(name));
  const skip = shouldSkip(missing.length, underCi());
  for (const name of skip ? missing : []) {
    console.warn(`skipping ${name} interop tests: ${clientStatus(name).reason}`);
  }
  return skip;
}

/** The policy itself: skip only when something is missing and this is not CI. */
export function shouldSkip(missingCount: number, ci: boolean): boolean {
  return missingCount > 0 && !ci;
}

/** Throws the install hint when `name` is missing; every runner calls it first. */
export function requireClient(name: ClientName): void {
  const status = clientStatus(name);
  if (!status.available) {
    const where = underCi() ? 'CI must install every client (.ci/run)' : 'not installed here';
    throw new Error(`interop client ${name} is missing (${where}): ${status.reason}`);
  }
}
