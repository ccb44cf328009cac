/**
 * Fetch-read throughput to a loopback socket: file regions through SocketWriter with sendfile,
 * the same through the fallback (pooled positional reads + socket.write), and the raw baseline
 * fs.createReadStream(file).pipe(socket), in one run. The file is written first, so it is in
 * the page cache: this measures the copy path, not the disk. A child process is the consumer
 * (like a client) and discards what it reads; the sender's CPU time per GB (process.cpuUsage,
 * user + system, of this process only) is reported too, since that is what sendfile saves.
 *
 * Regions are 1 MiB (a typical max.partition.fetch.bytes) each preceded by a 64-byte Buffer
 * standing for a response header, so the writer's flush-before-sendfile costs are counted.
 *
 * Run: npx node bench/storage-read.bench.ts [MiB per run, default 256]
 */
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendfileAddon, sendfileUnavailableReason } from '../storage/io/sendfile.ts';
import { type OutboundChunk, SocketWriter } from '../storage/io/socket-writer.ts';
import { mbPerSecond, measure, median, report, timeNs } from './harness.ts';

const fileMiB = Number(process.argv[2] ?? 256);
const fileBytes = fileMiB * 1024 * 1024;
const REGION_BYTES = 1024 * 1024;
const RUNS = 5;

const consumerSource = `
const net = require('node:net');
const socket = net.connect(Number(process.argv[1]), '127.0.0.1');
let expected = 0;
let got = 0;
process.on('message', (bytes) => { expected += bytes; });
socket.on('data', (data) => {
  got += data.length;
  if (got === expected) process.send(got);
});
`;

interface Link {
  readonly socket: Socket;
  /** Resolves when the consumer has read `bytes` more bytes. */
  expect(bytes: number): Promise<void>;
  close(): Promise<void>;
}

async function link(): Promise<Link> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const consumer = spawn(process.execPath, ['-e', consumerSource, String(address.port)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const socket = await accepted;
  return {
    socket,
    expect: (bytes) => {
      const done = new Promise<void>((resolve) => consumer.once('message', () => resolve()));
      consumer.send(bytes);
      return done;
    },
    close: async () => {
      socket.destroy();
      server.close();
      consumer.kill();
    },
  };
}

function fetchLikeChunks(fd: number): OutboundChunk[] {
  const chunks: OutboundChunk[] = [];
  const header = Buffer.alloc(64, 7);
  for (let position = 0; position < fileBytes; position += REGION_BYTES) {
    chunks.push(header);
    chunks.push({
      kind: 'file-region',
      fd,
      position,
      length: Math.min(REGION_BYTES, fileBytes - position),
      release: () => undefined,
    });
  }
  return chunks;
}

/** Sender CPU ms per GB moved, by measurement name (medians are reported). */
const cpuMsPerGb = new Map<string, number[]>();

/** Runs `fn` (moving `bytes`), recording this process's CPU time per GB under `name`. */
async function withCpu(name: string, bytes: number, fn: () => Promise<number>) {
  const before = process.cpuUsage();
  const result = await fn();
  const used = process.cpuUsage(before);
  const perGb = (used.user + used.system) / 1000 / (bytes / 1e9);
  cpuMsPerGb.set(name, [...(cpuMsPerGb.get(name) ?? []), perGb]);
  return result;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'brook-bench-read-'));
  const path = join(dir, 'segment.log');
  writeFileSync(path, Buffer.alloc(fileBytes, 0x5a));
  const fd = openSync(path, 'r');
  const net = await link();
  const headerBytes = Math.ceil(fileBytes / REGION_BYTES) * 64;
  try {
    const rawName = 'raw: createReadStream().pipe(socket)';
    const raw = await measure(rawName, 'MB/s', RUNS, () =>
      withCpu(rawName, fileBytes, async () => {
        const received = net.expect(fileBytes);
        const ns = await timeNs(async () => {
          const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
          stream.pipe(net.socket, { end: false });
          await received;
        });
        return mbPerSecond(fileBytes, ns);
      }),
    );
    const probes = { waits: 0, probed: 0, sent: 0 };
    const viaWriter = (name: string, useSendfile: boolean) =>
      measure(name, 'MB/s', RUNS, () =>
        withCpu(name, fileBytes, async () => {
          const writer = new SocketWriter(net.socket, { sendfile: useSendfile ? undefined : null });
          const stats = writer.stats;
          const count = () => {
            probes.waits += stats.eagainWaits;
            probes.probed += stats.bytesProbed;
            probes.sent += stats.bytesSentfile;
          };
          const received = net.expect(fileBytes + headerBytes);
          const ns = await timeNs(async () => {
            await writer.write(fetchLikeChunks(fd));
            await received;
          });
          count();
          return mbPerSecond(fileBytes + headerBytes, ns);
        }),
      );
    const rows = [raw];
    if (sendfileAddon) rows.push(await viaWriter('SocketWriter, sendfile addon', true));
    else console.log(`sendfile addon unavailable: ${sendfileUnavailableReason}`);
    rows.push(await viaWriter('SocketWriter, fallback (pooled reads)', false));
    report(`storage read to loopback socket, ${fileMiB} MiB page-cached file`, rows, raw);
    const cpuRows = rows.map((row) => {
      const runs = (cpuMsPerGb.get(row.name) ?? []).slice(1);
      return { name: row.name, unit: 'CPU ms/GB', runs, median: median(runs) };
    });
    report('sender CPU per GB sent (lower is better)', cpuRows, cpuRows[0]);
    if (probes.sent > 0) {
      const share = ((100 * probes.probed) / (probes.probed + probes.sent)).toFixed(3);
      console.log(`sendfile: ${probes.waits} EAGAIN waits, ${share}% of bytes copied as probes`);
    }
  } finally {
    await net.close();
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
