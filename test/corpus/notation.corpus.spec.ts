import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { verifyNotationEnvelope, type NotationInput, type NotationTrust } from '#verify';

/**
 * Notary Project signatures made by the notation CLI and notation-go, read in place from
 * `notation/` (see its SOURCES.md for the provenance and the expected outcome of every file).
 * Signature manifests are found in each OCI layout by their config media type / artifactType;
 * the envelope and the subject are read from the layout's blobs with digest and size checked.
 */

const CORPUS = process.env.REFGRAPH_CORPUS ?? path.resolve(process.cwd(), '../shared/corpus');
const NOTATION = path.join(CORPUS, 'notation');
const E2E = path.join(NOTATION, 'notation-cli-e2e');
const LAYOUTS = path.join(E2E, 'registry', 'oci_layout');
const GO = path.join(NOTATION, 'notation-go');
const SIGNATURE_TYPE = 'application/vnd.cncf.notary.signature';
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const E2E_IDENTITY = 'C=US, ST=WA, L=Seattle, O=Notary, CN=e2e';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
}
interface Manifest {
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  subject?: Descriptor;
}
interface LayoutSignature {
  manifestDigest: string;
  input: Omit<NotationInput, 'trust'>;
}

const readText = (...parts: string[]) => readFileSync(path.join(...parts), 'utf8');
const localKey = (name: string) => readText(E2E, 'config', 'localkeys', name);
const trust = (pems: string[], trustedIdentities = ['*']): NotationTrust => ({
  trustStore: pems,
  trustedIdentities,
});
const e2eTrust = (trustedIdentities?: string[]) => trust([localKey('e2e.crt')], trustedIdentities);

/** Reads a blob and checks it against its descriptor (content is identity). */
function readBlob(layout: string, descriptor: Descriptor): Buffer {
  const [algorithm, hex] = descriptor.digest.split(':');
  const bytes = readFileSync(path.join(layout, 'blobs', algorithm!, hex!));
  expect(createHash(algorithm!).update(bytes).digest('hex')).toBe(hex);
  expect(bytes.length).toBe(descriptor.size);
  return bytes;
}

/** Every notation signature manifest among the layout's blobs, with its envelope and subject. */
function layoutSignatures(name: string): LayoutSignature[] {
  const layout = path.join(LAYOUTS, name);
  const dir = path.join(layout, 'blobs', 'sha256');
  const found: LayoutSignature[] = [];
  for (const hex of readdirSync(dir).sort()) {
    let manifest: Manifest;
    try {
      manifest = JSON.parse(readFileSync(path.join(dir, hex), 'utf8')) as Manifest;
    } catch {
      continue; // layers and other non-JSON blobs
    }
    const isSignature =
      manifest.artifactType === SIGNATURE_TYPE || manifest.config?.mediaType === SIGNATURE_TYPE;
    if (manifest.mediaType !== MANIFEST_TYPE || !isSignature) continue;
    const layer = manifest.layers?.[0];
    const subject = manifest.subject;
    if (!layer || !subject) throw new Error(`signature manifest ${hex} lacks a layer or a subject`);
    readBlob(layout, subject); // the signed manifest is in the layout
    found.push({
      manifestDigest: `sha256:${hex}`,
      input: {
        envelope: readBlob(layout, layer),
        envelopeMediaType: layer.mediaType,
        subject: { digest: subject.digest, mediaType: subject.mediaType, size: subject.size },
      },
    });
  }
  return found;
}

function onlySignature(name: string): Omit<NotationInput, 'trust'> {
  const signatures = layoutSignatures(name);
  expect(signatures).toHaveLength(1);
  return signatures[0]!.input;
}

/**
 * The certificates embedded in an envelope, in order (DER `SEQUENCE` elements with a two-byte
 * length that parse as X.509): x5c / x5chain first, then any in a timestamp token.
 */
function embeddedCertificates(bytes: Buffer): X509Certificate[] {
  const text = bytes.toString('utf8');
  const der = text.startsWith('{') ? jwsDer(text) : bytes;
  const found: X509Certificate[] = [];
  for (let i = 0; i + 4 <= der.length; i++) {
    if (der[i] !== 0x30 || der[i + 1] !== 0x82) continue;
    const end = i + 4 + der.readUInt16BE(i + 2);
    try {
      found.push(new X509Certificate(der.subarray(i, end)));
      i = end - 1;
    } catch {
      // not a certificate here
    }
  }
  return found;
}

function jwsDer(text: string): Buffer {
  const { header } = JSON.parse(text) as { header: { x5c: string[] } };
  return Buffer.concat(header.x5c.map((c) => Buffer.from(c, 'base64')));
}

/** The root of the envelope's own chain as PEM: the last self-signed certificate before any that is not. */
function envelopeRootPem(envelope: Buffer): string {
  const certs = embeddedCertificates(envelope);
  const chainEnd = certs.findIndex((c) => c.subject === c.issuer);
  if (chainEnd < 0) throw new Error('no self-signed certificate in the envelope');
  return certs[chainEnd]!.toString();
}

/** The signing certificate of a JWS envelope as PEM, for "trust the x5c certificate itself". */
function x5cLeafPem(envelope: Buffer): string {
  const { header } = JSON.parse(envelope.toString('utf8')) as { header: { x5c: string[] } };
  return new X509Certificate(Buffer.from(header.x5c[0]!, 'base64')).toString();
}

/** All certificates of a notation trust-store directory as PEM (DER files converted). */
function storeDir(...parts: string[]): string[] {
  const dir = path.join(GO, 'truststore', 'x509', ...parts);
  return readdirSync(dir)
    .sort()
    .map((file) => new X509Certificate(readFileSync(path.join(dir, file))).toString());
}

describe('notation corpus: notation CLI e2e OCI layouts', () => {
  beforeAll(() => {
    if (!existsSync(LAYOUTS))
      throw new Error(`notation corpus not found at ${NOTATION} (set REFGRAPH_CORPUS)`);
  });

  it('e2e: an unsigned image has no signature manifest', () => {
    expect(layoutSignatures('e2e')).toHaveLength(0);
  });

  it('e2e-valid-signature: verifies against ca:e2e, identity = the e2e certificate subject', () => {
    const result = verifyNotationEnvelope({ ...onlySignature('e2e-valid-signature'), trust: e2eTrust() });
    expect(result).toMatchObject({ status: 'verified', identity: E2E_IDENTITY, issuer: E2E_IDENTITY });
  });

  it('e2e-valid-signature: fails authenticity when the store holds new_e2e.crt instead', () => {
    const input = onlySignature('e2e-valid-signature');
    const result = verifyNotationEnvelope({ ...input, trust: trust([localKey('new_e2e.crt')]) });
    expect(result).toMatchObject({ status: 'failed', reason: 'certificate_untrusted' });
  });

  it.each([
    ['valid_trusted_identity_trustpolicy.json', 'verified'],
    ['multiple_trusted_identity_trustpolicy.json', 'verified'],
    ['invalid_trusted_identity_trustpolicy.json', 'identity_mismatch'], // C=USB
  ])('e2e-valid-signature under the trusted identities of %s: %s', (policyFile, expected) => {
    const policy = JSON.parse(readText(E2E, 'config', 'trustpolicies', policyFile)) as {
      trustPolicies: { trustedIdentities: string[] }[];
    };
    const identities = policy.trustPolicies[0]!.trustedIdentities;
    const result = verifyNotationEnvelope({
      ...onlySignature('e2e-valid-signature'),
      trust: e2eTrust(identities),
    });
    expect(result.reason).toBe(expected);
  });

  it('e2e-valid-multiple-signatures: the e2e signature verifies, the testcert11 one is untrusted', () => {
    const signatures = layoutSignatures('e2e-valid-multiple-signatures');
    const outcomes = Object.fromEntries(
      signatures.map((s) => [s.manifestDigest, verifyNotationEnvelope({ ...s.input, trust: e2eTrust() })]),
    );
    expect(Object.keys(outcomes).sort()).toEqual([
      'sha256:90ceaff260d657d797c408ac73564a9c7bb9d86055877c2a811f0e63b8c6524f',
      'sha256:c3ebe4a20b6832328fc5078a7795ddc1114b896e13fca2add38109c3866b5fbf',
    ]);
    expect(outcomes['sha256:90ceaff260d657d797c408ac73564a9c7bb9d86055877c2a811f0e63b8c6524f']).toMatchObject(
      {
        status: 'verified',
        identity: E2E_IDENTITY,
      },
    );
    expect(outcomes['sha256:c3ebe4a20b6832328fc5078a7795ddc1114b896e13fca2add38109c3866b5fbf']).toMatchObject(
      {
        status: 'failed',
        reason: 'certificate_untrusted',
        identity: 'C=US, ST=WA, L=Seattle, O=Notary, CN=testcert11',
      },
    );
  });

  it('e2e-expired-signature: fails expiry (io.cncf.notary.expiry in the past)', () => {
    const result = verifyNotationEnvelope({ ...onlySignature('e2e-expired-signature'), trust: e2eTrust() });
    expect(result).toMatchObject({
      status: 'failed',
      reason: 'certificate_time_invalid',
      identity: E2E_IDENTITY,
    });
    expect(result.message).toContain('signature expired at 2023-06-27T05:21:21.000Z');
  });

  it('e2e-expired-signature: verifies when checked before its expiry', () => {
    const input = onlySignature('e2e-expired-signature');
    const now = new Date('2023-06-27T05:21:00Z');
    expect(verifyNotationEnvelope({ ...input, trust: e2eTrust(), now }).status).toBe('verified');
  });

  it('e2e-with-expired-cert: fails the validity time check against expired_e2e.crt (no timestamp)', () => {
    const input = onlySignature('e2e-with-expired-cert');
    const result = verifyNotationEnvelope({ ...input, trust: trust([localKey('expired_e2e.crt')]) });
    expect(result).toMatchObject({ status: 'failed', reason: 'certificate_time_invalid' });
    expect(result.message).toContain('has expired');
    // Inside the certificate's validity window the same signature verifies.
    const now = new Date('2023-06-26T12:00:00Z');
    expect(
      verifyNotationEnvelope({ ...input, trust: trust([localKey('expired_e2e.crt')]), now }).status,
    ).toBe('verified');
  });

  it('e2e-invalid-signature: a layer that is not a JWS envelope fails integrity', () => {
    const input = onlySignature('e2e-invalid-signature');
    expect(input.envelopeMediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(verifyNotationEnvelope({ ...input, trust: e2eTrust() })).toMatchObject({
      status: 'failed',
      reason: 'bundle_malformed',
    });
    const asJws = { ...input, envelopeMediaType: 'application/jose+json' };
    expect(verifyNotationEnvelope({ ...asJws, trust: e2eTrust() }).reason).toBe('bundle_malformed');
  });

  it.each(['e2e-with-timestamped-signature', 'e2e-with-invalid-timestamped-signature'])(
    '%s: testcert7 is in no shipped store; trusting it alone still fails (expired, timestamp not evaluated)',
    (name) => {
      const input = onlySignature(name);
      expect(verifyNotationEnvelope({ ...input, trust: e2eTrust() }).reason).toBe('certificate_untrusted');
      const own = verifyNotationEnvelope({ ...input, trust: trust([x5cLeafPem(input.envelope)]) });
      expect(own).toMatchObject({
        status: 'failed',
        reason: 'certificate_time_invalid',
        identity: 'C=US, ST=WA, L=Seattle, O=Notary, CN=testcert7',
      });
    },
  );

  it.each([
    // Its chain stops at a Microsoft intermediate: no root to end in.
    [
      'e2e-with-timestamped-signature',
      'the TSA certificate chain (C=US, ST=Washington, L=Redmond, O=Microsoft Corporation',
    ],
    // Its countersignature is truncated.
    ['e2e-with-invalid-timestamped-signature', 'the token is malformed'],
  ])(
    '%s: with a tsa store (GlobalSign; the Microsoft TSA root is not shipped) the timestamp fails',
    (name, why) => {
      const input = onlySignature(name);
      const globalsign = new X509Certificate(
        readFileSync(path.join(E2E, 'config', 'timestamp', 'globalsignTSARoot.cer')),
      ).toString();
      const result = verifyNotationEnvelope({
        ...input,
        trust: { ...trust([x5cLeafPem(input.envelope)]), tsaTrustStore: [globalsign] },
        // Before the envelopes' expiry header (2025-01-21T12:39:46Z), which is checked first.
        now: new Date('2025-01-21T10:00:00Z'),
      });
      expect(result).toMatchObject({ status: 'failed', reason: 'timestamp_invalid' });
      expect(result.message).toContain(why);
    },
  );
});

describe('notation corpus: notation-go envelopes', () => {
  const dockerManifest = {
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    digest: 'sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e',
    size: 528,
  };
  const mock = (file: string) => readFileSync(path.join(GO, 'mock-envelopes', file));
  const testRoot = () =>
    trust([readText(GO, 'truststore', 'x509', 'ca', 'valid-trust-store', 'NotationTestRoot.pem')]);

  it('jws_signature.sig verifies over the oci-layout manifest when its own certificate is trusted', () => {
    const index = JSON.parse(readText(GO, 'oci-layout', 'index.json')) as { manifests: Descriptor[] };
    const manifest = index.manifests[0]!;
    readBlob(path.join(GO, 'oci-layout'), manifest);
    const envelope = readFileSync(path.join(GO, 'jws_signature.sig'));
    const result = verifyNotationEnvelope({
      envelope,
      envelopeMediaType: 'application/jose+json',
      subject: { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size },
      trust: trust([x5cLeafPem(envelope)]),
    });
    expect(result).toMatchObject({
      status: 'verified',
      identity: 'C=US, ST=WA, L=Seattle, O=Notary, CN=alpine',
    });
  });

  it.each([
    ['ca_valid_sig_env.json', 'verified'],
    ['sa_valid_sig_env.json', 'verified'],
    ['ca_invalid_sig_env.json', 'signature_invalid'],
    ['sa_invalid_sig_env.json', 'signature_invalid'],
    ['ca_expired_sig_env.json', 'certificate_time_invalid'],
    ['sa_expired_sig_env.json', 'certificate_time_invalid'],
  ])('mock-envelopes/%s against Notation Test Root: %s', (file, expected) => {
    const result = verifyNotationEnvelope({
      envelope: mock(file),
      envelopeMediaType: 'application/jose+json',
      subject: dockerManifest,
      trust: testRoot(),
    });
    expect(result.reason).toBe(expected);
    if (expected === 'verified') {
      expect(result).toMatchObject({
        identity: 'C=US, ST=WA, L=Seattle, O=Notary, CN=Notation Test Root',
        issuer: 'C=US, ST=WA, L=Seattle, O=Notary, CN=Notation Test Root',
      });
    }
  });

  it('mock-envelopes/ca_valid_sig_env.json under another subject digest fails artifact_mismatch', () => {
    const other = { ...dockerManifest, digest: `sha256:${'0'.repeat(64)}` };
    const result = verifyNotationEnvelope({
      envelope: mock('ca_valid_sig_env.json'),
      envelopeMediaType: 'application/jose+json',
      subject: other,
      trust: testRoot(),
    });
    expect(result.reason).toBe('artifact_mismatch');
  });

  describe('sigEnv: RFC 3161 timestamp countersignatures (notation-go verifier/timestamp_test.go)', () => {
    const subject = {
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      digest: 'sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda',
      size: 528,
    };
    const TSA = 'C=BE, O=GlobalSign nv-sa, CN=Globalsign TSA for Advanced - G4 - 202311';
    const envelope = (file: string) => readFileSync(path.join(GO, 'sigEnv', file));
    const mediaType = (file: string) =>
      file.startsWith('cose') || file === 'timestampAfterNotAfter.sig'
        ? 'application/cose'
        : 'application/jose+json';
    /**
     * Trust store `ca:valid-trust-store` plus the envelope's own root (the testTSA signing roots are
     * not in the shipped subset), `tsa:test-timestamp` (GlobalSign root) unless told otherwise.
     */
    const verify = (file: string, tsa: string[] | null = storeDir('tsa', 'test-timestamp')) =>
      verifyNotationEnvelope({
        envelope: envelope(file),
        envelopeMediaType: mediaType(file),
        subject,
        trust: {
          ...trust([...storeDir('ca', 'valid-trust-store'), envelopeRootPem(envelope(file))]),
          ...(tsa ? { tsaTrustStore: tsa } : {}),
        },
      });

    it.each([
      ['jwsWithTimestamp.sig', '2024-06-18T06:29:37.000Z'],
      ['coseWithTimestamp.sig', '2024-06-18T06:27:16.000Z'],
    ])('%s: the authentic timestamp verifies under tsa:test-timestamp', (file, genTime) => {
      expect(verify(file)).toMatchObject({
        status: 'verified',
        message: expect.stringContaining(`timestamped ${genTime} by ${TSA}`),
      });
    });

    it.each(['jwsExpiredWithTimestamp.sig', 'coseExpiredWithTimestamp.sig'])(
      '%s: the expired signing certificate is rescued by a timestamp inside its validity',
      (file) => {
        expect(verify(file)).toMatchObject({ status: 'verified', message: expect.stringContaining(TSA) });
        // Without a tsa store the timestamp is not evaluated and the certificate has expired now.
        expect(verify(file, null)).toMatchObject({
          reason: 'certificate_time_invalid',
          message: expect.stringContaining('no tsa trust store'),
        });
      },
    );

    it.each(['timestampBeforeNotBefore.sig', 'timestampAfterNotAfter.sig'])(
      '%s: a timestamp outside the signing certificate validity fails',
      (file) => {
        expect(verify(file)).toMatchObject({
          status: 'failed',
          reason: 'certificate_time_invalid',
          message: expect.stringContaining('timestamp range'),
        });
      },
    );

    it('withoutTimestamp.sig: verifyTimestamp "always" with a tsa store requires a countersignature', () => {
      expect(verify('withoutTimestamp.sig')).toMatchObject({
        reason: 'timestamp_invalid',
        message: expect.stringContaining('no timestamp countersignature was found'),
      });
      expect(verify('withoutTimestamp.sig', null).status).toBe('verified');
    });

    it.each(['jwsWithTimestamp.sig', 'coseWithTimestamp.sig'])(
      '%s: tsa:test-mismatch (DigiCert root) does not vouch for the GlobalSign TSA',
      (file) => {
        expect(verify(file, storeDir('tsa', 'test-mismatch'))).toMatchObject({
          reason: 'timestamp_invalid',
          message: expect.stringContaining('tsa trust store'),
        });
      },
    );

    it('the TSA roots of the notation CLI e2e config/timestamp directory: GlobalSign vouches, DigiCert does not', () => {
      const root = (name: string) =>
        new X509Certificate(readFileSync(path.join(E2E, 'config', 'timestamp', name))).toString();
      expect(verify('jwsWithTimestamp.sig', [root('globalsignTSARoot.cer')]).status).toBe('verified');
      expect(verify('jwsWithTimestamp.sig', [root('DigiCertTSARootSHA384.cer')]).reason).toBe(
        'timestamp_invalid',
      );
    });
  });

  describe('COSE envelopes', () => {
    it('cose_signature.sig verifies over the oci-layout manifest when its own certificate is trusted', () => {
      const index = JSON.parse(readText(GO, 'oci-layout', 'index.json')) as { manifests: Descriptor[] };
      const manifest = index.manifests[0]!;
      const envelope = readFileSync(path.join(GO, 'cose_signature.sig'));
      const result = verifyNotationEnvelope({
        envelope,
        envelopeMediaType: 'application/cose',
        subject: { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size },
        trust: trust([envelopeRootPem(envelope)]),
      });
      expect(result).toMatchObject({
        status: 'verified',
        identity: 'C=US, ST=WA, L=Seattle, O=Notary, CN=alpine',
        message: expect.stringContaining('notation COSE signature verified'),
      });
    });

    it('cose_signature.sig read as JWS, and the JWS envelope read as COSE, are malformed', () => {
      const base = { subject: dockerManifest, trust: e2eTrust() };
      const cose = readFileSync(path.join(GO, 'cose_signature.sig'));
      const jws = readFileSync(path.join(GO, 'jws_signature.sig'));
      expect(
        verifyNotationEnvelope({ ...base, envelope: cose, envelopeMediaType: 'application/jose+json' })
          .reason,
      ).toBe('bundle_malformed');
      expect(
        verifyNotationEnvelope({ ...base, envelope: jws, envelopeMediaType: 'application/cose' }).reason,
      ).toBe('bundle_malformed');
    });

    it('signatures/blob.cose.sig and blob.jws.sig: blob signatures bind to their blob descriptor only', () => {
      const blob = {
        mediaType: 'application/octet-stream',
        digest: 'sha256:c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4',
        size: 11357,
      };
      for (const [file, mediaType] of [
        ['blob.cose.sig', 'application/cose'],
        ['blob.jws.sig', 'application/jose+json'],
      ] as const) {
        const envelope = readFileSync(path.join(E2E, 'signatures', file));
        const own = trust([envelopeRootPem(envelope)]);
        // The signature is over the blob; its test certificate has expired by now and no TSA root is shipped
        // for its timestamp, so the outcome is the certificate's validity, after the binding held.
        const result = verifyNotationEnvelope({
          envelope,
          envelopeMediaType: mediaType,
          subject: blob,
          trust: own,
        });
        expect(result).toMatchObject({
          reason: 'certificate_time_invalid',
          identity: expect.stringMatching(/CN=testcert\d+$/),
        });
        const other = { ...blob, digest: `sha256:${'0'.repeat(64)}` };
        expect(
          verifyNotationEnvelope({ envelope, envelopeMediaType: mediaType, subject: other, trust: own })
            .reason,
        ).toBe('artifact_mismatch');
      }
    });
  });

  it('notation-cli-e2e signatures/malformed.jws.sig fails to parse', () => {
    const result = verifyNotationEnvelope({
      envelope: readFileSync(path.join(E2E, 'signatures', 'malformed.jws.sig')),
      envelopeMediaType: 'application/jose+json',
      subject: dockerManifest,
      trust: e2eTrust(),
    });
    expect(result).toMatchObject({ status: 'failed', reason: 'bundle_malformed' });
  });
});
