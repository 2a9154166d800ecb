import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';

const upgraded = new WeakMap<Server, Set<Duplex>>();

/**
 * Keeps track of `server`'s upgraded (WebSocket) connections: the HTTP server forgets a socket once
 * it is handed to the upgrade handler, so closeAllConnections() alone would not cut it.
 */
export function trackUpgrades(server: Server): void {
  if (upgraded.has(server)) return;
  const open = new Set<Duplex>();
  upgraded.set(server, open);
  server.on('upgrade', (_req, socket: Duplex) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
}

/**
 * Runs `close` — Nest's or fastify's own, which closes `fastify` the graceful way: no new
 * connections, open requests answered, WebSockets sent 1001 — but for at most `drainMs`: then
 * every connection still open is cut. A client that never finishes its request or never answers a
 * close frame would otherwise hold shutdown forever, and with it the pools and the queue behind it.
 */
export async function closeWithin(
  fastify: FastifyInstance,
  close: () => Promise<unknown>,
  drainMs: number,
): Promise<void> {
  const server = fastify.server;
  const cut = setTimeout(() => {
    for (const socket of upgraded.get(server) ?? []) socket.destroy();
    server.closeAllConnections?.();
  }, drainMs);
  cut.unref();
  try {
    await close();
  } finally {
    clearTimeout(cut);
  }
}
