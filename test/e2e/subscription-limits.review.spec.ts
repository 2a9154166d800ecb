import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { parse } from 'graphql';
import { Database, GraphRepository, RegistryRepository } from '#store';
import {
  createTestDatabase,
  imageManifest,
  kindOf,
  referrerManifest,
  type BuiltManifest,
  type TestDatabase,
} from '#testing';
import { LIMITS } from '../../apps/server/src/graphql/input.js';
import {
  MAX_REFUSED_SUBSCRIPTIONS,
  MAX_SUBSCRIPTIONS_PER_SOCKET,
} from '../../apps/server/src/graphql/subscription-guard.js';
import { eventually, localDistribution, startRefgraph, type StartedRefgraph } from './harness.js';

/**
 * A subscription is a GraphQL operation like any other: the depth and complexity caps that refuse
 * a query over HTTP must refuse it over graphql-ws too, and one socket must not hold subscriptions
 * the server can no longer end. Frames are sent with a raw `ws` client, as an attacker would.
 */
interface WsLike {
  on(event: 'message', cb: (data: Buffer) => void): void;
  on(event: 'open', cb: () => void): void;
  on(event: 'close', cb: (code: number) => void): void;
  send(data: string): void;
  close(): void;
}
const { WebSocket } = createRequire(import.meta.url)('ws') as {
  WebSocket: new (url: string, protocols: string, opts: { headers: Record<string, string> }) => WsLike;
};

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const READER = randomBytes(16).toString('hex');
const subject = imageManifest();

let tdb: TestDatabase;
let refgraph: StartedRefgraph;
let db: Database;
let repositoryId = 0;

interface Frame {
  type: string;
  id?: string;
  payload?: unknown;
}

async function openSocket() {
  const ws = new WebSocket(`${refgraph.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', {
    headers: { authorization: `Bearer ${READER}` },
  });
  const frames: Frame[] = [];
  const state: { closeCode?: number } = {};
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Frame));
  ws.on('close', (code) => (state.closeCode = code));
  await new Promise<void>((r) => ws.on('open', r));
  ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
  await eventually(async () => expect(frames.map((f) => f.type)).toContain('connection_ack'));
  return {
    frames,
    state,
    send: (f: Frame) => ws.send(JSON.stringify(f)),
    close: () => ws.close(),
  };
}

/** Adds referrers to the subject (each a referrer_added event) until `done` holds. */
async function pushUntil(done: () => void) {
  const graph = new GraphRepository(db);
  await eventually(async () => {
    const r: BuiltManifest = referrerManifest(subject.descriptor, 'application/vnd.example.sig');
    await graph.applyPush({
      repositoryId,
      manifest: r.parsed,
      kind: kindOf(r),
      bytes: r.bytes,
      eventAt: new Date(),
    });
    done();
  }, 15_000);
}

const deep = (levels: number) =>
  `subscription ($s: String!) { referrerAdded(subject: $s) { referrer { ${'children { '.repeat(levels)}digest${' }'.repeat(levels)} } } }`;

beforeAll(async () => {
  tdb = await createTestDatabase();
  refgraph = await startRefgraph(
    tdb.url,
    {
      server: { rateLimitPerMinute: 0 },
      registries: [localDistribution('http://127.0.0.1:9')],
      auth: { tokens: [{ name: 'team-a', sha256: sha(READER), scopes: ['read:local/team-a/**'] }] },
    },
    { HOOK: 'hook-secret' },
  );
  db = new Database({ url: tdb.url, maxConnections: 2 });
  const registries = new RegistryRepository(db);
  const reg = (await registries.findRegistryByName('local'))!;
  repositoryId = await registries.ensureRepository(reg.id, 'team-a/app');
  await new GraphRepository(db).applyPush({
    repositoryId,
    manifest: subject.parsed,
    kind: kindOf(subject),
    bytes: subject.bytes,
    tag: 'v1',
    eventAt: new Date(),
  });
}, 120_000);

afterAll(async () => {
  await db?.close();
  await refgraph?.running.close();
  await tdb?.drop();
});

describe('GraphQL limits over graphql-ws', () => {
  it('the same document over HTTP is refused as too deep (the limit the socket must apply)', async () => {
    const res = await fetch(`${refgraph.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${READER}` },
      body: JSON.stringify({ query: deep(14), variables: { s: subject.digest } }),
    });
    const body = (await res.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
    expect(body.errors?.map((e) => e.extensions?.code)).toContain('QUERY_TOO_DEEP');
  });

  it('a subscription nested past the depth limit is refused, not run on each event', async () => {
    const socket = await openSocket();
    try {
      socket.send({
        type: 'subscribe',
        id: 'deep',
        payload: { query: deep(14), variables: { s: subject.digest } },
      });
      const mine = () => socket.frames.filter((f) => f.id === 'deep');
      await pushUntil(() => expect(mine().length).toBeGreaterThan(0));
      expect(mine()[0]).toMatchObject({ type: 'error' });
      expect(JSON.stringify(mine()[0]!.payload)).toContain('QUERY_TOO_DEEP');
    } finally {
      socket.close();
    }
  });

  it('a document that does not validate (unknown field) is refused', async () => {
    const socket = await openSocket();
    try {
      socket.send({
        type: 'subscribe',
        id: 'bad',
        payload: {
          query: 'subscription ($s: String!) { referrerAdded(subject: $s) { referrerDigest noSuchField } }',
          variables: { s: subject.digest },
        },
      });
      const mine = () => socket.frames.filter((f) => f.id === 'bad');
      await pushUntil(() => expect(mine().length).toBeGreaterThan(0));
      expect(mine()[0]).toMatchObject({ type: 'error' });
    } finally {
      socket.close();
    }
  });

  it('a syntax tree sent as JSON instead of GraphQL text is refused, not run', async () => {
    const socket = await openSocket();
    // Well formed but for its origin: the subject argument is an array where the schema says String.
    const tree = JSON.parse(
      JSON.stringify(parse('subscription { referrerAdded(subject: "x") { referrerDigest } }')),
    ) as {
      definitions: Array<{ selectionSet: { selections: Array<{ arguments: Array<{ value: unknown }> }> } }>;
    };
    tree.definitions[0]!.selectionSet.selections[0]!.arguments[0]!.value = {
      kind: 'StringValue',
      value: [subject.digest],
    };
    try {
      socket.send({ type: 'subscribe', id: 'tree', payload: { query: tree } });
      const mine = () => socket.frames.filter((f) => f.id === 'tree');
      await pushUntil(() => expect(mine().length).toBeGreaterThan(0));
      expect(mine()[0]).toMatchObject({ type: 'error' });
      expect(JSON.stringify(mine()[0]!.payload)).toContain('must be GraphQL text');
    } finally {
      socket.close();
    }
  });

  it('a second subscribe with an id already in use is refused (the first is not orphaned)', async () => {
    const socket = await openSocket();
    const query = 'subscription ($s: String!) { referrerAdded(subject: $s) { referrerDigest } }';
    try {
      for (let i = 0; i < 2; i++)
        socket.send({ type: 'subscribe', id: 'dup', payload: { query, variables: { s: subject.digest } } });
      const mine = () => socket.frames.filter((f) => f.id === 'dup');
      await pushUntil(() => expect(mine().map((f) => f.type)).toContain('error'));
    } finally {
      socket.close();
    }
  });

  it('a socket holds at most MAX_SUBSCRIPTIONS_PER_SOCKET subscriptions', async () => {
    const socket = await openSocket();
    const query = 'subscription ($s: String!) { referrerAdded(subject: $s) { referrerDigest } }';
    try {
      for (let i = 0; i <= MAX_SUBSCRIPTIONS_PER_SOCKET; i++)
        socket.send({ type: 'subscribe', id: `s${i}`, payload: { query, variables: { s: subject.digest } } });
      await eventually(async () =>
        expect(socket.frames.filter((f) => f.type === 'error').map((f) => f.id)).toEqual([
          `s${MAX_SUBSCRIPTIONS_PER_SOCKET}`,
        ]),
      );
    } finally {
      socket.close();
    }
  });

  it('a document over the token limit, or one not sent as GraphQL text, is refused', async () => {
    const socket = await openSocket();
    const variables = { s: subject.digest };
    try {
      const big = `subscription ($s: String!) { referrerAdded(subject: $s) { ${'referrerDigest '.repeat(LIMITS.maxTokens)} } }`;
      socket.send({ type: 'subscribe', id: 'big', payload: { query: big, variables } });
      // graphql-ws carries the query as text; mercurius would also run a syntax tree sent as an object.
      const tree = parse('subscription ($s: String!) { referrerAdded(subject: $s) { referrerDigest } }', {
        noLocation: true,
      });
      socket.send({
        type: 'subscribe',
        id: 'tree',
        payload: { query: tree as unknown as string, variables },
      });
      const codeOf = (id: string) => {
        const frame = socket.frames.find((f) => f.id === id);
        return frame && { type: frame.type, payload: JSON.stringify(frame.payload) };
      };
      await eventually(async () => {
        expect(codeOf('big')).toEqual({ type: 'error', payload: expect.stringContaining('QUERY_TOO_LARGE') });
        expect(codeOf('tree')).toEqual({
          type: 'error',
          payload: expect.stringContaining('GRAPHQL_PARSE_FAILED'),
        });
      });
    } finally {
      socket.close();
    }
  });

  it('a socket is closed once it has sent more refused subscribes than the limit', async () => {
    // mercurius keeps a stream buffer for each subscribe before the guard refuses it, and never
    // drops it: without a bound one socket would grow the heap frame by frame.
    const socket = await openSocket();
    try {
      for (let i = 0; i <= MAX_REFUSED_SUBSCRIPTIONS; i++)
        socket.send({ type: 'subscribe', id: `r${i}`, payload: { query: 'subscription { noSuchField }' } });
      await eventually(async () => expect(socket.state.closeCode).toBe(1008));
      const refused = socket.frames.filter((f) => f.type === 'error').length;
      expect(refused).toBeGreaterThanOrEqual(MAX_REFUSED_SUBSCRIPTIONS);
      expect(refused).toBeLessThanOrEqual(MAX_REFUSED_SUBSCRIPTIONS + 1);
    } finally {
      socket.close();
    }
  });
});
