// SBOM, scanner report and VEX documents in the shapes their tools publish, built around pushed images.

/** A package as an SBOM lists it, with the licence the document states for it. */
export interface ListedPackage {
  name: string;
  version: string;
  purl: string;
  license: string;
}

const SPDX3_CONTEXT = 'https://spdx.org/rdf/3.0.1/spdx-context.jsonld';

/**
 * SPDX 3.0.1 JSON-LD as its serialisation specifies it: a CreationInfo blank node, the creating
 * Organization, the SpdxDocument and its software_Sbom, one software_Package per package and a licence
 * relationship for each. Every other package names its purl as a `packageUrl` external
 * identifier instead of `software_packageUrl`; a licence that is an SPDX listed licence id is
 * its IRI, anything else a LicenseExpression element. A software_File is listed too (not a package).
 */
export function spdx3Sbom(name: string, packages: ListedPackage[]): object {
  const ns = `https://example.test/spdx/${name}`;
  const creationInfo = '_:creationinfo';
  const elements = packages.flatMap((p, i) => {
    const id = `${ns}/package/${i}`;
    const listed = /^[A-Za-z0-9.+-]+$/.test(p.license);
    const license = listed ? `https://spdx.org/licenses/${p.license}` : `${ns}/license/${i}`;
    return [
      {
        type: 'software_Package',
        spdxId: id,
        creationInfo,
        name: p.name,
        software_packageVersion: p.version,
        ...(i % 2 === 0
          ? { software_packageUrl: p.purl }
          : {
              externalIdentifier: [
                { type: 'ExternalIdentifier', externalIdentifierType: 'packageUrl', identifier: p.purl },
              ],
            }),
      },
      ...(listed
        ? []
        : [
            {
              type: 'simplelicensing_LicenseExpression',
              spdxId: license,
              creationInfo,
              simplelicensing_licenseExpression: p.license,
            },
          ]),
      {
        type: 'Relationship',
        spdxId: `${ns}/relationship/${i}`,
        creationInfo,
        from: id,
        to: [license],
        relationshipType: i % 2 === 0 ? 'hasConcludedLicense' : 'hasDeclaredLicense',
      },
    ];
  });
  return {
    '@context': SPDX3_CONTEXT,
    '@graph': [
      {
        type: 'CreationInfo',
        '@id': creationInfo,
        specVersion: '3.0.1',
        created: '2026-01-12T09:00:00Z',
        createdBy: [`${ns}/agent`],
      },
      { type: 'Organization', spdxId: `${ns}/agent`, creationInfo, name: 'Acme' },
      {
        type: 'SpdxDocument',
        spdxId: ns,
        creationInfo,
        name,
        profileConformance: ['core', 'software', 'simpleLicensing'],
        rootElement: [`${ns}/sbom`],
      },
      {
        type: 'software_Sbom',
        spdxId: `${ns}/sbom`,
        creationInfo,
        software_sbomType: ['build'],
        element: packages.map((_, i) => `${ns}/package/${i}`),
      },
      { type: 'software_File', spdxId: `${ns}/file/0`, creationInfo, name: '/etc/os-release' },
      ...elements,
    ],
  };
}

/**
 * CycloneDX 1.7: the image as metadata component, an application whose framework nests a
 * library (assemblies), and an OS package; licences as SPDX ids, names and several expressions
 * (declared and concluded side by side).
 */
export function cycloneDx17(image: string): object {
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.7.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.7',
    serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
    version: 1,
    metadata: {
      timestamp: '2026-01-12T09:00:00Z',
      lifecycles: [{ phase: 'build' }],
      component: { type: 'container', 'bom-ref': 'image', name: image, version: '2.4.0' },
    },
    components: [
      {
        type: 'application',
        'bom-ref': 'api',
        name: 'api',
        version: '2.4.0',
        licenses: [
          { expression: 'Apache-2.0 OR MIT', acknowledgement: 'declared' },
          { expression: 'Apache-2.0', acknowledgement: 'concluded' },
        ],
        components: [
          {
            type: 'framework',
            'bom-ref': 'pkg:maven/org.springframework/spring-core@6.2.1?type=jar',
            group: 'org.springframework',
            name: 'spring-core',
            version: '6.2.1',
            purl: 'pkg:maven/org.springframework/spring-core@6.2.1?type=jar',
            licenses: [{ license: { id: 'Apache-2.0', acknowledgement: 'declared' } }],
            components: [
              {
                type: 'library',
                name: 'spring-jcl',
                version: '6.2.1',
                purl: 'pkg:maven/org.springframework/spring-jcl@6.2.1',
                licenses: [{ license: { name: 'Vendor EULA', acknowledgement: 'concluded' } }],
              },
            ],
          },
        ],
      },
      {
        type: 'library',
        name: 'libgcc-s1',
        version: '12.2.0-14',
        purl: 'pkg:deb/debian/libgcc-s1@12.2.0-14?arch=amd64&distro=debian-12',
        licenses: [{ expression: 'GPL-3.0-or-later WITH GCC-exception-3.1' }],
      },
    ],
  };
}

/** A finding as Trivy lists it under `Vulnerabilities`. */
export interface TrivyFinding {
  id: string;
  pkg: string;
  version: string;
  purl: string;
  severity: string;
  fixed?: string;
}

/** `trivy image -f json` (SchemaVersion 2): one OS-package result with the findings given. */
export function trivyReport(artifactName: string, findings: TrivyFinding[]): object {
  return {
    SchemaVersion: 2,
    CreatedAt: '2026-01-12T10:00:00Z',
    ArtifactName: artifactName,
    ArtifactType: 'container_image',
    Results: [
      {
        Target: `${artifactName} (debian 12.8)`,
        Class: 'os-pkgs',
        Type: 'debian',
        Vulnerabilities: findings.map((f) => ({
          VulnerabilityID: f.id,
          PkgName: f.pkg,
          PkgIdentifier: { PURL: f.purl },
          InstalledVersion: f.version,
          ...(f.fixed ? { FixedVersion: f.fixed } : {}),
          Severity: f.severity,
        })),
      },
    ],
  };
}

/** What a CSAF VEX document says about one vulnerability in two images. */
export interface CsafVexCase {
  cve: string;
  /** Known not affected: the image (by an OCI purl with its digest) and the component in it. */
  notAffected: { digest: string; component: string };
  /** Known affected: the image, by a sha256 file hash of its manifest. */
  affected: { digest: string };
  releasedAt: string;
}

export const CSAF_PUBLISHER = 'Acme Product Security';

/**
 * CSAF 2.0 VEX (`document.category` `csaf_vex`): the product tree names the first image through
 * branches and a `pkg:oci` purl helper, the component through a `default_component_of`
 * relationship, the second image by the sha-256 hash of its manifest; the vulnerability has a
 * flag, an impact threat and a vendor fix.
 */
export function csafVex(c: CsafVexCase): object {
  const hex = (d: string) => d.slice('sha256:'.length);
  return {
    document: {
      category: 'csaf_vex',
      csaf_version: '2.0',
      title: `Acme: ${c.cve}`,
      lang: 'en',
      publisher: { category: 'vendor', name: CSAF_PUBLISHER, namespace: 'https://acme.example' },
      tracking: {
        id: 'ACME-VEX-2026-0007',
        status: 'final',
        version: '1',
        initial_release_date: c.releasedAt,
        current_release_date: c.releasedAt,
        revision_history: [{ date: c.releasedAt, number: '1', summary: 'Initial' }],
      },
    },
    product_tree: {
      branches: [
        {
          category: 'vendor',
          name: 'Acme',
          branches: [
            {
              category: 'product_name',
              name: 'app',
              branches: [
                {
                  category: 'product_version',
                  name: '1.4',
                  product: {
                    product_id: 'APP-1.4',
                    name: 'Acme app 1.4',
                    product_identification_helper: {
                      purl: `pkg:oci/app@sha256%3A${hex(c.notAffected.digest)}`,
                    },
                  },
                },
              ],
            },
            {
              category: 'product_name',
              name: 'worker',
              product: {
                product_id: 'WORKER-3.1',
                name: 'Acme worker 3.1',
                product_identification_helper: {
                  hashes: [
                    {
                      file_hashes: [{ algorithm: 'sha256', value: hex(c.affected.digest) }],
                      filename: 'manifest.json',
                    },
                  ],
                },
              },
            },
          ],
        },
      ],
      full_product_names: [
        {
          product_id: 'COMPONENT',
          name: c.notAffected.component,
          product_identification_helper: { purl: c.notAffected.component },
        },
      ],
      relationships: [
        {
          category: 'default_component_of',
          product_reference: 'COMPONENT',
          relates_to_product_reference: 'APP-1.4',
          full_product_name: { product_id: 'APP-1.4:COMPONENT', name: 'the component in Acme app 1.4' },
        },
      ],
    },
    vulnerabilities: [
      {
        cve: c.cve,
        product_status: { known_not_affected: ['APP-1.4:COMPONENT'], known_affected: ['WORKER-3.1'] },
        flags: [{ label: 'vulnerable_code_not_in_execute_path', product_ids: ['APP-1.4:COMPONENT'] }],
        threats: [
          {
            category: 'impact',
            details: 'CMS password-based decryption is never called.',
            product_ids: ['APP-1.4:COMPONENT'],
          },
        ],
        remediations: [
          { category: 'vendor_fix', details: 'Update the worker to 3.2.', product_ids: ['WORKER-3.1'] },
        ],
      },
    ],
  };
}

/** What an OpenVEX document says about one vulnerability in two images. */
export interface OpenVexCase {
  cve: string;
  author: string;
  timestamp: string;
  /** Not affected: an image named by the `sha-256` hash of its manifest. */
  notAffected: { digest: string; justification: string };
  /** Affected: `pkg:oci/<name>` without a digest, so the image the document is about. */
  affected: { name: string; action: string };
}

/** OpenVEX v0.2.0 (`@context` https://openvex.dev/ns/v0.2.0), in the shape vexctl writes. */
export function openVex(c: OpenVexCase): object {
  return {
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': `https://example.test/vex/${c.author.replaceAll(' ', '-')}`,
    author: c.author,
    timestamp: c.timestamp,
    version: 1,
    statements: [
      {
        vulnerability: { name: c.cve },
        products: [{ '@id': 'pkg:oci/app', hashes: { 'sha-256': c.notAffected.digest.slice(7) } }],
        status: 'not_affected',
        justification: c.notAffected.justification,
      },
      {
        vulnerability: { name: c.cve },
        products: [{ '@id': `pkg:oci/${c.affected.name}` }],
        status: 'affected',
        action_statement: c.affected.action,
      },
    ],
  };
}
