import { verifyNotationEnvelope, type NotationInput, type NotationTrust } from './index.js';
import { createTestPki, signEnvelope, SUBJECT, type EnvelopeOptions, type TestPki } from './pki.test.js';

const JWS = 'application/jose+json';
const LEAF_DN = 'C=US, ST=WA, L=Seattle, O=Acme Rockets, CN=signer';
const ROOT_DN = 'C=US, ST=WA, O=Acme Rockets, CN=Acme Test Root';
const DAY = 24 * 60 * 60 * 1000;

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki();
});

const trust = (overrides: Partial<NotationTrust> = {}): NotationTrust => ({
  trustStore: [pki.root.pem],
  trustedIdentities: ['*'],
  ...overrides,
});

/** An envelope by the RSA leaf with its full chain, verified against the root, unless overridden. */
function verify(envelope: Partial<EnvelopeOptions> = {}, input: Partial<NotationInput> = {}) {
  const options = { key: pki.leaf.key, chain: [pki.leaf.der, pki.root.der], ...envelope };
  return verifyNotationEnvelope({
    envelope: signEnvelope(options),
    envelopeMediaType: JWS,
    subject: SUBJECT,
    trust: trust(),
    ...input,
  });
}

describe('verifyNotationEnvelope', () => {
  it('verifies a PS256 signature chaining to the trust store; identity and issuer are subject DNs', () => {
    expect(verify()).toEqual({
      status: 'verified',
      reason: 'verified',
      message: expect.stringContaining('notary.x509, PS256'),
      identity: LEAF_DN,
      issuer: ROOT_DN,
    });
  });

  it('verifies an ES256 signature from a P-256 signing certificate', () => {
    const result = verify({ key: pki.ecLeaf.key, chain: [pki.ecLeaf.der, pki.root.der] });
    expect(result).toMatchObject({
      status: 'verified',
      identity: 'C=US, ST=WA, O=Acme Rockets, CN=ec signer',
    });
  });

  it('fails signature_invalid when the payload was changed after signing', () => {
    const other = Buffer.from(JSON.stringify({ targetArtifact: { ...SUBJECT, size: 1 } })).toString(
      'base64url',
    );
    expect(verify({ tamperedPayload: other })).toMatchObject({
      status: 'failed',
      reason: 'signature_invalid',
    });
  });

  it('fails signature_invalid when another key made the signature', () => {
    expect(verify({ key: pki.otherLeaf.key })).toMatchObject({
      status: 'failed',
      reason: 'signature_invalid',
    });
  });

  it('fails signature_invalid when alg does not match the signing key (PS384 with RSA-2048)', () => {
    const result = verify({ alg: 'PS384' });
    expect(result).toMatchObject({
      reason: 'signature_invalid',
      message: expect.stringContaining('requires PS256'),
    });
  });

  it('fails certificate_untrusted when the chain leads to a root outside the trust store', () => {
    const result = verify({ key: pki.otherLeaf.key, chain: [pki.otherLeaf.der, pki.otherRoot.der] });
    expect(result).toMatchObject({ status: 'failed', reason: 'certificate_untrusted', identity: LEAF_DN });
  });

  it('fails certificate_untrusted when x5c omits the root (the chain must be complete)', () => {
    const result = verify({ chain: [pki.leaf.der] });
    expect(result).toMatchObject({
      reason: 'certificate_untrusted',
      message: expect.stringContaining('self-signed root'),
    });
  });

  it('fails certificate_untrusted when the chain is out of order', () => {
    expect(verify({ chain: [pki.leaf.der, pki.otherRoot.der] }).reason).toBe('certificate_untrusted');
  });

  it('fails certificate_time_invalid when the signing certificate has expired at verification time', () => {
    const chain = [pki.shortLeaf.der, pki.root.der];
    const ok = verify({ key: pki.shortLeaf.key, chain });
    expect(ok.status).toBe('verified');
    const later = new Date(Date.now() + 3 * DAY);
    const result = verify({ key: pki.shortLeaf.key, chain }, { now: later });
    expect(result).toMatchObject({
      reason: 'certificate_time_invalid',
      message: expect.stringContaining('has expired'),
    });
  });

  it('fails certificate_time_invalid before the signing certificate is valid', () => {
    const result = verify({}, { now: new Date(Date.now() - 2 * DAY) });
    expect(result).toMatchObject({
      reason: 'certificate_time_invalid',
      message: expect.stringContaining('not valid yet'),
    });
  });

  it('checks the chain at the authentic signing time for notary.x509.signingAuthority', () => {
    const signedAt = new Date(Date.now() + 60_000).toISOString(); // inside the one-day validity
    const header = {
      crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.authenticSigningTime'],
      'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority',
      'io.cncf.notary.signingTime': undefined,
      'io.cncf.notary.authenticSigningTime': signedAt,
    };
    const chain = [pki.shortLeaf.der, pki.root.der];
    const later = new Date(Date.now() + 3 * DAY);
    expect(verify({ key: pki.shortLeaf.key, chain, header }, { now: later }).status).toBe('verified');
    const before = { ...header, 'io.cncf.notary.authenticSigningTime': '2001-01-01T00:00:00Z' };
    expect(verify({ key: pki.shortLeaf.key, chain, header: before }).reason).toBe('certificate_time_invalid');
  });

  it('fails identity_mismatch when the signer matches no trusted identity', () => {
    const identities = ['x509.subject: C=US, ST=WA, O=Wabbit Networks'];
    const result = verify({}, { trust: trust({ trustedIdentities: identities }) });
    expect(result).toMatchObject({ status: 'failed', reason: 'identity_mismatch', identity: LEAF_DN });
  });

  it('matches trusted identities as an order-insensitive subset of the subject RDNs', () => {
    const identities = [
      'x509.subject: CN=signer,O=Acme Rockets,ST=WA,C=US',
      'x509.subject: C=DE, ST=BE, O=X',
    ];
    expect(verify({}, { trust: trust({ trustedIdentities: identities }) }).status).toBe('verified');
    const partial = ['x509.subject: O=Acme Rockets, C=US, ST=WA'];
    expect(verify({}, { trust: trust({ trustedIdentities: partial }) }).status).toBe('verified');
    const otherCn = ['x509.subject: C=US, ST=WA, O=Acme Rockets, CN=someone'];
    expect(verify({}, { trust: trust({ trustedIdentities: otherCn }) }).reason).toBe('identity_mismatch');
  });

  it('fails artifact_mismatch when the payload names another artifact', () => {
    const target = { ...SUBJECT, digest: `sha256:${'cd'.repeat(32)}` };
    const result = verify({ target });
    expect(result).toMatchObject({ status: 'failed', reason: 'artifact_mismatch', identity: LEAF_DN });
    expect(verify({ target: { ...SUBJECT, size: SUBJECT.size + 1 } }).reason).toBe('artifact_mismatch');
    expect(verify({ target: { ...SUBJECT, mediaType: 'application/octet-stream' } }).reason).toBe(
      'artifact_mismatch',
    );
  });

  it('refuses an unknown critical header as unsupported', () => {
    const header = {
      crit: ['io.cncf.notary.signingScheme', 'com.example.mustUnderstand'],
      'com.example.mustUnderstand': 1,
    };
    expect(verify({ header })).toMatchObject({
      status: 'failed',
      reason: 'unsupported',
      message: expect.stringContaining('com.example.mustUnderstand'),
    });
  });

  it('accepts unknown non-critical headers', () => {
    expect(verify({ header: { 'com.example.note': 'hello' } }).status).toBe('verified');
  });

  it('rejects crit problems as malformed: missing signingScheme, expiry not critical, absent header', () => {
    expect(verify({ header: { crit: ['io.cncf.notary.expiry'] } }).reason).toBe('bundle_malformed');
    const expiry = new Date(Date.now() + DAY).toISOString();
    expect(verify({ header: { 'io.cncf.notary.expiry': expiry } }).reason).toBe('bundle_malformed');
    expect(verify({ header: { crit: [] } }).reason).toBe('bundle_malformed');
  });

  it('honours io.cncf.notary.expiry', () => {
    const crit = ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry'];
    const future = { crit, 'io.cncf.notary.expiry': new Date(Date.now() + DAY).toISOString() };
    expect(verify({ header: future }).status).toBe('verified');
    const past = { crit, 'io.cncf.notary.expiry': '2020-01-01T00:00:00Z' };
    expect(verify({ header: past })).toMatchObject({
      reason: 'certificate_time_invalid',
      message: expect.stringContaining('signature expired at 2020-01-01T00:00:00.000Z'),
    });
  });

  it('rejects a wrong payload content type or signing scheme as malformed', () => {
    expect(verify({ header: { cty: 'application/json' } }).reason).toBe('bundle_malformed');
    expect(verify({ header: { 'io.cncf.notary.signingScheme': 'notary.default' } }).reason).toBe(
      'bundle_malformed',
    );
    expect(verify({ header: { 'io.cncf.notary.signingTime': 'yesterday' } }).reason).toBe('bundle_malformed');
  });

  it('refuses a signature that requires a verification plugin', () => {
    const header = {
      crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.verificationPlugin'],
      'io.cncf.notary.verificationPlugin': 'com.example.plugin',
    };
    expect(verify({ header }).reason).toBe('unsupported');
  });

  it('returns failures, never throws, on malformed input', () => {
    const base = { envelopeMediaType: JWS, subject: SUBJECT, trust: trust() };
    for (const text of ['', 'null', '[]', '{"payload":1}', 'not json']) {
      expect(verifyNotationEnvelope({ ...base, envelope: Buffer.from(text) }).reason).toBe(
        'bundle_malformed',
      );
    }
    const cose = verifyNotationEnvelope({
      ...base,
      envelopeMediaType: 'application/cose',
      envelope: Buffer.alloc(8),
    });
    expect(cose).toMatchObject({ reason: 'bundle_malformed', message: expect.stringContaining('CBOR') });
  });

  it('refuses to verify without trust material, and rejects invalid trusted identities', () => {
    expect(verify({}, { trust: trust({ trustStore: [] }) }).reason).toBe('policy_missing');
    expect(verify({}, { trust: trust({ trustedIdentities: [] }) }).reason).toBe('policy_missing');
    expect(verify({}, { trust: trust({ trustStore: ['not a certificate'] }) }).reason).toBe('policy_invalid');
    for (const identity of [
      'x509.subject: C=US, ST=WA',
      'C=US, ST=WA, O=Acme',
      'x509.subject: C=US, C=CA, ST=WA, O=A',
    ]) {
      expect(verify({}, { trust: trust({ trustedIdentities: [identity] }) }).reason).toBe('policy_invalid');
    }
    expect(
      verify({}, { trust: trust({ trustedIdentities: ['*', 'x509.subject: C=US, ST=WA, O=A'] }) }).reason,
    ).toBe('policy_invalid');
  });

  it('accepts a trust store entry holding several PEM certificates', () => {
    const bundle = `${pki.otherRoot.pem}\n${pki.root.pem}`;
    expect(verify({}, { trust: trust({ trustStore: [bundle] }) }).status).toBe('verified');
  });
});
