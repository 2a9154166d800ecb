import { isBasicChallenge, parseBearerChallenge } from './challenge.js';
import { parseRetryAfter } from './errors.js';
import { nextLink } from './link.js';
import { isDigest, isRepositoryName, isTag } from './names.js';

describe('WWW-Authenticate', () => {
  it('reads realm, service and scope of a Bearer challenge', () => {
    expect(
      parseBearerChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"',
      ),
    ).toEqual({
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/ubuntu:pull',
    });
  });

  it('finds the Bearer challenge among others and tolerates spacing and unquoted values', () => {
    expect(
      parseBearerChallenge('Basic realm="x", Bearer realm="https://a/t", service=reg , scope="a b"'),
    ).toEqual({
      realm: 'https://a/t',
      service: 'reg',
      scope: 'a b',
    });
    expect(
      parseBearerChallenge('Bearer realm="https://a/t",error="insufficient_scope", Basic realm="y"'),
    ).toEqual({
      realm: 'https://a/t',
    });
  });

  it('has no Bearer challenge without a realm or for Basic', () => {
    expect(parseBearerChallenge('Bearer service="x"')).toBeUndefined();
    expect(parseBearerChallenge('Basic realm="Registry Realm"')).toBeUndefined();
    expect(parseBearerChallenge(null)).toBeUndefined();
    expect(isBasicChallenge('Basic realm="Registry Realm"')).toBe(true);
    expect(isBasicChallenge('Bearer realm="https://a"')).toBe(false);
  });
});

describe('Link', () => {
  it('picks rel="next" among several links', () => {
    expect(nextLink('</v2/_catalog?last=b&n=2>; rel="next"')).toBe('/v2/_catalog?last=b&n=2');
    expect(nextLink('<https://r/prev>; rel="prev", <https://r/next>; rel=next')).toBe('https://r/next');
    expect(nextLink('<https://r/x>; rel="prev"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
  });
});

describe('Retry-After', () => {
  it('accepts delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter(' 30 ')).toBe(30_000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('name grammar', () => {
  it('follows the OCI repository grammar', () => {
    for (const ok of ['a', 'a0/b1', 'a.b', 'a_b', 'a__b', 'a---b', 'x/y/z', 'ghcr.io-mirror/x'])
      expect(isRepositoryName(ok)).toBe(true);
    for (const bad of ['', 'A', 'a/', '/a', 'a//b', 'a___b', 'a..b', '.a', 'a:b', 'a b', 'a\nb', 'é']) {
      expect(isRepositoryName(bad)).toBe(false);
    }
  });

  it('accepts tags up to 128 characters', () => {
    expect(isTag('latest')).toBe(true);
    expect(isTag('_x.Y-1')).toBe(true);
    expect(isTag('a'.repeat(128))).toBe(true);
    expect(isTag('a'.repeat(129))).toBe(false);
    expect(isTag('.x')).toBe(false);
    expect(isTag('a/b')).toBe(false);
  });

  it('accepts only verifiable digests', () => {
    expect(isDigest(`sha256:${'0'.repeat(64)}`)).toBe(true);
    expect(isDigest(`sha512:${'f'.repeat(128)}`)).toBe(true);
    expect(isDigest(`sha256:${'F'.repeat(64)}`)).toBe(false);
    expect(isDigest(`sha384:${'0'.repeat(96)}`)).toBe(true);
    expect(isDigest(`sha384:${'0'.repeat(64)}`)).toBe(false);
    expect(isDigest(`sha256:${'0'.repeat(64)}\n`)).toBe(false);
  });
});
