import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  artifactManifest,
  cosignAnnotationsFromBundle,
  cosignSignatureManifest,
  createTestDatabase,
  deleteManifest,
  descriptorOf,
  imageIndex,
  pushImage,
  randomImage,
  sha256,
  SIMPLESIGNING,
  simpleSigningPayload,
  startMockSigstore,
  startRegistry,
  type MockSigstore,
  type OidcIdentity,
  type PushableContent,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import {
  eventually,
  localDistribution,
  startRecordingForwarder,
  startRefgraph,
  type StartedRefgraph,
} from './harness.js';

/**
 * Verdicts under attack, over real cosign signatures (mock Fulcio and Rekor) on a real registry:
 * signatures copied between images, `.sig` tags moved or deleted, index and platform manifests.
 * Every case is asked over REST and through the Gatekeeper provider, which must agree.
 */

const HOOK = 'verdict-attacks-hook';
const CI: OidcIdentity = {
  issuer: 'https://token.actions.example.test',
  subject: 'https://example.test/acme/app/.github/workflows/release.yml@refs/heads/main',
};
const MALLORY: OidcIdentity = {
  issuer: CI.issuer,
  subject: 'https://example.test/mallory/x.yml@refs/heads/main',
};

let tdb: TestDatabase;
let db: pg.Client;
let mock: MockSigstore;
let registry: TestRegistry;
let forwarder: Awaited<ReturnType<typeof startRecordingForwarder>>;
let refgraph: StartedRefgraph;
let dir: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new pg.Client({ connectionString: tdb.url });
  await db.connect();
  mock = await startMockSigstore();
  dir = await mkdtemp(join(tmpdir(), 'refgraph-attacks-'));
  const trustedRoot = join(dir, 'trusted_root.json');
  await writeFile(trustedRoot, JSON.stringify(mock.trustedRoot));
  let url = '';
  forwarder = await startRecordingForwarder(() => url);
  registry = await startRegistry({
    notifyUrl: `http://127.0.0.1:${forwarder.port}/webhooks/local`,
    notifyToken: HOOK,
  });
  refgraph = await startRefgraph(
    tdb.url,
    {
      server: { rateLimitPerMinute: 0 },
      registries: [localDistribution(registry.url)],
      trust: {
        trustedRoot,
        authorities: [{ name: 'ci', keyless: CI }],
        repositories: [{ pattern: 'local/signed/**', authorities: ['ci'] }],
      },
      policies: [{ name: 'signed', signatures: { authorities: ['ci'] } }],
    },
    { HOOK },
  );
  url = refgraph.url;
}, 120_000);

afterAll(async () => {
  await refgraph?.running.close();
  await registry?.stop();
  await forwarder?.stop();
  await mock?.close();
  await db?.end();
  await tdb?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sigTag = (digest: string) => `${digest.replace(':', '-')}.sig`;

/** A cosign `.sig` manifest: one keyless simplesigning layer by `who`, naming `digest`. */
async function cosignSig(repo: string, digest: string, who: OidcIdentity): Promise<PushableContent> {
  const payload = simpleSigningPayload(`${registry.host}/${repo}`, digest);
  return cosignSignatureManifest([
    { payload, annotations: cosignAnnotationsFromBundle(await mock.signMessage(payload, who)) },
  ]);
}

async function pushSubject(repo: string, image = randomImage()): Promise<string> {
  return pushImage(registry.url, repo, undefined, image);
}

/** Waits until the signature artifact has `n` verification rows; their (subject, status, reason). */
async function rowsOf(artifact: string, n: number): Promise<string[][]> {
  return eventually(async () => {
    const { rows } = await db.query<{ subject_digest: string; status: string; reason: string }>(
      'SELECT subject_digest, status, reason FROM signature WHERE artifact_digest = $1 ORDER BY subject_digest',
      [artifact],
    );
    expect(rows).toHaveLength(n);
    return rows.map((r) => [r.subject_digest, r.status, r.reason]);
  }, 60_000);
}

interface Answer {
  digest: string | null;
  allowed: boolean;
  reasons: string[];
  codes: string[];
}

async function post(path: string, body: unknown): Promise<Record<string, any>> {
  const res = await fetch(`${refgraph.url}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

/**
 * The verdict of each pod image, asked over REST (`references: image`) and through the Gatekeeper
 * provider: both must give the same answer, since both are one answer code.
 */
async function verdicts(images: string[]): Promise<Answer[]> {
  const rest = await post('/api/v1/verdict', { policy: 'signed', subjects: images, references: 'image' });
  const gk = await post('/api/v1/gatekeeper/signed', {
    apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
    kind: 'ProviderRequest',
    request: { keys: images },
  });
  expect(gk.response.systemError).toBe('');
  const fromRest = (rest.subjects as any[]).map((s): Answer => ({
    digest: s.subject,
    allowed: s.allowed,
    reasons: s.reasons,
    codes: s.codes,
  }));
  expect((gk.response.items as any[]).map((i) => i.value)).toEqual(fromRest);
  expect((gk.response.items as any[]).map((i) => i.key)).toEqual(images);
  expect(rest.allowed).toBe(fromRest.every((a) => a.allowed));
  return fromRest;
}

const image = (repo: string, digest: string) => `${registry.host}/${repo}@${digest}`;
const allowed = async (refs: string[]) => (await verdicts(refs)).map((a) => a.allowed);

describe('signatures that no longer name the image', () => {
  it('a .sig tag moved to another manifest: the signatures of the manifest it named no longer count', async () => {
    const repo = 'signed/moved';
    const b = await pushSubject(repo);
    const first = await cosignSig(repo, b, CI);
    await pushImage(registry.url, repo, sigTag(b), first);
    expect(await rowsOf(first.digest, 1)).toEqual([[b, 'verified', 'verified']]);
    expect(await allowed([image(repo, b)])).toEqual([true]);

    // The tag now names a manifest holding only a signature the policy does not trust (cosign
    // would read only this one). The first manifest stays in the repository, untagged.
    const second = await cosignSig(repo, b, MALLORY);
    await pushImage(registry.url, repo, sigTag(b), second);
    expect(await rowsOf(second.digest, 1)).toEqual([[b, 'failed', 'identity_mismatch']]);
    const { rows } = await db.query(
      `SELECT 1 FROM artifact_location l JOIN repository r ON r.id = l.repository_id
       WHERE r.name = $1 AND l.digest = $2 AND l.present`,
      [repo, first.digest],
    );
    expect(rows).toHaveLength(1);

    const [v] = await verdicts([image(repo, b)]);
    expect(v).toMatchObject({ digest: b, allowed: false, codes: ['signature_not_trusted'] });
    const rest = await post('/api/v1/verdict', { policy: 'signed', subjects: [`local/${repo}@${b}`] });
    expect(rest.subjects[0].requirements[0].evidence.map((e: any) => e.artifact)).toEqual([second.digest]);
    const listed = await (await fetch(`${refgraph.url}/api/v1/artifacts/${b}/signatures`)).json();
    expect((listed as any).signatures.map((s: any) => s.artifactDigest)).toEqual([second.digest]);
  });

  it('a deleted .sig manifest (delete webhook) no longer counts', async () => {
    const repo = 'signed/deleted';
    const c = await pushSubject(repo);
    const sig = await cosignSig(repo, c, CI);
    await pushImage(registry.url, repo, sigTag(c), sig);
    await rowsOf(sig.digest, 1);
    expect(await allowed([image(repo, c)])).toEqual([true]);
    await deleteManifest(registry.url, repo, sig.digest);
    await eventually(async () => {
      const { rows } = await db.query(
        `SELECT 1 FROM artifact_location l WHERE l.digest = $1 AND NOT l.present`,
        [sig.digest],
      );
      expect(rows).toHaveLength(1);
    });
    expect(await verdicts([image(repo, c)])).toEqual([
      expect.objectContaining({ allowed: false, codes: ['no_signature'] }),
    ]);
  });

  it("image A's valid .sig tagged for image B, or an OCI referrer of B whose payload names A, does not count for B", async () => {
    const repo = 'signed/copied';
    const a = await pushSubject(repo);
    const b = await pushSubject(repo);
    const c = await pushSubject(repo);
    const sigA = await cosignSig(repo, a, CI);
    await pushImage(registry.url, repo, sigTag(a), sigA);
    await pushImage(registry.url, repo, sigTag(b), sigA);
    // An OCI 1.1 referrer whose subject is C, carrying A's signed payload and its signature.
    const payload = simpleSigningPayload(`${registry.host}/${repo}`, a);
    const annotations = cosignAnnotationsFromBundle(await mock.signMessage(payload, CI));
    const referrer = artifactManifest({
      subject: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: c,
        size: await sizeOf(repo, c),
      },
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      layers: [{ mediaType: SIMPLESIGNING, bytes: payload }],
    });
    const withAnnotations = JSON.parse(referrer.manifest.toString()) as {
      layers: Array<Record<string, unknown>>;
    };
    withAnnotations.layers[0]!.annotations = annotations;
    const bytes = Buffer.from(JSON.stringify(withAnnotations));
    const forged: PushableContent = {
      ...referrer,
      manifest: bytes,
      size: bytes.length,
      digest: sha256(bytes),
    };
    await pushImage(registry.url, repo, undefined, forged);

    expect(await rowsOf(sigA.digest, 2)).toEqual(
      [
        [a, 'verified', 'verified'],
        [b, 'failed', 'artifact_mismatch'],
      ].sort((x, y) => x[0]!.localeCompare(y[0]!)),
    );
    expect(await rowsOf(forged.digest, 1)).toEqual([[c, 'failed', 'artifact_mismatch']]);
    expect(await verdicts([image(repo, a), image(repo, b), image(repo, c)])).toEqual([
      expect.objectContaining({ digest: a, allowed: true }),
      expect.objectContaining({ digest: b, allowed: false, codes: ['signature_not_trusted'] }),
      expect.objectContaining({ digest: c, allowed: false, codes: ['signature_not_trusted'] }),
    ]);
  });
});

describe('an image index and its platform manifests', () => {
  it("a signature counts for the digest it signs only: a child's does not admit the index, the index's does not admit a child", async () => {
    const repo = 'signed/multi';
    const childOfSigned = randomImage();
    const signedChild = randomImage();
    await pushSubject(repo, childOfSigned);
    await pushSubject(repo, signedChild);
    const signedIndex = imageIndex([
      descriptorOf(childOfSigned, { platform: { architecture: 'amd64', os: 'linux' } }),
    ]);
    const indexOfSigned = imageIndex([
      descriptorOf(signedChild, { platform: { architecture: 'amd64', os: 'linux' } }),
    ]);
    await pushImage(registry.url, repo, 'signed-index', signedIndex);
    await pushImage(registry.url, repo, 'signed-child', indexOfSigned);
    const onIndex = await cosignSig(repo, signedIndex.digest, CI);
    const onChild = await cosignSig(repo, signedChild.digest, CI);
    await pushImage(registry.url, repo, sigTag(signedIndex.digest), onIndex);
    await pushImage(registry.url, repo, sigTag(signedChild.digest), onChild);
    await rowsOf(onIndex.digest, 1);
    await rowsOf(onChild.digest, 1);
    // Events are processed in any order: the signatures can be recorded before the tags are.
    await eventually(async () => {
      const { rows } = await db.query(
        `SELECT t.name FROM tag t WHERE t.name = ANY($1) AND t.digest = ANY($2)`,
        [
          ['signed-index', 'signed-child'],
          [signedIndex.digest, indexOfSigned.digest],
        ],
      );
      expect(rows).toHaveLength(2);
    });
    // As cosign verifies: the signature of the digest the pod names (`cosign sign --recursive`
    // signs the index and every child when both are wanted).
    expect(
      await allowed([
        image(repo, signedIndex.digest),
        image(repo, childOfSigned.digest),
        image(repo, indexOfSigned.digest),
        image(repo, signedChild.digest),
        `${registry.host}/${repo}:signed-index`,
        `${registry.host}/${repo}:signed-child`,
      ]),
    ).toEqual([true, false, false, true, true, false]);
  });
});

describe('references a runtime would pull from elsewhere', () => {
  it('a signed digest named under another registry host, in another case or algorithm, is denied', async () => {
    const repo = 'signed/hosts';
    const d = await pushSubject(repo);
    const sig = await cosignSig(repo, d, CI);
    await pushImage(registry.url, repo, sigTag(d), sig);
    await rowsOf(sig.digest, 1);
    const hex = d.slice('sha256:'.length);
    const answers = await verdicts([
      image(repo, d),
      `evil.example.test/${repo}@${d}`,
      `${repo}@${d}`,
      `${registry.host}/${repo}@sha256:${hex.toUpperCase()}`,
      `${registry.host}/${repo}@sha512:${hex}${hex}`,
    ]);
    expect(answers.map((a) => [a.allowed, a.codes[0]])).toEqual([
      [true, undefined],
      [false, 'unknown_registry'],
      [false, 'unknown_registry'],
      [false, 'invalid_reference'],
      [false, 'unknown_digest'],
    ]);
  });
});

async function sizeOf(repo: string, digest: string): Promise<number> {
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${digest}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  return (await res.arrayBuffer()).byteLength;
}
