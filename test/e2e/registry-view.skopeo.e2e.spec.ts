import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import {
  artifactManifest,
  createTestDatabase,
  pushImage,
  randomImage,
  skopeoCopyImage,
  startRegistry,
  type PushableContent,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import { eventually, startRecordingForwarder, startRefgraph, type StartedRefgraph } from './harness.js';

/** skopeo (a real OCI client) against refgraph's registry view, with and without tokens. */

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const HOOK = randomBytes(16).toString('hex');
const PULL = { username: 'refgraph', password: randomBytes(12).toString('hex') };
const TEAM_A = randomBytes(16).toString('hex');
const TEAM_B = randomBytes(16).toString('hex');

let tdb: TestDatabase;
let source: TestRegistry;
let target: TestRegistry;
let secured: StartedRefgraph;
let open: StartedRefgraph;
let forwarder: Awaited<ReturnType<typeof startRecordingForwarder>>;
let image: PushableContent;
let imageDigest = '';
let referrer: PushableContent;

async function skopeo(args: string[]): Promise<{ ok: true; stdout: string } | { ok: false; stderr: string }> {
  try {
    const { stdout } = await promisify(execFile)('skopeo', ['--insecure-policy', ...args], {
      timeout: 60_000,
    });
    return { ok: true, stdout };
  } catch (err) {
    return { ok: false, stderr: String((err as { stderr?: string }).stderr ?? err) };
  }
}

const hostOf = (url: string) => new URL(url).host;

beforeAll(async () => {
  tdb = await createTestDatabase();
  let url = '';
  forwarder = await startRecordingForwarder(() => url);
  source = await startRegistry({
    notifyUrl: `http://127.0.0.1:${forwarder.port}/webhooks/local`,
    notifyToken: HOOK,
    htpasswd: PULL,
  });
  target = await startRegistry();
  const registries = [
    {
      name: 'local',
      kind: 'distribution' as const,
      url: source.url,
      credentials: { username: PULL.username, passwordEnv: 'PULL_PASSWORD' },
      webhook: { auth: { type: 'bearer' as const, tokenEnv: 'HOOK' } },
    },
  ];
  const env = { HOOK, PULL_PASSWORD: PULL.password };
  secured = await startRefgraph(
    tdb.url,
    {
      server: { rateLimitPerMinute: 0 },
      registries,
      auth: {
        tokens: [
          { name: 'team-a', sha256: sha(TEAM_A), scopes: ['read:local/team-a/**'] },
          { name: 'team-b', sha256: sha(TEAM_B), scopes: ['read:local/team-b/**'] },
        ],
      },
    },
    env,
  );
  // The same graph with reads open to anyone (no tokens configured), serving only.
  open = await startRefgraph(tdb.url, { registries, worker: { enabled: false } }, env);
  url = secured.url;

  image = randomImage();
  imageDigest = await skopeoCopyImage(source.url, 'team-a/app', 'v1', { image, auth: PULL });
  referrer = artifactManifest({
    subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
    artifactType: 'application/spdx+json',
    layers: [{ mediaType: 'application/spdx+json', bytes: Buffer.from('{"spdxVersion":"SPDX-2.3"}') }],
  });
  await pushImage(source.url, 'team-a/app', undefined, referrer, { auth: PULL });
  // The referrer is in the graph once the webhook was processed.
  await eventually(async () => {
    const res = await fetch(`${secured.url}/v2/local/team-a/app/referrers/${image.digest}`, {
      headers: { authorization: `Bearer ${TEAM_A}` },
    });
    const body = (await res.json()) as { manifests: Array<{ digest: string }> };
    expect(body.manifests.map((m) => m.digest)).toEqual([referrer.digest]);
  });
}, 120_000);

afterAll(async () => {
  await open?.running.close();
  await secured?.running.close();
  await source?.stop();
  await target?.stop();
  await forwarder?.stop();
  await tdb?.drop();
});

describe('skopeo through the registry view', () => {
  const ref = (base: string, suffix: string) => `docker://${hostOf(base)}/local/team-a/app${suffix}`;

  it('inspects by digest with a token (Docker token flow): the exact stored bytes', async () => {
    expect(imageDigest).toBe(image.digest);
    const out = await skopeo([
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--creds',
      `x:${TEAM_A}`,
      ref(secured.url, `@${image.digest}`),
    ]);
    expect(out).toEqual({ ok: true, stdout: image.manifest.toString('utf8') });
  });

  it('inspects by tag: the tag resolves to the pushed digest', async () => {
    const out = await skopeo([
      'inspect',
      '--tls-verify=false',
      '--creds',
      `x:${TEAM_A}`,
      ref(secured.url, ':v1'),
    ]);
    expect(out.ok).toBe(true);
    const body = JSON.parse((out as { stdout: string }).stdout) as { Digest: string; Name: string };
    expect(body.Digest).toBe(image.digest);
  });

  it('inspects a referrer raw by digest', async () => {
    const out = await skopeo([
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--creds',
      `x:${TEAM_A}`,
      ref(secured.url, `@${referrer.digest}`),
    ]);
    expect(out).toEqual({ ok: true, stdout: referrer.manifest.toString('utf8') });
  });

  it('copies from refgraph to a second registry: manifest and blobs arrive intact', async () => {
    const out = await skopeo([
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--src-creds',
      `x:${TEAM_A}`,
      '--dest-no-creds',
      ref(secured.url, ':v1'),
      `docker://${target.host}/copied/app:v1`,
    ]);
    expect(out).toEqual({ ok: true, stdout: '' });
    const res = await fetch(`${target.url}/v2/copied/app/manifests/v1`, {
      headers: { accept: image.mediaType },
    });
    expect(res.headers.get('docker-content-digest')).toBe(image.digest);
    for (const b of image.blobs) {
      const blob = Buffer.from(
        await (await fetch(`${target.url}/v2/copied/app/blobs/${b.digest}`)).arrayBuffer(),
      );
      expect(blob.equals(b.bytes)).toBe(true);
    }
  });

  it('refuses without credentials and with a token for other repositories', async () => {
    const none = await skopeo([
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--no-creds',
      ref(secured.url, `@${image.digest}`),
    ]);
    expect(none.ok).toBe(false);
    expect((none as { stderr: string }).stderr).toMatch(/unauthorized|401/i);
    const other = await skopeo([
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--creds',
      `x:${TEAM_B}`,
      ref(secured.url, `@${image.digest}`),
    ]);
    expect(other.ok).toBe(false);
    expect((other as { stderr: string }).stderr).toMatch(/denied|unauthorized|403|401/i);
    const wrong = await skopeo([
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--creds',
      'x:not-a-token',
      ref(secured.url, ':v1'),
    ]);
    expect(wrong.ok).toBe(false);
  });

  it('pulls anonymously where reads are open, and copies', async () => {
    const out = await skopeo(['inspect', '--raw', '--tls-verify=false', '--no-creds', ref(open.url, ':v1')]);
    expect(out).toEqual({ ok: true, stdout: image.manifest.toString('utf8') });
    const copied = await skopeo([
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--src-no-creds',
      '--dest-no-creds',
      ref(open.url, `@${referrer.digest}`),
      `docker://${target.host}/copied/referrer:v1`,
    ]);
    expect(copied).toEqual({ ok: true, stdout: '' });
    const res = await fetch(`${target.url}/v2/copied/referrer/manifests/v1`, {
      headers: { accept: referrer.mediaType },
    });
    expect(res.headers.get('docker-content-digest')).toBe(referrer.digest);
  });
});
