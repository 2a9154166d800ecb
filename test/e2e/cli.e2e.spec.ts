import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import { runTree } from '../../apps/cli/src/commands/tree.js';
import { runVerdict } from '../../apps/cli/src/commands/verdict.js';
import { runVerify } from '../../apps/cli/src/commands/verify.js';
import { freePort } from '#store';
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

const token = randomBytes(16).toString('hex');
let tdb: TestDatabase;
let registry: TestRegistry;
let refgraph: StartedRefgraph;

const image = randomImage();
const index = imageIndex([descriptorOf(image, { platform: { architecture: 'amd64', os: 'linux' } })]);
const sig = artifactManifest({
  subject: descriptorOf(image),
  artifactType: 'application/vnd.example.signature',
});
const sigOfSig = artifactManifest({
  subject: descriptorOf(sig),
  artifactType: 'application/vnd.example.countersignature',
});

function capture() {
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
      env: { REFGRAPH_URL: refgraph.url },
    },
    out: () => out,
    err: () => err,
  };
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  const port = await freePort();
  registry = await startRegistry({
    notifyUrl: `http://127.0.0.1:${port}/webhooks/local`,
    notifyToken: token,
  });
  refgraph = await startRefgraph(
    tdb.url,
    {
      server: { port },
      registries: [localDistribution(registry.url)],
      trust: { authorities: [{ name: 'ci', key: { pem: 'unused' } }] },
      policies: [{ name: 'signed', signatures: { authorities: ['ci'] } }],
    },
    { HOOK: token },
  );
  await pushImage(registry.url, 'app', undefined, image);
  await pushImage(registry.url, 'app', 'v1', index);
  for (const m of [sig, sigOfSig]) await pushImage(registry.url, 'app', undefined, m);
  await eventually(async () => {
    const res = await fetch(`${refgraph.url}/api/v1/artifacts/${image.digest}/referrers?depth=2`);
    const body = (await res.json()) as { referrers: Array<{ referrers: unknown[] }> };
    expect(body.referrers[0]?.referrers).toHaveLength(1);
  });
});

afterAll(async () => {
  await refgraph?.running.close();
  await registry?.stop();
  await tdb?.drop();
});

describe('refgraph CLI against a running refgraph', () => {
  it('tree prints the referrers tree with index children', async () => {
    const c = capture();
    expect(await runTree('local/app:v1', { depth: '3', output: 'text' }, c.io)).toBe(0);
    expect(c.out()).toContain('local/app:v1');
    expect(c.out()).toContain(`└── ${index.digest}`);
    expect(c.out()).toContain(`⤷ child ${image.digest} linux/amd64`);

    const d = capture();
    expect(await runTree(`local/app@${image.digest}`, { depth: '3', output: 'text' }, d.io)).toBe(0);
    const lines = d.out().split('\n');
    const sigLine = lines.findIndex((l) => l.includes(sig.digest));
    expect(lines[sigLine]).toMatch(/└── \[artifact\] application\/vnd\.example\.signature sha256:/);
    expect(lines[sigLine + 1]).toContain(sigOfSig.digest);
    expect(lines[sigLine + 1]!.indexOf('└──')).toBeGreaterThan(lines[sigLine]!.indexOf('└──'));
  });

  it('tree --output json and --depth 1', async () => {
    const c = capture();
    expect(await runTree(image.digest, { depth: '1', output: 'json' }, c.io)).toBe(0);
    const json = JSON.parse(c.out()) as {
      digest: string;
      referrers: Array<{ digest: string; referrers: unknown[] }>;
    };
    expect(json.digest).toBe(image.digest);
    expect(json.referrers.map((r) => r.digest)).toEqual([sig.digest]);
    expect(json.referrers[0]!.referrers).toEqual([]);
  });

  it('tree fails clearly for an unknown reference', async () => {
    const c = capture();
    expect(await runTree('local/app:nope', { depth: '1', output: 'text' }, c.io)).toBe(1);
    expect(c.err()).toMatch(/404.*not known/);
  });

  it('verdict exits 1 on deny and 0 on allow; verify exits by the stored results', async () => {
    let c = capture();
    expect(await runVerdict(`local/app@${image.digest}`, { policy: 'signed' }, c.io)).toBe(1);
    expect(c.out()).toMatch(
      /^denied local\/app@sha256:\S+ \(sha256:\S+\) by policy signed\n {2}- no signature found/,
    );
    c = capture();
    expect(await runVerify(image.digest, {}, c.io)).toBe(1);
    expect(c.err()).toContain('no trusted signature');

    // A verification outcome as the trust pipeline stores it.
    const db = new pg.Client({ connectionString: tdb.url });
    await db.connect();
    await db.query(
      `INSERT INTO signature (artifact_digest, subject_digest, repository_id, kind, format, status, identity, issuer, authority, policy_version)
       VALUES ($1, $2, (SELECT l.repository_id FROM artifact_location l WHERE l.digest = $1 LIMIT 1), 'signature',
               'sigstore-bundle', 'verified', 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
               'https://token.actions.githubusercontent.com', 'ci', $3)
       ON CONFLICT (artifact_digest, layer_digest, subject_digest, repository_id) DO UPDATE SET status = 'verified', authority = 'ci'`,
      [sig.digest, image.digest, refgraph.running.runtime.trustVersion],
    );
    await db.end();
    c = capture();
    expect(await runVerdict(image.digest, { policy: 'signed' }, c.io)).toBe(0);
    expect(c.out()).toMatch(/^allowed /);
    c = capture();
    expect(await runVerify(image.digest, {}, c.io)).toBe(0);
    expect(c.out()).toMatch(/verified\s+sigstore-bundle\s+https:\/\/github.com\/acme\/app/);
  });

  it('verdict names an unknown policy and exits 2', async () => {
    const c = capture();
    expect(await runVerdict(image.digest, { policy: 'nope' }, c.io)).toBe(2);
    expect(c.err()).toMatch(/no policy named "nope"/);
  });
});
