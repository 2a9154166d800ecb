import { connect, type Socket } from 'node:net';
import { createTestDatabase, type TestDatabase } from '#testing';
import { localDistribution, startRefgraph, type StartedRefgraph } from './harness.js';
import { handshakeHeaders } from './wire.js';

// Clients that never let go: shutdown must still end, cutting them once the drain is over.

let db: TestDatabase;
let refgraph: StartedRefgraph;

beforeAll(async () => {
  db = await createTestDatabase();
  refgraph = await startRefgraph(
    db.url,
    {
      server: { drainSeconds: 1 },
      worker: { enabled: false },
      registries: [localDistribution('http://127.0.0.1:9')],
    },
    { HOOK: 'hook-secret' },
  );
});

afterAll(() => db?.drop());

/** A connection to the service that resolves `closed` when the server ends it. */
function open(write: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const { port } = new URL(refgraph.url);
  return new Promise((resolve, reject) => {
    let data = '';
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(write);
      resolve({ socket, received: () => data, closed });
    });
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('error', reject);
  });
}

it('close() ends with a half-sent request and a WebSocket that ignores the close frame', async () => {
  // Headers never finished: not idle, so the HTTP server alone would wait for it.
  const slow = await open('GET /api/v1/registries HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  // A completed handshake on the subscription route, then silence: no pong, no close frame.
  const headers = Object.entries(handshakeHeaders()).map(([k, v]) => `${k}: ${v}\r\n`);
  const ws = await open(`GET /graphql HTTP/1.1\r\nHost: x\r\n${headers.join('')}\r\n`);
  await new Promise<void>((resolve) => {
    const check = () => (ws.received().includes('\r\n\r\n') ? resolve() : ws.socket.once('data', check));
    check();
  });
  expect(ws.received()).toMatch(/^HTTP\/1\.1 101 /);

  await refgraph.running.close();
  await Promise.all([slow.closed, ws.closed]);
  // The WebSocket was told first (close frame 0x88), then cut.
  expect(
    ws
      .received()
      .slice(ws.received().indexOf('\r\n\r\n') + 4)
      .charCodeAt(0),
  ).toBe(0x88);
  expect(slow.socket.destroyed && ws.socket.destroyed).toBe(true);
});
