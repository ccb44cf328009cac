/**
 * Free loopback ports for nodes that must know each other's addresses before they listen
 * (a quorum's voters): each is bound at port 0 by the OS, all held until every one is chosen
 * (so none repeats), then released. Another process could take one in the gap before the node
 * binds it; callers that start nodes retry on EADDRINUSE or accept the rare failure (tests).
 */
import { createServer, type Server } from 'node:net';

export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, resolve);
      });
      const address = server.address();
      if (typeof address !== 'object' || address === null) throw new Error('no bound address');
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(
      servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }
}
