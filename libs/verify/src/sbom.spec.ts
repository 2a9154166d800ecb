import { DocumentError } from './intoto.js';
import { isSbomPredicateType, MAX_SBOM_PACKAGES, parseSbom } from './sbom.js';

describe('parseSbom purls', () => {
  it('stores the canonical purl and its base; keeps a string that is no purl without a base', () => {
    const doc = parseSbom({
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      components: [
        { name: 'django-rest', purl: 'PKG:PyPI/Django_Rest@1.0?b=2&a=1' },
        { name: 'core', purl: 'pkg:npm/@babel/core@7.0.0' },
        { name: 'odd', purl: 'not a purl' },
      ],
    });
    expect(doc.packages.map((p) => [p.purl, p.purlBase])).toEqual([
      ['pkg:pypi/django-rest@1.0?a=1&b=2', 'pkg:pypi/django-rest'],
      ['pkg:npm/%40babel/core@7.0.0', 'pkg:npm/%40babel/core'],
      ['not a purl', null],
    ]);
  });
});

describe('parseSbom', () => {
  it('SPDX: packages with version, purl and concluded/declared licenses (NOASSERTION dropped)', () => {
    const doc = parseSbom({
      spdxVersion: 'SPDX-2.2',
      name: 'img',
      packages: [
        {
          name: 'openssl',
          versionInfo: '3.0.2',
          licenseConcluded: 'Apache-2.0',
          licenseDeclared: 'NOASSERTION',
          externalRefs: [
            { referenceType: 'cpe23Type', referenceLocator: 'cpe:x' },
            { referenceType: 'purl', referenceLocator: 'pkg:deb/ubuntu/openssl@3.0.2' },
          ],
        },
        { name: 'bare' },
      ],
    });
    expect(doc).toEqual({
      format: 'spdx',
      specVersion: '2.2',
      name: 'img',
      packages: [
        {
          name: 'openssl',
          version: '3.0.2',
          purl: 'pkg:deb/ubuntu/openssl@3.0.2',
          purlBase: 'pkg:deb/ubuntu/openssl',
          licenses: ['Apache-2.0'],
        },
        { name: 'bare', version: null, purl: null, purlBase: null, licenses: [] },
      ],
    });
  });

  it('CycloneDX: nested components are flattened; license ids, names and expressions', () => {
    const doc = parseSbom({
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      metadata: { component: { name: 'app' } },
      components: [
        {
          name: 'a',
          version: '1',
          purl: 'pkg:npm/a@1',
          licenses: [{ license: { id: 'MIT' } }, { license: { name: 'Custom' } }],
          components: [{ name: 'b', licenses: [{ expression: 'MIT OR Apache-2.0' }] }],
        },
      ],
    });
    expect(doc.name).toBe('app');
    expect(doc.packages.map((p) => [p.name, p.licenses])).toEqual([
      ['a', ['MIT', 'Custom']],
      ['b', ['MIT OR Apache-2.0']],
    ]);
  });

  it('CycloneDX 1.7: assemblies nested three deep, declared and concluded expressions side by side', () => {
    const doc = parseSbom({
      $schema: 'http://cyclonedx.org/schema/bom-1.7.schema.json',
      bomFormat: 'CycloneDX',
      specVersion: '1.7',
      serialNumber: 'urn:uuid:1b671687-395b-41f5-a30f-a58921a69b79',
      version: 1,
      metadata: {
        timestamp: '2026-05-01T10:00:00Z',
        lifecycles: [{ phase: 'build' }],
        component: { type: 'container', 'bom-ref': 'img', name: 'shop/web', version: '1.0' },
      },
      components: [
        {
          type: 'application',
          'bom-ref': 'app',
          name: 'web',
          version: '1.0',
          licenses: [
            { expression: 'Apache-2.0 OR MIT', acknowledgement: 'declared' },
            { expression: 'Apache-2.0', acknowledgement: 'concluded' },
          ],
          components: [
            {
              type: 'framework',
              'bom-ref': 'pkg:maven/org.springframework/spring-core@6.2.0',
              group: 'org.springframework',
              name: 'spring-core',
              version: '6.2.0',
              purl: 'pkg:maven/org.springframework/spring-core@6.2.0?type=jar',
              licenses: [{ license: { id: 'Apache-2.0', acknowledgement: 'declared' } }],
              components: [
                {
                  type: 'library',
                  name: 'spring-jcl',
                  version: '6.2.0',
                  purl: 'pkg:maven/org.springframework/spring-jcl@6.2.0',
                  licenses: [
                    { license: { name: 'Vendor EULA', acknowledgement: 'concluded' } },
                    { license: { id: 'Apache-2.0' } },
                  ],
                },
              ],
            },
          ],
        },
        { type: 'operating-system', name: 'debian', version: '12.8' },
      ],
    });
    expect(doc).toMatchObject({ format: 'cyclonedx', specVersion: '1.7', name: 'shop/web' });
    expect(doc.packages.map((p) => [p.name, p.purlBase, p.licenses])).toEqual([
      ['web', null, ['Apache-2.0 OR MIT', 'Apache-2.0']],
      ['spring-core', 'pkg:maven/org.springframework/spring-core', ['Apache-2.0']],
      ['spring-jcl', 'pkg:maven/org.springframework/spring-jcl', ['Vendor EULA', 'Apache-2.0']],
      ['debian', null, []],
    ]);
    expect(doc.packages[1]!.purl).toBe('pkg:maven/org.springframework/spring-core@6.2.0?type=jar');
  });

  it('CycloneDX: nesting beyond the depth cap and nested lists past the package cap are refused', () => {
    let deep: Record<string, unknown> = { name: 'leaf' };
    for (let i = 0; i < 300; i++) deep = { name: `c${i}`, components: [deep] };
    expect(() => parseSbom({ bomFormat: 'CycloneDX', specVersion: '1.7', components: [deep] })).toThrow(
      /nest deeper than/,
    );
    const wide = Array.from({ length: MAX_SBOM_PACKAGES }, (_, i) => ({ name: `p${i}` }));
    expect(() =>
      parseSbom({
        bomFormat: 'CycloneDX',
        specVersion: '1.7',
        components: [{ name: 'parent', components: wide }],
      }),
    ).toThrow(/more than/);
  });

  it('cosign SPDX predicates wrapped in Data are unwrapped', () => {
    const inner = JSON.stringify({ spdxVersion: 'SPDX-2.3', packages: [{ name: 'x' }] });
    expect(parseSbom({ Data: inner }).packages).toHaveLength(1);
  });

  it('refuses other documents, unnamed packages and oversized package lists with a clear message', () => {
    expect(() => parseSbom({ hello: 1 })).toThrow(DocumentError);
    expect(() => parseSbom({ spdxVersion: 'SPDX-3.0' })).toThrow(/unsupported SPDX version/);
    expect(() =>
      parseSbom({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [{ version: '1' }] }),
    ).toThrow(/has no name/);
    const many = Array.from({ length: MAX_SBOM_PACKAGES + 1 }, (_, i) => ({ name: `p${i}` }));
    expect(() => parseSbom({ spdxVersion: 'SPDX-2.3', packages: many })).toThrow(/more than/);
  });

  it('recognises SBOM predicate types', () => {
    expect(isSbomPredicateType('https://spdx.dev/Document')).toBe(true);
    expect(isSbomPredicateType('https://spdx.dev/Document/v2.3')).toBe(true);
    expect(isSbomPredicateType('https://cyclonedx.org/bom/v1.5')).toBe(true);
    expect(isSbomPredicateType('https://cyclonedx.org/bom/v1.7')).toBe(true);
    expect(isSbomPredicateType('https://spdx.dev/Document/v3.0.1')).toBe(true);
    expect(isSbomPredicateType('https://slsa.dev/provenance/v1')).toBe(false);
  });
});
