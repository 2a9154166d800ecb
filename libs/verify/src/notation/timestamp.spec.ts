import { verifyNotationEnvelope, type NotationInput, type NotationTrust } from './index.js';
import { signCose } from './cose.test.js';
import { createTestPki, signEnvelope, SUBJECT, type TestPki } from './pki.test.js';
import { createTestTsa, type TestTsa } from './tsa.test.js';

const DAY = 24 * 60 * 60 * 1000;
const TSA_DN = 'C=US, ST=WA, O=Test TSA, CN=Test TSA';

let pki: TestPki;
let tsa: TestTsa;
beforeAll(() => {
  pki = createTestPki();
  tsa = createTestTsa();
});
afterAll(() => tsa.close());

type Format = 'JWS' | 'COSE';
interface Case {
  format?: Format;
  /** The short-lived (one day) signing certificate instead of the one-year one. */
  short?: boolean;
  timestamp?: (signature: Buffer) => Buffer;
  header?: Record<string, unknown>;
  trust?: Partial<NotationTrust>;
  now?: Date;
}

function verify(c: Case = {}) {
  const signer = c.short ? pki.shortLeaf : pki.leaf;
  const chain = [signer.der, pki.root.der];
  const options = { key: signer.key, chain, ...(c.timestamp ? { timestamp: c.timestamp } : {}) };
  const envelope =
    c.format === 'COSE'
      ? signCose(options)
      : signEnvelope({ ...options, ...(c.header ? { header: c.header } : {}) });
  const input: NotationInput = {
    envelope,
    envelopeMediaType: c.format === 'COSE' ? 'application/cose' : 'application/jose+json',
    subject: SUBJECT,
    trust: { trustStore: [pki.root.pem], trustedIdentities: ['*'], tsaTrustStore: [tsa.rootPem], ...c.trust },
    ...(c.now ? { now: c.now } : {}),
  };
  return verifyNotationEnvelope(input);
}

const stamp = (signature: Buffer) => tsa.stamp(signature);
const threeDaysLater = () => new Date(Date.now() + 3 * DAY);

describe.each<Format>(['JWS', 'COSE'])('RFC 3161 timestamps on %s envelopes', (format) => {
  it('verifies a timestamp over the signature value by a TSA of the tsa trust store', () => {
    expect(verify({ format, timestamp: stamp })).toMatchObject({
      status: 'verified',
      message: expect.stringContaining(`timestamped `),
    });
    expect(verify({ format, timestamp: stamp }).message).toContain(`by ${TSA_DN}`);
  });

  it('keeps a signature valid after its certificate expired when the timestamp is inside its validity', () => {
    const result = verify({ format, short: true, timestamp: stamp, now: threeDaysLater() });
    expect(result).toMatchObject({ status: 'verified', message: expect.stringContaining('timestamped') });
  });

  it('without a tsa trust store, timestamps are not evaluated and the chain is checked now', () => {
    const trust = { tsaTrustStore: undefined };
    const expired = verify({ format, short: true, timestamp: stamp, now: threeDaysLater(), trust });
    expect(expired).toMatchObject({
      reason: 'certificate_time_invalid',
      message: expect.stringContaining('no tsa trust store'),
    });
    expect(verify({ format, timestamp: () => Buffer.from('not a token'), trust }).status).toBe('verified');
  });

  it('requires a timestamp under verifyTimestamp "always"', () => {
    expect(verify({ format })).toMatchObject({
      status: 'failed',
      reason: 'timestamp_invalid',
      message: expect.stringContaining('no timestamp countersignature'),
    });
  });

  it('under "afterCertExpiry" requires a timestamp only once a certificate of the chain has expired', () => {
    const trust = { verifyTimestamp: 'afterCertExpiry' as const };
    expect(verify({ format, trust })).toMatchObject({
      status: 'verified',
      message: expect.stringContaining('valid at'),
    });
    // While the chain is valid a broken token is not even read.
    expect(verify({ format, trust, timestamp: () => Buffer.from([0x30]) }).status).toBe('verified');
    const later = threeDaysLater();
    expect(verify({ format, trust, short: true, now: later }).reason).toBe('timestamp_invalid');
    expect(verify({ format, trust, short: true, now: later, timestamp: stamp }).status).toBe('verified');
  });

  it('fails timestamp_invalid for a timestamp over other bytes', () => {
    const result = verify({
      format,
      timestamp: (signature) => stamp(Buffer.concat([signature, Buffer.from([0])])),
    });
    expect(result).toMatchObject({
      reason: 'timestamp_invalid',
      message: expect.stringContaining('other bytes'),
    });
  });

  it('accepts SHA-384 and SHA-512 message imprints', () => {
    for (const hash of ['sha384', 'sha512'] as const) {
      expect(verify({ format, timestamp: (s) => tsa.stamp(s, { hash }) }).status).toBe('verified');
    }
  });
});

describe('RFC 3161 timestamp trust', () => {
  it('fails timestamp_invalid when the TSA does not chain to the tsa trust store', () => {
    const result = verify({ timestamp: stamp, trust: { tsaTrustStore: [tsa.otherRootPem] } });
    expect(result).toMatchObject({
      reason: 'timestamp_invalid',
      message: expect.stringContaining('does not lead to a certificate in the tsa trust store'),
    });
    // The signing root is not a TSA root.
    expect(verify({ timestamp: stamp, trust: { tsaTrustStore: [pki.root.pem] } }).reason).toBe(
      'timestamp_invalid',
    );
  });

  it('fails timestamp_invalid when the TSA certificate lacks the timeStamping extended key usage', () => {
    const result = verify({ timestamp: (s) => tsa.stampWithoutTimestampingEku(s) });
    expect(result).toMatchObject({
      reason: 'timestamp_invalid',
      message: expect.stringContaining('timeStamping'),
    });
  });

  it('checks the whole range genTime ± accuracy against the signing certificate validity', () => {
    // Two days of accuracy reach before the one-day certificate's notBefore.
    const wide = (s: Buffer) => tsa.stamp(s, { accuracySeconds: 2 * 86_400 });
    const result = verify({ short: true, timestamp: wide, now: threeDaysLater() });
    expect(result).toMatchObject({
      reason: 'certificate_time_invalid',
      message: expect.stringContaining('timestamp range'),
    });
  });

  it('does not use timestamps under notary.x509.signingAuthority', () => {
    const header = {
      crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.authenticSigningTime'],
      'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority',
      'io.cncf.notary.signingTime': undefined,
      'io.cncf.notary.authenticSigningTime': new Date(Date.now() + 60_000).toISOString(),
    };
    const result = verify({ header });
    expect(result).toMatchObject({
      status: 'verified',
      message: expect.stringContaining('authentic signing time'),
    });
  });

  it('refuses an invalid verifyTimestamp and an unreadable tsa trust store as policy_invalid', () => {
    const bad = { verifyTimestamp: 'never' as unknown as 'always' };
    expect(verify({ timestamp: stamp, trust: bad }).reason).toBe('policy_invalid');
    expect(verify({ timestamp: stamp, trust: { tsaTrustStore: ['junk'] } })).toMatchObject({
      reason: 'policy_invalid',
      message: expect.stringContaining('tsa trust store'),
    });
  });

  it('never verifies, and never throws, on damaged tokens', () => {
    // The unprotected header is not signed: one envelope carries each damaged copy of its token.
    // The token holds the TSA certificate only; a damaged copy of a root it also carried would
    // rightly be passed over for the trust store's own.
    let token: Buffer = Buffer.alloc(0);
    const key = pki.leaf.key;
    const envelope = signEnvelope({
      key,
      chain: [pki.leaf.der, pki.root.der],
      timestamp: (s) => (token = tsa.stamp(s, { withRoot: false })),
    });
    const trust = { trustStore: [pki.root.pem], trustedIdentities: ['*'], tsaTrustStore: [tsa.rootPem] };
    const check = (bytes: Buffer) => {
      const jws = JSON.parse(envelope.toString('utf8')) as { header: Record<string, string> };
      jws.header['io.cncf.notary.timestampSignature'] = bytes.toString('base64');
      const input = { envelopeMediaType: 'application/jose+json', subject: SUBJECT, trust };
      return verifyNotationEnvelope({ ...input, envelope: Buffer.from(JSON.stringify(jws)) });
    };
    expect(check(token).status).toBe('verified');
    const reasons = new Map<string, number>();
    const damaged: Buffer[] = [Buffer.from([0x30, 0x80, 0, 0]), Buffer.concat([token, Buffer.from([0])])];
    for (let cut = 1; cut < token.length; cut += 23) damaged.push(token.subarray(0, cut));
    for (let i = 0; i < 600; i++) {
      const mutated = Buffer.from(token);
      const at = (i * 7919) % token.length;
      mutated[at] = mutated[at]! ^ (1 << (i % 8));
      damaged.push(mutated);
    }
    for (const bytes of damaged) {
      const result = check(bytes);
      expect(result.status).toBe('failed');
      expect(result.reason).not.toBe('internal_error');
      reasons.set(result.reason, (reasons.get(result.reason) ?? 0) + 1);
    }
    expect(reasons.get('timestamp_invalid')).toBeGreaterThan(500);
  });
});
