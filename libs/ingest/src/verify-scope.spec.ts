import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '#config';
import { classify, COSIGN_SIGN_PREDICATE, parseManifest } from '#oci';
import { RegistryClient } from '#registry';
import { Database, GraphRepository, RegistryRepository, TrustRepository, VERIFY_TASK } from '#store';
import {
  artifactManifest,
  cosignAnnotationsFromBundle,
  cosignSignatureManifest,
  createTestDatabase,
  descriptorOf,
  pushImage,
  randomImage,
  simpleSigningPayload,
  startMockSigstore,
  startRegistry,
  type MockSigstore,
  type PushableContent,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import { CurrentTrust, TrustPolicy } from '#verify';
import { ArtifactVerifier } from './verify-artifact.js';

/**
 * Verification results per repository, and signatures kept apart from attestations: real
 * signatures (@sigstore/sign against @sigstore/mock) pushed to a real registry, recorded through the
 * graph's push statement (which queues verification) and verified by the job's own code.
 */

const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SLSA = 'https://slsa.dev/provenance/v1';
const ISSUER = 'https://token.actions.example.test';
const IDENTITY = 'https://example.test/acme/app/.github/workflows/release.yml@refs/heads/main';
const ci = { subject: IDENTITY, issuer: ISSUER };
const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let tdb: TestDatabase;
let db: Database;
let registry: TestRegistry;
let mock: MockSigstore;
let dir: string;
let registryId: number;
let registries: RegistryRepository;
let graph: GraphRepository;
let trust: TrustRepository;
let verifier: ArtifactVerifier;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 3 });
  mock = await startMockSigstore();
  registry = await startRegistry();
  dir = await mkdtemp(join(tmpdir(), 'refgraph-verify-scope-'));
  const trustedRoot = join(dir, 'trusted_root.json');
  await writeFile(trustedRoot, JSON.stringify(mock.trustedRoot));
  const config = parseConfig(
    {
      registries: [
        { name: 'local', kind: 'distribution', url: registry.url, webhook: { auth: { type: 'none' } } },
      ],
      trust: {
        trustedRoot,
        authorities: [
          { name: 'ci', keyless: { issuer: ISSUER, subject: IDENTITY } },
          {
            name: 'other-key',
            key: { pem: otherKey.publicKey.export({ format: 'pem', type: 'spki' }).toString() },
          },
        ],
        // "aaa/..." sorts before "team-a/...": the repository a copy goes to.
        repositories: [
          { pattern: 'local/aaa/**', authorities: ['other-key'] },
          { pattern: 'local/team-a/**', authorities: ['ci'] },
        ],
      },
    },
    {},
  );
  registries = new RegistryRepository(db);
  graph = new GraphRepository(db);
  trust = new TrustRepository(db);
  const [row] = await registries.upsertRegistries(config.registries);
  registryId = row!.id;
  const client = new RegistryClient(config.registries[0]!);
  const policy = await TrustPolicy.load(config.trust);
  verifier = new ArtifactVerifier(trust, new CurrentTrust(policy), (id) =>
    id === registryId ? client : undefined,
  );
});

afterAll(async () => {
  await db?.close();
  await registry?.stop();
  await mock?.close();
  await tdb?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Pushes to the registry and records the push as a webhook or sync would (queueing verification). */
async function record(repo: string, content: PushableContent, tag?: string): Promise<void> {
  await pushImage(registry.url, repo, tag, content);
  const manifest = parseManifest(content.manifest, content.digest, content.mediaType);
  await graph.applyPush({
    repositoryId: await registries.ensureRepository(registryId, repo),
    manifest,
    kind: classify(manifest),
    bytes: content.manifest,
    ...(tag ? { tag } : {}),
    eventAt: new Date(),
    verify: trust.verifyJobs,
  });
}

/** Runs the verification job the pushes queued for `digest`, as the worker would, once. */
async function runQueuedJob(digest: string): Promise<void> {
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(graphile_worker.remove_job(key))::int AS n FROM graphile_worker.jobs
     WHERE task_identifier = $1 AND key = $2`,
    [VERIFY_TASK, `${VERIFY_TASK}:${digest}`],
  );
  expect(rows[0]!.n).toBe(1);
  expect(await verifier.run(digest)).toMatchObject({ status: 'done' });
}

interface Row {
  repository: string;
  kind: string;
  format: string;
  status: string;
  reason: string;
  authority: string | null;
  identity: string | null;
}

async function signatureRows(subject: string): Promise<Row[]> {
  const { rows } = await db.pool.query<Row>(
    `SELECT r.name AS repository, s.kind, s.format, s.status, s.reason, s.authority, s.identity
     FROM signature s JOIN repository r ON r.id = s.repository_id
     WHERE s.subject_digest = $1 ORDER BY r.name, s.layer_digest`,
    [subject],
  );
  return rows;
}

async function attestationTypes(subject: string): Promise<string[]> {
  const { rows } = await db.pool.query<{ predicate_type: string }>(
    'SELECT predicate_type FROM attestation WHERE subject_digest = $1 ORDER BY 1',
    [subject],
  );
  return rows.map((r) => r.predicate_type);
}

function statement(subject: string, predicateType: string, predicate: object) {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: `${registry.host}/team-a/app`, digest: { sha256: subject.slice('sha256:'.length) } }],
    predicateType,
    predicate,
  };
}

/** An OCI 1.1 referrer carrying one bundle, as cosign v3 and GitHub attestations push them. */
function bundleReferrer(image: PushableContent, bundle: object, predicateType: string): PushableContent {
  return artifactManifest({
    subject: descriptorOf(image),
    artifactType: BUNDLE_TYPE,
    layers: [{ mediaType: BUNDLE_TYPE, bytes: Buffer.from(JSON.stringify(bundle)) }],
    annotations: {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': predicateType,
    },
  });
}

describe('verification results per repository', () => {
  it('a copy of a verified .sig elsewhere gets its own row and leaves the original verified', async () => {
    const image = randomImage();
    const payload = simpleSigningPayload(`${registry.host}/team-a/app`, image.digest);
    const sig = cosignSignatureManifest([
      { payload, annotations: cosignAnnotationsFromBundle(await mock.signMessage(payload, ci)) },
    ]);
    const sigTag = `${image.digest.replace(':', '-')}.sig`;
    await record('team-a/app', image, 'v1');
    await record('team-a/app', sig, sigTag);
    await runQueuedJob(sig.digest);
    const original = {
      repository: 'team-a/app',
      kind: 'signature',
      format: 'cosign',
      status: 'verified',
      reason: 'verified',
      authority: 'ci',
      identity: IDENTITY,
    };
    expect(await signatureRows(image.digest)).toEqual([original]);

    // The same manifest copied into a repository whose rule sorts first and names another
    // authority, and into one no rule covers: the push queues verification for them.
    await record('aaa/copy', image, 'v1');
    await record('aaa/copy', sig, sigTag);
    await record('zzz/mirror', sig, sigTag);
    await runQueuedJob(sig.digest);
    expect(await signatureRows(image.digest)).toEqual([
      expect.objectContaining({
        repository: 'aaa/copy',
        kind: 'signature',
        status: 'failed',
        reason: 'key_mismatch',
        authority: 'other-key',
      }),
      original,
      expect.objectContaining({
        repository: 'zzz/mirror',
        kind: 'signature',
        status: 'no_authority',
        reason: 'no_authority',
        authority: null,
      }),
    ]);
  });
});

describe('signatures and attestations are separate kinds', () => {
  it('an image with only a signed SLSA provenance has attestation rows and no signature', async () => {
    const image = randomImage();
    const bundle = await mock.attest(
      statement(image.digest, SLSA, { runDetails: { builder: { id: 'https://example.test/builder' } } }),
      ci,
    );
    const referrer = bundleReferrer(image, bundle, SLSA);
    await record('team-a/app', image, 'attested');
    await record('team-a/app', referrer);
    await runQueuedJob(referrer.digest);

    expect(await signatureRows(image.digest)).toEqual([
      expect.objectContaining({
        repository: 'team-a/app',
        kind: 'attestation',
        format: 'sigstore-bundle',
        status: 'verified',
        authority: 'ci',
      }),
    ]);
    expect(await attestationTypes(image.digest)).toEqual([SLSA]);
  });

  it('a signed message bundle with a forged provenance envelope grafted in yields neither', async () => {
    const image = randomImage();
    const genuine = await mock.signMessage(image.manifest, ci);
    const forged = await mock.attest(statement(image.digest, SLSA, {}), {
      subject: 'https://example.test/mallory',
      issuer: ISSUER,
    });
    const grafted = { ...genuine, dsseEnvelope: (forged as { dsseEnvelope?: unknown }).dsseEnvelope };
    const referrer = bundleReferrer(image, grafted, SLSA);
    await record('team-a/app', image, 'grafted');
    await record('team-a/app', referrer);
    await runQueuedJob(referrer.digest);

    expect(await signatureRows(image.digest)).toEqual([
      expect.objectContaining({ repository: 'team-a/app', status: 'failed', reason: 'bundle_malformed' }),
    ]);
    expect(await attestationTypes(image.digest)).toEqual([]);
  });

  it("cosign v3's DSSE with the sign predicate is a signature, not an attestation", async () => {
    const image = randomImage();
    const bundle = await mock.attest(statement(image.digest, COSIGN_SIGN_PREDICATE, {}), ci);
    const referrer = bundleReferrer(image, bundle, COSIGN_SIGN_PREDICATE);
    expect(classify(parseManifest(referrer.manifest, referrer.digest))).toBe('signature');
    await record('team-a/app', image, 'signed-v3');
    await record('team-a/app', referrer);
    await runQueuedJob(referrer.digest);

    expect(await signatureRows(image.digest)).toEqual([
      expect.objectContaining({
        repository: 'team-a/app',
        kind: 'signature',
        format: 'sigstore-bundle',
        status: 'verified',
        authority: 'ci',
        identity: IDENTITY,
      }),
    ]);
    expect(await attestationTypes(image.digest)).toEqual([]);
  });
});
