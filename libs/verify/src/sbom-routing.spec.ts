import { classify, digestOf, parseManifest } from '#oci';
import { statementFromJson } from './intoto.js';
import { planLayers } from './plan.js';
import { isSbomPredicateType, parseSbom } from './sbom.js';

/**
 * SPDX 3 and CycloneDX 1.7 documents reach the parser the way the job reads them: as referrer
 * layers (planLayers → 'sbom') and as in-toto predicates (isSbomPredicateType → parseSbom).
 */

const spdx3 = {
  '@context': 'https://spdx.org/rdf/3.0.1/spdx-context.jsonld',
  '@graph': [
    { '@id': '_:ci', type: 'CreationInfo', specVersion: '3.0.1', created: '2026-05-01T10:00:00Z' },
    {
      type: 'software_Package',
      spdxId: 'urn:spdx:pkg-musl',
      creationInfo: '_:ci',
      name: 'musl',
      software_packageVersion: '1.2.5-r9',
      software_packageUrl: 'pkg:apk/alpine/musl@1.2.5-r9?arch=x86_64',
    },
  ],
};

function sbomReferrer(artifactType: string, layerType: string) {
  const layer = Buffer.from(JSON.stringify(spdx3));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType,
      config: {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: digestOf(Buffer.from('{}')),
        size: 2,
      },
      layers: [{ mediaType: layerType, digest: digestOf(layer), size: layer.length }],
      subject: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: `sha256:${'a'.repeat(64)}`,
        size: 1,
      },
    }),
  );
  return parseManifest(manifest, digestOf(manifest));
}

describe('SPDX 3 routing', () => {
  it.each([
    // IANA registered application/spdx3+json for SPDX 3 JSON-LD; tools also reuse SPDX 2's type.
    ['application/spdx3+json'],
    ['application/spdx+json'],
    ['application/spdx3+json; version=3.0.1'],
  ])('a %s referrer is an SBOM whose layer is parsed', (type) => {
    const m = sbomReferrer(type, type);
    expect(classify(m)).toBe('sbom');
    expect(planLayers(m).map((t) => t.action)).toEqual(['sbom']);
    expect(parseSbom(spdx3)).toMatchObject({ format: 'spdx', specVersion: '3.0.1' });
  });

  it('an in-toto statement with the SPDX 3 predicate type carries a parsed SBOM', () => {
    const st = statementFromJson({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'img', digest: { sha256: 'a'.repeat(64) } }],
      predicateType: 'https://spdx.dev/Document/v3',
      predicate: spdx3,
    });
    expect(isSbomPredicateType(st.predicateType)).toBe(true);
    expect(parseSbom(st.predicate).packages).toEqual([
      {
        name: 'musl',
        version: '1.2.5-r9',
        purl: 'pkg:apk/alpine/musl@1.2.5-r9?arch=x86_64',
        purlBase: 'pkg:apk/alpine/musl',
        licenses: [],
      },
    ]);
  });

  it('CycloneDX 1.7 predicates are SBOM predicates too', () => {
    expect(isSbomPredicateType('https://cyclonedx.org/bom')).toBe(true);
    expect(isSbomPredicateType('https://cyclonedx.org/bom/v1.7')).toBe(true);
  });
});
