import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachArtifactToImage } from '@sigstore/oci';
import pg from 'pg';
import type { RefgraphConfigInput } from '#config';
import {
  artifactManifest,
  cosignAnnotationsFromBundle,
  cosignKeyedAnnotations,
  cosignSignatureManifest,
  createTestDatabase,
  pushImage,
  randomImage,
  simpleSigningPayload,
  startMockSigstore,
  startRegistry,
  startTufRepository,
  type MockSigstore,
  type PushableContent,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import { TrustRoot } from '#verify';
import { eventually, startRecordingForwarder, startRefgraph, type StartedRefgraph } from './harness.js';

/**
 * Real signatures (made with @sigstore/sign against the mock Fulcio and Rekor) attached to a real
 * registry, ingested through its webhooks and verified against the mock's trusted root.
 */

const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const ISSUER = 'https://token.actions.example.test';
const IDENTITY = 'https://example.test/acme/app/.github/workflows/release.yml@refs/heads/main';
const token = randomBytes(16).toString('hex');
const env = { E2E_HOOK_TOKEN: token };
const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const publicPem = ecKey.publicKey.export({ format: 'pem', type: 'spki' }).toString();

let tdb: TestDatabase;
let db: pg.Client;
let registry: TestRegistry;
let mock: MockSigstore;
let stranger: MockSigstore;
let refgraph: StartedRefgraph;
let forwarder: Awaited<ReturnType<typeof startRecordingForwarder>>;
let refgraphUrl = '';
let dir: string;
let trustedRoot: string;

function config(repositories: { pattern: string; authorities: string[] }[]): RefgraphConfigInput {
  return {
    registries: [
      {
        name: 'local',
        kind: 'distribution',
        url: registry.url,
        webhook: { auth: { type: 'bearer', tokenEnv: 'E2E_HOOK_TOKEN' } },
      },
    ],
    trust: {
      trustedRoot,
      authorities: [
        { name: 'ci', keyless: { issuer: ISSUER, subject: IDENTITY } },
        { name: 'release-key', key: { pem: publicPem } },
      ],
      repositories,
    },
  };
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new pg.Client({ connectionString: tdb.url });
  await db.connect();
  mock = await startMockSigstore();
  stranger = await startMockSigstore();
  dir = await mkdtemp(join(tmpdir(), 'refgraph-trust-'));
  trustedRoot = join(dir, 'trusted_root.json');
  await writeFile(trustedRoot, JSON.stringify(mock.trustedRoot));
  forwarder = await startRecordingForwarder(() => refgraphUrl);
  registry = await startRegistry({
    notifyUrl: `http://127.0.0.1:${forwarder.port}/webhooks/local`,
    notifyToken: token,
  });
  refgraph = await startRefgraph(
    tdb.url,
    config([{ pattern: 'local/signed/**', authorities: ['ci', 'release-key'] }]),
    env,
  );
  refgraphUrl = refgraph.url;
});

afterAll(async () => {
  await refgraph?.running.close();
  await registry?.stop();
  await forwarder?.stop();
  await mock?.close();
  await stranger?.close();
  await db?.end();
  await tdb?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface SignatureRow {
  artifact_digest: string;
  kind: string;
  format: string;
  status: string;
  reason: string;
  identity: string | null;
  issuer: string | null;
  key_id: string | null;
  authority: string | null;
  tlog_index: number | null;
  integrated_time: Date | null;
  policy_version: string;
}

async function signatures(subject: string, expected: number): Promise<SignatureRow[]> {
  return eventually(async () => {
    const { rows } = await db.query<SignatureRow>(
      'SELECT * FROM signature WHERE subject_digest = $1 ORDER BY artifact_digest, layer_digest',
      [subject],
    );
    expect(rows).toHaveLength(expected);
    return rows;
  }, 60_000);
}

async function pushSubject(repo: string): Promise<{ image: PushableContent; digest: string }> {
  const image = randomImage();
  return { image, digest: await pushImage(registry.url, repo, 'latest', image) };
}

async function attachBundle(
  repo: string,
  subject: string,
  bundle: object,
  annotations: Record<string, string> = {},
) {
  return attachArtifactToImage({
    imageName: `${registry.host}/${repo}`,
    imageDigest: subject,
    artifact: Buffer.from(JSON.stringify(bundle)),
    mediaType: BUNDLE_TYPE,
    annotations,
    credentials: undefined as never,
  });
}

const ci = { subject: IDENTITY, issuer: ISSUER };
let keylessSubject = '';
let keyedSubject = '';

describe('signatures verified at ingest, end to end', () => {
  it('keyless Sigstore bundle (OCI referrer): verified, identity and issuer stored', async () => {
    const { image, digest } = await pushSubject('signed/app');
    keylessSubject = digest;
    await attachBundle('signed/app', digest, await mock.signMessage(image.manifest, ci));
    const [row] = await signatures(digest, 1);
    expect(row).toMatchObject({
      kind: 'signature',
      format: 'sigstore-bundle',
      status: 'verified',
      reason: 'verified',
      identity: IDENTITY,
      issuer: ISSUER,
      authority: 'ci',
    });
    expect(row!.tlog_index).toEqual(expect.any(Number));
    expect(row!.integrated_time!.getTime()).toBeGreaterThan(Date.now() - 600_000);
    expect(row!.policy_version).toMatch(/^[0-9a-f]{16}$/);
  });

  it('keyed (ECDSA) bundle: verified by the key authority', async () => {
    const { image, digest } = await pushSubject('signed/keyed');
    keyedSubject = digest;
    await attachBundle('signed/keyed', digest, await mock.signMessageWithKey(image.manifest, ecKey));
    const [row] = await signatures(digest, 1);
    expect(row).toMatchObject({
      status: 'verified',
      authority: 'release-key',
      identity: null,
      key_id: expect.any(String),
    });
  });

  it('cosign .sig (keyless with Rekor entry, and keyed): both layers verified', async () => {
    const { digest } = await pushSubject('signed/cosign');
    const payload = simpleSigningPayload(`${registry.host}/signed/cosign`, digest);
    const keyless = cosignAnnotationsFromBundle(await mock.signMessage(payload, ci));
    const sig = cosignSignatureManifest([
      { payload, annotations: keyless },
      { payload, annotations: cosignKeyedAnnotations(payload, ecKey.privateKey) },
    ]);
    await pushImage(registry.url, 'signed/cosign', `${digest.replace(':', '-')}.sig`, sig);
    const rows = await signatures(digest, 2);
    expect(rows.map((r) => [r.format, r.status, r.authority]).sort()).toEqual([
      ['cosign', 'verified', 'ci'],
      ['cosign', 'verified', 'release-key'],
    ]);
    expect(rows.find((r) => r.authority === 'ci')).toMatchObject({ identity: IDENTITY, issuer: ISSUER });
  });

  it('cosign .sig with a tampered payload: signature_invalid', async () => {
    const { digest } = await pushSubject('signed/tampered');
    const payload = simpleSigningPayload(`${registry.host}/signed/tampered`, digest);
    const annotations = cosignAnnotationsFromBundle(await mock.signMessage(payload, ci));
    const tampered = simpleSigningPayload(`${registry.host}/signed/tampered`, digest, {
      note: 'added later',
    });
    await pushImage(
      registry.url,
      'signed/tampered',
      `${digest.replace(':', '-')}.sig`,
      cosignSignatureManifest([{ payload: tampered, annotations }]),
    );
    const [row] = await signatures(digest, 1);
    expect(row).toMatchObject({ status: 'failed', reason: 'signature_invalid' });
  });

  it('wrong identity, wrong issuer, another digest, untrusted certificate: each its own reason', async () => {
    const a = await pushSubject('signed/negatives');
    const b = await pushSubject('signed/negatives');
    const c = await pushSubject('signed/negatives');
    const d = await pushSubject('signed/negatives');
    const other = {
      subject: 'https://example.test/mallory/app/.github/workflows/x.yml@refs/heads/main',
      issuer: ISSUER,
    };
    await attachBundle('signed/negatives', a.digest, await mock.signMessage(a.image.manifest, other));
    await attachBundle(
      'signed/negatives',
      b.digest,
      await mock.signMessage(b.image.manifest, { subject: IDENTITY, issuer: 'https://issuer.example.test' }),
    );
    // A valid signature by the trusted identity, over a's manifest, attached to c.
    await attachBundle('signed/negatives', c.digest, await mock.signMessage(a.image.manifest, ci));
    await attachBundle('signed/negatives', d.digest, await stranger.signMessage(d.image.manifest, ci));
    expect((await signatures(a.digest, 1))[0]).toMatchObject({
      status: 'failed',
      reason: 'identity_mismatch',
      identity: other.subject,
    });
    expect((await signatures(b.digest, 1))[0]).toMatchObject({ status: 'failed', reason: 'issuer_mismatch' });
    expect((await signatures(c.digest, 1))[0]).toMatchObject({
      status: 'failed',
      reason: 'artifact_mismatch',
    });
    expect((await signatures(d.digest, 1))[0]).toMatchObject({
      status: 'failed',
      reason: 'certificate_untrusted',
    });
  });

  it('a repository no trust rule covers: no_authority', async () => {
    const { image, digest } = await pushSubject('unsigned/app');
    await attachBundle('unsigned/app', digest, await mock.signMessage(image.manifest, ci));
    const [row] = await signatures(digest, 1);
    expect(row).toMatchObject({ status: 'no_authority', reason: 'no_authority', authority: null });
  });

  it('DSSE attestation and SBOM referrers: provenance and packages stored', async () => {
    const { digest } = await pushSubject('signed/attested');
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: `${registry.host}/signed/attested`, digest: { sha256: digest.slice(7) } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {
        buildDefinition: {
          buildType: 'https://actions.github.io/buildtypes/workflow/v1',
          externalParameters: {
            workflow: { repository: 'https://github.com/acme/app', ref: 'refs/heads/main' },
          },
          resolvedDependencies: [
            { uri: 'git+https://github.com/acme/app@refs/heads/main', digest: { gitCommit: 'a'.repeat(40) } },
          ],
        },
        runDetails: { builder: { id: 'https://github.com/actions/runner/github-hosted' } },
      },
    };
    await attachBundle('signed/attested', digest, await mock.attest(statement, ci), {
      'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1',
    });
    const spdx = {
      spdxVersion: 'SPDX-2.3',
      name: 'app',
      packages: [
        {
          name: 'log4j-core',
          versionInfo: '2.14.1',
          licenseConcluded: 'Apache-2.0',
          externalRefs: [
            {
              referenceType: 'purl',
              referenceLocator: 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1',
            },
          ],
        },
        { name: 'zlib', versionInfo: '1.3' },
      ],
    };
    const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 0 };
    subject.size = (
      await (
        await fetch(`${registry.url}/v2/signed/attested/manifests/${digest}`, {
          headers: { accept: subject.mediaType },
        })
      ).arrayBuffer()
    ).byteLength;
    const sbom = artifactManifest({
      subject,
      artifactType: 'application/spdx+json',
      layers: [{ mediaType: 'application/spdx+json', bytes: Buffer.from(JSON.stringify(spdx)) }],
    });
    await pushImage(registry.url, 'signed/attested', undefined, sbom);

    // A signed provenance is an attestation, never a signature over the image.
    expect((await signatures(digest, 1))[0]).toMatchObject({
      kind: 'attestation',
      status: 'verified',
      identity: IDENTITY,
    });
    const att = await eventually(async () => {
      const { rows } = await db.query('SELECT * FROM attestation WHERE subject_digest = $1', [digest]);
      expect(rows).toHaveLength(1);
      return rows[0];
    });
    expect(att).toMatchObject({
      predicate_type: 'https://slsa.dev/provenance/v1',
      builder_id: 'https://github.com/actions/runner/github-hosted',
      source_repo: 'https://github.com/acme/app',
      source_revision: 'a'.repeat(40),
      parse_error: null,
    });
    const pkgs = await eventually(async () => {
      const { rows } = await db.query(
        `SELECT p.name, p.version, p.purl, p.purl_base, p.licenses FROM sbom s JOIN sbom_package p ON p.sbom_id = s.id
         WHERE s.subject_digest = $1 ORDER BY p.name`,
        [digest],
      );
      expect(rows).toHaveLength(2);
      return rows;
    });
    expect(pkgs[0]).toEqual({
      name: 'log4j-core',
      version: '2.14.1',
      purl: 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1',
      purl_base: 'pkg:maven/org.apache.logging.log4j/log4j-core',
      licenses: ['Apache-2.0'],
    });
  });

  it('a changed trust policy re-verifies stored results at start-up', async () => {
    const { rows: before } = await db.query<{ v: string }>(
      'SELECT DISTINCT policy_version AS v FROM signature',
    );
    expect(before).toHaveLength(1);
    await refgraph.running.close();
    // Only the key authority counts now: keyless results become failures, nothing stays under the old version.
    refgraph = await startRefgraph(
      tdb.url,
      config([{ pattern: 'local/signed/**', authorities: ['release-key'] }]),
      env,
    );
    refgraphUrl = refgraph.url;
    await eventually(async () => {
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM signature WHERE policy_version = $1',
        [before[0]!.v],
      );
      expect(rows[0]!.n).toBe(0);
    }, 60_000);
    // The keyless bundle verified by "ci" is now tried against the key authority only.
    expect((await signatures(keylessSubject, 1))[0]).toMatchObject({
      status: 'failed',
      reason: 'key_mismatch',
      authority: 'release-key',
    });
  });

  it('a trusted root refreshed over TUF (root key rotated, another root) re-verifies stored results without a restart', async () => {
    const tuf = await startTufRepository(mock.trustedRoot);
    try {
      const rootFile = join(dir, 'tuf-root.json');
      await writeFile(rootFile, tuf.initialRoot);
      const rules = [{ pattern: 'local/signed/**', authorities: ['ci', 'release-key'] }];
      const base = config(rules);
      await refgraph.running.close();
      refgraph = await startRefgraph(
        tdb.url,
        {
          ...base,
          trust: {
            ...base.trust,
            tuf: {
              mirrorUrl: tuf.url,
              rootFile,
              cacheDir: join(dir, 'tuf-cache'),
              refreshIntervalSeconds: 0,
            },
          },
        },
        env,
      );
      refgraphUrl = refgraph.url;
      const { runtime, trustChanges } = refgraph.running;
      // The repository serves the configured root: the start-up refresh verified it, nothing changed.
      expect(runtime.currentTrust.policy.trustRoot.digest).toBe(TrustRoot.fromJSON(mock.trustedRoot).digest);
      await eventually(async () => {
        expect((await signatures(keyedSubject, 1))[0]).toMatchObject({
          status: 'verified',
          policy_version: runtime.trustVersion,
        });
      }, 60_000);
      const before = runtime.trustVersion;

      tuf.rotateRootKey();
      tuf.publish(stranger.trustedRoot);
      await expect(runtime.trustRefresher!.refresh()).resolves.toMatchObject({ status: 'changed' });
      expect(runtime.trustVersion).not.toBe(before);
      await trustChanges!.idle();
      // Every stored result is verified again under the new root: the mock's CA and log are no
      // longer trusted, so what verified before now fails.
      await eventually(async () => {
        const { rows } = await db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM signature WHERE policy_version <> $1',
          [runtime.trustVersion],
        );
        expect(rows[0]!.n).toBe(0);
      }, 60_000);
      expect((await signatures(keyedSubject, 1))[0]).toMatchObject({ status: 'failed' });
      expect((await signatures(keylessSubject, 1))[0]).toMatchObject({ status: 'failed' });
      const metrics = await (await fetch(`${refgraph.url}/metrics`)).text();
      expect(metrics).toMatch(/^refgraph_trust_root_refresh_failures_total 0$/m);
      expect(metrics).toMatch(/^refgraph_trust_root_last_refresh_timestamp_seconds [1-9]/m);
    } finally {
      await tuf.close();
    }
  });
});
