import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';
import { createTestDatabase, type TestDatabase } from '#testing';
import { TOO_MANY_INITIALISATIONS } from '../../apps/server/src/auth/socket-auth.js';
import { SOCKET_RETRY_AFTER_SECONDS, TOO_MANY_SOCKETS } from '../../apps/server/src/auth/socket-limit.js';
import { eventually, localDistribution, startRefgraph, type StartedRefgraph } from './harness.js';

/**
 * graphql.maxSocketsPerClient: open GraphQL WebSockets are counted per client key (token name,
 * else address) for as long as they are open, however they authenticated — refused at the
 * handshake (429) when it names the client, at connection_init (4429) when only that does — and
 * a socket's place frees when it closes, whichever side ends it.
 */
const CAP = 2;
const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const TOKEN_A = randomBytes(16).toString('hex');
const TOKEN_B = randomBytes(16).toString('hex');
const TOKEN_C = randomBytes(16).toString('hex');
const TOKEN_D = randomBytes(16).toString('hex');
const TOKEN_E = randomBytes(16).toString('hex');
const TOKEN_F = randomBytes(16).toString('hex');

interface WsLike {
  on(event: 'open', cb: () => void): void;
  on(event: 'message', cb: (data: Buffer) => void): void;
  on(event: 'close', cb: (code: number) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  on(event: 'unexpected-response', cb: (req: unknown, res: IncomingMessage) => void): void;
  send(data: string): void;
  close(): void;
  terminate(): void;
}
const { WebSocket } = createRequire(import.meta.url)('ws') as {
  WebSocket: new (url: string, protocol: string, opts: { headers: Record<string, string> }) => WsLike;
};

let tdb: TestDatabase;
let refgraph: StartedRefgraph;
const held: Socket[] = [];

interface Socket {
  /** `ack`, `open` (no connection_init sent), `close:<code>`, `http:<status>`, or another frame type. */
  outcome: string;
  retryAfter?: string;
  /** Resolves with the close code once the connection has closed. */
  closed: Promise<number>;
  ws: WsLike;
}

/**
 * Opens a graphql-transport-ws socket (with handshake `headers`) and, unless `init` is false,
 * sends connection_init with `payload`; resolves once the server has decided it. The socket stays
 * open until the test closes it.
 */
function open(opts: { headers?: Record<string, string>; payload?: object; init?: boolean }): Promise<Socket> {
  const ws = new WebSocket(`${refgraph.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', {
    headers: opts.headers ?? {},
  });
  let closedWith: (code: number) => void = () => undefined;
  const closed = new Promise<number>((r) => (closedWith = r));
  return new Promise((resolve) => {
    let done = false;
    const settle = (outcome: string, retryAfter?: string) => {
      if (done) return;
      done = true;
      const socket = { outcome, retryAfter, closed, ws };
      held.push(socket);
      resolve(socket);
    };
    ws.on('open', () => {
      if (opts.init === false) return settle('open');
      ws.send(JSON.stringify({ type: 'connection_init', payload: opts.payload ?? {} }));
    });
    ws.on('message', (data) => {
      const type = (JSON.parse(data.toString()) as { type: string }).type;
      settle(type === 'connection_ack' ? 'ack' : type);
    });
    ws.on('close', (code) => {
      closedWith(code);
      settle(`close:${code}`);
    });
    ws.on('unexpected-response', (_req, res) => {
      settle(`http:${res.statusCode}`, String(res.headers['retry-after']));
      ws.terminate();
      closedWith(0);
    });
    ws.on('error', (err) => settle(`error:${err.message}`));
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const from = (address: string) => ({ 'x-forwarded-for': address });

async function openAll(n: number, opts: Parameters<typeof open>[0]): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < n; i++) out.push(await open(opts));
  return out;
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  refgraph = await startRefgraph(
    tdb.url,
    {
      // Only the socket cap refuses here: the per-minute limit is off.
      server: { rateLimitPerMinute: 0, trustProxy: ['127.0.0.1'] },
      worker: { enabled: false },
      graphql: { maxSocketsPerClient: CAP },
      registries: [localDistribution('http://127.0.0.1:9')],
      auth: {
        tokens: [
          { name: 'a', sha256: sha(TOKEN_A), scopes: ['read:**'] },
          { name: 'b', sha256: sha(TOKEN_B), scopes: ['read:**'] },
          { name: 'c', sha256: sha(TOKEN_C), scopes: ['read:**'] },
          { name: 'd', sha256: sha(TOKEN_D), scopes: ['read:**'] },
          { name: 'e', sha256: sha(TOKEN_E), scopes: ['read:**'] },
          { name: 'f', sha256: sha(TOKEN_F), scopes: ['read:**'] },
        ],
      },
    },
    { HOOK: 'hook-secret' },
  );
}, 120_000);

afterAll(async () => {
  for (const s of held) s.ws.terminate();
  await refgraph?.running.close();
  await tdb?.drop();
});

describe('open GraphQL sockets per client', () => {
  it('a token authenticated at the handshake is refused past the cap with 429; another token is not', async () => {
    const first = await openAll(CAP, { headers: { ...bearer(TOKEN_A), ...from('10.1.0.1') } });
    expect(first.map((s) => s.outcome)).toEqual(Array(CAP).fill('ack'));

    // From another address too: the token is the client, not where it connects from.
    const over = await open({ headers: { ...bearer(TOKEN_A), ...from('10.1.0.2') } });
    expect([over.outcome, over.retryAfter]).toEqual(['http:429', String(SOCKET_RETRY_AFTER_SECONDS)]);
    expect((await open({ headers: { ...bearer(TOKEN_B), ...from('10.1.0.1') } })).outcome).toBe('ack');

    // A client that vanishes (no close frame) frees its place as well as one that closes.
    first[0]!.ws.terminate();
    await first[0]!.closed;
    await eventually(async () =>
      expect((await open({ headers: { ...bearer(TOKEN_A), ...from('10.1.0.1') } })).outcome).toBe('ack'),
    );
    first[1]!.ws.close();
    await first[1]!.closed;
    await eventually(async () =>
      expect((await open({ headers: { ...bearer(TOKEN_A), ...from('10.1.0.1') } })).outcome).toBe('ack'),
    );
    // Full again: exactly CAP are open.
    expect((await open({ headers: bearer(TOKEN_A) })).outcome).toBe('http:429');
  });

  it('a token sent in connection_init counts there: past the cap the socket is closed with 4429', async () => {
    // Browser-style sockets from distinct addresses, each authenticating in connection_init.
    const browsers = await Promise.all(
      Array.from({ length: CAP }, (_, i) => open({ headers: from(`10.2.0.${i}`), payload: bearer(TOKEN_C) })),
    );
    expect(browsers.map((s) => s.outcome)).toEqual(Array(CAP).fill('ack'));
    const over = await open({ headers: from('10.2.1.1'), payload: bearer(TOKEN_C) });
    expect(over.outcome).toBe(`close:${TOO_MANY_SOCKETS}`);
    // The same client at the handshake is refused too: one count however a socket authenticated.
    expect((await open({ headers: bearer(TOKEN_C) })).outcome).toBe('http:429');

    browsers[0]!.ws.close();
    await browsers[0]!.closed;
    await eventually(async () =>
      expect((await open({ headers: from('10.2.1.1'), payload: bearer(TOKEN_C) })).outcome).toBe('ack'),
    );
  });

  it('a handshake without credentials counts under its address until it authenticates', async () => {
    const address = from('10.3.0.1');
    await openAll(CAP - 1, { headers: bearer(TOKEN_D) });
    const pending = await open({ headers: address, init: false });
    expect(pending.outcome).toBe('open');
    // Moves from the address to token D's count, which it fills.
    expect((await open({ headers: address, payload: bearer(TOKEN_D) })).outcome).toBe('ack');

    // The server closes a socket whose token has no room: its place at the address frees too.
    const refused = await open({ headers: address, payload: bearer(TOKEN_D) });
    expect(refused.outcome).toBe(`close:${TOO_MANY_SOCKETS}`);
    const second = await eventually(async () => {
      const s = await open({ headers: address, init: false });
      expect(s.outcome).toBe('open');
      return s;
    });
    expect(second.outcome).toBe('open');
    // Two sockets wait at the address now: the next handshake from it is refused.
    expect((await open({ headers: address, init: false })).outcome).toBe('http:429');
  });
});

describe('connection_init', () => {
  /**
   * Sends a second connection_init on an acknowledged socket; resolves at the server's answer:
   * the close code, or `ack` if it acknowledged the init again.
   */
  async function initAgain(socket: Socket, payload: object): Promise<string> {
    const acked = new Promise<string>((resolve) =>
      socket.ws.on('message', (data) => {
        const type = (JSON.parse(data.toString()) as { type: string }).type;
        if (type === 'connection_ack') resolve('ack');
      }),
    );
    socket.ws.send(JSON.stringify({ type: 'connection_init', payload }));
    return Promise.race([acked, socket.closed.then((code) => `close:${code}`)]);
  }

  it('a second connection_init closes the socket with 4429 and is never acknowledged', async () => {
    const socket = await open({ headers: from('10.4.0.1'), payload: bearer(TOKEN_E) });
    expect(socket.outcome).toBe('ack');
    // Another token in a second init would re-scope the live socket were it accepted.
    expect(await initAgain(socket, bearer(TOKEN_F))).toBe(`close:${TOO_MANY_INITIALISATIONS}`);
  });

  it('a socket authenticated at the handshake gets one connection_init too', async () => {
    const sockets = await openAll(CAP, { headers: bearer(TOKEN_F) });
    expect(sockets.map((s) => s.outcome)).toEqual(Array(CAP).fill('ack'));
    expect(await initAgain(sockets[0]!, {})).toBe(`close:${TOO_MANY_INITIALISATIONS}`);
    // Its place in token f's count frees with it.
    await eventually(async () => expect((await open({ headers: bearer(TOKEN_F) })).outcome).toBe('ack'));
  });
});
