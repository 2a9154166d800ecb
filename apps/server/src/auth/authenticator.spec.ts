import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { Authenticator, OIDC_BACKOFF_MS } from './authenticator.js';

/**
 * A stand-in identity provider on loopback (no real OIDC issuer runs here) that counts what it is
 * asked and fails or answers on cue.
 */
let server: Server;
let issuer = '';
let healthy = false;
let jwk: JWK;
let signingKey: CryptoKey;
const hits = { discovery: 0, jwks: 0 };

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  signingKey = privateKey;
  jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      hits.discovery++;
      if (!healthy) return res.writeHead(500).end('down');
      return res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    }
    if (req.url === '/jwks') {
      hits.jwks++;
      if (!healthy) return res.writeHead(503).end('down');
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((r) => server.close(r)));

beforeEach(() => {
  hits.discovery = 0;
  hits.jwks = 0;
  healthy = false;
});

const jwt = () =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setSubject('ci')
    .setIssuer(issuer)
    .setAudience('refgraph')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(signingKey);

function authenticator(jwksUri?: string) {
  let now = 1_000_000;
  const auth = new Authenticator(
    {
      tokens: [],
      oidc: { issuer, audience: 'refgraph', scopes: ['read:**'], ...(jwksUri ? { jwksUri } : {}) },
    },
    { now: () => now },
  );
  return { auth, advance: (ms: number) => (now += ms) };
}

describe('OIDC discovery', () => {
  it('never calls the issuer for a bearer that is not a decodable JWS', async () => {
    const { auth } = authenticator();
    for (const token of ['a.b.c', 'x.y.z', 'eyJhbGciOiJub25lIn0.e30.', '...', 'e30.e30.e30']) {
      expect(await auth.authenticate(`Bearer ${token}`)).toMatchObject({ ok: false });
    }
    expect(hits).toEqual({ discovery: 0, jwks: 0 });
  });

  it('remembers a failed discovery and backs off, doubling, before asking again', async () => {
    const { auth, advance } = authenticator();
    const token = await jwt();
    // Concurrent and sequential tokens during one failure: one request.
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => auth.authenticate(`Bearer ${token}`)),
    );
    for (let i = 0; i < 10; i++) outcomes.push(await auth.authenticate(`Bearer ${token}`));
    expect(outcomes.every((o) => !o.ok)).toBe(true);
    expect(hits.discovery).toBe(1);

    advance(OIDC_BACKOFF_MS.first - 1);
    await auth.authenticate(`Bearer ${token}`);
    expect(hits.discovery).toBe(1);
    advance(1);
    await auth.authenticate(`Bearer ${token}`);
    expect(hits.discovery).toBe(2);
    // Second failure: twice as long.
    advance(OIDC_BACKOFF_MS.first);
    await auth.authenticate(`Bearer ${token}`);
    expect(hits.discovery).toBe(2);
    advance(OIDC_BACKOFF_MS.first);
    healthy = true;
    expect(await auth.authenticate(`Bearer ${token}`)).toMatchObject({
      ok: true,
      principal: { name: 'oidc:ci', kind: 'oidc' },
    });
    expect(hits.discovery).toBe(3);
    // Found once, kept: later tokens do not discover again.
    for (let i = 0; i < 5; i++) expect((await auth.authenticate(`Bearer ${await jwt()}`)).ok).toBe(true);
    expect(hits).toEqual({ discovery: 3, jwks: 1 });
  });

  it('backs off after a failed signing-key fetch too', async () => {
    const { auth, advance } = authenticator(`${issuer}/jwks`);
    const token = await jwt();
    for (let i = 0; i < 10; i++) expect((await auth.authenticate(`Bearer ${token}`)).ok).toBe(false);
    expect(hits.jwks).toBe(1);
    advance(OIDC_BACKOFF_MS.first);
    healthy = true;
    expect((await auth.authenticate(`Bearer ${token}`)).ok).toBe(true);
    expect(hits).toEqual({ discovery: 0, jwks: 2 });
  });
});
