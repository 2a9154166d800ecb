import { RecordBuilder, type SubjectContext } from '#ingest';
import { contentEdges, parseManifest, type ParsedManifest } from '#oci';
import {
  parseSbom,
  parseStatement,
  planLayers,
  statementNames,
  summarizeStatement,
  TrustPolicy,
  type LayerTask,
} from '#verify';
import { corpusBytes, corpusJson, CosignLayout, digestOf } from './trust-corpus.helpers.js';

/**
 * Attestations and SBOMs made by other tools (buildx, slsa-github-generator, Trivy), read in place
 * and turned into the rows the service stores, through the same record builder the job uses.
 */

let policy: TrustPolicy;

beforeAll(async () => {
  policy = await TrustPolicy.load({
    trustedRoot: 'public-good',
    authorities: [
      {
        name: 'slsa-generator',
        keyless: {
          issuer: 'https://token.actions.githubusercontent.com',
          subjectRegExp:
            'https://github\\.com/slsa-framework/slsa-github-generator/\\.github/workflows/generator_container_slsa3\\.yml@refs/tags/v.*',
        },
      },
    ],
    repositories: [{ pattern: 'ghcr/slsa-framework/**', authorities: ['slsa-generator'] }],
  });
});

function manifestOf(layout: CosignLayout, digest: string): ParsedManifest {
  return parseManifest(layout.blob(digest), digest);
}

function rowsFor(layout: CosignLayout, m: ParsedManifest, subjects: SubjectContext[]) {
  const builder = new RecordBuilder(policy, m.digest, m.annotations);
  for (const task of planLayers(m)) builder.layer(task, layout.blob(task.layer.digest), subjects);
  return builder.out;
}

describe('buildx image indexes with BuildKit attestation manifests', () => {
  const cases = [
    {
      dir: 'buildkit/slsa-verifier-gha_generic_container-v1.6.0',
      image: 'sha256:7cd9684be65e37236fb3580a327fab44f225d22bc1b8f9ab8fa08c9b85f055ec',
      attestation: 'sha256:ffda0195ed228772f6b4753d58f762c7e952566f174a49fe5cb1fb775eddf81b',
      provenance: {
        builderId: 'https://github.com/slsa-framework/example-package/actions/runs/5063709022',
        buildType: 'https://mobyproject.org/buildkit@v1',
        sourceRepo: 'https://github.com/slsa-framework/example-package',
        sourceRevision: 'c14c546e54940a410195ede9aa0e7ee2ef1e16d0',
      },
    },
    {
      dir: 'cosign/slsa-verifier-gha_generic_container-v2.1.0',
      image: 'sha256:d1fc0de9c6a33e502c488221644de1736c53d8ddb59b0e41b4946fb26af50e69',
      attestation: 'sha256:a79645dc6fd76a0db9c9c04f5ba722ecb7d1fa8cdfc1d848d931d884cbab02ea',
      // mode=min: no builder id, the source still recorded
      provenance: {
        builderId: null,
        buildType: 'https://mobyproject.org/buildkit@v1',
        sourceRepo: 'https://github.com/slsa-framework/example-package',
        sourceRevision: '4d329c75e7ec1725f7c9ce917a8799d408d06be3',
      },
    },
  ];

  it.each(cases)('$dir: the attestation manifest yields SLSA v0.2 provenance for the platform image', (c) => {
    const layout = new CosignLayout(c.dir);
    const index = manifestOf(layout, layout.entry('imageIndex').digest);
    const edge = contentEdges(index).find((e) => e.kind === 'buildkit-attestation');
    expect(edge).toMatchObject({ subject: c.image, referrer: c.attestation });

    const att = manifestOf(layout, c.attestation);
    expect(planLayers(att).map((t) => t.action)).toEqual(['in-toto']);
    const out = rowsFor(layout, att, [
      { digest: c.image, repositories: [{ repositoryId: 1, scope: 'docker/example', rule: null }] },
    ]);
    expect(out.signatures).toEqual([]); // BuildKit statements are unsigned
    expect(out.attestations).toHaveLength(1);
    expect(out.attestations[0]).toMatchObject({
      subjectDigest: c.image,
      predicateType: 'https://slsa.dev/provenance/v0.2',
      parseError: null,
      ...c.provenance,
    });
  });
});

describe('cosign .att manifests through the record builder', () => {
  it('v2.1.0: a verified signature row and the slsa-github-generator provenance', () => {
    const layout = new CosignLayout('cosign/slsa-verifier-gha_generic_container-v2.1.0');
    const att = manifestOf(layout, layout.entry('atts').digest);
    const subject = layout.subjectDigest();
    const rule = policy.ruleFor('ghcr', 'slsa-framework/example-package');
    expect(rule?.authorities.map((a) => a.name)).toEqual(['slsa-generator']);
    const out = rowsFor(layout, att, [
      {
        digest: subject,
        repositories: [{ repositoryId: 1, scope: 'ghcr/slsa-framework/example-package', rule }],
      },
    ]);
    expect(out.signatures).toEqual([
      expect.objectContaining({
        kind: 'attestation',
        repositoryId: 1,
        format: 'cosign-dsse',
        status: 'verified',
        authority: 'slsa-generator',
        subjectDigest: subject,
        tlogIndex: '174304112',
        policyVersion: policy.version,
      }),
    ]);
    expect(out.attestations[0]).toMatchObject({
      predicateType: 'https://slsa.dev/provenance/v0.2',
      builderId:
        'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0',
      sourceRepo: 'https://github.com/slsa-framework/example-package',
      sourceRevision: expect.stringMatching(/^4d329c75/),
    });
  });

  it('no trust rule for the repository: no_authority, the attestation is still parsed', () => {
    const layout = new CosignLayout('cosign/slsa-verifier-gha_generic_container-v1.4.0');
    const att = manifestOf(layout, layout.entry('atts').digest);
    const subject = layout.subjectDigest();
    expect(policy.ruleFor('docker', 'library/other')).toBeNull();
    const out = rowsFor(layout, att, [
      { digest: subject, repositories: [{ repositoryId: 1, scope: 'docker/library/other', rule: null }] },
    ]);
    expect(out.signatures).toEqual([
      expect.objectContaining({ kind: 'attestation', status: 'no_authority', reason: 'no_authority' }),
    ]);
    expect(out.attestations[0]).toMatchObject({
      predicateType: 'https://slsa.dev/provenance/v0.2',
      parseError: null,
    });
  });
});

describe('Trivy SBOMs', () => {
  it('SPDX 2.3 (mageia:5.1): 183 packages, purls and licenses', () => {
    const doc = parseSbom(corpusJson('sboms', 'trivy-0.42.1_mageia-5.1.spdx.json'));
    expect(doc).toMatchObject({ format: 'spdx', specVersion: '2.3', name: 'mageia:5.1' });
    expect(doc.packages).toHaveLength(183);
    expect(doc.packages.filter((p) => p.purl)).toHaveLength(182);
    const bash = doc.packages.find((p) => p.name === 'bash');
    expect(bash).toEqual({
      name: 'bash',
      version: '4.3-48.2.1.mga5',
      purl: 'pkg:none/bash@4.3-48.2.1.mga5?arch=x86_64',
      purlBase: 'pkg:none/bash',
      licenses: ['GPL-2.0-or-later'],
    });
    expect(doc.packages.some((p) => p.purl?.startsWith('pkg:oci/mageia@sha256:d769f2b2'))).toBe(true);
  });

  it('CycloneDX 1.6 (fluentd): 161 components, deb and gem purls', () => {
    const doc = parseSbom(corpusJson('sboms', 'trivy_fluentd-multiple-lockfiles.cdx.json'));
    expect(doc).toMatchObject({ format: 'cyclonedx', specVersion: '1.6' });
    expect(doc.packages).toHaveLength(161);
    expect(doc.packages.filter((p) => p.purl)).toHaveLength(160);
    expect(
      doc.packages.find((p) => p.purl === 'pkg:deb/debian/apt@1.8.2?arch=amd64&distro=debian-10.2'),
    ).toMatchObject({
      name: 'apt',
      version: '1.8.2',
      purlBase: 'pkg:deb/debian/apt',
      licenses: expect.arrayContaining(['GPL-2.0-only']),
    });
    expect(doc.packages.some((p) => p.purlBase?.startsWith('pkg:gem/'))).toBe(true);
    // The image config digest Trivy records is not a manifest digest and never becomes a package.
    expect(doc.packages.some((p) => p.name.includes(digestOf(Buffer.from(''))))).toBe(false);
  });
});

describe('SLSA v1 provenance in Sigstore bundles (npm publish, GitHub artifact attestations)', () => {
  const cases = [
    {
      file: ['sigstore-npm', 'npm-provenance-sigstore-3.1.0.sigstore.json'],
      subject:
        'sha512:669cd60051c816ac85139e9d5ea817fc3903459773fab45c8e8224fd1414e085f4c220afd65f12ed9ad70c770273eb9a7feea8ef0de1da5de0e86606e5328df5',
      summary: {
        builderId: 'https://github.com/actions/runner/github-hosted',
        buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
        sourceRepo: 'https://github.com/sigstore/sigstore-js',
        sourceRevision: '06cd267cbdc2eeaa04294995622db9f6ad2fa7cf',
      },
    },
    {
      file: ['github-attestations', 'sigstore-js-2.1.0-bundle.json'],
      subject: digestOf(corpusBytes('github-attestations', 'sigstore-js-2.1.0.tgz'), 'sha512'),
      summary: {
        builderId: 'https://github.com/actions/runner/github-hosted',
        buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
        sourceRepo: 'https://github.com/sigstore/sigstore-js',
        sourceRevision: '26d16513386ffaa790b1c32f927544f1322e4194',
      },
    },
    {
      file: ['github-attestations', 'reusable-workflow-attestation.sigstore.json'],
      subject: digestOf(corpusBytes('github-attestations', 'reusable-workflow-artifact')),
      // the signer is a reusable workflow of another repository; the source is the caller's
      summary: {
        builderId: 'https://github.com/actions/runner/github-hosted',
        sourceRepo: 'https://github.com/malancas/attest-demo',
        sourceRevision: '95baf27389e83e6a5c48f42e190d48d7abcea19e',
      },
    },
    {
      file: ['github-attestations', 'custom-issuer.sigstore.json'],
      subject: digestOf(corpusBytes('github-attestations', 'custom-issuer-artifact')),
      summary: {
        builderId: 'https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main',
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        sourceRepo: 'https://github.com/too-legit/attest',
        sourceRevision: '283bf967fa3c591925dd25e6a6e8e781542117bf',
      },
    },
  ];

  it.each(cases)(
    '$file.1: the statement binds the subject and yields builder, build type and source',
    (c) => {
      const blob = corpusBytes(...c.file);
      const task: LayerTask = {
        layer: {
          mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
          digest: digestOf(blob),
          size: blob.length,
        },
        action: 'sigstore-bundle',
        key: digestOf(blob),
      };
      const envelope = (JSON.parse(blob.toString('utf8')) as { dsseEnvelope: { payload: string } })
        .dsseEnvelope;
      // DigestSet with sha512 only (npm): the subject binds under its own algorithm.
      expect(statementNames(parseStatement(Buffer.from(envelope.payload, 'base64')), c.subject)).toBe(true);

      const builder = new RecordBuilder(policy, digestOf(blob), {});
      builder.layer(task, blob, [
        { digest: c.subject, repositories: [{ repositoryId: 1, scope: 'npm/none', rule: null }] },
      ]);
      expect(builder.out.signatures).toEqual([expect.objectContaining({ status: 'no_authority' })]);
      expect(builder.out.attestations).toEqual([
        expect.objectContaining({
          subjectDigest: c.subject,
          predicateType: 'https://slsa.dev/provenance/v1',
          parseError: null,
          ...c.summary,
        }),
      ]);
    },
  );

  it.each(['slsa-provenance-v1.mode-min.intoto.json', 'slsa-provenance-v1.mode-max.intoto.json'])(
    'BuildKit docs %s: build type kept, the empty builder id is no builder',
    (file) => {
      const st = parseStatement(corpusBytes('buildkit', 'buildkit-docs-examples', file));
      expect(summarizeStatement(st)).toEqual({
        predicateType: 'https://slsa.dev/provenance/v1',
        buildType: 'https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md',
      });
    },
  );
});
