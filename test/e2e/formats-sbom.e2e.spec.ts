import { randomBytes } from 'node:crypto';
import { randomImage } from '#testing';
import { cycloneDx17, spdx3Sbom, type ListedPackage } from './format-documents.js';
import { eventually } from './harness.js';
import { startRegistryWorld, type RegistryWorld } from './registry-world.js';
import { explorerPage } from './ui-browser.js';

/**
 * SPDX 3.0.1 JSON-LD and CycloneDX 1.7 SBOMs the whole way: pushed to a real registry as OCI 1.1
 * referrers (SPDX 3 also as an in-toto predicate signed against the mock Sigstore), ingested
 * through its notifications, answered over REST and GraphQL and shown by the explorer in
 * Debian's Chromium.
 */

const READER = randomBytes(16).toString('hex');

/** The packages of both SPDX 3 SBOMs (every other one names its purl as an external identifier). */
const PACKAGES: ListedPackage[] = [
  {
    name: 'openssl',
    version: '3.0.15-1~deb12u1',
    purl: 'pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64',
    license: 'Apache-2.0',
  },
  { name: 'express', version: '4.21.2', purl: 'pkg:npm/express@4.21.2', license: 'MIT' },
  {
    name: '@babel/core',
    version: '7.26.0',
    purl: 'pkg:npm/%40babel/core@7.26.0',
    license: 'MIT OR Apache-2.0',
  },
];

let world: RegistryWorld;
/** SPDX 3 referrer (`application/spdx3+json`). */
const web = randomImage();
/** SPDX 3 in a signed attestation. */
const batch = randomImage();
/** CycloneDX 1.7 referrer. */
const api = randomImage();

beforeAll(async () => {
  world = await startRegistryWorld({
    tokens: [{ name: 'reader', secret: READER, scopes: ['read:local/fleet/**'] }],
    images: { 'fleet/web': web, 'fleet/batch': batch, 'fleet/api': api },
  });
});

afterAll(async () => {
  await world?.close();
});

/** Waits until the SBOM of `digest` lists `n` packages; the packages. */
const sbomPackages = (digest: string, n: number) =>
  eventually(async () => {
    const { packages } = await world.read(`/api/v1/artifacts/${digest}/sbom/packages`);
    expect(packages).toHaveLength(n);
    return packages as Array<Record<string, unknown>>;
  }, 60_000);

/** The digests `GET /api/v1/packages?purl=` answers, sorted. */
const byPurl = async (purl: string) => {
  const { artifacts } = await world.read(`/api/v1/packages?purl=${encodeURIComponent(purl)}`);
  return (artifacts as Array<{ digest: string }>).map((a) => a.digest).sort();
};

describe('SBOMs over REST and GraphQL', () => {
  it('SPDX 3.0.1 JSON-LD as a referrer: every software_Package with its purl and licence', async () => {
    await world.attach('fleet/web', web, 'application/spdx3+json', spdx3Sbom('fleet-web', PACKAGES));
    const packages = await sbomPackages(web.digest, 3);
    // Listed licences are IRIs (https://spdx.org/licenses/MIT) and read as their ids.
    expect(packages.map((p) => [p.name, p.version, p.purl, p.licenses])).toEqual([
      ['openssl', '3.0.15-1~deb12u1', 'pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64', ['Apache-2.0']],
      ['express', '4.21.2', 'pkg:npm/express@4.21.2', ['MIT']],
      ['@babel/core', '7.26.0', 'pkg:npm/%40babel/core@7.26.0', ['MIT OR Apache-2.0']],
    ]);
    // With a version: that version; without: any.
    expect(await byPurl('pkg:npm/express@4.21.2')).toEqual([web.digest]);
    expect(await byPurl('pkg:npm/express@4.21.1')).toEqual([]);
    expect(await byPurl('pkg:deb/debian/openssl')).toEqual([web.digest]);
    // A version without qualifiers finds that version under any qualifiers; named ones must match.
    expect(await byPurl('pkg:deb/debian/openssl@3.0.15-1~deb12u1')).toEqual([web.digest]);
    expect(await byPurl('pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64')).toEqual([web.digest]);
    expect(await byPurl('pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=arm64')).toEqual([]);
    expect(await byPurl('pkg:deb/debian/openssl@3.0.15')).toEqual([]);
    // The search takes a purl in any spelling and compares the canonical form.
    expect(await byPurl('pkg:NPM/%40babel/core')).toEqual([web.digest]);
  });

  it('SPDX 3 as a signed in-toto predicate (https://spdx.dev/Document/v3): the same packages', async () => {
    await world.attest(
      'fleet/batch',
      batch,
      'https://spdx.dev/Document/v3',
      spdx3Sbom('fleet-batch', PACKAGES),
    );
    const attestation = await eventually(async () => {
      const { attestations } = await world.read(`/api/v1/artifacts/${batch.digest}/attestations`);
      expect(attestations[0]?.verification[0]?.status).toBe('verified');
      return attestations[0];
    }, 60_000);
    expect(attestation).toMatchObject({
      predicateType: 'https://spdx.dev/Document/v3',
      verification: [{ status: 'verified', authority: 'release' }],
    });
    expect((await sbomPackages(batch.digest, 3)).map((p) => p.name)).toEqual([
      'openssl',
      'express',
      '@babel/core',
    ]);
    expect(await byPurl('pkg:npm/%40babel/core@7.26.0')).toEqual([web.digest, batch.digest].sort());
  });

  it('CycloneDX 1.7 as a referrer: nested components flattened, every licence expression kept', async () => {
    await world.attach('fleet/api', api, 'application/vnd.cyclonedx+json', cycloneDx17('fleet/api'));
    const packages = await sbomPackages(api.digest, 4);
    expect(packages.map((p) => [p.name, p.version, p.purl, p.licenses])).toEqual([
      ['api', '2.4.0', null, ['Apache-2.0 OR MIT', 'Apache-2.0']],
      ['spring-core', '6.2.1', 'pkg:maven/org.springframework/spring-core@6.2.1?type=jar', ['Apache-2.0']],
      ['spring-jcl', '6.2.1', 'pkg:maven/org.springframework/spring-jcl@6.2.1', ['Vendor EULA']],
      [
        'libgcc-s1',
        '12.2.0-14',
        'pkg:deb/debian/libgcc-s1@12.2.0-14?arch=amd64&distro=debian-12',
        ['GPL-3.0-or-later WITH GCC-exception-3.1'],
      ],
    ]);
    expect(await byPurl('pkg:maven/org.springframework/spring-jcl')).toEqual([api.digest]);
    // Nested components are found by the filter and paged like the others.
    const path = `/api/v1/artifacts/${api.digest}/sbom/packages?q=spring&first=1`;
    const first = await world.read(path);
    expect(first.packages.map((p: { name: string }) => p.name)).toEqual(['spring-core']);
    const next = await world.read(`${path}&after=${first.nextCursor}`);
    expect(next.packages.map((p: { name: string }) => p.name)).toEqual(['spring-jcl']);
    expect(next.nextCursor).toBeNull();
  });

  it('GraphQL: format, version, name and packages of each SBOM, and the package search', async () => {
    const data = await world.query(`{
      web: artifact(digest: "${web.digest}") { ...sbom }
      batch: artifact(digest: "${batch.digest}") { ...sbom }
      api: artifact(digest: "${api.digest}") { ...sbom }
      packages(purl: "pkg:npm/express") { digest name version purl artifact { tags } }
      spelled: packages(purl: "pkg:NPM/express@4.21.2") { digest }
    }
    fragment sbom on Artifact {
      sbom { format specVersion name packageCount parseError
        packages(first: 10) { edges { node { name version purl licenses } } } }
    }`);
    const summary = ({ sbom: s }: any) => [s.format, s.specVersion, s.name, s.packageCount, s.parseError];
    expect(summary(data.web)).toEqual(['spdx', '3.0.1', 'fleet-web', 3, null]);
    expect(summary(data.batch)).toEqual(['spdx', '3.0.1', 'fleet-batch', 3, null]);
    expect(summary(data.api)).toEqual(['cyclonedx', '1.7', 'fleet/api', 4, null]);
    expect(data.web.sbom.packages.edges[2].node).toEqual({
      name: '@babel/core',
      version: '7.26.0',
      purl: 'pkg:npm/%40babel/core@7.26.0',
      licenses: ['MIT OR Apache-2.0'],
    });
    expect(data.api.sbom.packages.edges.map((e: any) => e.node.licenses)).toEqual([
      ['Apache-2.0 OR MIT', 'Apache-2.0'],
      ['Apache-2.0'],
      ['Vendor EULA'],
      ['GPL-3.0-or-later WITH GCC-exception-3.1'],
    ]);
    const express = { name: 'express', version: '4.21.2', purl: 'pkg:npm/express@4.21.2' };
    expect(data.packages).toEqual(
      [
        { digest: web.digest, ...express, artifact: { tags: ['local/fleet/web:v1'] } },
        { digest: batch.digest, ...express, artifact: { tags: ['local/fleet/batch:v1'] } },
      ].sort((a, b) => a.digest.localeCompare(b.digest)),
    );
    expect(data.spelled.map((p: { digest: string }) => p.digest).sort()).toEqual(
      [web.digest, batch.digest].sort(),
    );
  });
});

describe('SBOMs in the explorer', () => {
  let explorer: Awaited<ReturnType<typeof explorerPage>>;

  beforeAll(async () => {
    explorer = await explorerPage(world.refgraph.url, READER);
  });

  afterAll(async () => {
    await explorer?.close();
  });

  /** The artifact page of `digest` once its SBOM table has rows; the SBOM section and the rows. */
  const sbomView = async (digest: string) => {
    const { page } = explorer;
    await page.goto(`${world.refgraph.url}/ui#/artifact/${digest}`);
    const sbom = page.locator('#sbom');
    await sbom.locator('tbody tr').first().waitFor();
    return { sbom, rows: await sbom.locator('tbody tr').allInnerTexts() };
  };

  it('an SPDX 3 SBOM: its packages with purl links, and its referrer named in words', async () => {
    const { sbom, rows } = await sbomView(web.digest);
    await expect(sbom.locator('p.muted').first().innerText()).resolves.toBe(
      'SPDX · 3.0.1 · fleet-web · 3 packages',
    );
    expect(rows[1]).toMatch(/^express\s+4\.21\.2\s+pkg:npm\/express@4\.21\.2\s+MIT$/);
    const purl = 'pkg:npm/%40babel/core@7.26.0';
    await expect(sbom.getByRole('link', { name: purl }).getAttribute('href')).resolves.toBe(
      `#/search?q=${encodeURIComponent(purl)}`,
    );
    const referrer = explorer.page.locator('#tree li.kind-sbom > .tree-row');
    await expect(referrer.innerText()).resolves.toContain('SPDX SBOM');
  });

  it('a CycloneDX 1.7 SBOM: nested components in order, every licence expression', async () => {
    const { sbom, rows } = await sbomView(api.digest);
    await expect(sbom.locator('p.muted').first().innerText()).resolves.toBe(
      'CYCLONEDX · 1.7 · fleet/api · 4 packages',
    );
    expect(rows.map((r) => r.split('\t')[0])).toEqual(['api', 'spring-core', 'spring-jcl', 'libgcc-s1']);
    expect(rows[0]).toMatch(/\tApache-2\.0 OR MIT, Apache-2\.0$/);
    expect(rows[3]).toMatch(/\tGPL-3\.0-or-later WITH GCC-exception-3\.1$/);
    const referrer = explorer.page.locator('#tree li.kind-sbom > .tree-row');
    await expect(referrer.innerText()).resolves.toContain('CycloneDX SBOM');
  });

  it('a package search by purl lists both images whose SPDX 3 SBOMs name it', async () => {
    const { page } = explorer;
    await page.goto(`${world.refgraph.url}/ui#/search?q=${encodeURIComponent('pkg:deb/debian/openssl')}`);
    const table = page.locator('section[aria-labelledby="purl-h"] tbody tr');
    await table.first().waitFor();
    const rows = (await table.allInnerTexts()).sort();
    expect(rows).toEqual([
      expect.stringMatching(
        /^local\/fleet\/batch:v1\s+openssl\s+3\.0\.15-1~deb12u1\s+pkg:deb\/debian\/openssl@/,
      ),
      expect.stringMatching(
        /^local\/fleet\/web:v1\s+openssl\s+3\.0\.15-1~deb12u1\s+pkg:deb\/debian\/openssl@/,
      ),
    ]);
  });
});
