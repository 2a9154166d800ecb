import {
  BundleVerifier,
  CosignLegacyVerifier,
  loadTrustRoot,
  type TrustRoot,
  type VerificationPolicy,
} from '#verify';
import {
  corpusBytes,
  corpusJson,
  cosignSignatureLayer,
  CosignLayout,
  digestOf,
} from './trust-corpus.helpers.js';

/**
 * Signatures made by other tools (npm, GitHub Actions, cosign), read in place from the corpus and
 * verified offline against the public-good trusted root pinned in the installed sigstore packages.
 * Expected outcomes are the ones each folder's SOURCES.md states.
 */

const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const GITHUB_OAUTH = 'https://github.com/login/oauth';

let root: TrustRoot;
let bundles: BundleVerifier;
let cosign: CosignLegacyVerifier;

beforeAll(async () => {
  root = await loadTrustRoot({ kind: 'public-good' });
  bundles = new BundleVerifier(root);
  cosign = new CosignLegacyVerifier(root);
});

const keyless = (identity: string, issuer = GITHUB_ISSUER): VerificationPolicy => ({
  certificateIdentity: identity,
  certificateIssuer: issuer,
});
const key = (...file: string[]): VerificationPolicy => ({ publicKey: corpusBytes(...file).toString('utf8') });

describe('npm provenance bundle (sigstore-npm)', () => {
  const bundle = corpusJson('sigstore-npm', 'npm-provenance-sigstore-3.1.0.sigstore.json');
  const artifact = {
    digest:
      'sha512:669cd60051c816ac85139e9d5ea817fc3903459773fab45c8e8224fd1414e085f4c220afd65f12ed9ad70c770273eb9a7feea8ef0de1da5de0e86606e5328df5',
  };
  const identity = 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main';

  it('verifies offline under its identity, with log facts', () => {
    const r = bundles.verify({ bundle, artifact, policy: keyless(identity) });
    expect(r).toMatchObject({ status: 'verified', identity, issuer: GITHUB_ISSUER });
    expect(r.tlogIndex).toMatch(/^\d+$/);
  });

  it('fails under any other identity or issuer, and for another subject', () => {
    expect(bundles.verify({ bundle, artifact, policy: keyless(`${identity}x`) }).reason).toBe(
      'identity_mismatch',
    );
    expect(
      bundles.verify({ bundle, artifact, policy: keyless(identity, 'https://accounts.google.com') }).reason,
    ).toBe('issuer_mismatch');
    const other = { digest: `sha512:${'0'.repeat(128)}` };
    expect(bundles.verify({ bundle, artifact: other, policy: keyless(identity) }).reason).toBe(
      'artifact_mismatch',
    );
  });
});

describe('cosign simplesigning layers (cosign/containers-image)', () => {
  const dir = (name: string) => ['cosign', 'containers-image', name];
  const subjectOf = (name: string) => digestOf(corpusBytes(...dir(name), 'manifest.json'));
  const verify = (name: string, file: string, policy: VerificationPolicy, subject = subjectOf(name)) => {
    const layer = cosignSignatureLayer(...dir(name), file);
    expect(layer.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    return cosign.verify({
      format: 'simplesigning',
      blob: layer.blob,
      annotations: layer.annotations,
      subject,
      policy,
    });
  };
  const cosignPub = key('cosign', 'containers-image', 'cosign.pub');
  const cosign2Pub = key('cosign', 'containers-image', 'cosign2.pub');

  it('keyed, no log: verifies with cosign.pub (three images, two signatures on one)', () => {
    expect(verify('dir-img-cosign-valid', 'signature-1', cosignPub)).toMatchObject({
      status: 'verified',
      keyId: expect.stringMatching(/^sha256:/),
    });
    expect(verify('dir-img-cosign-valid-2', 'signature-1', cosignPub).status).toBe('verified');
    expect(verify('dir-img-cosign-valid-2', 'signature-2', cosignPub).status).toBe('verified');
    expect(verify('dir-img-cosign-valid-with-tag', 'signature-1', cosignPub).status).toBe('verified');
  });

  it('keyed with a Rekor entry: verifies with cosign2.pub, the SET under the production log key', () => {
    const r = verify('dir-img-cosign-key-rekor-valid', 'signature-1', cosign2Pub);
    expect(r).toMatchObject({
      status: 'verified',
      tlogIndex: '11608800',
      integratedTime: '2023-01-20T21:57:39.000Z',
    });
    expect(verify('dir-img-cosign-key-rekor-valid', 'signature-1', cosignPub).reason).toBe('key_mismatch');
  });

  it('keyless (Fulcio + Rekor): verifies for mitr@redhat.com and GitHub OAuth only', () => {
    const r = verify(
      'dir-img-cosign-fulcio-rekor-valid',
      'signature-1',
      keyless('mitr@redhat.com', GITHUB_OAUTH),
    );
    expect(r).toMatchObject({
      status: 'verified',
      identity: 'mitr@redhat.com',
      issuer: GITHUB_OAUTH,
      tlogIndex: '11605770',
      integratedTime: '2023-01-20T20:51:33.000Z',
    });
    expect(
      verify('dir-img-cosign-fulcio-rekor-valid', 'signature-1', keyless('other@redhat.com', GITHUB_OAUTH))
        .reason,
    ).toBe('identity_mismatch');
    expect(
      verify('dir-img-cosign-fulcio-rekor-valid', 'signature-1', keyless('mitr@redhat.com', GITHUB_ISSUER))
        .reason,
    ).toBe('issuer_mismatch');
    // A key policy never accepts a certificate-signed layer.
    expect(verify('dir-img-cosign-fulcio-rekor-valid', 'signature-1', cosignPub).reason).toBe('key_mismatch');
  });

  it('keyless without its Rekor entry, or with a tampered entry, fails on the log', () => {
    const layer = cosignSignatureLayer(...dir('dir-img-cosign-fulcio-rekor-valid'), 'signature-1');
    const subject = subjectOf('dir-img-cosign-fulcio-rekor-valid');
    const policy = keyless('mitr@redhat.com', GITHUB_OAUTH);
    const withoutLog = { ...layer.annotations };
    delete withoutLog['dev.sigstore.cosign/bundle'];
    expect(
      cosign.verify({ format: 'simplesigning', blob: layer.blob, annotations: withoutLog, subject, policy })
        .reason,
    ).toBe('tlog_invalid');
    const entry = JSON.parse(layer.annotations['dev.sigstore.cosign/bundle']!);
    entry.Payload.logIndex += 1;
    const tampered = { ...layer.annotations, 'dev.sigstore.cosign/bundle': JSON.stringify(entry) };
    expect(
      cosign.verify({ format: 'simplesigning', blob: layer.blob, annotations: tampered, subject, policy })
        .reason,
    ).toBe('tlog_invalid');
  });

  it('must fail: a modified manifest (valid signature over another digest)', () => {
    const r = verify('dir-img-cosign-modified-manifest', 'signature-1', cosignPub);
    expect(r).toMatchObject({ status: 'failed', reason: 'artifact_mismatch' });
    expect(subjectOf('dir-img-cosign-modified-manifest')).toMatch(/^sha256:d9dcafdb/);
  });

  it('must fail: a signature by an unknown key', () => {
    const layer = cosignSignatureLayer('cosign', 'containers-image', 'unknown-cosign-key.signature');
    const subject = subjectOf('dir-img-cosign-valid');
    for (const policy of [cosignPub, cosign2Pub]) {
      const r = cosign.verify({
        format: 'simplesigning',
        blob: layer.blob,
        annotations: layer.annotations,
        subject,
        policy,
      });
      expect(r).toMatchObject({ status: 'failed', reason: 'key_mismatch' });
    }
  });

  it('BYO PKI without a log is not verified against the public-good root', () => {
    const r = verify('dir-img-cosign-pki-valid', 'signature-1', keyless('qiwan@redhat.com', GITHUB_OAUTH));
    expect(r).toMatchObject({ status: 'failed', reason: 'tlog_invalid' });
  });
});

describe('cosign-saved attestation manifests (.att, DSSE layers)', () => {
  const generator = (tag: string) =>
    `https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/${tag}`;
  const cases = [
    { layout: 'slsa-verifier-gha_generic_container-v2.1.0', tag: 'v2.1.0', index: '174304112' },
    { layout: 'slsa-verifier-gha_generic_container-v1.4.0', tag: 'v1.4.0', index: '10957770' },
  ];

  it.each(cases)(
    '$layout: verifies under the generator identity, bound to the image',
    ({ layout, tag, index }) => {
      const l = new CosignLayout(`cosign/${layout}`);
      const atts = l.json<{
        layers: { mediaType: string; digest: string; annotations: Record<string, string> }[];
      }>(l.entry('atts').digest);
      const layer = atts.layers[0]!;
      expect(layer.mediaType).toBe('application/vnd.dsse.envelope.v1+json');
      const input = {
        format: 'dsse' as const,
        blob: l.blob(layer.digest),
        annotations: layer.annotations,
        subject: l.subjectDigest(),
      };
      expect(cosign.verify({ ...input, policy: keyless(generator(tag)) })).toMatchObject({
        status: 'verified',
        identity: generator(tag),
        issuer: GITHUB_ISSUER,
        tlogIndex: index,
      });
      expect(cosign.verify({ ...input, policy: keyless(generator('v0.0.1')) }).reason).toBe(
        'identity_mismatch',
      );
      expect(
        cosign.verify({ ...input, subject: `sha256:${'1'.repeat(64)}`, policy: keyless(generator(tag)) })
          .reason,
      ).toBe('artifact_mismatch');
    },
  );
});

describe('Sigstore bundles attached as OCI referrers and GitHub attestations', () => {
  it('cosign v0.3 OCI attestation bundle verifies for cody@soyland.com, bound to the image', () => {
    const bundle = corpusJson('cosign', 'cosign-repo', 'oci-attestation.sigstore.json');
    const artifact = { digest: 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4' };
    expect(
      bundles.verify({ bundle, artifact, policy: keyless('cody@soyland.com', GITHUB_OAUTH) }),
    ).toMatchObject({
      status: 'verified',
      identity: 'cody@soyland.com',
      tlogIndex: '175508996',
    });
    expect(
      bundles.verify({ bundle, artifact, policy: keyless('someone@soyland.com', GITHUB_OAUTH) }).reason,
    ).toBe('identity_mismatch');
    const other = { digest: `sha256:${'2'.repeat(64)}` };
    expect(
      bundles.verify({ bundle, artifact: other, policy: keyless('cody@soyland.com', GITHUB_OAUTH) }).reason,
    ).toBe('artifact_mismatch');
  });

  const gh = (file: string) => corpusJson('github-attestations', file);
  const sigstoreJs = 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main';

  it.each(['sigstore-js-2.1.0-bundle.json', 'sigstore-js-2.1.0-bundle-v0.1.json'])(
    '%s (npm provenance of sigstore 2.1.0) verifies under the release workflow',
    (file) => {
      const artifact = {
        digest: digestOf(corpusBytes('github-attestations', 'sigstore-js-2.1.0.tgz'), 'sha512'),
      };
      expect(bundles.verify({ bundle: gh(file), artifact, policy: keyless(sigstoreJs) })).toMatchObject({
        status: 'verified',
        tlogIndex: '33351527',
      });
    },
  );

  it('a reusable-workflow attestation verifies for the signer workflow, not the caller repository', () => {
    const bundle = gh('reusable-workflow-attestation.sigstore.json');
    const artifact = { digest: digestOf(corpusBytes('github-attestations', 'reusable-workflow-artifact')) };
    const signer =
      'https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d';
    expect(bundles.verify({ bundle, artifact, policy: keyless(signer) }).status).toBe('verified');
    const caller = {
      certificateIdentityRegExp: 'https://github\\.com/malancas/attest-demo/.*',
      certificateIssuer: GITHUB_ISSUER,
    };
    expect(bundles.verify({ bundle, artifact, policy: caller }).reason).toBe('identity_mismatch');
  });

  it('a custom-issuer attestation verifies only under its issuer', () => {
    const bundle = gh('custom-issuer.sigstore.json');
    const artifact = { digest: digestOf(corpusBytes('github-attestations', 'custom-issuer-artifact')) };
    const identity = 'https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main';
    expect(
      bundles.verify({ bundle, artifact, policy: keyless(identity, `${GITHUB_ISSUER}/hammer-time`) }).status,
    ).toBe('verified');
    expect(bundles.verify({ bundle, artifact, policy: keyless(identity) }).reason).toBe('issuer_mismatch');
  });

  it('must fail: GitHub-instance bundle under public-good, truncated bundles, an invalid signature', () => {
    const whl = {
      digest: digestOf(corpusBytes('github-attestations', 'github_provenance_demo-0.0.12-py3-none-any.whl')),
    };
    const demo = keyless(
      'https://github.com/actions/attest-demo/.github/workflows/build-python.yml@refs/heads/main',
    );
    const line = (f: string) => corpusBytes('github-attestations', f).toString('utf8').trim();
    expect(
      bundles.verify({
        bundle: line('github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl'),
        artifact: whl,
        policy: demo,
      }).reason,
    ).toBe('timestamp_invalid');
    for (const f of [
      'github_provenance_demo-0.0.12-py3-none-any-bundle-missing-cert.jsonl',
      'github_provenance_demo-0.0.12-py3-none-any-bundle-missing-verification-material.jsonl',
    ]) {
      expect(bundles.verify({ bundle: line(f), artifact: whl, policy: demo })).toMatchObject({
        status: 'failed',
        reason: 'bundle_malformed',
      });
    }
    const invalid = bundles.verify({
      bundle: gh('sigstoreBundle-invalid-signature.json'),
      artifact: { bytes: Buffer.from('hello, world!') },
      policy: keyless('brian@dehamer.com', 'https://github.com/login/oauth'),
    });
    expect(invalid.status).toBe('failed');
  });
});
