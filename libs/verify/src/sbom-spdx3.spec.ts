import { DocumentError } from './intoto.js';
import { MAX_SBOM_PACKAGES, parseSbom } from './sbom.js';

/**
 * An SPDX 3.0.1 image SBOM in the JSON-LD serialisation the spec defines (global context, every
 * element on the top-level @graph, references by spdxId, CreationInfo as a blank node), shaped as
 * SBOM tools write it: a software_Sbom whose root is the image package, packages with purls as
 * `software_packageUrl` or as a `packageUrl` external identifier, licences as relationships.
 */
function imageSbom(extra: unknown[] = []) {
  const ns = 'https://sbom.example.test/img-1.0';
  return {
    '@context': 'https://spdx.org/rdf/3.0.1/spdx-context.jsonld',
    '@graph': [
      {
        '@id': '_:creationinfo',
        type: 'CreationInfo',
        specVersion: '3.0.1',
        created: '2026-05-01T10:00:00Z',
        createdBy: [`${ns}#tool`],
      },
      { type: 'Tool', spdxId: `${ns}#tool`, creationInfo: '_:creationinfo', name: 'sbom-tool-1.2' },
      {
        type: 'SpdxDocument',
        spdxId: `${ns}#document`,
        creationInfo: '_:creationinfo',
        name: 'registry.example.test/shop/web:1.0',
        profileConformance: ['core', 'software', 'simpleLicensing'],
        dataLicense: `${ns}#cc0`,
        rootElement: [`${ns}#sbom`],
      },
      {
        type: 'software_Sbom',
        spdxId: `${ns}#sbom`,
        creationInfo: '_:creationinfo',
        software_sbomType: ['build'],
        rootElement: [`${ns}#image`],
        element: [`${ns}#image`, `${ns}#openssl`, `${ns}#zlib`, `${ns}#django`],
      },
      {
        type: 'software_Package',
        spdxId: `${ns}#image`,
        creationInfo: '_:creationinfo',
        name: 'shop/web',
        software_packageVersion: '1.0',
        software_primaryPurpose: 'container',
      },
      {
        type: 'software_Package',
        spdxId: `${ns}#openssl`,
        creationInfo: '_:creationinfo',
        name: 'openssl',
        software_packageVersion: '3.0.15-1~deb12u1',
        software_packageUrl: 'pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12',
        externalIdentifier: [
          {
            type: 'ExternalIdentifier',
            externalIdentifierType: 'cpe23',
            identifier: 'cpe:2.3:a:openssl:openssl:3.0.15:*:*:*:*:*:*:*',
          },
        ],
      },
      {
        type: 'software_Package',
        spdxId: `${ns}#zlib`,
        creationInfo: '_:creationinfo',
        name: 'zlib1g',
        software_packageVersion: '1:1.2.13.dfsg-1',
        externalIdentifier: [
          {
            type: 'ExternalIdentifier',
            externalIdentifierType: 'cpe23',
            identifier: 'cpe:2.3:a:zlib:zlib:1.2.13',
          },
          {
            type: 'ExternalIdentifier',
            externalIdentifierType: 'packageUrl',
            identifier: 'pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1',
          },
        ],
      },
      {
        type: 'software_Package',
        spdxId: `${ns}#django`,
        creationInfo: '_:creationinfo',
        name: 'Django',
        software_packageVersion: '5.2',
        software_packageUrl: 'pkg:PyPI/Django@5.2',
      },
      {
        type: 'simplelicensing_LicenseExpression',
        spdxId: `${ns}#lic-openssl`,
        creationInfo: '_:creationinfo',
        simplelicensing_licenseExpression: 'Apache-2.0',
      },
      // documents converted from SPDX 2 keep its placeholder as an expression
      {
        type: 'simplelicensing_LicenseExpression',
        spdxId: `${ns}#lic-noassertion`,
        creationInfo: '_:creationinfo',
        simplelicensing_licenseExpression: 'NOASSERTION',
      },
      {
        type: 'simplelicensing_LicenseExpression',
        spdxId: `${ns}#lic-zlib`,
        creationInfo: '_:creationinfo',
        simplelicensing_licenseExpression: 'Zlib',
      },
      {
        type: 'Relationship',
        spdxId: `${ns}#rel-1`,
        creationInfo: '_:creationinfo',
        from: `${ns}#openssl`,
        relationshipType: 'hasConcludedLicense',
        to: [`${ns}#lic-openssl`],
      },
      {
        type: 'Relationship',
        spdxId: `${ns}#rel-2`,
        creationInfo: '_:creationinfo',
        from: `${ns}#openssl`,
        relationshipType: 'hasDeclaredLicense',
        to: [`${ns}#lic-openssl`],
      },
      {
        type: 'Relationship',
        spdxId: `${ns}#rel-3`,
        creationInfo: '_:creationinfo',
        from: `${ns}#zlib`,
        relationshipType: 'hasDeclaredLicense',
        to: [`${ns}#lic-zlib`],
      },
      {
        type: 'Relationship',
        spdxId: `${ns}#rel-4`,
        creationInfo: '_:creationinfo',
        from: `${ns}#django`,
        relationshipType: 'hasConcludedLicense',
        to: ['expandedlicensing_NoAssertionLicense', `${ns}#lic-noassertion`],
      },
      {
        type: 'Relationship',
        spdxId: `${ns}#rel-5`,
        creationInfo: '_:creationinfo',
        from: `${ns}#django`,
        relationshipType: 'hasDeclaredLicense',
        to: ['https://spdx.org/licenses/BSD-3-Clause'],
      },
      {
        type: 'Relationship',
        spdxId: `${ns}#rel-6`,
        creationInfo: '_:creationinfo',
        from: `${ns}#image`,
        relationshipType: 'contains',
        to: [`${ns}#openssl`, `${ns}#zlib`, `${ns}#django`],
      },
      ...extra,
    ],
  };
}

describe('parseSbom: SPDX 3 JSON-LD', () => {
  it('yields the SPDX 2 row shape: format spdx, spec version 3.0.1, packages with canonical purls and licences', () => {
    const doc = parseSbom(imageSbom());
    expect(doc).toMatchObject({
      format: 'spdx',
      specVersion: '3.0.1',
      name: 'registry.example.test/shop/web:1.0',
    });
    expect(doc.packages).toEqual([
      { name: 'shop/web', version: '1.0', purl: null, purlBase: null, licenses: [] },
      {
        name: 'openssl',
        version: '3.0.15-1~deb12u1',
        purl: 'pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12',
        purlBase: 'pkg:deb/debian/openssl',
        licenses: ['Apache-2.0'],
      },
      {
        name: 'zlib1g',
        version: '1:1.2.13.dfsg-1',
        purl: 'pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1',
        purlBase: 'pkg:deb/debian/zlib1g',
        licenses: ['Zlib'],
      },
      // purl from software_packageUrl normalised; NoAssertion dropped, a listed licence IRI kept as its id
      {
        name: 'Django',
        version: '5.2',
        purl: 'pkg:pypi/django@5.2',
        purlBase: 'pkg:pypi/django',
        licenses: ['BSD-3-Clause'],
      },
    ]);
  });

  it('takes the version from the context when no CreationInfo states it (3.0.0 examples)', () => {
    const doc = parseSbom({
      '@context': ['https://spdx.org/rdf/3.0.0/spdx-context.jsonld'],
      '@graph': [
        { '@id': '_:ci', type: 'CreationInfo', created: '2024-01-01T00:00:00Z' },
        { type: 'software_Package', spdxId: 'urn:a', creationInfo: '_:ci', name: 'rsc.io/quote' },
      ],
    });
    expect(doc).toMatchObject({ format: 'spdx', specVersion: '3.0.0', name: null });
    expect(doc.packages.map((p) => p.name)).toEqual(['rsc.io/quote']);
  });

  it('is reached through the cosign Data wrapper and as an in-toto predicate object alike', () => {
    expect(parseSbom({ Data: JSON.stringify(imageSbom()) }).packages).toHaveLength(4);
  });

  it('refuses other JSON-LD, a graph that is not a list, unnamed packages and oversized graphs', () => {
    expect(() => parseSbom({ '@context': 'https://openvex.dev/ns/v0.2.0', statements: [] })).toThrow(
      /without the SPDX 3 context/,
    );
    expect(() =>
      parseSbom({ '@context': 'https://spdx.org/rdf/3.0.1/spdx-context.jsonld', '@graph': {} }),
    ).toThrow(/no @graph array/);
    expect(() => parseSbom(imageSbom([{ type: 'software_Package', spdxId: 'urn:x' }]))).toThrow(
      /software_Package #4 has no name/,
    );
    const many = Array.from({ length: MAX_SBOM_PACKAGES + 1 }, (_, i) => ({
      type: 'software_Package',
      spdxId: `urn:p${i}`,
      name: `p${i}`,
    }));
    expect(() =>
      parseSbom({ '@context': 'https://spdx.org/rdf/3.0.1/spdx-context.jsonld', '@graph': many }),
    ).toThrow(DocumentError);
  });
});
