import { randomBytes } from 'node:crypto';
import { randomImage } from '#testing';
import { CSAF_PUBLISHER, csafVex, openVex, trivyReport, type TrivyFinding } from './format-documents.js';
import { eventually } from './harness.js';
import { startRegistryWorld, type RegistryWorld } from './registry-world.js';
import { explorerPage } from './ui-browser.js';

/**
 * CSAF 2.0 VEX and OpenVEX v0.2.0 over Trivy reports the whole way: one CVE found on two images,
 * a VEX document saying `not_affected` for one and `affected` for the other. The CSAF document is
 * an unsigned OCI 1.1 referrer (counted with `vex=any`), the OpenVEX one an in-toto attestation
 * signed against the mock Sigstore (counted by default). Pushed to a real registry, ingested
 * through its notifications, answered over REST and GraphQL and shown by the explorer.
 */

const READER = randomBytes(16).toString('hex');
const CVE = 'CVE-2025-9230';
const OTHER_CVE = 'CVE-2025-4575';
const LIBSSL = 'pkg:deb/debian/libssl3@3.0.15-1~deb12u1';
const OPENVEX_AUTHOR = 'Fleet security';
const TRIVY = 'application/vnd.aquasec.trivy.report+json';

let world: RegistryWorld;
const app = randomImage();
const worker = randomImage();

beforeAll(async () => {
  world = await startRegistryWorld({
    tokens: [{ name: 'reader', secret: READER, scopes: ['read:local/fleet/**'] }],
    images: { 'fleet/app': app, 'fleet/worker': worker },
  });
  const libssl: TrivyFinding = {
    id: CVE,
    pkg: 'libssl3',
    version: '3.0.15-1~deb12u1',
    purl: `${LIBSSL}?arch=amd64&distro=debian-12.8`,
    severity: 'MEDIUM',
    fixed: '3.0.17-1~deb12u3',
  };
  const openssl: TrivyFinding = {
    ...libssl,
    id: OTHER_CVE,
    pkg: 'openssl',
    purl: 'pkg:deb/debian/openssl@3.0.15-1~deb12u1',
    severity: 'LOW',
  };
  await world.attach('fleet/app', app, TRIVY, trivyReport('fleet/app:v1', [libssl, openssl]));
  await world.attach('fleet/worker', worker, TRIVY, trivyReport('fleet/worker:v1', [libssl]));
});

afterAll(async () => {
  await world?.close();
});

interface Impact {
  digest: string;
  affected: boolean;
  vex: {
    status: string | null;
    statement: {
      justification: string | null;
      actionStatement: string | null;
      document: { format: string };
    } | null;
  };
  findings: Array<{ statements: unknown[] }>;
}

const name = (digest: string) =>
  digest === app.digest ? 'app' : digest === worker.digest ? 'worker' : digest;

/** `GET /api/v1/vulnerabilities/{CVE}/artifacts`: per image, affected, status, deciding format and why. */
const impact = async (query = '') => {
  const { artifacts } = await world.read(`/api/v1/vulnerabilities/${CVE}/artifacts${query}`);
  return (artifacts as Impact[])
    .map(({ digest, affected, vex: { status, statement: s } }) => [
      name(digest),
      affected,
      status,
      s?.document.format ?? null,
      s?.justification ?? s?.actionStatement ?? null,
    ])
    .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
};

describe('VEX over REST and GraphQL', () => {
  it('the Trivy reports: the CVE on both images, affected while no VEX says otherwise', async () => {
    const list = await eventually(async () => {
      const l = await impact();
      expect(l).toHaveLength(2);
      return l;
    }, 60_000);
    expect(list).toEqual([
      ['app', true, null, null, null],
      ['worker', true, null, null, null],
    ]);
  });

  it('a CSAF 2.0 VEX referrer: not_affected for one image, affected for the other, with vex=any', async () => {
    const csaf = csafVex({
      cve: CVE,
      notAffected: { digest: app.digest, component: LIBSSL },
      affected: { digest: worker.digest },
      releasedAt: '2026-02-10T00:00:00.000Z',
    });
    const csafDigest = await world.attach('fleet/app', app, 'application/csaf+json', csaf);
    // Unsigned: listed on both images' findings, but by default neither is cleared.
    await eventually(async () => {
      const { artifacts } = await world.read(`/api/v1/vulnerabilities/${CVE}/artifacts`);
      expect((artifacts as Impact[]).map((a) => a.findings[0]!.statements.length)).toEqual([1, 1]);
    }, 60_000);
    expect(await impact()).toEqual([
      ['app', true, null, null, null],
      ['worker', true, null, null, null],
    ]);
    expect(await impact('?vex=any')).toEqual([
      ['app', false, 'not_affected', 'csaf', 'vulnerable_code_not_in_execute_path'],
      ['worker', true, 'affected', 'csaf', 'Update the worker to 3.2.'],
    ]);
    const { findings } = await world.read(`/api/v1/artifacts/${app.digest}/vulnerabilities?vex=any`);
    expect(
      findings.map((f: any) => [f.vulnerabilityId, f.packageName, f.severity, f.fixedVersion, f.vex.status]),
    ).toEqual([
      [CVE, 'libssl3', 'medium', '3.0.17-1~deb12u3', 'not_affected'],
      // No VEX speaks of the other CVE.
      [OTHER_CVE, 'openssl', 'low', '3.0.17-1~deb12u3', null],
    ]);
    expect(findings[0].vex.statement).toMatchObject({
      status: 'not_affected',
      justification: 'vulnerable_code_not_in_execute_path',
      impactStatement: 'CMS password-based decryption is never called.',
      timestamp: '2026-02-10T00:00:00.000Z',
      document: { artifact: csafDigest, subject: app.digest, format: 'csaf', author: CSAF_PUBLISHER },
      signed: false,
      verified: false,
      counted: true,
    });
  });

  it('a signed OpenVEX v0.2.0 attestation counts by default; with vex=any the later CSAF one wins', async () => {
    const vex = openVex({
      cve: CVE,
      author: OPENVEX_AUTHOR,
      timestamp: '2026-02-01T00:00:00Z',
      notAffected: { digest: app.digest, justification: 'vulnerable_code_cannot_be_controlled_by_adversary' },
      affected: { name: 'worker', action: 'Rebuild on libssl3 3.0.17-1~deb12u3.' },
    });
    // Attached to the worker; its not_affected product names the app by the hash of its manifest.
    await world.attest('fleet/worker', worker, 'https://openvex.dev/ns/v0.2.0', vex);
    await eventually(async () => expect((await impact())[0]!.slice(0, 2)).toEqual(['app', false]), 60_000);
    expect(await impact()).toEqual([
      ['app', false, 'not_affected', 'openvex', 'vulnerable_code_cannot_be_controlled_by_adversary'],
      ['worker', true, 'affected', 'openvex', 'Rebuild on libssl3 3.0.17-1~deb12u3.'],
    ]);
    expect(await impact('?vex=any')).toEqual([
      ['app', false, 'not_affected', 'csaf', 'vulnerable_code_not_in_execute_path'],
      ['worker', true, 'affected', 'csaf', 'Update the worker to 3.2.'],
    ]);
    const { findings } = await world.read(`/api/v1/artifacts/${worker.digest}/vulnerabilities`);
    const statements = findings[0].statements.map((s: any) => [
      s.document.format,
      s.status,
      s.verified,
      s.counted,
    ]);
    expect(statements.sort()).toEqual([
      ['csaf', 'affected', false, false],
      ['openvex', 'affected', true, true],
    ]);
  });

  it('GraphQL answers the same, across the fleet and per image', async () => {
    const data = await world.query(`{
      verified: vulnerability(id: "${CVE}") { ...images }
      any: vulnerability(id: "${CVE}", vex: ANY) { ...images }
      artifact(digest: "${app.digest}") {
        vulnerabilities(vex: ANY) { edges { node { vulnerabilityId packageName vex { status affected }
          statements { format author status verified counted } } } }
      }
    }
    fragment images on Vulnerability {
      artifacts { edges { node { digest affected vex { status statement { format author verified } } } } }
    }`);
    const images = (v: any) =>
      v.artifacts.edges
        .map(({ node: n }: any) => [name(n.digest), n.affected, n.vex.status, n.vex.statement])
        .sort();
    const openvex = { format: 'openvex', author: OPENVEX_AUTHOR, verified: true };
    const csaf = { format: 'csaf', author: CSAF_PUBLISHER, verified: false };
    expect(images(data.verified)).toEqual([
      ['app', false, 'not_affected', openvex],
      ['worker', true, 'affected', openvex],
    ]);
    expect(images(data.any)).toEqual([
      ['app', false, 'not_affected', csaf],
      ['worker', true, 'affected', csaf],
    ]);
    const [libssl, openssl] = data.artifact.vulnerabilities.edges.map((e: any) => e.node);
    expect(libssl).toEqual({
      vulnerabilityId: CVE,
      packageName: 'libssl3',
      vex: { status: 'not_affected', affected: false },
      statements: expect.arrayContaining([
        { ...csaf, status: 'not_affected', counted: true },
        { ...openvex, status: 'not_affected', counted: true },
      ]),
    });
    expect(libssl.statements).toHaveLength(2);
    expect(openssl).toEqual({
      vulnerabilityId: OTHER_CVE,
      packageName: 'openssl',
      vex: { status: null, affected: true },
      statements: [],
    });
  });
});

describe('VEX in the explorer', () => {
  let explorer: Awaited<ReturnType<typeof explorerPage>>;

  beforeAll(async () => {
    explorer = await explorerPage(world.refgraph.url, READER);
  });

  afterAll(async () => {
    await explorer?.close();
  });

  it("lists an image's findings with the VEX status and the statement that decides each", async () => {
    const { page } = explorer;
    await page.goto(`${world.refgraph.url}/ui#/artifact/${app.digest}`);
    const finding = (id: string) => page.locator(`#vulnerabilities tr.finding[data-vulnerability="${id}"]`);
    await finding(CVE).waitFor();
    await expect(finding(CVE).locator('.vex-status').innerText()).resolves.toBe('Not affected');
    await expect(finding(CVE).locator('.vex-statement').innerText()).resolves.toBe(
      `vulnerable code cannot be controlled by adversary (openvex, ${OPENVEX_AUTHOR}, verified)`,
    );
    await expect(finding(CVE).innerText()).resolves.toContain('1 unverified VEX statement not counted');
    await expect(finding(OTHER_CVE).locator('.vex-status').innerText()).resolves.toBe('Affected (no VEX)');
    await page.getByLabel('Also count unsigned or unverified VEX').check();
    await eventually(async () =>
      expect(await finding(CVE).locator('.vex-statement').innerText()).toBe(
        'vulnerable code not in execute path — CMS password-based decryption is never called.' +
          ` (csaf, ${CSAF_PUBLISHER}, not verified)`,
      ),
    );
  });

  it('the CVE across the fleet: one image cleared by VEX, the other still affected', async () => {
    const { page } = explorer;
    await page.goto(`${world.refgraph.url}/ui#/search?q=${CVE}`);
    const section = page.locator('section[aria-labelledby="vuln-h"]');
    const rows = section.locator('tr.vulnerable-artifact');
    await rows.first().waitFor();
    await expect(section.innerText()).resolves.toContain(
      '1 of 2 images with a finding is affected after VEX.',
    );
    expect((await rows.allInnerTexts()).sort()).toEqual([
      expect.stringMatching(
        /^local\/fleet\/app:v1\s+libssl3 3\.0\.15-1~deb12u1\s+Not affected\s+vulnerable code cannot be controlled/,
      ),
      expect.stringMatching(
        /^local\/fleet\/worker:v1\s+libssl3 3\.0\.15-1~deb12u1\s+Affected\s+Rebuild on libssl3 3\.0\.17-1~deb12u3\./,
      ),
    ]);
  });
});
