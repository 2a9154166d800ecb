import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { syncCommand } from '../../apps/cli/src/commands/sync.js';
import { runTree } from '../../apps/cli/src/commands/tree.js';
import { runVerdict } from '../../apps/cli/src/commands/verdict.js';
import { runVerify } from '../../apps/cli/src/commands/verify.js';
import { ServiceClient } from '../../apps/cli/src/http.js';
import { main } from '../../apps/cli/src/program.js';
import { freePort, runningPostgres, startEmbeddedPostgres } from '#store';
import {
  artifactManifest,
  createTestDatabase,
  descriptorOf,
  imageIndex,
  pushImage,
  randomImage,
  startRegistry,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import { eventually, startRefgraph, type StartedRefgraph, localDistribution } from './harness.js';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const hook = randomBytes(16).toString('hex');
/** Reads every repository of "local". */
const READER = randomBytes(16).toString('hex');
/** Reads one repository that holds nothing here. */
const SCOPED = randomBytes(16).toString('hex');
const ADMIN = randomBytes(16).toString('hex');
let tdb: TestDatabase;
let registry: TestRegistry;
let refgraph: StartedRefgraph;

const IDENTITY = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';
const PROVENANCE = 'https://slsa.dev/provenance/v1';
const image = randomImage();
const index = imageIndex([descriptorOf(image, { platform: { architecture: 'amd64', os: 'linux' } })]);
const sig = artifactManifest({
  subject: descriptorOf(image),
  artifactType: 'application/vnd.example.signature',
  annotations: { 'org.opencontainers.image.created': '2026-01-02T03:04:05Z' },
});
const sigOfSig = artifactManifest({
  subject: descriptorOf(sig),
  artifactType: 'application/vnd.example.countersignature',
});
const att = artifactManifest({
  subject: descriptorOf(image),
  artifactType: 'application/vnd.example.attestation',
});
const unknownDigest = `sha256:${'1'.repeat(64)}`;

function capture(env: Record<string, string | undefined> = { REFGRAPH_TOKEN: READER }) {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        append(chunk.toString());
        cb();
      },
    });
  return {
    io: {
      stdout: sink((s) => (out += s)),
      stderr: sink((s) => (err += s)),
      env: { REFGRAPH_URL: refgraph.url, ...env },
    },
    out: () => out,
    err: () => err,
  };
}

const tree = (ref: string, env?: Record<string, string | undefined>, more: object = {}) => {
  const c = capture(env);
  return runTree(ref, { depth: '3', output: 'text', ...more }, c.io).then((code) => ({
    code,
    out: c.out(),
    err: c.err(),
  }));
};

async function sql(text: string, params: unknown[]) {
  const db = new pg.Client({ connectionString: tdb.url });
  await db.connect();
  try {
    await db.query(text, params);
  } finally {
    await db.end();
  }
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  const port = await freePort();
  registry = await startRegistry({ notifyUrl: `http://127.0.0.1:${port}/webhooks/local`, notifyToken: hook });
  refgraph = await startRefgraph(
    tdb.url,
    {
      server: { port, rateLimitPerMinute: 0 },
      registries: [localDistribution(registry.url)],
      trust: { authorities: [{ name: 'ci', key: { pem: 'unused' } }] },
      policies: [{ name: 'signed', signatures: { authorities: ['ci'] } }],
      auth: {
        tokens: [
          { name: 'reader', sha256: sha(READER), scopes: ['read:local/**'] },
          { name: 'scoped', sha256: sha(SCOPED), scopes: ['read:local/other'] },
          { name: 'ops', sha256: sha(ADMIN), scopes: ['admin'] },
        ],
      },
    },
    { HOOK: hook },
  );
  await pushImage(registry.url, 'app', undefined, image);
  await pushImage(registry.url, 'app', 'v1', index);
  for (const m of [sig, sigOfSig, att]) await pushImage(registry.url, 'app', undefined, m);
  await eventually(async () => {
    const res = await fetch(`${refgraph.url}/api/v1/artifacts/${image.digest}/referrers?depth=2`, {
      headers: { authorization: `Bearer ${READER}` },
    });
    const body = (await res.json()) as { referrers: Array<{ digest: string; referrers: unknown[] }> };
    expect(body.referrers.find((r) => r.digest === sig.digest)?.referrers).toHaveLength(1);
    expect(body.referrers.map((r) => r.digest)).toContain(att.digest);
  });
});

afterAll(async () => {
  await refgraph?.running.close();
  await registry?.stop();
  await tdb?.drop();
});

const short = (d: string) => `${d.slice(0, 'sha256:'.length + 8)}…`;

describe('refgraph tree', () => {
  it('prints a compact tree: short digests, no timestamps, lines under 100 characters', async () => {
    const byTag = await tree('local/app:v1');
    expect(byTag).toMatchObject({ code: 0, err: '' });
    expect(byTag.out).toBe(
      `local/app:v1\n└── ${short(index.digest)}\n    ⤷ child linux/amd64 ${short(image.digest)}\n`,
    );

    const { code, out } = await tree(`local/app@${image.digest}`);
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    const sigLine = lines.findIndex((l) => l.includes(short(sig.digest)));
    expect(lines[sigLine]).toMatch(/── \[artifact\] example\.signature sha256:[0-9a-f]{8}…$/);
    expect(lines[sigLine + 1]).toContain(short(sigOfSig.digest));
    expect(lines[sigLine + 1]!.indexOf('└──')).toBeGreaterThan(lines[sigLine]!.indexOf('──'));
    expect(out).not.toContain(sig.digest);
    expect(out).not.toMatch(/\d{4}-\d\d-\d\dT/);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(100);
  });

  it('--wide prints full digests and --output json the whole answer', async () => {
    const wide = await tree(`local/app@${image.digest}`, undefined, { wide: true });
    expect(wide.out).toContain(`[artifact] application/vnd.example.signature ${sig.digest}`);
    expect((await tree(`local/app@${image.digest}`, undefined, { output: 'wide' })).out).toBe(wide.out);
    const c = capture();
    expect(await runTree(image.digest, { depth: '1', output: 'json' }, c.io)).toBe(0);
    const json = JSON.parse(c.out()) as {
      digest: string;
      referrers: Array<{ digest: string; annotations: Record<string, string>; referrers: unknown[] }>;
    };
    expect(json.digest).toBe(image.digest);
    expect(json.referrers.map((r) => r.digest).sort()).toEqual([att.digest, sig.digest].sort());
    expect(json.referrers.find((r) => r.digest === sig.digest)!.annotations).toEqual({
      'org.opencontainers.image.created': '2026-01-02T03:04:05Z',
    });
    expect(json.referrers.every((r) => r.referrers.length === 0)).toBe(true);
  });

  it('an unknown tag or digest exits 2 with the same not-known message for every caller', async () => {
    expect(await tree('local/app:nope')).toEqual({
      code: 2,
      out: '',
      err: 'error: local/app:nope is not known to refgraph (no event or sync has recorded local/app:nope; run `refgraph sync local`)\n',
    });
    for (const token of [READER, SCOPED, ADMIN]) {
      const r = await tree(unknownDigest, { REFGRAPH_TOKEN: token });
      expect({ code: r.code, err: r.err }).toEqual({
        code: 2,
        err: `error: ${unknownDigest} is not known to refgraph (no event or sync has recorded ${unknownDigest}; run \`refgraph sync <registry>\`)\n`,
      });
    }
    // Present, but only in a repository this caller may not read: the same answer.
    const hidden = await tree(image.digest, { REFGRAPH_TOKEN: SCOPED });
    expect(hidden.code).toBe(2);
    expect(hidden.err).toContain(`${image.digest} is not known to refgraph`);
  });

  it('names the scope, the registry, the token and the address when that is the cause', async () => {
    expect(await tree('local/app:v1', { REFGRAPH_TOKEN: SCOPED })).toMatchObject({
      code: 2,
      err: "error: local/app:v1 is not in your token's scope\n",
    });
    // Outside the token's scope an unknown registry reads like any other repository out of scope.
    expect((await tree('nope/app:v1')).err).toBe("error: nope/app:v1 is not in your token's scope\n");
    expect(await tree('local/app:v1', { REFGRAPH_TOKEN: 'wrong' })).toMatchObject({
      code: 2,
      err: expect.stringMatching(
        new RegExp(`^error: token rejected by ${refgraph.url}: pass --token or set REFGRAPH_TOKEN`),
      ),
    });
    expect(await tree('local/app:v1', { REFGRAPH_TOKEN: undefined })).toMatchObject({
      code: 2,
      err: `error: ${refgraph.url} needs a token: pass --token or set REFGRAPH_TOKEN\n`,
    });
    const nothing = `http://127.0.0.1:${await freePort()}`;
    expect(await tree('local/app:v1', { REFGRAPH_URL: nothing })).toMatchObject({
      code: 2,
      err: `error: refgraph is not running at ${nothing} (connection refused); start it with \`npm start\` or pass --url\n`,
    });
    // A real 403: the sync route needs the admin scope.
    await expect(
      new ServiceClient({}, { url: refgraph.url, token: READER }).post('/api/v1/registries/local/sync', {}),
    ).rejects.toThrow("not in your token's scope: this route needs the admin scope");
  });

  it('takes --url and --token before or after the command, over the environment', async () => {
    for (const argv of [
      ['--url', refgraph.url, '--token', READER, 'tree', 'local/app:v1'],
      ['tree', 'local/app:v1', '--token', READER, '--url', refgraph.url],
    ]) {
      const c = capture({ REFGRAPH_URL: 'http://127.0.0.1:9', REFGRAPH_TOKEN: 'wrong' });
      expect(await main(['node', 'refgraph', ...argv], c.io)).toBe(0);
      expect(c.out()).toContain(short(index.digest));
    }
  });
});

describe('refgraph verify and verdict', () => {
  it('exit 1 while nothing is trusted, with the codes of the verdict', async () => {
    let c = capture();
    expect(await runVerdict(`local/app@${image.digest}`, { policy: 'signed' }, c.io)).toBe(1);
    expect(c.out()).toMatch(
      /^denied local\/app@sha256:\S+ \(sha256:[0-9a-f]{8}…\) by policy signed\n {2}- no_signature: no signature found/,
    );
    c = capture();
    expect(await runVerdict('local/app:nope', { policy: 'signed' }, c.io)).toBe(1);
    expect(c.out()).toMatch(/^denied local\/app:nope by policy signed\n {2}- unknown_tag: /);
    c = capture();
    expect(await runVerify(image.digest, {}, c.io)).toBe(1);
    expect(c.out()).toContain('Signatures (0 verified of 0)\n  none\n');
    expect(c.err()).toBe(`no trusted signature on ${image.digest}\n`);
  });

  it('shows signatures and attestations in their own sections once verified', async () => {
    // Verification outcomes and a parsed statement as the trust pipeline stores them.
    const at = `(SELECT l.repository_id FROM artifact_location l WHERE l.digest = $1 LIMIT 1)`;
    for (const [digest, kind] of [
      [sig.digest, 'signature'],
      [att.digest, 'attestation'],
    ] as const) {
      await sql(
        `INSERT INTO signature (artifact_digest, subject_digest, repository_id, kind, format, status, identity, issuer, authority, policy_version)
         VALUES ($1, $2, ${at}, $3, 'sigstore-bundle', 'verified', $4, $5, 'ci', $6)`,
        [digest, image.digest, kind, IDENTITY, ISSUER, refgraph.running.runtime.trustVersion],
      );
    }
    await sql(
      `INSERT INTO attestation (artifact_digest, subject_digest, predicate_type, builder_id) VALUES ($1, $2, $3, $4)`,
      [att.digest, image.digest, PROVENANCE, 'https://github.com/actions/runner'],
    );

    let c = capture();
    expect(await runVerify(image.digest, {}, c.io)).toBe(0);
    const out = c.out();
    const lines = out.trimEnd().split('\n');
    expect(lines[1]).toBe('Signatures (1 verified of 1)');
    expect(lines[2]).toMatch(
      new RegExp(`^ {2}verified +sigstore-bundle +${short(sig.digest)} {2}ci: https://github.com/acme/app/`),
    );
    expect(lines[3]).toBe('Attestations (1)');
    expect(lines[4]).toBe(`  ${PROVENANCE}  ${short(att.digest)}  builder https://github.com/actions/runner`);
    expect(lines[5]).toMatch(/^ {4}verified +ci: https:\/\/github.com\/acme\/app\//);
    expect(lines).toHaveLength(6);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(100);
    expect(c.err()).toBe('');

    c = capture();
    expect(await runVerify(image.digest, { json: true }, c.io)).toBe(0);
    const json = JSON.parse(c.out()) as {
      signatures: unknown[];
      attestations: Array<{ verification: unknown[] }>;
    };
    expect(json.signatures).toEqual([
      expect.objectContaining({ kind: 'signature', repository: 'local/app' }),
    ]);
    expect(json.attestations[0]!.verification).toEqual([expect.objectContaining({ kind: 'attestation' })]);

    c = capture();
    expect(await runVerdict(image.digest, { policy: 'signed' }, c.io)).toBe(0);
    expect(c.out()).toMatch(/^allowed /);
    const badge = (await tree(`local/app@${image.digest}`)).out
      .split('\n')
      .find((l) => l.includes(short(sig.digest)));
    expect(badge).toMatch(/✔ ci: https:\/\/github.com\/acme/);
    expect([...badge!].length).toBeLessThanOrEqual(100);
  });

  it('every command exits 2 when it gets no answer', async () => {
    let c = capture();
    expect(await runVerdict(image.digest, { policy: 'nope' }, c.io)).toBe(2);
    expect(c.err()).toMatch(/^error: no policy named "nope"/);
    c = capture();
    expect(await runVerify('local/app:nope', {}, c.io)).toBe(2);
    expect(c.err()).toContain('local/app:nope is not known to refgraph');
    c = capture({ REFGRAPH_TOKEN: 'wrong' });
    expect(await runVerdict(image.digest, { policy: 'signed' }, c.io)).toBe(2);
    expect(c.err()).toContain('token rejected by');
  });
});

describe('first run', () => {
  it('/ leads to the explorer without a token, even where reads need one', async () => {
    const res = await fetch(`${refgraph.url}/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/ui');
    const ui = await fetch(`${refgraph.url}/ui`);
    expect(ui.status).toBe(200);
  });
});

describe('refgraph sync without DATABASE_URL', () => {
  it('uses the embedded Postgres of `npm start`, and the running one when it holds the directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'refgraph-cli-config-'));
    // Its own directory: under root, Postgres runs as another user that must reach it.
    const data = await mkdtemp(join(tmpdir(), 'refgraph-cli-data-'));
    const file = join(dir, 'refgraph.json');
    await writeFile(file, JSON.stringify({ registries: [localDistribution(registry.url)] }));
    const env = { HOOK: hook, REFGRAPH_CONFIG: file, REFGRAPH_DATA_DIR: data };
    let server: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
    try {
      let c = capture(env);
      expect(await syncCommand('local', { repository: ['app'] }, c.io)).toBe(0);
      expect(c.err()).toContain(`using the embedded Postgres in ${data}`);
      expect(c.out()).toMatch(/^status\s+done$/m);
      // The command stopped the server it started.
      expect(runningPostgres(env.REFGRAPH_DATA_DIR)).toBeNull();

      // As `npm start` runs it: the command writes through that server and leaves it running.
      server = await startEmbeddedPostgres(env.REFGRAPH_DATA_DIR);
      c = capture(env);
      expect(await syncCommand('local', { repository: ['app'] }, c.io)).toBe(0);
      expect(c.err()).toContain('is held by a running refgraph');
      expect(c.out()).toMatch(/^manifests\s+0 fetched/m);
      const db = new pg.Client({ connectionString: server.url });
      await db.connect();
      // What a sync can list on Distribution 2.8 (no referrers API): the tag and its child.
      const { rows } = await db.query<{ digest: string }>(
        'SELECT digest FROM artifact WHERE digest = ANY($1) ORDER BY digest',
        [[image.digest, index.digest]],
      );
      await db.end();
      expect(rows.map((r) => r.digest)).toEqual([image.digest, index.digest].sort());
      expect(runningPostgres(env.REFGRAPH_DATA_DIR)?.pid).toBeGreaterThan(0);
    } finally {
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
      await rm(data, { recursive: true, force: true });
    }
  }, 120_000);
});
