import type { WebhookAuth } from '#config';
import { errorOf, hmacHex, request } from '../spec-helpers.js';
import { safeEqual, verifyCredentials, type SignatureScheme } from './auth.js';

const GITHUB: SignatureScheme = [{ name: 'x-hub-signature-256', prefix: 'sha256=' }];
const SECRET = 'correct horse battery staple';

function rejects(
  auth: WebhookAuth,
  headers: Record<string, string>,
  scheme?: SignatureScheme,
  body = '{}',
): string {
  const err = errorOf(() => verifyCredentials(request(body, headers), auth, scheme));
  expect(err.code).toBe('unauthorized');
  expect(err.message).not.toContain(SECRET);
  return err.message;
}

describe('safeEqual', () => {
  it('compares strings of any length without throwing', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', 'x')).toBe(false);
  });
});

describe('verifyCredentials', () => {
  it('accepts anything when auth is none', () => {
    expect(() => verifyCredentials(request('{}'), { type: 'none' })).not.toThrow();
  });

  describe('bearer', () => {
    const auth: WebhookAuth = { type: 'bearer', token: SECRET };
    it('accepts the token with any scheme capitalisation', () => {
      const token = 's3cr3t-token';
      const ok: WebhookAuth = { type: 'bearer', token };
      expect(() => verifyCredentials(request('{}', { authorization: `bearer ${token}` }), ok)).not.toThrow();
      expect(() => verifyCredentials(request('{}', { authorization: `Bearer ${token}` }), ok)).not.toThrow();
    });
    it('never matches a token containing spaces (not a bearer token syntax)', () => {
      expect(rejects(auth, { authorization: `Bearer ${SECRET}` })).toMatch(/not a bearer/);
    });
    it('rejects a missing, wrong or differently-schemed credential', () => {
      expect(rejects(auth, {})).toMatch(/missing Authorization/);
      expect(rejects(auth, { authorization: 'Bearer nope' })).toMatch(/does not match/);
      expect(rejects(auth, { authorization: `Basic ${SECRET}` })).toMatch(/not a bearer/);
      expect(rejects(auth, { authorization: 'Bearer' })).toMatch(/not a bearer/);
    });
    it('fails closed when the configured token is empty', () => {
      expect(rejects({ type: 'bearer', token: '' }, { authorization: 'Bearer ' })).toMatch(/not configured/);
    });
    it('checks the token the configuration holds now, not one it held before', () => {
      const changing = { type: 'bearer' as const, token: 'first-token' };
      const with_ = (t: string) => request('{}', { authorization: `Bearer ${t}` });
      expect(() => verifyCredentials(with_('first-token'), changing)).not.toThrow();
      changing.token = 'second-token';
      expect(errorOf(() => verifyCredentials(with_('first-token'), changing)).code).toBe('unauthorized');
      expect(() => verifyCredentials(with_('second-token'), changing)).not.toThrow();
    });
  });

  describe('basic', () => {
    const auth: WebhookAuth = { type: 'basic', username: 'zot', password: SECRET };
    const encode = (s: string) => Buffer.from(s).toString('base64');
    it('accepts the right user and password', () => {
      const headers = { authorization: `Basic ${encode(`zot:${SECRET}`)}` };
      expect(() => verifyCredentials(request('{}', headers), auth)).not.toThrow();
    });
    it('rejects a wrong user, a wrong password or a bearer credential', () => {
      expect(rejects(auth, { authorization: `Basic ${encode(`other:${SECRET}`)}` })).toMatch(/do not match/);
      expect(rejects(auth, { authorization: `Basic ${encode('zot:wrong')}` })).toMatch(/do not match/);
      expect(rejects(auth, { authorization: `Bearer ${encode(`zot:${SECRET}`)}` })).toMatch(/not a basic/);
    });
  });

  describe('header', () => {
    it('compares a named header verbatim (Harbor sends its Auth Header as Authorization)', () => {
      const auth: WebhookAuth = { type: 'header', name: 'Authorization', value: SECRET };
      expect(() => verifyCredentials(request('{}', { authorization: SECRET }), auth)).not.toThrow();
      expect(rejects(auth, { authorization: `Bearer ${SECRET}` })).toMatch(
        /Authorization header does not match/,
      );
      expect(rejects(auth, {})).toMatch(/missing Authorization header/);
    });
    it('refuses a header sent twice', () => {
      const auth: WebhookAuth = { type: 'header', name: 'X-Token', value: SECRET };
      const req = request('{}');
      req.headers['x-token'] = [SECRET, SECRET];
      expect(errorOf(() => verifyCredentials(req, auth)).code).toBe('unauthorized');
    });
  });

  describe('hmac-sha256', () => {
    it("matches GitHub's published test vector", () => {
      const auth: WebhookAuth = { type: 'hmac-sha256', secret: "It's a Secret to Everybody" };
      const headers = {
        'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
      };
      expect(() => verifyCredentials(request('Hello, World!', headers), auth, GITHUB)).not.toThrow();
      expect(() => verifyCredentials(request('Hello, World?', headers), auth, GITHUB)).toThrow(
        /does not match/,
      );
    });
    it('signs the exact bytes, so re-serialised JSON does not verify', () => {
      const auth: WebhookAuth = { type: 'hmac-sha256', secret: SECRET };
      const body = '{ "a": 1 }';
      const sig = `sha256=${hmacHex(SECRET, Buffer.from(body))}`;
      expect(() =>
        verifyCredentials(request(body, { 'x-hub-signature-256': sig }), auth, GITHUB),
      ).not.toThrow();
      expect(rejects(auth, { 'x-hub-signature-256': sig }, GITHUB, '{"a":1}')).toMatch(/does not match/);
    });
    it('rejects missing, malformed and unprefixed signatures', () => {
      const auth: WebhookAuth = { type: 'hmac-sha256', secret: SECRET };
      const hex = hmacHex(SECRET, Buffer.from('{}'));
      expect(rejects(auth, {}, GITHUB)).toMatch(/missing signature header \(x-hub-signature-256\)/);
      expect(rejects(auth, { 'x-hub-signature-256': hex }, GITHUB)).toMatch(/not an HMAC-SHA256/);
      expect(rejects(auth, { 'x-hub-signature-256': 'sha256=zz' }, GITHUB)).toMatch(/not an HMAC-SHA256/);
      expect(rejects(auth, { 'x-hub-signature-256': `sha1=${hex}` }, GITHUB)).toMatch(/not an HMAC-SHA256/);
    });
    it('checks the first signature header present and never falls back to another', () => {
      const auth: WebhookAuth = { type: 'hmac-sha256', secret: SECRET };
      const scheme: SignatureScheme = [
        { name: 'x-forgejo-signature', prefix: '' },
        { name: 'x-gitea-signature', prefix: '' },
      ];
      const good = hmacHex(SECRET, Buffer.from('{}'));
      expect(() =>
        verifyCredentials(request('{}', { 'x-gitea-signature': good }), auth, scheme),
      ).not.toThrow();
      const headers = { 'x-forgejo-signature': '0'.repeat(64), 'x-gitea-signature': good };
      expect(rejects(auth, headers, scheme)).toMatch(/x-forgejo-signature does not match/);
    });
    it('refuses hmac for senders that do not sign', () => {
      expect(rejects({ type: 'hmac-sha256', secret: SECRET }, {})).toMatch(/does not sign/);
    });
  });
});
