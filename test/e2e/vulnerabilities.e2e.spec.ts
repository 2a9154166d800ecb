import { randomBytes } from 'node:crypto';
import { randomImage } from '#testing';
import { eventually } from './harness.js';
import { startRegistryWorld, type RegistryWorld } from './registry-world.js';

/**
 * "Which images are affected by CVE-X, after VEX?" end to end: scanner reports and VEX documents
 * pushed to a real registry as referrers (and one as a signed attestation made with @sigstore/sign
 * against the mock Sigstore), ingested through its webhooks, answered over REST and GraphQL.
 * The documents are written in the published Trivy, Grype and OpenVEX shapes (the tools are not
 * installed here).
 */

const CVE = 'CVE-2023-5363';
const OPENVEX = 'https://openvex.dev/ns/v0.2.0';
const FLEET = randomBytes(16).toString('hex');
const WORKER_ONLY = randomBytes(16).toString('hex');
const OTHER = randomBytes(16).toString('hex');

let world: RegistryWorld;

const app = randomImage();
const worker = randomImage();
const unrelated = randomImage();

beforeAll(async () => {
  world = await startRegistryWorld({
    tokens: [
      { name: 'fleet', secret: FLEET, scopes: ['read:local/fleet/**'] },
      { name: 'worker', secret: WORKER_ONLY, scopes: ['read:local/fleet/worker'] },
      { name: 'other', secret: OTHER, scopes: ['read:local/other/**'] },
    ],
    images: { 'fleet/app': app, 'fleet/worker': worker, 'other/thing': unrelated },
  });
});

afterAll(async () => {
  await world?.close();
});

const trivyReport = {
  SchemaVersion: 2,
  CreatedAt: '2026-11-20T10:00:00Z',
  ArtifactName: 'fleet/app:v1',
  ArtifactType: 'container_image',
  Results: [
    {
      Target: 'fleet/app:v1 (alpine 3.18.4)',
      Class: 'os-pkgs',
      Type: 'alpine',
      Vulnerabilities: [
        {
          VulnerabilityID: CVE,
          PkgName: 'libcrypto3',
          PkgIdentifier: { PURL: 'pkg:apk/alpine/libcrypto3@3.1.3-r0?arch=x86_64&distro=3.18.4' },
          InstalledVersion: '3.1.3-r0',
          FixedVersion: '3.1.4-r0',
          Severity: 'HIGH',
        },
        {
          VulnerabilityID: 'CVE-2023-5678',
          PkgName: 'libcrypto3',
          PkgIdentifier: { PURL: 'pkg:apk/alpine/libcrypto3@3.1.3-r0?arch=x86_64&distro=3.18.4' },
          InstalledVersion: '3.1.3-r0',
          Severity: 'MEDIUM',
        },
      ],
    },
  ],
};

const grypeReport = {
  matches: [
    {
      vulnerability: { id: CVE, severity: 'High', fix: { versions: ['3.1.4-r0'], state: 'fixed' } },
      relatedVulnerabilities: [],
      artifact: { name: 'libcrypto3', version: '3.1.3-r0', purl: 'pkg:apk/alpine/libcrypto3@3.1.3-r0' },
    },
  ],
  descriptor: { name: 'grype', version: '0.74.0', timestamp: '2026-11-20T11:00:00Z' },
};

/** One VEX document: not_affected for the app image, affected for the worker image. */
function openVex(timestamp: string, author: string) {
  return {
    '@context': OPENVEX,
    '@id': `https://example.test/vex/${author}`,
    author,
    timestamp,
    version: 1,
    statements: [
      {
        vulnerability: { name: CVE },
        products: [
          {
            '@id': `pkg:oci/app@${app.digest.replace(':', '%3A')}`,
            subcomponents: [{ '@id': 'pkg:apk/alpine/libcrypto3@3.1.3-r0' }],
          },
        ],
        status: 'not_affected',
        justification: 'vulnerable_code_not_in_execute_path',
        impact_statement: `${author}: the affected cipher modes are never configured.`,
      },
      {
        vulnerability: { name: CVE },
        products: [{ '@id': `pkg:oci/worker@${worker.digest}` }],
        status: 'affected',
        action_statement: 'Upgrade libcrypto3 to 3.1.4-r0.',
      },
    ],
  };
}

interface Impact {
  digest: string;
  affected: boolean;
  vex: { status: string | null; statement: { justification: string | null; verified: boolean } | null };
  locations: Array<{ registry: string; repository: string; tags: string[] }>;
  findings: Array<{ statements: Array<{ status: string; verified: boolean; counted: boolean }> }>;
}

const impact = async (query = '', token?: string) => {
  const { status, body } = await world.get(
    `/api/v1/vulnerabilities/${CVE.toLowerCase()}/artifacts${query}`,
    token,
  );
  expect(status).toBe(200);
  return body.artifacts as Impact[];
};
const byDigest = (list: Impact[], digest: string) => list.find((a) => a.digest === digest)!;

let unsignedVex = '';

describe('vulnerabilities after VEX', () => {
  it('findings of a Trivy and a Grype report belong to the image each report refers to', async () => {
    await world.attach('fleet/app', app, 'application/vnd.aquasec.trivy.report+json', trivyReport);
    // Grype's JSON as plain application/json: recognised by its content.
    await world.attach('fleet/worker', worker, 'application/json', grypeReport);
    const list = await eventually(async () => {
      const l = await impact();
      expect(l).toHaveLength(2);
      return l;
    }, 60_000);
    expect(list.map((a) => a.digest)).toEqual([app.digest, worker.digest].sort());
    expect(byDigest(list, app.digest)).toMatchObject({
      affected: true,
      vex: { status: null, statement: null },
      locations: [{ registry: 'local', repository: 'fleet/app', tags: ['v1'] }],
    });
    const { body } = await world.get(`/api/v1/artifacts/${app.digest}/vulnerabilities`);
    expect(body.findings.map((f: { vulnerabilityId: string }) => f.vulnerabilityId)).toEqual([
      CVE,
      'CVE-2023-5678',
    ]);
    expect(body.findings[0]).toMatchObject({
      packageName: 'libcrypto3',
      severity: 'high',
      fixedVersion: '3.1.4-r0',
      report: { format: 'trivy' },
      vex: { status: null, affected: true },
    });
  });

  it('an unsigned VEX referrer is listed as not verified and clears the finding only with vex=any', async () => {
    unsignedVex = await world.attach(
      'fleet/app',
      app,
      'application/vnd.openvex+json',
      openVex('2026-11-21T08:00:00Z', 'unsigned'),
    );
    const listed = await eventually(async () => {
      const l = await impact();
      expect(byDigest(l, app.digest).findings[0]!.statements).toHaveLength(1);
      return l;
    }, 60_000);
    // Default: only verified VEX counts, so both images stay affected.
    expect(listed.map((a) => a.affected)).toEqual([true, true]);
    expect(byDigest(listed, app.digest).findings[0]!.statements[0]).toMatchObject({
      status: 'not_affected',
      verified: false,
      counted: false,
    });
    const any = await impact('?vex=any');
    expect(byDigest(any, app.digest)).toMatchObject({
      affected: false,
      vex: {
        status: 'not_affected',
        statement: { justification: 'vulnerable_code_not_in_execute_path', verified: false },
      },
    });
    // The same document names the worker by digest: affected there (its product is not the app).
    expect(byDigest(any, worker.digest)).toMatchObject({ affected: true, vex: { status: 'affected' } });
    // The other finding on the app is not covered by the statement.
    const { body } = await world.get(`/api/v1/artifacts/${app.digest}/vulnerabilities?vex=any`);
    expect(body.findings.map((f: any) => [f.vulnerabilityId, f.vex.status, f.vex.affected])).toEqual([
      [CVE, 'not_affected', false],
      ['CVE-2023-5678', null, true],
    ]);
    expect(body.findings[0].vex.statement.document.artifact).toBe(unsignedVex);
  });

  it('a signed VEX attestation verified under the trust policy clears the finding by default', async () => {
    await world.attest('fleet/app', app, OPENVEX, openVex('2026-11-22T08:00:00Z', 'signed'));
    const list = await eventually(async () => {
      const l = await impact();
      expect(byDigest(l, app.digest).affected).toBe(false);
      return l;
    }, 60_000);
    expect(byDigest(list, app.digest).vex).toMatchObject({
      status: 'not_affected',
      statement: { justification: 'vulnerable_code_not_in_execute_path', verified: true },
    });
    expect(byDigest(list, worker.digest)).toMatchObject({ affected: true, vex: { status: 'affected' } });
    expect(byDigest(list, app.digest).findings[0]!.statements.map((s) => [s.verified, s.counted])).toEqual([
      [false, false],
      [true, true],
    ]);
  });

  it('GraphQL answers the same, across the fleet and per image', async () => {
    const { data, errors } = await world.gql(`{
      vulnerability(id: "${CVE}") {
        id
        artifacts { edges { node { digest affected vex { status statement { justification verified } }
          artifact { tags } } } }
      }
      artifact(digest: "${app.digest}") {
        vulnerabilities(vex: ANY) { edges { node { vulnerabilityId packageName vex { status affected }
          statements { status verified counted } } } }
      }
    }`);
    expect(errors).toBeUndefined();
    const nodes = data.vulnerability.artifacts.edges.map((e: any) => e.node);
    expect(nodes).toEqual(
      [
        {
          digest: app.digest,
          affected: false,
          vex: {
            status: 'not_affected',
            statement: { justification: 'vulnerable_code_not_in_execute_path', verified: true },
          },
          artifact: { tags: ['local/fleet/app:v1'] },
        },
        {
          digest: worker.digest,
          affected: true,
          vex: { status: 'affected', statement: { justification: null, verified: true } },
          artifact: { tags: ['local/fleet/worker:v1'] },
        },
      ].sort((a, b) => a.digest.localeCompare(b.digest)),
    );
    expect(data.artifact.vulnerabilities.edges.map((e: any) => e.node)).toEqual([
      {
        vulnerabilityId: CVE,
        packageName: 'libcrypto3',
        vex: { status: 'not_affected', affected: false },
        statements: [
          { status: 'not_affected', verified: false, counted: true },
          { status: 'not_affected', verified: true, counted: true },
        ],
      },
      {
        vulnerabilityId: 'CVE-2023-5678',
        packageName: 'libcrypto3',
        vex: { status: null, affected: true },
        statements: [],
      },
    ]);
  });

  it('scope: another repository sees neither findings nor VEX; a VEX outside scope does not count', async () => {
    expect(await impact('', OTHER)).toEqual([]);
    expect((await world.get(`/api/v1/artifacts/${app.digest}/vulnerabilities`, OTHER)).status).toBe(404);
    const { data } = await world.gql(
      `{ vulnerability(id: "${CVE}") { artifacts { edges { node { digest } } } } }`,
      OTHER,
    );
    expect(data.vulnerability.artifacts.edges).toEqual([]);
    // The worker's own repository: its finding, but not the VEX documents stored in fleet/app.
    const seen = await impact('?vex=any', WORKER_ONLY);
    expect(seen.map((a) => [a.digest, a.affected, a.vex.status, a.findings[0]!.statements.length])).toEqual([
      [worker.digest, true, null, 0],
    ]);
  });

  it('bad input is a 400 with a message', async () => {
    const bad = await world.get('/api/v1/vulnerabilities/%20CVE/artifacts');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/vulnerability id/);
    expect((await world.get(`/api/v1/vulnerabilities/${CVE}/artifacts?vex=maybe`)).status).toBe(400);
  });
});
