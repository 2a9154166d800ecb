import { createServer, type AddressInfo, type Socket } from 'node:net';

export interface HungServer {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  stop(): Promise<void>;
}

/**
 * A loopback TCP server that accepts connections and never answers: a registry (or token
 * service) that hangs. A real registry cannot be made to hang on cue, so this stands in for one.
 */
export async function startHungServer(): Promise<HungServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return connections;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
