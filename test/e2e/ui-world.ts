import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachArtifactToImage } from '@sigstore/oci';
import {
  artifactManifest,
  createTestDatabase,
  descriptorOf,
  imageIndex,
  pushImage,
  randomImage,
  startMockSigstore,
  startRegistry,
  type ContentDescriptor,
  type MockSigstore,
  type PushableContent,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import { localDistribution, startRefgraph, type StartedRefgraph } from './harness.js';

/**
 * The graph the explorer is tested (and photographed) against, built the real way: images pushed
 * to a real registry, keyless signatures and a provenance attestation made against the mock
 * Fulcio/Rekor, an SPDX SBOM, all ingested through the registry's notifications and verified.
 */

export const REPO = 'shop/web';
export const REFERENCE = `local/${REPO}:v1`;
export const ISSUER = 'https://token.actions.example.test';
export const IDENTITY = 'https://example.test/acme/web/.github/workflows/release.yml@refs/heads/main';
export const MALLORY = 'https://example.test/mallory/web/.github/workflows/x.yml@refs/heads/main';
export const BUILDER = 'https://github.com/actions/runner/github-hosted';
export const SOURCE = 'https://github.com/acme/web';
export const REVISION = '3f2c1e9a7b5d4c3e2f1a0b9c8d7e6f5a4b3c2d1e';
/** Reads need a token in this world; this one is admin, so the activity page shows ingestions. */
export const ADMIN_TOKEN = 'ui-admin-token';
/** A policy requirement the world never satisfies, so one verdict is a denial. */
export const VULN_SCAN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SPDX = 'application/spdx+json';

export const VULNERABLE_CVE = 'CVE-2023-5363';
export const VULNERABLE_OTHER = 'CVE-2023-5678';

export interface UiWorld {
  tdb: TestDatabase;
  registry: TestRegistry;
  mock: MockSigstore;
  refgraph: StartedRefgraph;
  index: PushableContent;
  amd64: PushableContent;
  arm64: PushableContent;
  /** `shop/api:v1`: a Trivy report lists VULNERABLE_CVE and VULNERABLE_OTHER; an OpenVEX referrer says not_affected for the first. */
  vulnerable: PushableContent;
  /** A referrer pushed later, for the live update. */
  pushNote(): Promise<PushableContent>;
  close(): Promise<void>;
}

/** Package names: 34 in all, so the SBOM table has two pages of 25. */
export const PACKAGES = [
  ['log4j-core', '2.14.1', 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1', 'Apache-2.0'],
  ['openssl', '3.0.13', 'pkg:deb/debian/openssl@3.0.13', 'Apache-2.0'],
  ['zlib', '1.3', 'pkg:deb/debian/zlib@1.3', 'Zlib'],
  ...Array.from({ length: 31 }, (_, i) => [
    `lib-${String(i).padStart(2, '0')}`,
    `1.${i}.0`,
    `pkg:npm/lib-${String(i).padStart(2, '0')}@1.${i}.0`,
    'MIT',
  ]),
] as Array<[string, string, string, string]>;

export async function startUiWorld(): Promise<UiWorld> {
  const tdb = await createTestDatabase();
  const mock = await startMockSigstore();
  const dir = await mkdtemp(join(tmpdir(), 'refgraph-ui-'));
  const trustedRoot = join(dir, 'trusted_root.json');
  await writeFile(trustedRoot, JSON.stringify(mock.trustedRoot));
  const { freePort } = await import('#store');
  const port = await freePort();
  const token = 'ui-hook-token';
  const registry = await startRegistry({
    notifyUrl: `http://127.0.0.1:${port}/webhooks/local`,
    notifyToken: token,
  });
  const refgraph = await startRefgraph(
    tdb.url,
    {
      server: { port },
      registries: [
        {
          name: 'local',
          kind: 'distribution',
          url: registry.url,
          webhook: { auth: { type: 'bearer', tokenEnv: 'HOOK' } },
        },
      ],
      trust: {
        trustedRoot,
        authorities: [{ name: 'ci', keyless: { issuer: ISSUER, subject: IDENTITY } }],
        repositories: [{ pattern: 'local/shop/**', authorities: ['ci'] }],
      },
      auth: { tokens: [{ name: 'ops', sha256: sha256(ADMIN_TOKEN), scopes: ['admin'] }] },
      policies: [
        {
          name: 'release',
          signatures: { authorities: ['ci'] },
          attestations: [{ predicateType: 'https://slsa.dev/provenance/v1', authorities: ['ci'] }],
        },
        { name: 'scanned', attestations: [{ predicateType: VULN_SCAN }], sbom: true },
      ],
    },
    { HOOK: token },
  );

  const amd64 = randomImage();
  const arm64 = randomImage();
  await pushImage(registry.url, REPO, undefined, amd64);
  await pushImage(registry.url, REPO, undefined, arm64);
  const index = imageIndex([
    descriptorOf(amd64, { platform: { os: 'linux', architecture: 'amd64' } }),
    descriptorOf(arm64, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
  ]);
  await pushImage(registry.url, REPO, 'v1', index);
  await pushImage(registry.url, REPO, 'latest', index);

  const attach = (bundle: object, annotations: Record<string, string> = {}) =>
    attachArtifactToImage({
      imageName: `${registry.host}/${REPO}`,
      imageDigest: index.digest,
      artifact: Buffer.from(JSON.stringify(bundle)),
      mediaType: BUNDLE_TYPE,
      annotations,
      credentials: undefined as never,
    });
  await attach(await mock.signMessage(index.manifest, { subject: IDENTITY, issuer: ISSUER }));
  await attach(await mock.signMessage(index.manifest, { subject: MALLORY, issuer: ISSUER }));
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: `${registry.host}/${REPO}`, digest: { sha256: index.digest.slice(7) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: { workflow: { repository: SOURCE, ref: 'refs/heads/main' } },
        resolvedDependencies: [{ uri: `git+${SOURCE}@refs/heads/main`, digest: { gitCommit: REVISION } }],
      },
      runDetails: { builder: { id: BUILDER } },
    },
  };
  await attach(await mock.attest(statement, { subject: IDENTITY, issuer: ISSUER }), {
    'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1',
  });
  const spdx = {
    spdxVersion: 'SPDX-2.3',
    name: 'shop-web',
    packages: PACKAGES.map(([name, version, purl, license]) => ({
      name,
      versionInfo: version,
      licenseConcluded: license,
      externalRefs: [{ referenceType: 'purl', referenceLocator: purl }],
    })),
  };
  const subject: ContentDescriptor = descriptorOf(index);
  await pushImage(
    registry.url,
    REPO,
    undefined,
    artifactManifest({
      subject,
      artifactType: SPDX,
      layers: [{ mediaType: SPDX, bytes: Buffer.from(JSON.stringify(spdx)) }],
    }),
  );
  // Something below a platform manifest, so the tree has a second level to expand.
  await pushImage(
    registry.url,
    REPO,
    undefined,
    artifactManifest({
      subject: descriptorOf(amd64),
      artifactType: 'application/vnd.example.scan-report+json',
    }),
  );

  const vulnerable = await pushVulnerableImage(registry);

  return {
    tdb,
    registry,
    mock,
    refgraph,
    index,
    amd64,
    arm64,
    vulnerable,
    async pushNote() {
      const note = artifactManifest({ subject, artifactType: 'application/vnd.example.release-note+json' });
      await pushImage(registry.url, REPO, undefined, note);
      return note;
    },
    async close() {
      await refgraph.running.close();
      await registry.stop();
      await mock.close();
      await tdb.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const EMPTY_TOKEN = 'ui-empty-reader-token';

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/**
 * A service with no registry configured and reads behind a token: the first-run state, and a
 * server that can reject a token.
 */
export async function startEmptyRefgraph(
  opts: { registry?: boolean } = {},
): Promise<{ refgraph: StartedRefgraph; close(): Promise<void> }> {
  const tdb = await createTestDatabase();
  const refgraph = await startRefgraph(
    tdb.url,
    {
      worker: { enabled: false },
      // A registry nobody listens at: configured, nothing recorded (the worker, which would crawl
      // it, is off).
      registries: opts.registry ? [localDistribution('http://127.0.0.1:9')] : [],
      auth: {
        tokens: [
          {
            name: 'reader',
            sha256: sha256(EMPTY_TOKEN),
            scopes: ['read:**'],
          },
        ],
      },
    },
    { HOOK: 'unused-hook-token' },
  );
  return {
    refgraph,
    async close() {
      await refgraph.running.close();
      await tdb.drop();
    },
  };
}

/** GraphQL from the test side, to wait until the pipeline has caught up. */
export async function graphql<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token = ADMIN_TOKEN,
): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

/**
 * An image with a Trivy report (its published JSON shape) and an unsigned OpenVEX referrer: the
 * explorer shows the finding, the statement, and that it counts only when unverified VEX is asked for.
 */
async function pushVulnerableImage(registry: TestRegistry): Promise<PushableContent> {
  const image = randomImage();
  await pushImage(registry.url, 'shop/api', 'v1', image);
  const finding = (id: string, severity: string) => ({
    VulnerabilityID: id,
    PkgName: 'libcrypto3',
    PkgIdentifier: { PURL: 'pkg:apk/alpine/libcrypto3@3.1.3-r0?arch=x86_64' },
    InstalledVersion: '3.1.3-r0',
    FixedVersion: '3.1.4-r0',
    Severity: severity,
  });
  const trivy = {
    SchemaVersion: 2,
    CreatedAt: '2026-11-20T10:00:00Z',
    ArtifactName: 'shop/api:v1',
    Results: [
      {
        Target: 'shop/api:v1',
        Class: 'os-pkgs',
        Vulnerabilities: [finding(VULNERABLE_CVE, 'HIGH'), finding(VULNERABLE_OTHER, 'MEDIUM')],
      },
    ],
  };
  const vex = {
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': 'https://example.test/vex/shop-api',
    author: 'Shop security',
    timestamp: '2026-11-21T08:00:00Z',
    statements: [
      {
        vulnerability: { name: VULNERABLE_CVE },
        products: [{ '@id': `pkg:oci/api@${image.digest}` }],
        status: 'not_affected',
        justification: 'vulnerable_code_not_in_execute_path',
      },
    ],
  };
  for (const [type, doc] of [
    ['application/vnd.aquasec.trivy.report+json', trivy],
    ['application/vnd.openvex+json', vex],
  ] as const) {
    await pushImage(
      registry.url,
      'shop/api',
      undefined,
      artifactManifest({
        subject: descriptorOf(image),
        artifactType: type,
        layers: [{ mediaType: type, bytes: Buffer.from(JSON.stringify(doc)) }],
      }),
    );
  }
  return image;
}
