import { createHash, generateKeyPairSync } from 'node:crypto';
import type { SerializedBundle } from '@sigstore/bundle';
import { BundleVerifier, TrustRoot, type VerificationPolicy } from './index.js';
import { startMockSigstore, type MockSigstore } from '#testing';

const ISSUER = 'https://token.actions.example.test';
const IDENTITY = 'https://example.test/org/repo/.github/workflows/release.yml@refs/heads/main';
const ARTIFACT = Buffer.from('refgraph test artifact\n');
const POLICY: VerificationPolicy = { certificateIdentity: IDENTITY, certificateIssuer: ISSUER };

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let mock: MockSigstore;
let verifier: BundleVerifier;
let bundle: SerializedBundle;

beforeAll(async () => {
  mock = await startMockSigstore();
  verifier = new BundleVerifier(TrustRoot.fromJSON(mock.trustedRoot, 'mock'));
  bundle = await mock.signMessage(ARTIFACT, { subject: IDENTITY, issuer: ISSUER });
});

afterAll(async () => {
  await mock.close();
});

describe('keyless message signatures', () => {
  it('verifies against the pinned identity and issuer, reporting signer and log facts', () => {
    const result = verifier.verify({ bundle, artifact: { bytes: ARTIFACT }, policy: POLICY });
    expect(result).toMatchObject({
      status: 'verified',
      reason: 'verified',
      identity: IDENTITY,
      issuer: ISSUER,
    });
    expect(result.tlogIndex).toMatch(/^\d+$/);
    expect(Date.parse(result.integratedTime ?? '')).toBeGreaterThan(Date.now() - 600_000);
  });

  it('verifies by digest alone, and from serialized JSON', () => {
    const artifact = { digest: `sha256:${sha256(ARTIFACT)}` };
    expect(verifier.verify({ bundle, artifact, policy: POLICY }).status).toBe('verified');
    expect(verifier.verify({ bundle: JSON.stringify(bundle), artifact, policy: POLICY }).status).toBe(
      'verified',
    );
  });

  it('accepts anchored regular expressions for identity and issuer', () => {
    const policy = {
      certificateIdentityRegExp: 'https://example\\.test/org/.*',
      certificateIssuerRegExp: '.*\\.example\\.test',
    };
    expect(verifier.verify({ bundle, artifact: { bytes: ARTIFACT }, policy }).status).toBe('verified');
    const unanchored = { certificateIdentityRegExp: 'example\\.test/org', certificateIssuer: ISSUER };
    expect(verifier.verify({ bundle, artifact: { bytes: ARTIFACT }, policy: unanchored }).reason).toBe(
      'identity_mismatch',
    );
  });

  it('fails with identity_mismatch for another identity, naming the actual one', () => {
    const policy = { certificateIdentity: 'https://example.test/other', certificateIssuer: ISSUER };
    expect(verifier.verify({ bundle, artifact: { bytes: ARTIFACT }, policy })).toMatchObject({
      status: 'failed',
      reason: 'identity_mismatch',
      identity: IDENTITY,
    });
  });

  it('fails with issuer_mismatch for another issuer', () => {
    const policy = { certificateIdentity: IDENTITY, certificateIssuer: 'https://accounts.example.test' };
    expect(verifier.verify({ bundle, artifact: { bytes: ARTIFACT }, policy })).toMatchObject({
      status: 'failed',
      reason: 'issuer_mismatch',
      issuer: ISSUER,
    });
  });

  it('fails with artifact_mismatch for a tampered artifact, by bytes and by digest', () => {
    const tampered = Buffer.from('refgraph test artifact!\n');
    expect(verifier.verify({ bundle, artifact: { bytes: tampered }, policy: POLICY }).reason).toBe(
      'artifact_mismatch',
    );
    const artifact = { digest: `sha256:${sha256(tampered)}` };
    expect(verifier.verify({ bundle, artifact, policy: POLICY }).reason).toBe('artifact_mismatch');
  });

  it('fails with signature_invalid for a tampered signature', () => {
    const sig = Buffer.from(bundle.messageSignature?.signature ?? '', 'base64');
    sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 0x01;
    const forged = structuredClone(bundle);
    if (forged.messageSignature) forged.messageSignature.signature = sig.toString('base64');
    const result = verifier.verify({ bundle: forged, artifact: { bytes: ARTIFACT }, policy: POLICY });
    expect(result).toMatchObject({ status: 'failed', reason: 'signature_invalid' });
  });

  it('fails with certificate_untrusted under another trusted root', async () => {
    const other = await startMockSigstore();
    try {
      const result = new BundleVerifier(TrustRoot.fromJSON(other.trustedRoot)).verify({
        bundle,
        artifact: { bytes: ARTIFACT },
        policy: POLICY,
      });
      expect(result.reason).toBe('certificate_untrusted');
    } finally {
      await other.close();
    }
  });

  it('refuses to verify without a policy that pins the signer', () => {
    const artifact = { bytes: ARTIFACT };
    expect(verifier.verify({ bundle, artifact, policy: undefined }).reason).toBe('policy_missing');
    expect(verifier.verify({ bundle, artifact, policy: { certificateIdentity: IDENTITY } }).reason).toBe(
      'policy_missing',
    );
    expect(
      verifier.verify({
        bundle,
        artifact,
        policy: { certificateIdentityRegExp: '(', certificateIssuer: ISSUER },
      }).reason,
    ).toBe('policy_invalid');
  });

  it('reports bundle_malformed for input that is not a bundle', () => {
    const artifact = { bytes: ARTIFACT };
    expect(verifier.verify({ bundle: '{"mediaType":', artifact, policy: POLICY }).reason).toBe(
      'bundle_malformed',
    );
    expect(verifier.verify({ bundle: { mediaType: 'x' }, artifact, policy: POLICY }).reason).toBe(
      'bundle_malformed',
    );
  });
});

describe('keyless DSSE attestations', () => {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'artifact', digest: { sha256: sha256(ARTIFACT) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {},
  };

  it('binds the artifact through the statement subjects', async () => {
    const dsse = await mock.attest(statement, { subject: IDENTITY, issuer: ISSUER });
    expect(verifier.verify({ bundle: dsse, artifact: { bytes: ARTIFACT }, policy: POLICY })).toMatchObject({
      status: 'verified',
      identity: IDENTITY,
    });
    const digest = { digest: `sha256:${sha256(ARTIFACT)}` };
    expect(verifier.verify({ bundle: dsse, artifact: digest, policy: POLICY }).status).toBe('verified');
    const other = { digest: `sha256:${sha256(Buffer.from('other'))}` };
    expect(verifier.verify({ bundle: dsse, artifact: other, policy: POLICY }).reason).toBe(
      'artifact_mismatch',
    );
  });

  it('refuses a valid message signature with an envelope grafted beside it (bundle_malformed)', async () => {
    const dsse = await mock.attest(statement, { subject: 'https://example.test/mallory', issuer: ISSUER });
    const grafted = { ...bundle, dsseEnvelope: (dsse as { dsseEnvelope?: unknown }).dsseEnvelope };
    expect(verifier.verify({ bundle, artifact: { bytes: ARTIFACT }, policy: POLICY }).status).toBe(
      'verified',
    );
    expect(verifier.verify({ bundle: grafted, artifact: { bytes: ARTIFACT }, policy: POLICY })).toMatchObject(
      {
        status: 'failed',
        reason: 'bundle_malformed',
      },
    );
  });
});

describe('key-signed bundles', () => {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = keys.publicKey.export({ format: 'pem', type: 'spki' }).toString();

  it('verifies with the pinned key, by bytes and by digest', async () => {
    const keyed = await mock.signMessageWithKey(ARTIFACT, keys);
    const policy = { publicKey: pem };
    expect(verifier.verify({ bundle: keyed, artifact: { bytes: ARTIFACT }, policy })).toMatchObject({
      status: 'verified',
      keyId: expect.any(String),
    });
    const digest = { digest: `sha256:${sha256(ARTIFACT)}` };
    expect(verifier.verify({ bundle: keyed, artifact: digest, policy }).status).toBe('verified');
  });

  it('fails with key_mismatch for another key, identity_mismatch for an identity policy', async () => {
    const keyed = await mock.signMessageWithKey(ARTIFACT, keys);
    const otherPem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ format: 'pem', type: 'spki' })
      .toString();
    const artifact = { bytes: ARTIFACT };
    expect(verifier.verify({ bundle: keyed, artifact, policy: { publicKey: otherPem } }).reason).toBe(
      'key_mismatch',
    );
    expect(verifier.verify({ bundle: keyed, artifact, policy: POLICY }).reason).toBe('identity_mismatch');
    expect(verifier.verify({ bundle, artifact, policy: { publicKey: pem } }).reason).toBe('key_mismatch');
    expect(verifier.verify({ bundle: keyed, artifact, policy: { publicKey: 'not a key' } }).reason).toBe(
      'policy_invalid',
    );
  });
});
