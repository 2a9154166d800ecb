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
    expect(isSbomPredicateType('https://slsa.dev/provenance/v1')).toBe(false);
  });
});
