import { randomBytes } from 'node:crypto';
import { verifyNotationEnvelope, type NotationInput } from './index.js';
import { encode, Raw, signCose, Tagged, type Cbor, type CoseOptions } from './cose.test.js';
import { createTestPki, SUBJECT, type TestPki } from './pki.test.js';

const COSE = 'application/cose';
const LEAF_DN = 'C=US, ST=WA, L=Seattle, O=Acme Rockets, CN=signer';
const DAY = 24 * 60 * 60 * 1000;
const SCHEME = 'io.cncf.notary.signingScheme';

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki();
});

const input = (envelope: Buffer, overrides: Partial<NotationInput> = {}): NotationInput => ({
  envelope,
  envelopeMediaType: COSE,
  subject: SUBJECT,
  trust: { trustStore: [pki.root.pem], trustedIdentities: ['*'] },
  ...overrides,
});

/** A COSE envelope by the RSA leaf with its full chain, verified against the root, unless overridden. */
function sign(options: Partial<CoseOptions> = {}): Buffer {
  return signCose({ key: pki.leaf.key, chain: [pki.leaf.der, pki.root.der], ...options });
}

function verify(options: Partial<CoseOptions> = {}, overrides: Partial<NotationInput> = {}) {
  return verifyNotationEnvelope(input(sign(options), overrides));
}

/** Replaces the four COSE_Sign1 items of a valid envelope. */
function rebuild(parts: (items: Cbor[]) => Cbor, tag = 18): Buffer {
  const protectedBytes = encode(
    new Map<Cbor, Cbor>([
      [1, -37],
      [2, [SCHEME]],
      [3, 'application/vnd.cncf.notary.payload.v1+json'],
      [SCHEME, 'notary.x509'],
      ['io.cncf.notary.signingTime', new Tagged(1, 1700000000)],
    ]),
  );
  const items: Cbor[] = [
    protectedBytes,
    new Map<Cbor, Cbor>([[33, [Buffer.alloc(64)]]]),
    Buffer.from('{}'),
    Buffer.alloc(256),
  ];
  return encode(new Tagged(tag, parts(items)));
}

describe('notation COSE_Sign1 envelopes', () => {
  it('verifies a PS256 envelope chaining to the trust store', () => {
    expect(verify()).toEqual({
      status: 'verified',
      reason: 'verified',
      message: expect.stringContaining('notation COSE signature verified (notary.x509, PS256)'),
      identity: LEAF_DN,
      issuer: 'C=US, ST=WA, O=Acme Rockets, CN=Acme Test Root',
    });
  });

  it('verifies an ES256 envelope (raw r||s signature) from a P-256 certificate', () => {
    const result = verify({ key: pki.ecLeaf.key, chain: [pki.ecLeaf.der, pki.root.der] });
    expect(result).toMatchObject({ status: 'verified', message: expect.stringContaining('ES256') });
  });

  it('accepts a single-certificate x5chain as one byte string and x5chain in the protected header', () => {
    const own = { trust: { trustStore: [pki.leaf.pem], trustedIdentities: ['*'] } };
    // A leaf alone is not a chain to a self-signed root: the parse succeeds, the chain check fails.
    const single = verify({ unprotected: [[33, pki.leaf.der]] }, own);
    expect(single).toMatchObject({ reason: 'certificate_untrusted', identity: LEAF_DN });
    const inProtected = verify({
      protected: [[33, [pki.leaf.der, pki.root.der]]],
      unprotected: [[33, undefined]],
    });
    expect(inProtected.status).toBe('verified');
  });

  it('fails signature_invalid when the payload changed, another key signed, or alg does not fit the key', () => {
    const other = Buffer.from(JSON.stringify({ targetArtifact: { ...SUBJECT, size: 1 } }));
    expect(verify({ tamperedPayload: other }).reason).toBe('signature_invalid');
    expect(verify({ key: pki.otherLeaf.key }).reason).toBe('signature_invalid');
    expect(verify({ alg: 'PS384' })).toMatchObject({
      reason: 'signature_invalid',
      message: expect.stringContaining('requires PS256'),
    });
  });

  it('binds to the subject and checks the chain, identities and expiry like JWS envelopes', () => {
    const target = { ...SUBJECT, digest: `sha256:${'cd'.repeat(32)}` };
    expect(verify({ target }).reason).toBe('artifact_mismatch');
    const untrusted = verify({ key: pki.otherLeaf.key, chain: [pki.otherLeaf.der, pki.otherRoot.der] });
    expect(untrusted.reason).toBe('certificate_untrusted');
    const identities = ['x509.subject: C=US, ST=WA, O=Wabbit Networks'];
    const trust = { trustStore: [pki.root.pem], trustedIdentities: identities };
    expect(verify({}, { trust }).reason).toBe('identity_mismatch');
    const crit = [SCHEME, 'io.cncf.notary.expiry'];
    const expired: CoseOptions['protected'] = [
      [2, crit],
      ['io.cncf.notary.expiry', new Tagged(1, 1577836800)],
    ];
    expect(verify({ protected: expired })).toMatchObject({
      reason: 'certificate_time_invalid',
      message: expect.stringContaining('signature expired at 2020-01-01T00:00:00.000Z'),
    });
    const later = new Date(Date.now() + 3 * DAY);
    const short = { key: pki.shortLeaf.key, chain: [pki.shortLeaf.der, pki.root.der] };
    expect(verify(short, { now: later }).reason).toBe('certificate_time_invalid');
  });

  it('checks notary.x509.signingAuthority at the authentic signing time (tag 1, float seconds allowed)', () => {
    const at = (Date.now() + 60_000) / 1000;
    const header: CoseOptions['protected'] = [
      [2, [SCHEME, 'io.cncf.notary.authenticSigningTime']],
      [SCHEME, 'notary.x509.signingAuthority'],
      ['io.cncf.notary.signingTime', undefined],
      [
        'io.cncf.notary.authenticSigningTime',
        new Raw(Buffer.concat([Buffer.from([0xc1, 0xfb]), float64(at)])),
      ],
    ];
    const short = { key: pki.shortLeaf.key, chain: [pki.shortLeaf.der, pki.root.der] };
    const later = new Date(Date.now() + 3 * DAY);
    expect(verify({ ...short, protected: header }, { now: later }).status).toBe('verified');
  });

  it.each<[string, Partial<CoseOptions>, string, RegExp]>([
    [
      'an unknown critical header',
      {
        protected: [
          [2, [SCHEME, 'com.example.mustUnderstand']],
          ['com.example.mustUnderstand', 1],
        ],
      },
      'unsupported',
      /mustUnderstand/,
    ],
    [
      'an unknown critical integer label',
      {
        protected: [
          [2, [SCHEME, 99]],
          [99, 1],
        ],
      },
      'unsupported',
      /99/,
    ],
    [
      'a verification plugin',
      {
        protected: [
          [2, [SCHEME, 'io.cncf.notary.verificationPlugin']],
          ['io.cncf.notary.verificationPlugin', 'x'],
        ],
      },
      'unsupported',
      /plugin/,
    ],
    [
      'a COSE Hash Envelope',
      {
        protected: [
          [258, -16],
          [3, undefined],
        ],
      },
      'unsupported',
      /Hash Envelope/,
    ],
    ['crit listing label 1', { protected: [[2, [SCHEME, 1]]] }, 'bundle_malformed', /crit must not list/],
    [
      'crit without signingScheme',
      {
        protected: [
          [2, ['io.cncf.notary.expiry']],
          ['io.cncf.notary.expiry', new Tagged(1, 4102444800)],
        ],
      },
      'bundle_malformed',
      /signingScheme must be marked critical/,
    ],
    [
      'crit listing an absent header',
      { protected: [[2, [SCHEME, 'io.cncf.notary.expiry']]] },
      'bundle_malformed',
      /not in the protected header/,
    ],
    ['an empty crit', { protected: [[2, []]] }, 'bundle_malformed', /no crit list/],
    ['a text alg', { protected: [[1, 'PS256']] }, 'bundle_malformed', /signature algorithm/],
    ['an unknown alg', { protected: [[1, -8]] }, 'bundle_malformed', /signature algorithm -8/],
    ['another content type', { protected: [[3, 'application/json']] }, 'bundle_malformed', /content type/],
    ['a numeric content type', { protected: [[3, 50]] }, 'bundle_malformed', /content type/],
    [
      'an unknown signing scheme',
      { protected: [[SCHEME, 'notary.default']] },
      'bundle_malformed',
      /signing scheme/,
    ],
    [
      'a signing time that is not tag 1',
      { protected: [['io.cncf.notary.signingTime', 1700000000]] },
      'bundle_malformed',
      /epoch-based/,
    ],
    [
      'a text signing time',
      { protected: [['io.cncf.notary.signingTime', new Tagged(0, '2024-01-01T00:00:00Z')]] },
      'bundle_malformed',
      /epoch-based/,
    ],
    [
      'no signing time under notary.x509',
      { protected: [['io.cncf.notary.signingTime', undefined]] },
      'bundle_malformed',
      /signingTime is required/,
    ],
    ['no x5chain', { unprotected: [[33, undefined]] }, 'bundle_malformed', /x5chain/],
    ['an x5chain of text', { unprotected: [[33, ['MIIB']]] }, 'bundle_malformed', /x5chain\[0\]/],
    [
      'a header both protected and unprotected',
      { unprotected: [[3, 'application/vnd.cncf.notary.payload.v1+json']] },
      'bundle_malformed',
      /both protected and unprotected/,
    ],
    [
      'a timestamp that is not a byte string',
      { unprotected: [['io.cncf.notary.timestampSignature', 'abc']] },
      'bundle_malformed',
      /timestampSignature/,
    ],
  ])('refuses %s', (_name, options, reason, message) => {
    const result = verify(options);
    expect(result).toMatchObject({ status: 'failed', reason });
    expect(result.message).toMatch(message);
  });

  it.each<[string, Buffer, RegExp]>([
    [
      'an untagged COSE_Sign1',
      encode([Buffer.alloc(1), new Map(), Buffer.alloc(1), Buffer.alloc(1)]),
      /tag 18/,
    ],
    ['a COSE_Sign (tag 98)', rebuild((p) => p, 98), /tag 18/],
    ['three items', rebuild((p) => p.slice(0, 3)), /four items/],
    ['a detached payload', rebuild(([a, b, , d]) => [a!, b!, null, d!]), /detached/],
    [
      'an empty protected header',
      rebuild(([, b, c, d]) => [Buffer.alloc(0), b!, c!, d!]),
      /protected header/,
    ],
    [
      'a protected header that is not a map',
      rebuild(([, b, c, d]) => [encode([1]), b!, c!, d!]),
      /not a map/,
    ],
    ['an unprotected header that is not a map', rebuild(([a, , c, d]) => [a!, [], c!, d!]), /not a map/],
    ['a text signature', rebuild(([a, b, c]) => [a!, b!, c!, 'sig']), /signature is not a byte string/],
    [
      'a duplicate protected label',
      rebuild(([, b, c, d]) => [Buffer.from('a20126' + '0126', 'hex'), b!, c!, d!]),
      /duplicate map key 1/,
    ],
    [
      'an indefinite-length protected map',
      rebuild(([, b, c, d]) => [Buffer.from('bf0126ff', 'hex'), b!, c!, d!]),
      /indefinite/,
    ],
    ['an indefinite-length envelope', Buffer.from('d29f40a04040ff', 'hex'), /indefinite/],
    ['trailing bytes', Buffer.concat([rebuild((p) => p), Buffer.from([0])]), /trailing/],
    ['a JWS envelope', Buffer.from('{"payload":"","protected":"","signature":""}'), /CBOR/],
  ])('refuses %s as malformed', (_name, envelope, message) => {
    const result = verifyNotationEnvelope(input(envelope));
    expect(result).toMatchObject({ status: 'failed', reason: 'bundle_malformed' });
    expect(result.message).toMatch(message);
  });

  it('never verifies, and never throws, on truncated or mutated envelopes', () => {
    // Without the signing agent, the one unsigned and unchecked field, every byte matters.
    const valid = sign({ unprotected: [['io.cncf.notary.signingAgent', undefined]] });
    expect(verifyNotationEnvelope(input(valid)).status).toBe('verified');
    const reasons = new Map<string, number>();
    const tally = (envelope: Buffer) => {
      const result = verifyNotationEnvelope(input(envelope));
      expect(result.status).toBe('failed');
      expect(result.reason).not.toBe('internal_error');
      reasons.set(result.reason, (reasons.get(result.reason) ?? 0) + 1);
    };
    for (let cut = 0; cut < valid.length; cut += 7) tally(valid.subarray(0, cut));
    for (let i = 0; i < 400; i++) {
      const mutated = Buffer.from(valid);
      const at = (i * 7919) % valid.length;
      mutated[at] = mutated[at]! ^ (1 << (i % 8));
      if (mutated.equals(valid)) continue;
      tally(mutated);
    }
    for (let i = 0; i < 200; i++) tally(Buffer.concat([Buffer.from([0xd2]), randomBytes(1 + (i % 300))]));
    // Structural damage and signature damage are both reached.
    expect(reasons.get('bundle_malformed')).toBeGreaterThan(0);
    expect(reasons.get('signature_invalid')).toBeGreaterThan(0);
  });
});

function float64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(value);
  return bytes;
}
